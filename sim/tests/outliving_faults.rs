//! The faults that outlive timeouts and leases, each shown to happen and to have its effect on a
//! tiny journal service: a store node that appends numbers to its disk, grants leases by its own
//! clock and serves possibly stale reads, and a client that calls it.

use fleetsim_sim::{
    run, BoxFuture, Disk, EventKind, Fault, FaultKind, FaultPointPlan, FaultProfile, FaultWindow, Invariant,
    InvariantInfo, Limits, NodeContext, NodeIndex, Outcome, Plan, Rpc, RunConfig, Scenario, Sim, StreamRng, System,
    ViolationClass, WorkloadStep,
};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// How long a lease the store grants lasts, by the store's clock.
const LEASE_MS: u64 = 500;
/// The client's call timeout.
const CALL_TIMEOUT_MS: u64 = 100;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Operation {
    /// Append the client's next number to the journal.
    Append,
    /// Read the journal's length, possibly stale.
    ReadStale,
    /// Take the lease.
    Grant,
    /// Ask whether the lease taken last is still held.
    Check,
}

#[derive(Clone, Debug, Hash)]
enum Request {
    /// Append `number`, sent at true time `sent_ms`.
    Append {
        number: u64,
        sent_ms: u64,
    },
    ReadStale,
    Grant,
    Check,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Reply {
    Appended,
    /// The true time of the newest append the read saw (0: none).
    Newest(u64),
    Granted,
    Held(bool),
}

/// The store's disk: each append's number and the true time it was committed.
#[derive(Clone, Debug, Default)]
struct Journal {
    entries: Vec<(u64, u64)>,
    lease_until_ms: u64,
}

/// What the test reads back: arrivals at the store, acknowledged appends, read results.
#[derive(Default)]
struct Observed {
    /// (number, sent at, arrived at) of every append request the store saw.
    arrivals: Vec<(u64, u64, u64)>,
    acknowledged: Vec<u64>,
    timed_out: u64,
    /// (true time the read's reply arrived, newest append it saw).
    reads: Vec<(u64, u64)>,
    checks: Vec<bool>,
    /// What the store's disk reported lost when the store started, at each start.
    recoveries: Vec<Option<fleetsim_sim::Recovery>>,
}

#[derive(Clone, Copy)]
struct JournalService {
    /// The store acknowledges an append before it syncs it (a store that loses writes).
    acknowledges_first: bool,
}

struct JournalSystem {
    sim: Sim,
    store: NodeIndex,
    client: NodeIndex,
    observed: Arc<Mutex<Observed>>,
}

fn store_node(sim: &Sim, disk: Disk<Journal>, observed: Arc<Mutex<Observed>>, acknowledges_first: bool) -> NodeIndex {
    sim.add_node("store", move |node: NodeContext| {
        let (disk, observed) = (disk.clone(), observed.clone());
        async move {
            observed.lock().unwrap().recoveries.push(disk.recovery());
            let context = node.clone();
            let handler: fleetsim_sim::Handler<Request, Reply> = Arc::new(move |_, request| {
                let (disk, observed, context) = (disk.clone(), observed.clone(), context.clone());
                Box::pin(async move { serve(&context, &disk, &observed, acknowledges_first, request).await })
            });
            let _rpc = Rpc::<Request, Reply>::bind(&node, Some(handler)).await;
            std::future::pending::<()>().await;
        }
    })
}

async fn serve(
    context: &NodeContext,
    disk: &Disk<Journal>,
    observed: &Mutex<Observed>,
    acknowledges_first: bool,
    request: Request,
) -> Reply {
    let now_ms = context.sim().now_ms();
    match request {
        Request::Append { number, sent_ms } => {
            observed.lock().unwrap().arrivals.push((number, sent_ms, now_ms));
            disk.commit(context, |journal| journal.entries.push((number, now_ms)));
            if acknowledges_first {
                let (disk, context) = (disk.clone(), context.clone());
                madsim::task::spawn(async move { disk.sync(&context).await });
            } else {
                disk.sync(context).await;
            }
            Reply::Appended
        }
        Request::ReadStale => Reply::Newest(
            disk.read_possibly_stale(context, |journal| journal.entries.last().map_or(0, |entry| entry.1)),
        ),
        Request::Grant => {
            let until_ms = context.now_ms() + LEASE_MS;
            disk.commit(context, |journal| journal.lease_until_ms = until_ms);
            disk.sync(context).await;
            Reply::Granted
        }
        Request::Check => Reply::Held(disk.read(|journal| journal.lease_until_ms > context.now_ms())),
    }
}

impl Scenario for JournalService {
    type Operation = Operation;
    type System = JournalSystem;

    fn name(&self) -> &'static str {
        "journal"
    }

    fn summary(&self) -> &'static str {
        "a client appends to a store's journal, takes a lease and reads possibly stale"
    }

    fn default_limits(&self) -> Limits {
        Limits { chaos_ms: 4_000, heal_ms: 50, quiet_ms_max: 3_000, events_max: 50_000, ..Limits::default() }
    }

    fn fault_profile(&self) -> FaultProfile {
        let nodes = vec!["store".to_string(), "client".to_string()];
        FaultProfile::new(&FaultKind::ALL, nodes[..1].to_vec(), nodes)
            .with_leases(vec!["store".to_string()], LEASE_MS)
            .with_storage(vec!["store".to_string()])
    }

    fn invariants(&self) -> Vec<InvariantInfo> {
        vec![InvariantInfo {
            name: "appends-persist",
            kind: ViolationClass::Convergence,
            summary: "every acknowledged append is in the journal",
        }]
    }

    fn generate_workload(&self, _rng: &mut StreamRng, _limits: &Limits) -> Vec<WorkloadStep<Operation>> {
        Vec::new()
    }

    fn boot(&self, sim: &Sim) -> JournalSystem {
        let disk = Disk::new(Journal::default());
        let observed = Arc::new(Mutex::new(Observed::default()));
        let store = store_node(sim, disk.clone(), observed.clone(), self.acknowledges_first);
        let client = sim.add_node("client", |_| async {});
        let (checked, acknowledged) = (disk.clone(), observed.clone());
        sim.register_invariant(Invariant::eventually("appends-persist", move || {
            let acknowledged = acknowledged.lock().unwrap().acknowledged.clone();
            checked.read_durable(|journal| {
                match acknowledged.iter().find(|number| !journal.entries.iter().any(|entry| entry.0 == **number)) {
                    Some(number) => Err(format!("append {number} was acknowledged but is not in the journal")),
                    None => Ok(()),
                }
            })
        }));
        JournalSystem { sim: sim.clone(), store, client, observed }
    }
}

impl System for JournalSystem {
    type Operation = Operation;

    fn client(&self) -> NodeIndex {
        self.client
    }

    fn issue(&self, operation: Operation) -> BoxFuture<()> {
        let node = NodeContext::new(self.sim.clone(), self.client);
        let (store, observed) = (self.store, self.observed.clone());
        Box::pin(async move {
            let rpc = Rpc::<Request, Reply>::bind_client(&node).await;
            let request = match operation {
                Operation::Append => {
                    let number = node.sim().model_rng(rand::Rng::gen::<u64>);
                    Request::Append { number, sent_ms: node.sim().now_ms() }
                }
                Operation::ReadStale => Request::ReadStale,
                Operation::Grant => Request::Grant,
                Operation::Check => Request::Check,
            };
            let reply = rpc.call(store, request.clone(), CALL_TIMEOUT_MS).await;
            let replied_ms = node.sim().now_ms();
            let mut observed = observed.lock().unwrap();
            match (request, reply) {
                (Request::Append { number, .. }, Ok(Reply::Appended)) => observed.acknowledged.push(number),
                (_, Ok(Reply::Newest(newest_ms))) => observed.reads.push((replied_ms, newest_ms)),
                (_, Ok(Reply::Held(held))) => observed.checks.push(held),
                (_, Err(_)) => observed.timed_out += 1,
                _ => {}
            }
        })
    }

    fn settled(&self) -> bool {
        true
    }
}

/// Runs `workload` (operations at their times, sorted here) under `faults`; returns what it observed.
fn run_journal(
    service: JournalService,
    workload: Vec<(u64, Operation)>,
    faults: Vec<(u64, u64, Fault)>,
) -> (Outcome, Observed) {
    let mut workload = workload;
    workload.sort_by_key(|(at_ms, _)| *at_ms);
    let plan = Plan {
        workload: workload.into_iter().map(|(at_ms, operation)| WorkloadStep { at_ms, operation }).collect(),
        faults: faults
            .into_iter()
            .map(|(start_ms, duration_ms, fault)| FaultWindow { start_ms, duration_ms, fault })
            .collect(),
        fault_points: FaultPointPlan::off(),
    };
    let observed: Arc<Mutex<Option<Arc<Mutex<Observed>>>>> = Arc::default();
    let mut config = RunConfig::new("journal", 3);
    config.plan = Some(serde_json::to_value(plan).unwrap());
    config.keep_full_trace = true;
    let probe = Capture { service, observed: observed.clone() };
    let outcome = run(&probe, &config).expect("the plan fits");
    let observed = observed.lock().unwrap().take().expect("booted");
    let observed = std::mem::take(&mut *observed.lock().unwrap());
    (outcome, observed)
}

/// The journal service, keeping a handle on what its run observed.
struct Capture {
    service: JournalService,
    observed: Arc<Mutex<Option<Arc<Mutex<Observed>>>>>,
}

impl Scenario for Capture {
    type Operation = Operation;
    type System = JournalSystem;
    fn name(&self) -> &'static str {
        self.service.name()
    }
    fn summary(&self) -> &'static str {
        self.service.summary()
    }
    fn default_limits(&self) -> Limits {
        self.service.default_limits()
    }
    fn fault_profile(&self) -> FaultProfile {
        self.service.fault_profile()
    }
    fn invariants(&self) -> Vec<InvariantInfo> {
        self.service.invariants()
    }
    fn generate_workload(&self, rng: &mut StreamRng, limits: &Limits) -> Vec<WorkloadStep<Operation>> {
        self.service.generate_workload(rng, limits)
    }
    fn boot(&self, sim: &Sim) -> JournalSystem {
        let system = self.service.boot(sim);
        *self.observed.lock().unwrap() = Some(system.observed.clone());
        system
    }
}

fn every(every_ms: u64, count: u64, operation: Operation) -> Vec<(u64, Operation)> {
    (0..count).map(|step| (10 + step * every_ms, operation.clone())).collect()
}

const FIXED: JournalService = JournalService { acknowledges_first: false };

/// Held back 2 to 2.5 s: four leases of the journal's 500 ms, twenty call timeouts of 100 ms.
#[test]
fn a_held_back_request_lands_seconds_after_its_call_timed_out_and_some_land_twice() {
    let stale = Fault::StaleDelivery { percent: 100, delay_ms_min: 2_000, delay_ms_max: 2_500 };
    let (outcome, observed) = run_journal(FIXED, every(10, 20, Operation::Append), vec![(0, 300, stale)]);
    assert!(outcome.passed(), "{:?}", outcome.violations);
    assert_eq!(outcome.faults.get("stale_delivery"), Some(&1));
    let late: Vec<_> = observed.arrivals.iter().filter(|(_, sent, arrived)| arrived - sent >= 2_000).collect();
    assert!(late.len() >= 15, "{} of 20 requests were held back", late.len());
    assert!(late.iter().all(|(_, sent, arrived)| arrived - sent <= 2_600), "{late:?}");
    let twice = observed.arrivals.iter().filter(|(number, ..)| late.iter().any(|entry| entry.0 == *number)).count();
    assert!(twice > late.len(), "some held-back requests are duplicates of one on time");
    assert!(observed.timed_out >= 5, "calls whose only copy was held back time out");
    assert!(outcome.fault_effects["stale_delivery: messages held back"] >= 15);
    assert!(outcome.trace_tail.iter().any(|event| event.kind == EventKind::HeldBack));
}

#[test]
fn a_crash_inside_a_disk_window_loses_the_unsynced_write_and_only_a_store_acknowledging_first_loses_an_acknowledged_one(
) {
    let disk = Fault::Disk { node: "store".into(), sync_ms_max: 20, restart_after_ms: 50 };
    let faults = vec![(0, 200, disk)];
    let (fixed, observed) = run_journal(FIXED, every(10, 60, Operation::Append), faults.clone());
    assert!(fixed.passed(), "{:?}", fixed.violations);
    assert_eq!(fixed.fault_effects.get("disk: unsynced writes lost at a crash"), Some(&1));
    assert!(fixed.trace_tail.iter().any(|event| event.kind == EventKind::Storage && event.node == "store"));
    let after_restart = observed.recoveries.last().copied().flatten().expect("the restart saw what was lost");
    assert_eq!((observed.recoveries.len(), observed.recoveries[0], after_restart.writes_lost), (2, None, 1));
    assert!(
        observed.acknowledged.len() >= 50 && observed.timed_out >= 1,
        "{} acknowledged",
        observed.acknowledged.len()
    );
    // Syncs slower than the appends come in leave acknowledged appends unsynced at the crash.
    let careless = JournalService { acknowledges_first: true };
    let slow = Fault::Disk { node: "store".into(), sync_ms_max: 150, restart_after_ms: 50 };
    let (lost, _) = run_journal(careless, every(10, 60, Operation::Append), vec![(0, 200, slow.clone())]);
    let violation = lost.first_violation().expect("an acknowledged append was lost");
    assert_eq!(violation.invariant, "appends-persist", "{violation:?}");
    let (without, _) = run_journal(careless, every(10, 60, Operation::Append), Vec::new());
    assert!(without.passed() && without.fault_effects.is_empty(), "no disk window, nothing lost");
    let (fixed_slow, _) = run_journal(FIXED, every(10, 60, Operation::Append), vec![(0, 200, slow)]);
    assert!(fixed_slow.passed(), "the fixed store loses only what it never acknowledged: {:?}", fixed_slow.violations);
}

#[test]
fn a_torn_write_is_discarded_at_recovery_in_some_runs_and_counted() {
    let mut torn = 0;
    for start_ms in 0..20 {
        let disk = Fault::Disk { node: "store".into(), sync_ms_max: 20, restart_after_ms: 50 };
        let (outcome, _) = run_journal(FIXED, every(10, 40, Operation::Append), vec![(start_ms * 7, 100, disk)]);
        assert!(outcome.passed(), "{:?}", outcome.violations);
        torn += outcome.fault_effects.get("disk: torn writes discarded at recovery").copied().unwrap_or(0);
    }
    assert!((3..=17).contains(&torn), "{torn} of 20 crashes tore the last write");
}

#[test]
fn a_fast_clock_expires_a_lease_early_and_a_jump_expires_it_at_once() {
    let workload = vec![(10, Operation::Grant), (310, Operation::Check)];
    let (healthy, observed) = run_journal(FIXED, workload.clone(), Vec::new());
    assert!(healthy.passed());
    assert_eq!(observed.checks, [true], "300 ms into a 500 ms lease it is held");
    let fast = Fault::ClockSkew { node: "store".into(), jump_ms: 0, rate_percent: 200 };
    let (_, observed) = run_journal(FIXED, workload.clone(), vec![(0, 1_000, fast)]);
    assert_eq!(observed.checks, [false], "at twice the speed the store's 500 ms pass in 250");
    let jump = Fault::ClockSkew { node: "store".into(), jump_ms: 600, rate_percent: 100 };
    let (skewed, observed) = run_journal(FIXED, workload, vec![(100, 1_000, jump)]);
    assert_eq!(observed.checks, [false], "a clock jumping 600 ms ahead ends the lease");
    assert_eq!(skewed.faults.get("clock_skew"), Some(&1));
}

#[test]
fn a_fast_clock_on_the_caller_times_its_calls_out_early() {
    let slow_store = Fault::Latency { extra_ms_max: 30 };
    let fast_client = Fault::ClockSkew { node: "client".into(), jump_ms: 0, rate_percent: 200 };
    let workload = every(10, 40, Operation::Append);
    let (_, normal) = run_journal(FIXED, workload.clone(), vec![(0, 1_000, slow_store.clone())]);
    let (_, hurried) = run_journal(FIXED, workload, vec![(0, 1_000, slow_store), (0, 1_000, fast_client)]);
    assert_eq!(normal.timed_out, 0, "30 ms more each way stays inside a 100 ms timeout");
    assert!(hurried.timed_out > 2, "a 100 ms timeout by a clock twice as fast is 50 ms: {}", hurried.timed_out);
}

#[test]
fn a_long_pause_and_a_long_partition_outlast_the_lease_and_end() {
    let workload = every(100, 30, Operation::Append);
    for fault in [Fault::LongPause { node: "store".into() }, Fault::LongPartition { node: "store".into() }] {
        let name = fault.kind().name();
        let (outcome, observed) = run_journal(FIXED, workload.clone(), vec![(200, 3 * LEASE_MS, fault)]);
        assert!(outcome.passed(), "{name}: {:?}", outcome.violations);
        assert_eq!(outcome.faults.get(name), Some(&1));
        assert!((14..=16).contains(&observed.timed_out), "{name}: {} calls timed out", observed.timed_out);
        assert!(observed.acknowledged.len() >= 14, "{name}: calls succeed again after the window");
    }
}

#[test]
fn a_stale_read_sees_an_old_snapshot_never_older_than_its_bound() {
    let mut workload = every(10, 300, Operation::Append);
    workload.extend((0..50).map(|step| (35 + step * 60, Operation::ReadStale)));
    let stale = Fault::StaleRead { node: "store".into(), age_ms_max: 400 };
    let (outcome, observed) = run_journal(FIXED, workload.clone(), vec![(0, 3_500, stale)]);
    let ages: Vec<u64> = observed.reads.iter().map(|(at_ms, newest_ms)| at_ms - newest_ms).collect();
    assert!(ages.iter().all(|age| *age <= 400 + 25 + 40), "{ages:?}");
    assert!(ages.iter().filter(|age| **age > 100).count() >= 10, "{ages:?}");
    assert!(outcome.fault_effects["stale_read: reads served from an old snapshot"] >= 10);
    let (_, fresh) = run_journal(FIXED, workload, Vec::new());
    assert!(fresh.reads.iter().all(|(at_ms, newest_ms)| at_ms - newest_ms <= 40), "{:?}", fresh.reads);
}

#[test]
fn a_run_with_every_outliving_fault_replays_from_its_plan_to_the_same_trace() {
    let mut workload = every(10, 200, Operation::Append);
    workload.extend((0..30).map(|step| (15 + step * 60, Operation::ReadStale)));
    workload.extend([(20, Operation::Grant), (400, Operation::Check)]);
    let faults = vec![
        (0, 300, Fault::StaleDelivery { percent: 30, delay_ms_min: 600, delay_ms_max: 1_500 }),
        (100, 800, Fault::LongPause { node: "store".into() }),
        (1_000, 600, Fault::LongPartition { node: "store".into() }),
        (0, 1_500, Fault::ClockSkew { node: "store".into(), jump_ms: 200, rate_percent: 150 }),
        (1_700, 100, Fault::Disk { node: "store".into(), sync_ms_max: 10, restart_after_ms: 30 }),
        (0, 2_000, Fault::StaleRead { node: "store".into(), age_ms_max: 300 }),
    ];
    let (first, _) = run_journal(FIXED, workload, faults);
    assert_eq!(first.faults.len(), 6, "{:?}", first.faults);
    let mut again = RunConfig::new("journal", 3);
    again.plan = Some(first.plan.clone());
    let probe = Capture { service: FIXED, observed: Arc::default() };
    let replayed = run(&probe, &again).expect("the plan fits");
    assert_eq!((replayed.trace_hash, replayed.events), (first.trace_hash, first.events));
    assert_eq!(replayed.fault_effects, first.fault_effects);
}

/// A node loss for good keeps the store down through the heal and the quiet phase; one that is
/// not for good restarts the store when its window ends, like a crash.
#[test]
fn a_node_lost_for_good_never_restarts_and_one_lost_for_a_while_does() {
    let loss = |forever: bool| Fault::NodeLoss { node: "store".into(), forever };
    let (back, observed) = run_journal(FIXED, every(10, 100, Operation::Append), vec![(200, 300, loss(false))]);
    assert_eq!(observed.recoveries.len(), 2, "the store restarts at the window's end");
    assert!(
        observed.acknowledged.len() >= 60 && observed.timed_out >= 20,
        "{} acknowledged",
        observed.acknowledged.len()
    );
    assert_eq!(back.faults.get("node_loss"), Some(&1));
    let (gone, observed) = run_journal(FIXED, every(10, 100, Operation::Append), vec![(200, 300, loss(true))]);
    assert_eq!(observed.recoveries.len(), 1, "the store never starts again, not even at the heal");
    assert!(
        observed.acknowledged.len() <= 20 && observed.timed_out >= 80,
        "{} acknowledged",
        observed.acknowledged.len()
    );
    assert!(gone.trace_tail.iter().any(|event| event.kind == EventKind::Crash && event.detail == "node lost for good"));
}
