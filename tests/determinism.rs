//! Determinism is the product: the same seed gives the same trace, in one process, on
//! another thread and in another process; different seeds give different traces.

mod support;

use std::collections::BTreeSet;
use std::process::Command;

fn comparable(outcome: &fleetsim_sim::Outcome) -> fleetsim_sim::Outcome {
    fleetsim_sim::Outcome { wall_ms: 0, ..outcome.clone() }
}

fn scenario_names() -> Vec<&'static str> {
    fleetsim_scenarios::registry().scenario_names()
}

#[test]
fn the_same_seed_gives_the_same_outcome_and_trace_within_one_process() {
    for scenario in scenario_names() {
        for seed in 1..=10 {
            let first = support::run(scenario, seed);
            let second = support::run(scenario, seed);
            assert_eq!(comparable(&first), comparable(&second), "{scenario} seed {seed} diverged");
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_trace_on_a_fresh_thread() {
    let hashes = || {
        scenario_names()
            .into_iter()
            .flat_map(|scenario| (1..=4).map(move |seed| support::run(scenario, seed).trace_hash))
    };
    let here: Vec<String> = hashes().collect();
    let there = std::thread::spawn(move || hashes().collect::<Vec<_>>());
    assert_eq!(here, there.join().unwrap());
}

#[test]
fn seeds_one_to_a_hundred_give_at_least_95_distinct_traces() {
    for scenario in scenario_names() {
        let hashes: BTreeSet<String> = (1..=100).map(|seed| support::run(scenario, seed).trace_hash).collect();
        assert!(hashes.len() >= 95, "{scenario}: only {} distinct trace hashes", hashes.len());
    }
}

#[test]
fn the_same_seed_gives_the_same_trace_across_processes() {
    let hash_from_process = || {
        let output = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
            .args(["run", "--scenario", "smoke", "--seed", "0x2a", "--json"])
            .output()
            .expect("the binary runs");
        let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("run --json prints one object");
        value["trace_hash"].as_str().expect("trace_hash is text").to_string()
    };
    let first = hash_from_process();
    assert_eq!(first.len(), 16);
    assert_eq!(first, hash_from_process());
    assert_eq!(first, support::run("smoke", 0x2a).trace_hash, "the binary and the library agree");
}

#[test]
fn a_run_that_keeps_no_tail_changes_nothing_else_and_a_failure_gets_its_tail_again() {
    let registry = fleetsim_scenarios::registry();
    let run = |config: &fleetsim_sim::RunConfig| registry.run(config).expect("a valid configuration");
    let mut failures = 0;
    for seed in 1..=20 {
        let full = fleetsim_sim::RunConfig::new("delete", seed).with_bug("ip-released-before-destroy");
        let lean = fleetsim_sim::RunConfig { tail_only_on_failure: true, ..full.clone() };
        let (full_outcome, lean_outcome) = (run(&full), run(&lean));
        assert_eq!(lean_outcome.trace_hash, full_outcome.trace_hash, "seed {seed}");
        assert_eq!(lean_outcome.violations, full_outcome.violations, "seed {seed}");
        assert!(!full_outcome.trace_tail.is_empty(), "seed {seed}: without the flag every run has its tail");
        assert!(lean_outcome.trace_tail.is_empty(), "seed {seed}: a run that keeps no events has no tail");
        let again = fleetsim::fuzz::campaign::with_tail(&registry, &lean, &lean_outcome);
        if lean_outcome.passed() {
            assert!(again.trace_tail.is_empty(), "seed {seed}: a passing run is not run again");
        } else {
            assert_eq!(comparable(&again), comparable(&full_outcome), "seed {seed}: a failure run again has its tail");
            failures += 1;
        }
    }
    assert!(failures > 0 && failures < 20, "both kinds of run are compared ({failures} of 20 failed)");
}
