//! `partition-heal`: the replicated inventory of seed 001 under whole-network outages, partitions
//! of every shape, crashes and slow disks, with the API writing and reading throughout.

use fleetsim_model::inventory::{self, Inventory, InventoryOperation, InventorySettings};
use fleetsim_sim::{BugInfo, FaultKind, FaultProfile, InvariantInfo, Limits, Scenario, Sim, StreamRng, WorkloadStep};
use rand::Rng;

/// Re-assignments of a VM's package after the first round.
const REASSIGNMENTS: u32 = 10;
/// Reads at random moments of the chaos phase.
const READS: u32 = 30;
/// The first assignment of every VM happens before this, so an outage finds the fields written.
const FIRST_ROUND_MS: u64 = 1_500;

/// The `partition-heal` scenario.
#[derive(Clone, Copy, Debug, Default)]
pub struct PartitionHeal;

fn settings() -> InventorySettings {
    InventorySettings::default()
}

impl Scenario for PartitionHeal {
    type Operation = InventoryOperation;
    type System = Inventory;

    fn name(&self) -> &'static str {
        "partition-heal"
    }

    fn summary(&self) -> &'static str {
        "seven replicated store nodes and six agents under whole-network outages and partitions, then heal: registrations race handoffs"
    }

    fn default_limits(&self) -> Limits {
        Limits { chaos_ms: 10_000, heal_ms: 200, quiet_ms_max: 20_000, ..Limits::default() }
    }

    fn fault_profile(&self) -> FaultProfile {
        let stores: Vec<String> =
            (0..inventory::ring::STORE_NODES).map(|position| format!("store-{position}")).collect();
        let agents: Vec<String> = (0..settings().hosts).map(|host| format!("agent-{host}")).collect();
        let crashable: Vec<String> = stores.iter().chain(&agents).cloned().collect();
        let mut networked = crashable.clone();
        networked.push("api".to_string());
        // Every kind: the long faults need leases, which the inventory has none of, so they are
        // never drawn; no read is marked possibly stale, so stale reads would do nothing.
        let kinds: Vec<FaultKind> = FaultKind::ALL.into_iter().filter(|kind| *kind != FaultKind::StaleRead).collect();
        FaultProfile::new(&kinds, crashable, networked).with_storage(stores)
    }

    fn generate_workload(&self, rng: &mut StreamRng, limits: &Limits) -> Vec<WorkloadStep<InventoryOperation>> {
        let settings = settings();
        let vms: Vec<_> = (0..settings.hosts)
            .flat_map(|host| inventory::hosted_vms(&settings, host))
            .map(|hosted| hosted.vm)
            .collect();
        let late_ms = limits.chaos_ms * 9 / 10;
        let mut steps = Vec::new();
        let assign = |rng: &mut StreamRng, vm, at_ms| {
            let operation =
                InventoryOperation::Assign { vm, package: rng.gen_range(1..=4), organization: rng.gen_range(1..=3) };
            WorkloadStep { at_ms, operation }
        };
        for vm in &vms {
            let at_ms = rng.gen_range(0..FIRST_ROUND_MS);
            steps.push(assign(rng, *vm, at_ms));
        }
        for _ in 0..REASSIGNMENTS {
            let vm = vms[rng.gen_range(0..vms.len())];
            let at_ms = rng.gen_range(FIRST_ROUND_MS..late_ms.max(FIRST_ROUND_MS + 1));
            steps.push(assign(rng, vm, at_ms));
        }
        for _ in 0..READS {
            let vm = vms[rng.gen_range(0..vms.len())];
            steps.push(WorkloadStep {
                at_ms: rng.gen_range(0..late_ms.max(1)),
                operation: InventoryOperation::Read { vm },
            });
        }
        steps.sort_by_key(|step| step.at_ms);
        steps
    }

    fn bugs(&self) -> Vec<BugInfo> {
        fleetsim_model::bugs::INVENTORY.to_vec()
    }

    fn invariants(&self) -> Vec<InvariantInfo> {
        inventory::invariants::CATALOG.to_vec()
    }

    fn sometimes_catalog(&self) -> Vec<String> {
        inventory::SOMETIMES.map(String::from).to_vec()
    }

    fn fault_point_catalog(&self) -> Vec<String> {
        inventory::FAULT_POINTS.map(String::from).to_vec()
    }

    fn boot(&self, sim: &Sim) -> Inventory {
        Inventory::boot(sim, settings())
    }
}
