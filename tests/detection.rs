//! A switched-on catalog bug is caught within a bounded number of seeds, by an invariant the
//! catalog expects, and the failing seed replays to the same violation and trace.

mod support;

use fleetsim_model::bugs::CATALOG;
use fleetsim_sim::RunConfig;
use std::process::Command;

/// Seeds tried per bug before detection counts as broken (measured first detections: <= 30).
const SEEDS_MAX: u64 = 200;

fn first_detection(bug: &str, scenario: &str) -> Option<fleetsim_sim::Outcome> {
    (1..=SEEDS_MAX).find_map(|seed| {
        let outcome = fleetsim_scenarios::run_scenario(&RunConfig::new(scenario, seed).with_bug(bug)).unwrap();
        (!outcome.passed()).then_some(outcome)
    })
}

#[test]
fn every_catalog_bug_is_caught_by_an_expected_invariant_and_replays() {
    assert!(!CATALOG.is_empty());
    for bug in CATALOG {
        let found = first_detection(bug.id, bug.scenario)
            .unwrap_or_else(|| panic!("{} not caught in {SEEDS_MAX} seeds", bug.id));
        let fired: Vec<&str> = found.violations.iter().map(|violation| violation.invariant.as_str()).collect();
        assert!(
            fired.iter().any(|name| bug.invariants.contains(name)),
            "{}: fired {fired:?}, expected one of {:?}",
            bug.id,
            bug.invariants
        );
        let again =
            fleetsim_scenarios::run_scenario(&RunConfig::new(bug.scenario, found.seed).with_bug(bug.id)).unwrap();
        assert_eq!(
            (again.trace_hash.clone(), again.violations.clone()),
            (found.trace_hash.clone(), found.violations.clone())
        );
        let fixed = support::run(bug.scenario, found.seed);
        assert!(fixed.passed(), "{}: the fixed model fails seed {:#x} too: {:?}", bug.id, found.seed, fixed.violations);
    }
}

#[test]
fn the_binary_exits_1_on_a_violation_and_names_it() {
    let bug = &CATALOG[0];
    let found = first_detection(bug.id, bug.scenario).expect("caught");
    let seed = format!("{:#x}", found.seed);
    let output = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(["run", "--scenario", bug.scenario, "--seed", &seed, "--bug", bug.id, "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["outcome"], "fail");
    assert_eq!(value["trace_hash"].as_str(), Some(found.trace_hash.as_str()));
    assert_eq!(value["violations"][0]["invariant"].as_str(), Some(found.violations[0].invariant.as_str()));
}
