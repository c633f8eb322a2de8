//! `fleetsim run`: one seed of one scenario, reported as text or JSON.

use crate::cli::RunArguments;
use crate::report::failure::rerun_command;
use crate::trace_filter::TraceFilter;
use crate::{EXIT_PASS, EXIT_VIOLATION};
use fleetsim_sim::{FaultStrategy, Outcome, Registry, RunConfig};

/// Validates the arguments against `registry` into a run configuration, or names the bad input.
pub fn config_from(arguments: &RunArguments, registry: &Registry) -> Result<RunConfig, String> {
    registry.scenario(&arguments.scenario).map_err(|error| error.to_string())?;
    let seed = crate::cli::number_argument("--seed", &arguments.seed)?;
    let strategy = FaultStrategy::from_name(&arguments.strategy)
        .ok_or_else(|| format!("unknown strategy '{}' (known: none, uniform, swarm)", arguments.strategy))?;
    let mut config = RunConfig::new(&arguments.scenario, seed);
    let scenarios = [arguments.scenario.clone()];
    config.bugs = crate::hunt::bugs_checked(&arguments.bugs, &scenarios, registry)?.into_iter().collect();
    config.strategy = strategy;
    config.keep_full_trace = arguments.trace.is_some();
    Ok(config)
}

/// Runs one seed of one of `registry`'s scenarios; exit 0 on pass, 1 on a violation.
pub fn run(arguments: &RunArguments, registry: &Registry) -> Result<u8, String> {
    let config = config_from(arguments, registry)?;
    let filter = arguments.trace.as_deref().map(TraceFilter::parse).transpose()?;
    let mut outcome = crate::fuzz::campaign::run_checked(registry, &config)?;
    if let Some(filter) = &filter {
        outcome.trace_tail.retain(|event| filter.shows(event));
    }
    let strategy = config.strategy;
    if arguments.json {
        let view = json_view(registry.program(), &outcome, strategy, filter.is_some());
        outln!("{}", serde_json::to_string(&view).expect("an outcome serializes"));
    } else {
        print_text(registry.program(), &outcome, strategy, filter.is_some());
    }
    Ok(if outcome.passed() { EXIT_PASS } else { EXIT_VIOLATION })
}

fn json_view(program: &str, outcome: &Outcome, strategy: FaultStrategy, with_trace: bool) -> serde_json::Value {
    let mut value = serde_json::to_value(outcome).expect("an outcome serializes");
    let object = value.as_object_mut().expect("an outcome is an object");
    object.remove("plan");
    if !with_trace {
        object.remove("trace_tail");
    }
    object.insert("replay".into(), rerun_command(program, outcome, strategy).into());
    value
}

fn print_text(program: &str, outcome: &Outcome, strategy: FaultStrategy, with_trace: bool) {
    if with_trace {
        for event in outcome.trace_tail.iter().take_while(|_| !crate::output::closed()) {
            outln!("{event}");
        }
    }
    let verdict = if outcome.passed() { "PASS" } else { "FAIL" };
    outln!("{} seed {} ({:#x}): {verdict}", outcome.scenario, outcome.seed, outcome.seed);
    outln!(
        "  trace {}  events {}  sim {}ms  wall {}ms",
        outcome.trace_hash,
        outcome.events,
        outcome.sim_ms,
        outcome.wall_ms
    );
    let faults: Vec<String> = outcome.faults.iter().map(|(kind, count)| format!("{kind}={count}")).collect();
    outln!("  faults: {}", if faults.is_empty() { "none".to_string() } else { faults.join(" ") });
    for (effect, count) in &outcome.fault_effects {
        outln!("  fault effect: {effect}: {count}");
    }
    for violation in &outcome.violations {
        outln!(
            "  violation {} ({:?}) at {}ms: {}",
            violation.invariant,
            violation.class,
            violation.at_ms,
            violation.message
        );
    }
    outln!("  replay: {}", rerun_command(program, outcome, strategy));
}
