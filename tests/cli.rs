//! The command-line contract: exit codes, one-line errors, JSON fields.

use std::process::{Command, Output};

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
fn bad_input_exits_2_with_a_message_naming_the_problem() {
    assert_bad_input(&["run", "--scenario", "nope", "--seed", "1"], "unknown scenario 'nope'");
    assert_bad_input(&["run", "--scenario", "smoke", "--seed", "0xZZ"], "malformed seed '0xZZ'");
    assert_bad_input(&["run", "--scenario", "smoke", "--seed", "-3"], "-3");
    assert_bad_input(
        &["run", "--scenario", "smoke", "--seed", "1", "--bug", "no-such-bug"],
        "unknown bug 'no-such-bug'",
    );
    assert_bad_input(&["run", "--scenario", "smoke", "--seed", "1", "--strategy", "wild"], "unknown strategy 'wild'");
    assert_bad_input(&["run", "--scenario", "smoke"], "--seed");
    assert_bad_input(&["frobnicate"], "frobnicate");
}

#[test]
fn run_json_carries_the_contract_fields_and_exit_0_on_pass() {
    let output = fleetsim(&["run", "--scenario", "smoke", "--seed", "7", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for field in
        ["scenario", "seed", "bugs", "outcome", "violations", "trace_hash", "events", "sim_ms", "wall_ms", "faults"]
    {
        assert!(value.get(field).is_some(), "missing field {field}");
    }
    assert_eq!(
        (value["scenario"].as_str(), value["seed"].as_u64(), value["outcome"].as_str()),
        (Some("smoke"), Some(7), Some("pass"))
    );
    assert!(value["events"].as_u64().unwrap() > 0 && value["sim_ms"].as_u64().unwrap() > 0);
}

#[test]
fn hex_and_decimal_seeds_are_the_same_run() {
    let hash = |seed: &str| {
        let output = fleetsim(&["run", "--scenario", "smoke", "--seed", seed, "--json"]);
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()["trace_hash"].clone()
    };
    assert_eq!(hash("255"), hash("0xff"));
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
    assert_eq!(names("fault_kinds").len(), 10);
    assert!(names("invariants").contains(&"unique-ip".to_string()));
}
