//! `events`: seed 004's event pipeline under a whale's bursts, duplicated and reordered
//! deliveries, crashes, pauses and partitions, with small tenants changing their items throughout.

use fleetsim_model::events::{self, Events, EventsOperation, EventsSettings};
use fleetsim_model::ids::TenantId;
use fleetsim_sim::{BugInfo, FaultKind, FaultProfile, InvariantInfo, Limits, Scenario, Sim, StreamRng, WorkloadStep};
use rand::Rng;

/// Bursts of a whale per run.
const BURSTS: u32 = 2;
/// Items a whale creates in one burst, at most.
const BURST_CREATES_MAX: u32 = 250;
/// Other operations per run.
const OPERATIONS: u32 = 60;

/// The `events` scenario.
#[derive(Clone, Copy, Debug, Default)]
pub struct EventsScenario;

fn settings() -> EventsSettings {
    EventsSettings::default()
}

/// One operation of a tenant drawn at random, small tenants three times in four.
fn operation(rng: &mut StreamRng, settings: &EventsSettings) -> EventsOperation {
    let tenant = if rng.gen_bool(0.75) {
        TenantId(rng.gen_range(settings.whales + 1..=settings.whales + settings.small_tenants))
    } else {
        TenantId(rng.gen_range(1..=settings.whales))
    };
    let (pick, units) = (rng.gen_range(0..8), rng.gen_range(1..=8));
    match rng.gen_range(0..100) {
        0..=49 => EventsOperation::Update { tenant, pick, units },
        50..=64 => EventsOperation::Create { tenant, units },
        65..=79 => EventsOperation::Delete { tenant, pick },
        _ => EventsOperation::Flash { tenant, units },
    }
}

impl Scenario for EventsScenario {
    type Operation = EventsOperation;
    type System = Events;

    fn name(&self) -> &'static str {
        "events"
    }

    fn summary(&self) -> &'static str {
        "VM lifecycle events delivered at least once and out of order to a dashboard consumer with row locks, a cache and tenants of very different sizes"
    }

    fn default_limits(&self) -> Limits {
        Limits { chaos_ms: 15_000, heal_ms: 200, quiet_ms_max: 30_000, ..Limits::default() }
    }

    fn fault_profile(&self) -> FaultProfile {
        let crashable: Vec<String> = ["source", "stream", "consumer", "items"].map(String::from).to_vec();
        let mut networked = crashable.clone();
        networked.push("tenants".to_string());
        // No read is marked possibly stale; no node holds a lease.
        let kinds: Vec<FaultKind> = FaultKind::ALL.into_iter().filter(|kind| *kind != FaultKind::StaleRead).collect();
        FaultProfile::new(&kinds, crashable, networked).with_storage(vec!["source".to_string(), "consumer".to_string()])
    }

    fn generate_workload(&self, rng: &mut StreamRng, limits: &Limits) -> Vec<WorkloadStep<EventsOperation>> {
        let settings = settings();
        let late_ms = (limits.chaos_ms * 9 / 10).max(1);
        let mut steps: Vec<WorkloadStep<EventsOperation>> = (0..OPERATIONS)
            .map(|_| WorkloadStep { at_ms: rng.gen_range(0..late_ms), operation: operation(rng, &settings) })
            .collect();
        for _ in 0..BURSTS {
            let tenant = TenantId(rng.gen_range(1..=settings.whales));
            let creates = rng.gen_range(BURST_CREATES_MAX / 2..=BURST_CREATES_MAX);
            steps.push(WorkloadStep {
                at_ms: rng.gen_range(0..late_ms),
                operation: EventsOperation::Burst { tenant, creates },
            });
        }
        steps.sort_by_key(|step| step.at_ms);
        steps
    }

    fn bugs(&self) -> Vec<BugInfo> {
        fleetsim_model::bugs::EVENTS.to_vec()
    }

    fn invariants(&self) -> Vec<InvariantInfo> {
        events::invariants::CATALOG.to_vec()
    }

    fn sometimes_catalog(&self) -> Vec<String> {
        events::SOMETIMES.map(String::from).to_vec()
    }

    fn fault_point_catalog(&self) -> Vec<String> {
        events::FAULT_POINTS.map(String::from).to_vec()
    }

    fn boot(&self, sim: &Sim) -> Events {
        Events::boot(sim, settings())
    }
}
