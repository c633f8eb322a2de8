//! The run lifecycle: plan, runtime, the three phases (chaos, heal, quiet), bounds, and the
//! outcome, with panics and hit bounds turned into failed outcomes instead of aborts.

use crate::config::{FaultStrategy, Limits, RunConfig};
use crate::nemesis::{generate_faults, FaultWindow};
use crate::node::NodeIndex;
use crate::outcome::{Outcome, Verdict, Violation, ViolationClass};
use crate::plan::{Plan, WorkloadStep};
use crate::scenario::{Scenario, System};
use crate::seed::{stream_rng, stream_seed, Stream};
use crate::trace::EventKind;
use crate::world::{Sim, WorldResults, WorldSetup, EVENTS_BOUND_PANIC, NEMESIS_NAME};
use madsim::runtime::{Handle, Runtime};
use madsim::time::{Duration, Instant};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

/// A run that could not start: its input is wrong.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The explicit plan does not fit the scenario.
    #[error("the plan does not fit scenario '{scenario}': {source}")]
    Plan {
        /// The scenario named by the run.
        scenario: String,
        /// What did not parse.
        source: serde_json::Error,
    },
    /// No scenario has that name.
    #[error("unknown scenario '{name}' (known: {known})")]
    UnknownScenario {
        /// The name given.
        name: String,
        /// The names known.
        known: String,
    },
    /// The configuration names another scenario than the one asked to run it.
    #[error("the run names scenario '{given}' but was handed to scenario '{expected}'")]
    ScenarioMismatch {
        /// The scenario that was to run it.
        expected: String,
        /// The scenario the configuration names.
        given: String,
    },
    /// A bug switch the scenario's system does not implement.
    #[error("unknown bug '{bug}' for {scope} (known: {known})")]
    UnknownBug {
        /// The ID given.
        bug: String,
        /// Where it was looked up: a scenario, or the whole program.
        scope: String,
        /// The IDs known there.
        known: String,
    },
    /// The fault profile or the plan names a node the booted system does not have.
    #[error(
        "the {place} of scenario '{scenario}' names node '{node}', which the system does not have (nodes: {known})"
    )]
    UnknownNode {
        /// The scenario.
        scenario: String,
        /// `fault profile` or `plan`.
        place: &'static str,
        /// The node named.
        node: String,
        /// The nodes the system booted.
        known: String,
    },
    /// The system registered an invariant its scenario does not declare.
    #[error("scenario '{scenario}' registers invariant '{invariant}', which its invariants() does not declare")]
    UndeclaredInvariant {
        /// The scenario.
        scenario: String,
        /// The invariant registered.
        invariant: String,
    },
}

/// The plan a seed generates for `scenario` under `strategy`.
pub fn generate_plan<S: Scenario>(
    scenario: &S,
    seed: u64,
    strategy: FaultStrategy,
    limits: &Limits,
) -> Plan<S::Operation> {
    let workload = scenario.generate_workload(&mut stream_rng(seed, Stream::Workload), limits);
    let mut nemesis = stream_rng(seed, Stream::Nemesis);
    let mut outliving = stream_rng(seed, Stream::Outliving);
    let profile = scenario.fault_profile();
    let (faults, fault_points) = generate_faults(&mut nemesis, &mut outliving, &profile, strategy, limits.chaos_ms);
    Plan { workload, faults, fault_points }
}

/// Runs one seed of `scenario` to its outcome. Only bad input is an error: a configuration for
/// another scenario, a bug the system does not implement, a plan that does not parse, a fault
/// profile or plan naming a node the system does not boot, an undeclared invariant.
///
/// With [`RunConfig::tail_only_on_failure`] the run keeps no trace events, and its outcome has
/// no tail: a caller that wants a failure's tail runs it again without the flag, and
/// [`divergence`] tells whether the second run went as the first.
pub fn run<S: Scenario>(scenario: &S, config: &RunConfig) -> Result<Outcome, RunError> {
    run_once(scenario, config)
}

/// The invariant a run breaks when running it again gives another trace or other violations.
pub const DETERMINISM_INVARIANT: &str = "deterministic-replay";

/// A [`DETERMINISM_INVARIANT`] violation if `second`, the same run as `first`, went otherwise.
pub fn divergence(first: &Outcome, second: &Outcome) -> Option<Violation> {
    let invariants =
        |outcome: &Outcome| -> Vec<String> { outcome.violations.iter().map(|violation| violation.invariant.clone()).collect() };
    if first.trace_hash == second.trace_hash && invariants(first) == invariants(second) {
        return None;
    }
    let message = format!(
        "the same run gave trace {} ({} events, violations {:?}), then trace {} ({} events, violations {:?})",
        first.trace_hash,
        first.events,
        invariants(first),
        second.trace_hash,
        second.events,
        invariants(second)
    );
    Some(Violation { invariant: DETERMINISM_INVARIANT.to_string(), class: ViolationClass::Safety, at_ms: 0, message })
}

fn run_once<S: Scenario>(scenario: &S, config: &RunConfig) -> Result<Outcome, RunError> {
    check_config(scenario, config)?;
    let limits = config.limits.clone().unwrap_or_else(|| scenario.default_limits());
    let plan: Plan<S::Operation> = match &config.plan {
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|source| RunError::Plan { scenario: scenario.name().to_string(), source })?,
        None => generate_plan(scenario, config.seed, config.strategy, &limits),
    };
    let plan_json = serde_json::to_value(&plan).expect("a plan always serializes");
    let setup = WorldSetup {
        seed: config.seed,
        limits: limits.clone(),
        bugs: config.bugs.clone(),
        fault_points: plan.fault_points.clone(),
        sometimes_catalog: scenario.sometimes_catalog(),
        fault_point_catalog: scenario.fault_point_catalog(),
        keep_full_trace: config.keep_full_trace,
        tail_only_on_failure: config.tail_only_on_failure,
    };
    let wall_started = std::time::Instant::now();
    let (results, panic, refused) = execute(scenario, setup, plan);
    if let Some(error) = refused {
        return Err(error);
    }
    let wall_ms = wall_started.elapsed().as_millis() as u64;
    Ok(assemble(config, results, panic, plan_json, limits, wall_ms))
}

/// The scenario name and bugs of `config` must be `scenario`'s.
fn check_config<S: Scenario>(scenario: &S, config: &RunConfig) -> Result<(), RunError> {
    if config.scenario != scenario.name() {
        return Err(RunError::ScenarioMismatch {
            expected: scenario.name().to_string(),
            given: config.scenario.clone(),
        });
    }
    let implemented = scenario.bugs();
    if let Some(bug) = config.bugs.iter().find(|bug| !implemented.iter().any(|known| known.id == bug.as_str())) {
        return Err(RunError::UnknownBug {
            bug: bug.clone(),
            scope: format!("scenario '{}'", scenario.name()),
            known: crate::registry::known_list(implemented.iter().map(|bug| bug.id)),
        });
    }
    Ok(())
}

/// After boot: every node the fault profile and the plan name exists, and every registered
/// invariant is declared.
fn check_booted<S: Scenario>(scenario: &S, sim: &Sim, plan_faults: &[FaultWindow]) -> Result<(), RunError> {
    let profile = scenario.fault_profile();
    let profile_nodes = profile.nodes();
    let plan_nodes = plan_faults.iter().flat_map(|window| window.fault.nodes());
    let named = profile_nodes.map(|node| ("fault profile", node)).chain(plan_nodes.map(|node| ("plan", node)));
    for (place, node) in named {
        if sim.node_index(node).is_none() {
            let known: Vec<String> = sim.nodes().into_iter().map(|index| sim.node_name(index)).collect();
            return Err(RunError::UnknownNode {
                scenario: scenario.name().to_string(),
                place,
                node: node.to_string(),
                known: known.join(", "),
            });
        }
    }
    let declared = scenario.invariants();
    if let Some(invariant) =
        sim.invariant_names().into_iter().find(|name| !declared.iter().any(|known| known.name == *name))
    {
        return Err(RunError::UndeclaredInvariant {
            scenario: scenario.name().to_string(),
            invariant: invariant.to_string(),
        });
    }
    Ok(())
}

/// Runs the plan in a fresh runtime; returns what the world recorded, any panic message, and
/// the refusal of a system whose boot does not fit its scenario.
fn execute<S: Scenario>(
    scenario: &S,
    setup: WorldSetup,
    plan: Plan<S::Operation>,
) -> (Option<WorldResults>, Option<String>, Option<RunError>) {
    let mut runtime =
        Runtime::with_seed_and_config(stream_seed(setup.seed, Stream::Runtime), madsim::Config::default());
    runtime.set_time_limit(Duration::from_millis(setup.limits.sim_ms_max()));
    let slot: Arc<Mutex<Option<Sim>>> = Arc::new(Mutex::new(None));
    let driver_slot = slot.clone();
    let ran = catch_unwind(AssertUnwindSafe(|| runtime.block_on(drive(scenario, setup, plan, driver_slot))));
    let (refused, panic) = match ran {
        Ok(result) => (result.err(), None),
        Err(payload) => (None, Some(panic_text(payload.as_ref()))),
    };
    // A runtime left mid-flight by a panic may panic again while dropping its tasks.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(runtime)));
    let sim = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
    (sim.map(|sim| sim.results()), panic, refused)
}

async fn drive<S: Scenario>(
    scenario: &S,
    setup: WorldSetup,
    plan: Plan<S::Operation>,
    slot: Arc<Mutex<Option<Sim>>>,
) -> Result<(), RunError> {
    let limits = setup.limits.clone();
    let supervisor = Handle::current().create_node().name(NEMESIS_NAME).build();
    let sim = Sim::new(setup, supervisor);
    *slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(sim.clone());
    sim.phase("chaos");
    let system = Arc::new(scenario.boot(&sim));
    if let Err(error) = check_booted(scenario, &sim, &plan.faults) {
        sim.shutdown().await;
        return Err(error);
    }
    let workload = sim.clone();
    let workload_system = system.clone();
    let workload_task = Handle::current().create_node().name("workload-driver").build().spawn(async move {
        run_workload(workload, workload_system, plan.workload).await;
    });
    let nemesis = sim.clone();
    let nemesis_task = Handle::current().create_node().name("nemesis-driver").build().spawn(async move {
        run_nemesis(nemesis, plan.faults).await;
    });
    sim.wait_ms(limits.chaos_ms).await;
    workload_task.abort();
    nemesis_task.abort();
    if !sim.stopped() {
        sim.phase("heal");
        sim.heal();
        sim.wait_ms(limits.heal_ms).await;
    }
    if !sim.stopped() {
        quiet(&sim, system.as_ref(), &limits).await;
    }
    sim.shutdown().await;
    Ok(())
}

/// The quiet phase: wait (bounded) for the system to settle, then check convergence.
async fn quiet<T: System>(sim: &Sim, system: &T, limits: &Limits) {
    sim.phase("quiet");
    let started_ms = sim.now_ms();
    while !sim.stopped() && !system.settled() && sim.now_ms() - started_ms < limits.quiet_ms_max {
        sim.wait_ms(limits.settle_poll_ms).await;
    }
    if !sim.stopped() {
        sim.phase("check");
        sim.check_eventually();
    }
}

async fn run_workload<T: System>(sim: Sim, system: Arc<T>, workload: Vec<WorkloadStep<T::Operation>>) {
    let started = Instant::now() - Duration::from_micros(sim.now_us());
    for step in workload {
        madsim::time::sleep_until(started + Duration::from_millis(step.at_ms)).await;
        sim.trace(NodeIndex::NEMESIS, EventKind::Workload, system.describe(&step.operation));
        sim.spawn_on(system.client(), system.issue(step.operation));
    }
}

/// Applies the fault windows in time order; one task, so aborting it stops them all.
async fn run_nemesis(sim: Sim, faults: Vec<FaultWindow>) {
    let mut edges: Vec<(u64, bool, u64)> = Vec::new();
    for (window_id, window) in faults.iter().enumerate() {
        edges.push((window.start_ms, true, window_id as u64));
        edges.push((window.start_ms + window.duration_ms, false, window_id as u64));
    }
    edges.sort_by_key(|(at_ms, starts, window_id)| (*at_ms, *starts, *window_id));
    let started = Instant::now() - Duration::from_micros(sim.now_us());
    for (at_ms, starts, window_id) in edges {
        madsim::time::sleep_until(started + Duration::from_millis(at_ms)).await;
        let fault = &faults[window_id as usize].fault;
        if starts {
            sim.start_fault(window_id, fault);
        } else {
            sim.stop_fault(window_id, fault);
        }
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-text payload".to_string()
    }
}

/// The violation a panic stands for, unless the world already recorded it.
fn panic_violation(text: &str, at_ms: u64) -> Option<Violation> {
    if text.contains(EVENTS_BOUND_PANIC) {
        return None;
    }
    let (invariant, class) = if text.contains("time limit exceeded") {
        ("sim_ms_max", ViolationClass::Liveness)
    } else if text.contains("all tasks will block forever") {
        ("deadlock", ViolationClass::Liveness)
    } else {
        ("panic", ViolationClass::Panic)
    };
    Some(Violation { invariant: invariant.to_string(), class, at_ms, message: text.to_string() })
}

fn assemble(
    config: &RunConfig,
    results: Option<WorldResults>,
    panic: Option<String>,
    plan: serde_json::Value,
    limits: Limits,
    wall_ms: u64,
) -> Outcome {
    let results = results.unwrap_or_else(|| WorldResults {
        violations: Vec::new(),
        trace_hash: format!("{:016x}", 0),
        events: 0,
        messages_delivered: 0,
        sim_ms: 0,
        faults: Default::default(),
        fault_effects: Default::default(),
        coverage: Default::default(),
        trace_tail: Vec::new(),
        history: Vec::new(),
    });
    let mut violations = results.violations;
    if let Some(violation) = panic.as_deref().and_then(|text| panic_violation(text, results.sim_ms)) {
        violations.push(violation);
    }
    Outcome {
        scenario: config.scenario.clone(),
        seed: config.seed,
        bugs: config.bugs.iter().cloned().collect(),
        outcome: if violations.is_empty() { Verdict::Pass } else { Verdict::Fail },
        violations,
        trace_hash: results.trace_hash,
        events: results.events,
        messages_delivered: results.messages_delivered,
        sim_ms: results.sim_ms,
        wall_ms,
        faults: results.faults,
        fault_effects: results.fault_effects,
        coverage: results.coverage,
        plan,
        limits,
        trace_tail: results.trace_tail,
        history: results.history,
    }
}
