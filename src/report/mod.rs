//! What campaigns write: failure reports, the summary, JUnit XML and HTML pages.

pub mod charts;
pub mod failure;
pub mod html;
pub mod junit;
pub mod summary;
pub mod swimlane;
pub mod timeline;

use crate::files::write_atomically;
use failure::FailureReport;
use fleetsim_sim::Registry;
use std::path::Path;
use summary::{Summary, SUMMARY_FILE};

/// Most failure pages (timelines) a campaign renders; every failure keeps its JSON report.
pub const FAILURE_PAGES_MAX: usize = 100;

/// Writes `summary.json`, `junit.xml`, a timeline page per failure and `index.html` into `folder`;
/// the failure pages re-run their reports on `registry`.
pub fn write_outputs(folder: &Path, summary: &Summary, registry: &Registry) -> Result<(), String> {
    let write = |name: &str, bytes: &[u8]| {
        write_atomically(&folder.join(name), bytes)
            .map_err(|error| format!("cannot write {name} in {}: {error}", folder.display()))
    };
    write(SUMMARY_FILE, serde_json::to_string_pretty(summary).expect("a summary serializes").as_bytes())?;
    write("junit.xml", junit::render(summary, &junit_context(folder, summary, registry)?).as_bytes())?;
    let mut pages = Vec::new();
    for entry in summary.failure_reports.iter().take(FAILURE_PAGES_MAX) {
        let page = entry.report.replace(".json", ".html");
        write_failure_page(&folder.join(&entry.report), &folder.join(&page), registry)?;
        pages.push(page);
    }
    write("index.html", html::render_index(summary, &pages).as_bytes())
}

/// Each scenario's invariants from `registry` and each failure's first violation from its report.
fn junit_context(folder: &Path, summary: &Summary, registry: &Registry) -> Result<junit::JunitContext, String> {
    let harness = fleetsim_sim::HARNESS_INVARIANTS.iter().map(|invariant| invariant.name.to_string());
    let harness: Vec<String> = harness.collect();
    let mut invariants = std::collections::BTreeMap::new();
    for name in &summary.campaign.scenarios {
        let declared = registry.scenario(name).map(|scenario| scenario.invariants()).unwrap_or_default();
        let mut names: Vec<String> = declared.iter().map(|invariant| invariant.name.to_string()).collect();
        names.extend(harness.iter().filter(|invariant| !names.contains(invariant)).cloned().collect::<Vec<_>>());
        invariants.insert(name.clone(), names);
    }
    let mut violations = std::collections::BTreeMap::new();
    for entry in &summary.failure_reports {
        let path = folder.join(&entry.report);
        let report = FailureReport::load(&path, registry).map_err(|error| error.to_string())?;
        if let Some(first) = report.violations.first() {
            let violation = junit::FirstViolation {
                at_ms: first.at_ms,
                message: first.message.clone(),
                rerun: report.rerun.clone(),
            };
            violations.insert(entry.signature.file_stem(), violation);
        }
    }
    Ok(junit::JunitContext { invariants, violations, folder: folder.to_path_buf() })
}

/// Re-runs a report on `registry` with its whole trace kept and writes its timeline page to `page`.
pub fn write_failure_page(report_path: &Path, page: &Path, registry: &Registry) -> Result<(), String> {
    let report = FailureReport::load(report_path, registry).map_err(|error| error.to_string())?;
    let outcome = crate::fuzz::campaign::run_guarded(registry, &report.run_config(true));
    let reproduced = outcome.trace_hash == report.trace_hash;
    let events = if outcome.trace_tail.is_empty() { &report.trace_tail } else { &outcome.trace_tail };
    let html = timeline::render_failure_page(&report, events, reproduced);
    write_atomically(page, html.as_bytes()).map_err(|error| format!("cannot write {}: {error}", page.display()))
}
