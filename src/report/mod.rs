//! What campaigns write: failure reports, the summary, JUnit XML and HTML pages.

pub mod failure;
pub mod html;
pub mod junit;
pub mod summary;
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
    write("junit.xml", junit::render(summary).as_bytes())?;
    let mut pages = Vec::new();
    for entry in summary.failure_reports.iter().take(FAILURE_PAGES_MAX) {
        let page = entry.report.replace(".json", ".html");
        write_failure_page(&folder.join(&entry.report), &folder.join(&page), registry)?;
        pages.push(page);
    }
    write("index.html", html::render_index(summary, &pages).as_bytes())
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
