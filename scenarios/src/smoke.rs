//! `smoke`: the smallest whole control plane (a store, one worker, two hosts) creating and
//! deleting VMs under every fault kind. Proves the harness end to end, fast.

use crate::workload::{create_delete, CreateDeleteShape};
use fleetsim_model::{ControlPlane, ControlPlaneConfig, Operation};
use fleetsim_sim::{FaultKind, FaultProfile, Limits, Scenario, Sim, StreamRng, WorkloadStep};

/// The `smoke` scenario.
pub struct Smoke;

const CONFIG: ControlPlaneConfig = ControlPlaneConfig { workers: 1, hosts: 2, ip_pool_size: 6 };

impl Scenario for Smoke {
    type Operation = Operation;
    type System = ControlPlane;

    fn name(&self) -> &'static str {
        "smoke"
    }

    fn summary(&self) -> &'static str {
        "a store, one worker and two hosts create and delete VMs under every fault kind"
    }

    fn default_limits(&self) -> Limits {
        Limits { chaos_ms: 2_000, heal_ms: 100, quiet_ms_max: 10_000, ..Limits::default() }
    }

    fn fault_profile(&self) -> FaultProfile {
        let nodes: Vec<String> =
            ["store", "worker-1", "agent-1", "agent-2"].iter().map(|name| name.to_string()).collect();
        FaultProfile { kinds: FaultKind::ALL.to_vec(), crashable: nodes.clone(), networked: nodes }
    }

    fn generate_workload(&self, rng: &mut StreamRng, limits: &Limits) -> Vec<WorkloadStep<Operation>> {
        let shape = CreateDeleteShape { vms: 5, hosts: CONFIG.hosts, delete_percent: 60 };
        create_delete(rng, shape, limits.chaos_ms)
    }

    fn boot(&self, sim: &Sim) -> ControlPlane {
        ControlPlane::boot(sim, CONFIG)
    }
}
