//! `fleetsim run`: one seed of one scenario, reported as text or JSON.

use crate::cli::RunArguments;
use crate::{EXIT_PASS, EXIT_VIOLATION};
use fleetsim_sim::{parse_seed, FaultStrategy, Outcome, RunConfig};

/// Validates the arguments into a run configuration, or names the bad input.
pub fn config_from(arguments: &RunArguments) -> Result<RunConfig, String> {
    if !fleetsim_scenarios::exists(&arguments.scenario) {
        let known: Vec<&str> = fleetsim_scenarios::scenarios().iter().map(|scenario| scenario.name).collect();
        return Err(format!("unknown scenario '{}' (known: {})", arguments.scenario, known.join(", ")));
    }
    let seed = parse_seed(&arguments.seed).map_err(|error| error.to_string())?;
    let strategy = FaultStrategy::from_name(&arguments.strategy)
        .ok_or_else(|| format!("unknown strategy '{}' (known: none, uniform, swarm)", arguments.strategy))?;
    let mut config = RunConfig::new(&arguments.scenario, seed);
    for bug in &arguments.bugs {
        if fleetsim_model::bugs::find(bug).is_none() {
            let known: Vec<&str> = fleetsim_model::bugs::CATALOG.iter().map(|bug| bug.id).collect();
            return Err(format!(
                "unknown bug '{bug}' (known: {})",
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            ));
        }
        config.bugs.insert(bug.clone());
    }
    config.strategy = strategy;
    config.keep_full_trace = arguments.trace;
    Ok(config)
}

/// Runs one seed; exit 0 on pass, 1 on a violation.
pub fn run(arguments: &RunArguments) -> Result<u8, String> {
    let config = config_from(arguments)?;
    let outcome = fleetsim_scenarios::run_scenario(&config).map_err(|error| error.to_string())?;
    if arguments.json {
        println!("{}", serde_json::to_string(&json_view(&outcome, arguments.trace)).expect("an outcome serializes"));
    } else {
        print_text(&outcome, arguments.trace);
    }
    Ok(if outcome.passed() { EXIT_PASS } else { EXIT_VIOLATION })
}

/// The command line that reruns this outcome's seed.
pub fn replay_command(outcome: &Outcome) -> String {
    let bugs: String = outcome.bugs.iter().map(|bug| format!(" --bug {bug}")).collect();
    format!("fleetsim run --scenario {} --seed {:#x}{bugs}", outcome.scenario, outcome.seed)
}

fn json_view(outcome: &Outcome, with_trace: bool) -> serde_json::Value {
    let mut value = serde_json::to_value(outcome).expect("an outcome serializes");
    let object = value.as_object_mut().expect("an outcome is an object");
    object.remove("plan");
    if !with_trace {
        object.remove("trace_tail");
    }
    object.insert("replay".into(), replay_command(outcome).into());
    value
}

fn print_text(outcome: &Outcome, with_trace: bool) {
    if with_trace {
        for event in &outcome.trace_tail {
            println!("{event}");
        }
    }
    let verdict = if outcome.passed() { "PASS" } else { "FAIL" };
    println!("{} seed {} ({:#x}): {verdict}", outcome.scenario, outcome.seed, outcome.seed);
    println!(
        "  trace {}  events {}  sim {}ms  wall {}ms",
        outcome.trace_hash, outcome.events, outcome.sim_ms, outcome.wall_ms
    );
    let faults: Vec<String> = outcome.faults.iter().map(|(kind, count)| format!("{kind}={count}")).collect();
    println!("  faults: {}", if faults.is_empty() { "none".to_string() } else { faults.join(" ") });
    for violation in &outcome.violations {
        println!(
            "  violation {} ({:?}) at {}ms: {}",
            violation.invariant, violation.class, violation.at_ms, violation.message
        );
    }
    println!("  replay: {}", replay_command(outcome));
}
