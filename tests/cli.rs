//! The command-line contract: exit codes, one-line errors, JSON fields; the shared contract
//! (`tests/contract/`) that every binary built on `fleetsim::main_with` keeps, and what only the
//! stock binary adds.

mod contract;

use std::process::{Command, Output};

cli_contract_tests!(contract::Subject {
    binary: env!("CARGO_BIN_EXE_fleetsim"),
    program: "fleetsim",
    scenario: "smoke",
    bug: "ip-released-before-destroy",
    bug_scenario: "delete",
});

fn fleetsim(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim")).args(arguments).output().expect("the binary runs")
}

fn assert_bad_input(arguments: &[&str], named: &str) {
    let output = fleetsim(arguments);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{arguments:?}: {stderr}");
    assert!(stderr.contains(named), "{arguments:?}: the error should name '{named}': {stderr}");
    assert!(!stderr.contains("panicked"), "{arguments:?}: {stderr}");
}

#[test]
fn a_negative_seed_is_bad_input_named_in_the_message() {
    assert_bad_input(&["run", "--scenario", "smoke", "--seed", "-3"], "-3");
}

#[test]
fn a_campaign_of_more_runs_than_positions_is_bad_input() {
    let folder = std::env::temp_dir().join(format!("fleetsim-cli-overflow-{}", std::process::id()));
    let out = folder.to_str().unwrap();
    assert_bad_input(
        &["fuzz", "--seeds", "18446744073709551615", "--out", out],
        "more runs than a campaign can number",
    );
    assert!(!folder.exists(), "nothing is written");
}

#[test]
fn main_with_arguments_exits_2_on_bad_input_and_on_an_inconsistent_registry() {
    use std::process::ExitCode;
    let arguments =
        || ["fleetsim", "run", "--scenario", "smoke", "--seed", "1", "--bug", "no-such-bug"].map(Into::into);
    assert_eq!(fleetsim::main_with_arguments(fleetsim_scenarios::registry(), arguments()), ExitCode::from(2));
    let list = ["fleetsim", "list", "--json"].map(Into::into);
    assert_eq!(fleetsim::main_with_arguments(fleetsim::Registry::new("empty"), list), ExitCode::from(2));
}

#[test]
fn trace_prints_every_event_and_list_names_everything() {
    let output = fleetsim(&["run", "--scenario", "smoke", "--seed", "3", "--trace"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("phase       chaos") && text.contains("phase       quiet"), "{text}");
    assert!(text.lines().count() > 300, "the whole trace, not its tail");
    let output = fleetsim(&["list", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let names = |key: &str| -> Vec<String> {
        value[key].as_array().unwrap().iter().map(|item| item["name"].as_str().unwrap().to_string()).collect()
    };
    assert!(names("scenarios").contains(&"smoke".to_string()));
    assert_eq!(names("fault_kinds").len(), 17);
    assert!(names("invariants").contains(&"unique-ip".to_string()));
}
