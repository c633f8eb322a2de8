//! `dead-host`: seed 003's machine platform while hosts die (some for good), stall, or are cut
//! off and come back with their machines still running; tenants destroy, force-destroy, deploy,
//! clone and recover throughout.

use fleetsim_model::machines::config::App;
use fleetsim_model::machines::{self, Machines, MachinesOperation, MachinesSettings};
use fleetsim_sim::{BugInfo, FaultKind, FaultProfile, InvariantInfo, Limits, Scenario, Sim, StreamRng, WorkloadStep};
use rand::seq::SliceRandom;
use rand::Rng;

/// Operations per run.
const OPERATIONS: u32 = 60;
/// How long, in the profile's terms, a host holds a lease: the long faults (pauses, partitions
/// and losses of a host) last 1.25 to 3 times this, well past the platform's judgment of
/// unreachable and of a recent loss.
const HOST_LEASE_MS: u64 = 3_000;

/// The `dead-host` scenario.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeadHost;

fn settings() -> MachinesSettings {
    MachinesSettings::default()
}

/// One random operation, weighted as tenants of a platform with dead hosts act.
fn operation(rng: &mut StreamRng) -> MachinesOperation {
    let app = *App::ALL.choose(rng).expect("non-empty");
    let pick = rng.gen_range(0..8);
    match rng.gen_range(0..100) {
        0..=34 => MachinesOperation::Request { app },
        35..=49 => MachinesOperation::Get { app, pick },
        50..=59 => MachinesOperation::Destroy { app, pick, force: rng.gen_bool(0.7) },
        60..=74 => MachinesOperation::Recover { app, pick },
        75..=80 => MachinesOperation::Create { app },
        81..=85 => MachinesOperation::Clone { app, pick },
        86..=90 => MachinesOperation::SetRunning { app, pick, running: rng.gen_bool(0.5) },
        _ => MachinesOperation::Deploy { app },
    }
}

impl Scenario for DeadHost {
    type Operation = MachinesOperation;
    type System = Machines;

    fn name(&self) -> &'static str {
        "dead-host"
    }

    fn summary(&self) -> &'static str {
        "five hosts that die (some for good), stall or are cut off and return with machines running, while tenants destroy, force-destroy, deploy and recover volumes"
    }

    fn default_limits(&self) -> Limits {
        Limits { chaos_ms: 15_000, heal_ms: 200, quiet_ms_max: 25_000, ..Limits::default() }
    }

    fn fault_profile(&self) -> FaultProfile {
        let hosts: Vec<String> = (0..settings().hosts).map(|host| format!("host-{host}")).collect();
        let services: Vec<String> = ["control", "proxy", "queue"].map(String::from).to_vec();
        let crashable: Vec<String> = services.iter().chain(&hosts).cloned().collect();
        let mut networked = crashable.clone();
        networked.push("tenant".to_string());
        // No read is marked possibly stale, so stale reads would do nothing.
        let kinds: Vec<FaultKind> = FaultKind::ALL.into_iter().filter(|kind| *kind != FaultKind::StaleRead).collect();
        FaultProfile::new(&kinds, crashable, networked)
            .with_leases(hosts.clone(), HOST_LEASE_MS)
            .with_storage(vec!["control".to_string()])
            .with_mortal(hosts)
    }

    fn generate_workload(&self, rng: &mut StreamRng, limits: &Limits) -> Vec<WorkloadStep<MachinesOperation>> {
        let mut steps: Vec<WorkloadStep<MachinesOperation>> = (0..OPERATIONS)
            .map(|_| WorkloadStep { at_ms: rng.gen_range(0..limits.chaos_ms.max(1)), operation: operation(rng) })
            .collect();
        steps.sort_by_key(|step| step.at_ms);
        steps
    }

    fn bugs(&self) -> Vec<BugInfo> {
        fleetsim_model::bugs::MACHINES.to_vec()
    }

    fn invariants(&self) -> Vec<InvariantInfo> {
        machines::invariants::CATALOG.to_vec()
    }

    fn sometimes_catalog(&self) -> Vec<String> {
        machines::sometimes()
    }

    fn fault_point_catalog(&self) -> Vec<String> {
        machines::FAULT_POINTS.map(String::from).to_vec()
    }

    fn boot(&self, sim: &Sim) -> Machines {
        Machines::boot(sim, settings())
    }
}
