//! The harness, tested through a tiny probe scenario that knows nothing of VMs: crash and
//! restart semantics, panics and bounds as failed outcomes, and every fault kind observable.

use fleetsim_sim::{
    run, BoxFuture, Disk, Fault, FaultKind, FaultPointPlan, FaultProfile, FaultWindow, Invariant, InvariantInfo,
    Limits, NodeContext, NodeIndex, Outcome, Plan, Rpc, RunConfig, Scenario, Sim, StreamRng, System, ViolationClass,
    WorkloadStep,
};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Operation {
    /// The client pings server `to` (0 or 1).
    Ping { to: u32 },
    /// Server 0 panics while handling a request.
    Panic,
    /// The client spins forever without letting simulated time pass.
    Livelock,
    /// A fault point on server 0 that fires on every pass.
    FaultPoint,
}

#[derive(Clone, Debug, Hash)]
enum Request {
    Ping,
    Panic,
    FaultPoint,
}

struct Probe {
    never_settles: bool,
}

struct ProbeSystem {
    sim: Sim,
    servers: [NodeIndex; 2],
    client: NodeIndex,
    never_settles: bool,
}

fn server(sim: &Sim, name: &str) -> NodeIndex {
    let durable = Disk::new(0u64);
    sim.add_node(name, move |node: NodeContext| {
        let durable = durable.clone();
        async move {
            let volatile = Arc::new(AtomicU64::new(0));
            let context = node.clone();
            let handler: fleetsim_sim::Handler<Request, String> = Arc::new(move |_, request| {
                let (durable, volatile, context) = (durable.clone(), volatile.clone(), context.clone());
                Box::pin(async move {
                    match request {
                        Request::Ping => {
                            let durable = durable.commit(&context, |count| {
                                *count += 1;
                                *count
                            });
                            let volatile = volatile.fetch_add(1, Ordering::Relaxed) + 1;
                            format!("durable={durable} volatile={volatile}")
                        }
                        Request::Panic => panic!("probe server panicked on purpose"),
                        Request::FaultPoint => match context.fault_point("probe.point").await {
                            Ok(()) => "passed".to_string(),
                            Err(fault) => format!("failed: {fault}"),
                        },
                    }
                })
            });
            let _rpc = Rpc::<Request, String>::bind(&node, Some(handler)).await;
            std::future::pending::<()>().await;
        }
    })
}

impl Scenario for Probe {
    type Operation = Operation;
    type System = ProbeSystem;

    fn name(&self) -> &'static str {
        "probe"
    }

    fn summary(&self) -> &'static str {
        "two servers and a client"
    }

    fn default_limits(&self) -> Limits {
        Limits { chaos_ms: 1_000, heal_ms: 50, quiet_ms_max: 500, events_max: 20_000, ..Limits::default() }
    }

    fn fault_profile(&self) -> FaultProfile {
        let nodes = vec!["server-0".to_string(), "server-1".to_string(), "client".to_string()];
        FaultProfile::new(&FaultKind::ALL, nodes[..2].to_vec(), nodes)
    }

    fn invariants(&self) -> Vec<InvariantInfo> {
        vec![InvariantInfo { name: "probe-settles", kind: ViolationClass::Liveness, summary: "the probe settles" }]
    }

    fn generate_workload(&self, _rng: &mut StreamRng, limits: &Limits) -> Vec<WorkloadStep<Operation>> {
        (0..limits.chaos_ms / 20)
            .map(|step| WorkloadStep { at_ms: step * 20, operation: Operation::Ping { to: (step % 2) as u32 } })
            .collect()
    }

    fn boot(&self, sim: &Sim) -> ProbeSystem {
        let servers = [server(sim, "server-0"), server(sim, "server-1")];
        let client = sim.add_node("client", |_| async {});
        if self.never_settles {
            sim.register_invariant(Invariant::finishes("probe-settles", || Err("the probe never settles".into())));
        }
        ProbeSystem { sim: sim.clone(), servers, client, never_settles: self.never_settles }
    }
}

/// Yields once without letting simulated time pass.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        context.waker().wake_by_ref();
        Poll::Pending
    }
}

impl System for ProbeSystem {
    type Operation = Operation;

    fn client(&self) -> NodeIndex {
        self.client
    }

    fn issue(&self, operation: Operation) -> BoxFuture<()> {
        let node = NodeContext::new(self.sim.clone(), self.client);
        let servers = self.servers;
        Box::pin(async move {
            let rpc = Rpc::<Request, String>::bind_client(&node).await;
            let (to, request) = match operation {
                Operation::Ping { to } => (servers[to as usize], Request::Ping),
                Operation::Panic => (servers[0], Request::Panic),
                Operation::FaultPoint => (servers[0], Request::FaultPoint),
                Operation::Livelock => loop {
                    node.step("spinning");
                    YieldOnce(false).await;
                },
            };
            match rpc.call(to, request, 100).await {
                Ok(reply) => node.step(format!("reply {reply}")),
                Err(error) => node.step(format!("no reply: {error}")),
            }
        })
    }

    fn settled(&self) -> bool {
        !self.never_settles
    }
}

fn run_plan(plan: Plan<Operation>, never_settles: bool) -> Outcome {
    let mut config = RunConfig::new("probe", 7);
    config.plan = Some(serde_json::to_value(plan).unwrap());
    config.keep_full_trace = true;
    run(&Probe { never_settles }, &config).expect("the plan fits")
}

fn plan(workload: Vec<(u64, Operation)>, faults: Vec<(u64, u64, Fault)>) -> Plan<Operation> {
    Plan {
        workload: workload.into_iter().map(|(at_ms, operation)| WorkloadStep { at_ms, operation }).collect(),
        faults: faults
            .into_iter()
            .map(|(start_ms, duration_ms, fault)| FaultWindow { start_ms, duration_ms, fault })
            .collect(),
        fault_points: FaultPointPlan::off(),
    }
}

fn replies(outcome: &Outcome) -> Vec<String> {
    let steps = outcome.trace_tail.iter().filter(|event| event.kind == fleetsim_sim::EventKind::Step);
    steps.filter_map(|event| event.detail.strip_prefix("reply ").map(str::to_string)).collect()
}

#[test]
fn a_crash_loses_volatile_state_and_keeps_durable_state() {
    let pings =
        vec![(10, Operation::Ping { to: 0 }), (20, Operation::Ping { to: 0 }), (300, Operation::Ping { to: 0 })];
    let crash = (100, 100, Fault::Crash { node: "server-0".into() });
    let outcome = run_plan(plan(pings.clone(), vec![crash]), false);
    assert!(outcome.passed(), "{:?}", outcome.violations);
    assert_eq!(replies(&outcome), ["durable=1 volatile=1", "durable=2 volatile=2", "durable=3 volatile=1"]);
    assert_eq!(outcome.faults.get("crash"), Some(&1));
    let without_crash = run_plan(plan(pings, vec![]), false);
    assert_eq!(replies(&without_crash), ["durable=1 volatile=1", "durable=2 volatile=2", "durable=3 volatile=3"]);
}

#[test]
fn a_panic_inside_a_node_is_a_failed_outcome_with_the_seed() {
    let outcome = run_plan(plan(vec![(10, Operation::Panic)], vec![]), false);
    assert!(!outcome.passed());
    assert_eq!(outcome.seed, 7);
    let violation = outcome.first_violation().unwrap();
    assert_eq!((violation.invariant.as_str(), violation.class), ("panic", ViolationClass::Panic));
    assert!(violation.message.contains("probe server panicked on purpose"), "{}", violation.message);
    // The process goes on: a second run in the same thread works.
    assert!(run_plan(plan(vec![(10, Operation::Ping { to: 1 })], vec![]), false).passed());
}

#[test]
fn a_livelock_hits_events_max_and_fails_as_liveness() {
    let outcome = run_plan(plan(vec![(10, Operation::Livelock)], vec![]), false);
    let violation = outcome.first_violation().expect("the bound fires");
    assert_eq!((violation.invariant.as_str(), violation.class), ("events_max", ViolationClass::Liveness));
    assert!(outcome.events > 20_000);
}

#[test]
fn a_system_that_never_settles_fails_its_liveness_check_after_the_quiet_bound() {
    let outcome = run_plan(plan(vec![(10, Operation::Ping { to: 1 })], vec![]), true);
    let violation = outcome.first_violation().expect("the liveness check fires");
    assert_eq!((violation.invariant.as_str(), violation.class), ("probe-settles", ViolationClass::Liveness));
    let limits = Probe { never_settles: true }.default_limits();
    assert!(outcome.sim_ms >= limits.chaos_ms + limits.heal_ms + limits.quiet_ms_max, "{}", outcome.sim_ms);
    assert!(outcome.sim_ms < limits.sim_ms_max());
}

fn count(outcome: &Outcome, needle: &str) -> usize {
    outcome.trace_tail.iter().filter(|event| event.to_string().contains(needle)).count()
}

#[test]
fn every_message_fault_kind_observably_happens() {
    let pings: Vec<(u64, Operation)> = (0..40).map(|step| (step * 10, Operation::Ping { to: 1 })).collect();
    let cases: Vec<(Fault, &str)> = vec![
        (Fault::Partition { side: vec!["server-1".into()] }, "drop        partitioned"),
        (Fault::OneWay { from: "client".into(), to: "server-1".into() }, "drop        partitioned"),
        (Fault::NetworkDown, "drop        partitioned"),
        (Fault::PacketLoss { percent: 50 }, "drop        lost"),
        (Fault::Timeout { percent: 50 }, "drop        reply_lost"),
        (Fault::Duplicate { percent: 50 }, "duplicate"),
    ];
    for (fault, needle) in cases {
        let name = fault.kind().name();
        let outcome = run_plan(plan(pings.clone(), vec![(0, 1_000, fault)]), false);
        assert_eq!(outcome.faults.get(name), Some(&1), "{name}");
        assert!(count(&outcome, needle) > 0, "{name}: no '{needle}' in the trace");
        assert!(count(&outcome, "no reply") > 0 || name == "duplicate", "{name}: every call succeeded");
    }
    let baseline = run_plan(plan(pings.clone(), vec![]), false);
    assert_eq!(count(&baseline, "drop"), 0);
    assert_eq!(count(&baseline, "no reply"), 0);
    let late = run_plan(plan(pings, vec![(0, 1_000, Fault::Latency { extra_ms_max: 300 })]), false);
    assert_eq!(late.faults.get("latency"), Some(&1));
    assert!(count(&late, "no reply") > 0, "300ms of extra latency must make 100ms calls time out");
    assert!(count(&late, "late_reply") > 0, "late replies are dropped by the dispatcher");
}

#[test]
fn pause_stalls_a_node_and_fault_points_crash_or_fail() {
    let pings: Vec<(u64, Operation)> = (0..10).map(|step| (step * 20, Operation::Ping { to: 0 })).collect();
    let paused = run_plan(plan(pings.clone(), vec![(0, 150, Fault::Pause { node: "server-0".into() })]), false);
    assert_eq!(paused.faults.get("pause"), Some(&1));
    assert!(count(&paused, "node paused") == 1 && count(&paused, "node resumed") == 1);
    assert!(count(&paused, "no reply") > 0);
    let mut always = plan((0..20).map(|step| (step * 20, Operation::FaultPoint)).collect(), vec![]);
    always.fault_points = FaultPointPlan {
        enable_percent: 100,
        fire_percent: 100,
        crash_percent: 50,
        restart_delay_ms_max: 30,
        ..FaultPointPlan::off()
    };
    let fired = run_plan(always, false);
    let fires = fired.coverage.fault_points["probe.point"].fires;
    assert!(fires > 0 && fired.faults.get("fault_point") == Some(&fires));
    assert!(count(&fired, "failed: fault injected at probe.point") > 0, "some firings fail the call");
    assert!(count(&fired, "node crashed") > 0 && count(&fired, "node restarted") > 0, "some firings crash the node");
}

#[test]
fn generated_plans_replay_to_the_same_trace_and_swarm_varies_it() {
    let probe = Probe { never_settles: false };
    let first = run(&probe, &RunConfig::new("probe", 11)).unwrap();
    let again = run(&probe, &RunConfig::new("probe", 11)).unwrap();
    assert_eq!((first.trace_hash.clone(), first.events), (again.trace_hash.clone(), again.events));
    let mut from_plan = RunConfig::new("probe", 11);
    from_plan.plan = Some(first.plan.clone());
    assert_eq!(run(&probe, &from_plan).unwrap().trace_hash, first.trace_hash, "the explicit plan replays the run");
    let other = run(&probe, &RunConfig::new("probe", 12)).unwrap();
    assert_ne!(other.trace_hash, first.trace_hash);
}

#[test]
fn messages_delivered_counts_every_deliver_event_and_leaves_the_trace_hash_alone() {
    let pings: Vec<(u64, Operation)> =
        (0..20).map(|step| (step * 10, Operation::Ping { to: step as u32 % 2 })).collect();
    let healthy = run_plan(plan(pings.clone(), vec![]), false);
    let delivered = |outcome: &Outcome| {
        outcome.trace_tail.iter().filter(|event| event.kind == fleetsim_sim::EventKind::Deliver).count() as u64
    };
    assert_eq!(healthy.messages_delivered, 40, "one request and one reply per ping");
    assert_eq!(healthy.messages_delivered, delivered(&healthy));
    let lossy = run_plan(plan(pings, vec![(0, 1_000, Fault::PacketLoss { percent: 50 })]), false);
    assert!(lossy.messages_delivered < 40, "{}", lossy.messages_delivered);
    assert_eq!(lossy.messages_delivered, delivered(&lossy));
}
