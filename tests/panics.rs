//! No panic reaches a user: a node that panics inside a run is a finding whose message and
//! location are in the outcome and the report, with standard error quiet (also under
//! `RUST_BACKTRACE=1`), in a single run and in a campaign.
//!
//! The system under test here panics on purpose, so this test binary doubles as its command
//! line: run with `PANICKING_SYSTEM_ARGUMENTS` set, its one test runs `main_with_arguments` on it
//! and exits with its code.

use fleetsim_sim::{BoxFuture, FaultProfile, Limits, NodeIndex, Registry, Scenario, Sim, StreamRng, WorkloadStep};
use serde_json::Value;
use std::process::{Command, ExitCode, Output};

/// The message of the panic the client raises.
const PANIC_MESSAGE: &str = "the ledger lost entry 1";
/// The variable that makes this test binary the system's command line: its arguments, split by
/// the unit separator.
const CHILD_ARGUMENTS: &str = "PANICKING_SYSTEM_ARGUMENTS";
/// The test that serves as the command line.
const CHILD_TEST: &str = "a_node_panic_is_a_finding_with_its_location_and_standard_error_stays_quiet";

/// One client that panics on the operation `1`.
struct Panicking;

struct PanickingSystem {
    client: NodeIndex,
}

impl Scenario for Panicking {
    type Operation = u32;
    type System = PanickingSystem;

    fn name(&self) -> &'static str {
        "panicking"
    }

    fn summary(&self) -> &'static str {
        "a client whose second operation panics"
    }

    fn default_limits(&self) -> Limits {
        Limits { chaos_ms: 100, heal_ms: 10, quiet_ms_max: 100, ..Limits::default() }
    }

    fn fault_profile(&self) -> FaultProfile {
        FaultProfile::default()
    }

    fn generate_workload(&self, _: &mut StreamRng, _: &Limits) -> Vec<WorkloadStep<u32>> {
        vec![WorkloadStep { at_ms: 10, operation: 0 }, WorkloadStep { at_ms: 20, operation: 1 }]
    }

    fn boot(&self, sim: &Sim) -> PanickingSystem {
        PanickingSystem { client: sim.add_node("client", |_| async {}) }
    }
}

impl fleetsim_sim::System for PanickingSystem {
    type Operation = u32;

    fn client(&self) -> NodeIndex {
        self.client
    }

    fn issue(&self, operation: u32) -> BoxFuture<()> {
        Box::pin(async move {
            if operation == 1 {
                panic!("the ledger lost entry {operation}");
            }
        })
    }

    fn settled(&self) -> bool {
        true
    }
}

/// Runs this test binary as the panicking system's command line.
fn panicking_system(arguments: &[&str]) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_ARGUMENTS, arguments.join("\u{1f}"))
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("the test binary runs")
}

fn exit_code(code: ExitCode) -> i32 {
    (0..=255).find(|value| ExitCode::from(*value as u8) == code).expect("an exit code is a byte")
}

/// Standard error holds at most `runs` lines, each madsim's one line naming the node whose task
/// panicked: no panic message, no backtrace.
fn assert_quiet(said: &str, runs: usize) {
    let lines: Vec<&str> = said.lines().collect();
    assert!(lines.len() <= runs, "at most one line per run: {said}");
    for line in lines {
        assert!(line.starts_with("context: node=") && line.contains("\"client\""), "{said}");
        assert!(!line.contains("panicked") && !line.contains(PANIC_MESSAGE), "{said}");
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_node_panic_is_a_finding_with_its_location_and_standard_error_stays_quiet() {
    if let Ok(arguments) = std::env::var(CHILD_ARGUMENTS) {
        let arguments = std::iter::once("panicking-sim").chain(arguments.split('\u{1f}')).map(Into::into);
        let code = fleetsim::main_with_arguments(Registry::new("panicking-sim").with(Panicking), arguments);
        std::process::exit(exit_code(code));
    }
    let run = panicking_system(&["run", "--scenario", "panicking", "--seed", "1", "--json"]);
    assert_eq!(run.status.code(), Some(1), "the panic is a violation: {}", stderr(&run));
    assert_quiet(&stderr(&run), 1);
    let stdout = String::from_utf8_lossy(&run.stdout);
    // The test harness names the test on the line the child's own output continues.
    let json = &stdout[stdout.find('{').expect("a JSON object")..];
    let outcome: Value = serde_json::from_str(json.lines().next().unwrap()).expect("one JSON object");
    let message = outcome["violations"][0]["message"].as_str().unwrap();
    assert_eq!(outcome["violations"][0]["invariant"], "panic", "{outcome}");
    assert!(message.starts_with(PANIC_MESSAGE) && message.contains("tests/panics.rs:"), "{message}");

    let folder = std::env::temp_dir().join(format!("fleetsim-panics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    let out = folder.to_str().unwrap();
    let campaign = panicking_system(&["fuzz", "--scenario", "panicking", "--seeds", "40", "--quiet", "--out", out]);
    assert_eq!(campaign.status.code(), Some(1), "{}", stderr(&campaign));
    let said = stderr(&campaign);
    assert!(said.starts_with("fuzz: 40 seeds"), "{said}");
    // 40 runs, position 0 run again by the determinism check, the failure page's re-run, and one
    // run for its tail per report written (campaign runs keep no trace events): one or two, since
    // with two jobs a later position's report may be written before an earlier one replaces it.
    assert_quiet(said.split_once('\n').unwrap().1, 44);
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(folder.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["by_invariant"]["panic"], 40, "{summary}");
    let report = folder.join(summary["failure_reports"][0]["report"].as_str().unwrap());
    let report: Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    let message = report["violations"][0]["message"].as_str().unwrap();
    assert!(message.starts_with(PANIC_MESSAGE) && message.contains("tests/panics.rs:"), "{message}");
    std::fs::remove_dir_all(folder).unwrap();
}
