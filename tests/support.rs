//! Helpers shared by the integration tests.
#![allow(dead_code)]

use fleetsim_sim::{Outcome, RunConfig};

/// Runs one seed of `scenario` with the fixed model.
pub fn run(scenario: &str, seed: u64) -> Outcome {
    fleetsim_scenarios::run_scenario(&RunConfig::new(scenario, seed)).expect("a known scenario")
}

/// How many seeds a sweep runs: `FLEETSIM_SEEDS` when set (nightly), else `default`.
pub fn seed_count(default: u64) -> u64 {
    match std::env::var("FLEETSIM_SEEDS") {
        Ok(text) => text.parse().unwrap_or_else(|_| panic!("FLEETSIM_SEEDS must be a whole number, got '{text}'")),
        Err(_) => default,
    }
}

/// The line that replays one outcome from the command line.
pub fn replay_line(outcome: &Outcome) -> String {
    let bugs: String = outcome.bugs.iter().map(|bug| format!(" --bug {bug}")).collect();
    format!("cargo run --release -- run --scenario {} --seed {:#x}{bugs}", outcome.scenario, outcome.seed)
}

/// Panics with the seed, the violation and the replay command of every failed outcome.
pub fn assert_all_pass(outcomes: &[Outcome]) {
    let failures: Vec<String> = outcomes
        .iter()
        .filter(|outcome| !outcome.passed())
        .map(|outcome| {
            format!("seed {:#x}: {:?}\n  replay: {}", outcome.seed, outcome.violations, replay_line(outcome))
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} runs failed:\n{}", failures.len(), outcomes.len(), failures.join("\n"));
}
