//! `fleetsim replay FILE`: re-run a failure report and check that it reproduces.

use crate::cli::ReplayArguments;
use crate::report::failure::FailureReport;
use crate::trace_filter::TraceFilter;
use crate::EXIT_PASS;
use fleetsim_sim::{Outcome, Registry};
use std::path::Path;

/// Exit code when a replay does not reproduce its report.
pub const EXIT_DIVERGED: u8 = 3;

/// Replays a report on `registry`: exit 0 reproduced, 3 diverged, 2 for a bad report.
pub fn replay(arguments: &ReplayArguments, registry: &Registry) -> Result<u8, String> {
    let (file, directives) = arguments.report_and_filter()?;
    let filter = directives.map(TraceFilter::parse).transpose()?;
    let report = FailureReport::load(Path::new(file), registry).map_err(|error| error.to_string())?;
    let outcome = crate::fuzz::campaign::run_checked(registry, &report.run_config(filter.is_some()))
        .map_err(|error| format!("report {file} cannot be replayed: {error}"))?;
    if let Some(filter) = &filter {
        let shown = outcome.trace_tail.iter().filter(|event| filter.shows(event));
        for event in shown.take_while(|_| !crate::output::closed()) {
            outln!("{event}");
        }
    }
    match differences(&report, &outcome) {
        None => {
            outln!(
                "reproduced: {} seed {} violates {} (trace {}, {} events)",
                report.scenario,
                report.seed_hex,
                report.invariants().join(", "),
                outcome.trace_hash,
                outcome.events
            );
            Ok(EXIT_PASS)
        }
        Some(difference) => {
            outln!("diverged: {} seed {}: {difference}", report.scenario, report.seed_hex);
            for violation in &outcome.violations {
                let class = format!("{:?}", violation.class).to_lowercase();
                outln!(
                    "  now violates {} ({class}) at {}ms: {}",
                    violation.invariant,
                    violation.at_ms,
                    violation.message
                );
            }
            Ok(EXIT_DIVERGED)
        }
    }
}

/// What differs between a report and its re-run, if anything.
pub fn differences(report: &FailureReport, outcome: &Outcome) -> Option<String> {
    let mut found = Vec::new();
    let invariants: Vec<String> = outcome.violations.iter().map(|violation| violation.invariant.clone()).collect();
    if invariants != report.invariants() {
        found.push(format!("violated invariants were {:?}, now {:?}", report.invariants(), invariants));
    }
    if outcome.trace_hash != report.trace_hash {
        found.push(format!(
            "trace hash was {} ({} events), now {} ({} events)",
            report.trace_hash, report.events, outcome.trace_hash, outcome.events
        ));
    }
    (!found.is_empty()).then(|| found.join("; "))
}
