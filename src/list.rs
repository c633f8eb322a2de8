//! `fleetsim list`: scenarios, bugs, invariants and fault kinds.

use crate::cli::ListArguments;
use crate::EXIT_PASS;
use fleetsim_model::bugs::CATALOG;
use fleetsim_sim::FaultKind;
use serde_json::json;

/// Every invariant the scenarios check, with its kind.
pub const INVARIANTS: &[(&str, &str, &str)] = &[
    ("unique-ip", "safety", "no two running VMs share an address; no address is allocated to two rows"),
    ("no-orphan-vm", "convergence", "every VM on a host has a row naming that host; every running row has its VM"),
    ("jobs-terminate", "liveness", "every job the store accepted is done or failed by the end of the quiet period"),
];

/// Prints the catalog; always succeeds.
pub fn list(arguments: &ListArguments) -> Result<u8, String> {
    let scenarios = fleetsim_scenarios::scenarios();
    if arguments.json {
        let document = json!({
            "scenarios": scenarios,
            "bugs": CATALOG,
            "invariants": INVARIANTS.iter().map(|(name, kind, summary)| json!({"name": name, "kind": kind, "summary": summary})).collect::<Vec<_>>(),
            "fault_kinds": FaultKind::ALL.iter().map(|kind| json!({"name": kind.name(), "summary": kind.summary()})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&document).expect("the catalog serializes"));
        return Ok(EXIT_PASS);
    }
    println!("scenarios:");
    for scenario in &scenarios {
        println!("  {:<16} {}", scenario.name, scenario.summary);
    }
    println!("bugs (--bug ID):");
    if CATALOG.is_empty() {
        println!("  (none yet)");
    }
    for bug in CATALOG {
        println!(
            "  {:<32} seed {}: {} [caught by {}; scenario {}]",
            bug.id,
            bug.seed_file,
            bug.story,
            bug.invariants.join(", "),
            bug.scenario
        );
    }
    println!("invariants:");
    for (name, kind, summary) in INVARIANTS {
        println!("  {name:<16} {kind:<12} {summary}");
    }
    println!("fault kinds:");
    for kind in FaultKind::ALL {
        println!("  {:<16} {}", kind.name(), kind.summary());
    }
    Ok(EXIT_PASS)
}
