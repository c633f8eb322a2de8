//! The control-plane scenarios: one topology, workload and fault mix each, over the same
//! model.

use crate::profile::{crash_points, delay_points, fault_points, fault_profile, limits};
use crate::workload::{clone_storm, create_delete, start_stop, Workload};
use fleetsim_model::{ControlPlane, ControlPlaneConfig, Operation};
use fleetsim_sim::{BugInfo, FaultProfile, InvariantInfo, Limits, Scenario, Sim, StreamRng, WorkloadStep};

/// What distinguishes one control-plane scenario from another.
#[derive(Clone, Copy)]
pub struct ControlPlaneScenario {
    name: &'static str,
    summary: &'static str,
    config: ControlPlaneConfig,
    chaos_ms: u64,
    generate: fn(&mut StreamRng, &ControlPlaneConfig, u64, u32) -> Workload,
    /// How many times the scenario's own workload, workers, hosts, addresses and instances.
    scale: u32,
    sometimes: &'static [&'static str],
    crash_sagas: &'static [&'static str],
    sagas: &'static [&'static str],
}

const fn config(workers: u32, hosts: u32, ip_pool_size: u8, instances: u32) -> ControlPlaneConfig {
    ControlPlaneConfig { workers, hosts, ip_pool_size, instances, projects: 2, reconciler: true }
}

/// `smoke`: the smallest whole control plane creating and deleting VMs; fast.
pub const SMOKE: ControlPlaneScenario = ControlPlaneScenario {
    name: "smoke",
    summary: "a store, one worker and two hosts create and delete VMs under every fault kind",
    config: config(1, 2, 6, 0),
    chaos_ms: 2_000,
    generate: |rng, config, window_ms, scale| {
        let mut workload = Workload::default();
        create_delete(rng, &mut workload, 5 * scale, config.hosts, 60, window_ms);
        workload
    },
    scale: 1,
    sometimes: &[],
    crash_sagas: &[],
    sagas: &["create_vm", "delete_vm"],
};

/// `delete`: VMs created and deleted under crashes, with a small IP pool so addresses are reused.
pub const DELETE: ControlPlaneScenario = ControlPlaneScenario {
    name: "delete",
    summary: "two workers create and delete VMs on three hosts under crashes; a small IP pool reuses addresses",
    config: config(2, 3, 8, 0),
    chaos_ms: 5_000,
    generate: |rng, config, window_ms, scale| {
        let mut workload = Workload::default();
        create_delete(rng, &mut workload, 12 * scale, config.hosts, 70, window_ms);
        workload
    },
    scale: 1,
    sometimes: &["a stale claim was fenced off"],
    crash_sagas: &["create_vm", "delete_vm"],
    sagas: &["create_vm", "delete_vm"],
};

/// `clone`: clone storms on few sources, kept snapshots, deletes of clones.
pub const CLONE: ControlPlaneScenario = ControlPlaneScenario {
    name: "clone",
    summary: "three workers clone few source VMs in bursts through temporary snapshots, take snapshots, delete clones",
    config: config(3, 2, 24, 0),
    chaos_ms: 5_000,
    generate: |rng, config, window_ms, scale| {
        let mut workload = Workload::default();
        clone_storm(rng, &mut workload, 2 * scale, 12 * scale, config.hosts, window_ms);
        workload
    },
    scale: 1,
    sometimes: &[
        "a clone was refused: source locked",
        "a snapshot operation was refused: source locked",
        "a clone retry removed its own leftover snapshot",
        "a stale claim was fenced off",
        "a host fenced off a stale operation",
    ],
    crash_sagas: &["clone_vm", "snapshot_vm"],
    sagas: &["create_vm", "delete_vm", "clone_vm", "snapshot_vm"],
};

/// `start-stop`: instance start sagas with timeouts and unwinds, stops, stale monitors.
pub const START_STOP: ControlPlaneScenario = ControlPlaneScenario {
    name: "start-stop",
    summary: "two workers start and stop instances; start sagas time out and unwind; VMM monitors report late",
    config: config(2, 2, 4, 4),
    chaos_ms: 5_000,
    generate: |rng, config, window_ms, scale| {
        let mut workload = Workload::default();
        start_stop(rng, &mut workload, config.instances, 12 * scale, window_ms);
        workload
    },
    scale: 1,
    sometimes: &[
        "a start saga unwound after a timeout",
        "a stale monitor report arrived after a newer generation charged",
        "a stale claim was fenced off",
        "a host fenced off a stale operation",
    ],
    crash_sagas: &["start_instance", "stop_instance"],
    sagas: &["start_instance", "stop_instance"],
};

/// `control-plane`: all of it mixed.
pub const CONTROL_PLANE: ControlPlaneScenario = ControlPlaneScenario {
    name: "control-plane",
    summary: "three workers, three hosts: creates, deletes, clones, snapshots, starts and stops, mixed",
    config: config(3, 3, 16, 4),
    chaos_ms: 6_000,
    generate: |rng, config, window_ms, scale| {
        let mut workload = Workload::default();
        create_delete(rng, &mut workload, 6 * scale, config.hosts, 60, window_ms);
        clone_storm(rng, &mut workload, scale, 4 * scale, config.hosts, window_ms);
        start_stop(rng, &mut workload, config.instances, 8 * scale, window_ms);
        workload
    },
    scale: 1,
    sometimes: &[
        "a stale claim was fenced off",
        "a host fenced off a stale operation",
        "a start saga unwound after a timeout",
    ],
    crash_sagas: &[],
    sagas: &["create_vm", "delete_vm", "clone_vm", "snapshot_vm", "start_instance", "stop_instance"],
};

/// Every control-plane scenario, in a stable order.
pub const ALL: [ControlPlaneScenario; 5] = [SMOKE, DELETE, CLONE, START_STOP, CONTROL_PLANE];

impl ControlPlaneScenario {
    /// This scenario `factor` times over: its workload's operations, workers, hosts, IP pool and
    /// instances all multiplied, the faults and the time windows the same. The system grows with the
    /// work, so each operation should cost what it costs at factor 1: the benchmark's workload
    /// scaling part measures exactly that. The factor must leave the IP pool within 250 addresses.
    pub fn scaled(self, factor: u32) -> Self {
        assert!(factor >= 1, "a scale factor is at least 1");
        let pool = u32::from(self.config.ip_pool_size) * factor;
        assert!(pool <= 250, "{factor} times {} addresses leave the 250-address pool", self.config.ip_pool_size);
        let config = ControlPlaneConfig {
            workers: self.config.workers * factor,
            hosts: self.config.hosts * factor,
            ip_pool_size: pool as u8,
            instances: self.config.instances * factor,
            ..self.config
        };
        Self { config, scale: self.scale * factor, ..self }
    }
}

impl Scenario for ControlPlaneScenario {
    type Operation = Operation;
    type System = ControlPlane;

    fn name(&self) -> &'static str {
        self.name
    }

    fn summary(&self) -> &'static str {
        self.summary
    }

    fn default_limits(&self) -> Limits {
        limits(self.chaos_ms)
    }

    fn fault_profile(&self) -> FaultProfile {
        fault_profile(&self.config)
    }

    fn generate_workload(&self, rng: &mut StreamRng, limits: &Limits) -> Vec<WorkloadStep<Operation>> {
        (self.generate)(rng, &self.config, limits.chaos_ms, self.scale).finish()
    }

    fn bugs(&self) -> Vec<BugInfo> {
        fleetsim_model::bugs::CONTROL_PLANE.to_vec()
    }

    fn invariants(&self) -> Vec<InvariantInfo> {
        fleetsim_model::invariants::CATALOG.to_vec()
    }

    fn sometimes_catalog(&self) -> Vec<String> {
        let mut catalog: Vec<String> = self.sometimes.iter().map(|name| name.to_string()).collect();
        catalog.extend(crash_points(self.crash_sagas));
        catalog
    }

    fn fault_point_catalog(&self) -> Vec<String> {
        let mut catalog = fault_points(self.sagas);
        catalog.extend(delay_points(self.sagas));
        catalog
    }

    fn boot(&self, sim: &Sim) -> ControlPlane {
        ControlPlane::boot(sim, self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_scaled_scenario_multiplies_the_workload_and_the_system_but_not_the_time() {
        let (base, doubled) = (CONTROL_PLANE, CONTROL_PLANE.scaled(2));
        let steps = |scenario: &ControlPlaneScenario| {
            let mut rng = StreamRng::seed_from_u64(7);
            scenario.generate_workload(&mut rng, &scenario.default_limits()).len()
        };
        let (few, many) = (steps(&base), steps(&doubled));
        assert!(many > few * 3 / 2, "{few} operations at 1x, {many} at 2x");
        let crashable = |scenario: &ControlPlaneScenario| scenario.fault_profile().crashable.len();
        assert!(crashable(&doubled) > crashable(&base), "more workers and hosts may crash");
        assert_eq!(doubled.default_limits(), base.default_limits(), "the same time windows");
        assert_eq!((doubled.config.ip_pool_size, doubled.config.hosts), (32, 6));
    }
}
