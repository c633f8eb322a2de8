//! `list`: scenarios, bugs, invariants and fault kinds of a registry.

use crate::cli::ListArguments;
use crate::EXIT_PASS;
use fleetsim_sim::{FaultKind, Registry};
use serde_json::json;

/// Prints `registry`'s catalog; always succeeds.
pub fn list(arguments: &ListArguments, registry: &Registry) -> Result<u8, String> {
    let bugs = registry.bugs();
    let invariants = registry.invariants();
    if arguments.json {
        let scenarios: Vec<_> = registry
            .scenarios()
            .map(|scenario| json!({"name": scenario.name(), "summary": scenario.summary()}))
            .collect();
        let document = json!({
            "program": registry.program(),
            "scenarios": scenarios,
            "bugs": bugs,
            "invariants": invariants,
            "fault_kinds": FaultKind::ALL.iter().map(|kind| json!({"name": kind.name(), "summary": kind.summary()})).collect::<Vec<_>>(),
        });
        outln!("{}", serde_json::to_string_pretty(&document).expect("the catalog serializes"));
        return Ok(EXIT_PASS);
    }
    outln!("scenarios:");
    for scenario in registry.scenarios() {
        outln!("  {:<16} {}", scenario.name(), scenario.summary());
    }
    outln!("bugs (--bug ID):");
    if bugs.is_empty() {
        outln!("  (none)");
    }
    for bug in &bugs {
        outln!("  {:<32} {}", bug.id, bug.story);
        outln!("  {:<32} caught by {}; hunted in scenario {}", "", bug.invariants.join(", "), bug.scenario);
        outln!("  {:<32} incident: {}", "", bug.incident);
    }
    outln!("invariants:");
    for invariant in &invariants {
        outln!("  {:<24} {:<12} {}", invariant.name, format!("{:?}", invariant.kind).to_lowercase(), invariant.summary);
    }
    outln!("fault kinds:");
    for kind in FaultKind::ALL {
        outln!("  {:<16} {}", kind.name(), kind.summary());
    }
    Ok(EXIT_PASS)
}
