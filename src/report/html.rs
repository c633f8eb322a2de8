//! `index.html`: a campaign's summary as one self-contained page (inline CSS, no scripts).

use crate::fuzz::shard::{shard_list, Shard};
use crate::report::charts;
use crate::report::junit::escape;
use crate::report::summary::Summary;
use std::fmt::Write;

/// Styles shared by every fleetsim page.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}\
th{background:#f3f3f3}td.number{text-align:right;font-variant-numeric:tabular-nums}\
.bad{color:#b00020;font-weight:bold}.good{color:#1b7f3b;font-weight:bold}.warn{color:#8a5a00;font-weight:bold}\
.charts{display:flex;flex-wrap:wrap;gap:1.5em;margin:.5em 0}.gap{background:#fff3cd}\
pre{background:#f6f8fa;padding:.6em;overflow-x:auto}code{background:#f6f8fa;padding:0 .2em}\
.note{color:#555}.violation{border-left:4px solid #b00020;padding:.3em .8em;background:#fdecee}";

/// The campaign page.
pub fn render_index(summary: &Summary, pages: &[String]) -> String {
    let mut html = String::new();
    let missing = shard_list(&summary.shards_missing);
    let verdict = verdict(summary);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>fleetsim campaign</title><style>{STYLE}</style></head><body>\n\
         <h1>fleetsim campaign: {verdict}</h1>\n\
         <p>{program} runs a whole system inside fleetsim's deterministic simulator, one seed at a time, \
         while a nemesis injects crashes, partitions, message loss and other faults, and invariant checkers \
         watch for broken guarantees. This page sums up one campaign: every run listed here can be replayed \
         exactly from its seed or its report.</p>\n",
        program = escape(&summary.program)
    );
    if !summary.shards_missing.is_empty() {
        let _ = writeln!(
            html,
            "<p class=\"bad\">Incomplete: shards {missing} of this campaign are missing from the merge; their seeds are not counted here.</p>"
        );
    } else if !summary.complete {
        let _ = writeln!(
            html,
            "<p class=\"warn\">Incomplete: {} of {} planned runs finished{}; the seeds not run were not tested. <code>fuzz --resume</code> runs the rest.</p>",
            summary.runs,
            summary.runs_planned,
            summary.stopped_by.as_deref().map(|bound| format!(" before the {bound} bound stopped the campaign")).unwrap_or_default()
        );
    }
    let _ = writeln!(
        html,
        "<div class=\"charts\">{}\n{}</div>",
        charts::failures_by_seed(summary),
        charts::coverage_by_scenario(summary)
    );
    figures(&mut html, summary);
    scenarios(&mut html, summary);
    failures(&mut html, summary, pages);
    coverage(&mut html, summary);
    html.push_str("</body></html>\n");
    html
}

/// The headline: failures first, then whether the campaign is whole; green only for a complete
/// campaign without failure.
fn verdict(summary: &Summary) -> String {
    let missing = shard_list(&summary.shards_missing);
    if summary.failures > 0 {
        let incomplete = if summary.complete { "" } else { " (campaign incomplete)" };
        format!("<span class=\"bad\">{} distinct failures{incomplete}</span>", summary.distinct_failures)
    } else if !summary.shards_missing.is_empty() {
        format!("<span class=\"bad\">no failure in the shards present; shards {missing} missing</span>")
    } else if !summary.complete {
        let percent = summary.runs as f64 * 100.0 / summary.runs_planned.max(1) as f64;
        let share = if percent < 1.0 { "less than 1%".to_string() } else { format!("{percent:.0}%") };
        format!("<span class=\"warn\">incomplete: no failure in the {share} of runs finished</span>")
    } else {
        "<span class=\"good\">no failure</span>".to_string()
    }
}

fn figures(html: &mut String, summary: &Summary) {
    let campaign = &summary.campaign;
    let bugs = if campaign.bugs.is_empty() { "none (the fixed model)".to_string() } else { campaign.bugs.join(", ") };
    let mut shards = if summary.shards == [Shard::WHOLE] {
        String::new()
    } else {
        format!(" (shards {})", shard_list(&summary.shards))
    };
    if !summary.shards_missing.is_empty() {
        shards = format!(" (shards {}; missing {})", shard_list(&summary.shards), shard_list(&summary.shards_missing));
    }
    let status = match (&summary.stopped_by, summary.complete) {
        (_, true) => "complete".to_string(),
        (Some(bound), false) => format!("stopped early by {bound}"),
        (None, false) => "incomplete".to_string(),
    };
    let records = match &summary.records {
        Some(file) => format!("{file}, one JSON line per run"),
        None => "not kept (fuzz --record keeps them)".to_string(),
    };
    let rows = [
        ("scenarios", campaign.scenarios.join(", ")),
        ("seeds", format!("{} from {:#x}{shards}", campaign.seeds, campaign.start)),
        ("bugs switched on", bugs),
        ("fault strategy", campaign.strategy.name().to_string()),
        ("runs", format!("{} of {} ({status})", summary.runs, summary.runs_planned)),
        ("failed runs", summary.failures.to_string()),
        ("distinct failures", summary.distinct_failures.to_string()),
        ("seeds per second", format!("{:.0}", summary.seeds_per_sec)),
        ("wall time", wall_time(summary)),
        ("run records", records),
        ("fleetsim", format!("{} ({})", summary.fleetsim.version, summary.fleetsim.commit)),
    ];
    html.push_str("<h2>The campaign</h2>\n<table>\n");
    for (name, value) in rows {
        let _ = writeln!(html, "<tr><th>{name}</th><td>{}</td></tr>", escape(&value));
    }
    html.push_str("</table>\n");
}

/// The campaign's wall time over every process, and the last process's part when it differs.
fn wall_time(summary: &Summary) -> String {
    let total = summary.wall_s_total.max(summary.wall_s);
    if summary.runs_restored == 0 || total - summary.wall_s < 0.05 {
        return format!("{total:.1} s");
    }
    format!("{total:.1} s in all, resumes included ({:.1} s in the last process)", summary.wall_s)
}

fn scenarios(html: &mut String, summary: &Summary) {
    html.push_str("<h2>Scenarios</h2>\n<table><tr><th>scenario</th><th>runs</th><th>failed runs</th></tr>\n");
    for (name, tally) in &summary.by_scenario {
        let class = if tally.failures > 0 { " bad" } else { "" };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td class=\"number\">{}</td><td class=\"number{class}\">{}</td></tr>",
            escape(name),
            tally.runs,
            tally.failures
        );
    }
    html.push_str("</table>\n<h2>Violated invariants</h2>\n");
    if summary.by_invariant.is_empty() {
        html.push_str("<p>No invariant was violated.</p>\n");
        return;
    }
    html.push_str("<table><tr><th>invariant</th><th>runs violating it</th></tr>\n");
    for (name, runs) in &summary.by_invariant {
        let _ = writeln!(html, "<tr><td>{}</td><td class=\"number\">{runs}</td></tr>", escape(name));
    }
    html.push_str("</table>\n");
}

fn failures(html: &mut String, summary: &Summary, pages: &[String]) {
    html.push_str("<h2>Distinct failures</h2>\n");
    if summary.failure_reports.is_empty() {
        html.push_str("<p>None.</p>\n");
        return;
    }
    html.push_str("<p>One row per scenario, bug set and first violated invariant; the earliest seed is kept.</p>\n");
    html.push_str("<table><tr><th>scenario</th><th>bugs</th><th>first invariant</th><th>seed</th><th>runs</th><th>report</th><th>replay</th></tr>\n");
    for entry in &summary.failure_reports {
        let page = entry.report.replace(".json", ".html");
        let link = if pages.contains(&page) {
            format!("<a href=\"{0}\">timeline</a> · <a href=\"{1}\">json</a>", escape(&page), escape(&entry.report))
        } else {
            format!("<a href=\"{0}\">json</a>", escape(&entry.report))
        };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td class=\"bad\">{}</td><td>{:#x}</td><td class=\"number\">{}</td><td>{link}</td><td><code>{} replay {}</code></td></tr>",
            escape(&entry.signature.scenario),
            escape(&entry.signature.bugs.join(", ")),
            escape(&entry.signature.invariant),
            entry.seed,
            entry.runs,
            escape(&summary.program),
            escape(&entry.report)
        );
    }
    html.push_str("</table>\n");
    if summary.signatures_dropped > 0 {
        let _ = writeln!(
            html,
            "<p class=\"bad\">{} failed runs had a new signature after the kept-failures bound; they were counted, not written.</p>",
            summary.signatures_dropped
        );
    }
}

fn coverage(html: &mut String, summary: &Summary) {
    let coverage = &summary.coverage;
    html.push_str("<h2>Coverage</h2>\n<p>Fault points are named places in the model where a run may crash a node or fail a call; \
         <em>sometimes</em> properties are situations the campaign is expected to reach at least once. \
         Highlighted rows were never fired or never reached: the campaign did not test them.</p>\n");
    html.push_str("<table><tr><th>fault point</th><th>passes</th><th>fired</th></tr>\n");
    for (name, count) in &coverage.fault_points {
        let class = if count.fires == 0 { " class=\"gap\"" } else { "" };
        let _ = writeln!(
            html,
            "<tr{class}><td>{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td></tr>",
            escape(name),
            count.hits,
            count.fires
        );
    }
    html.push_str("</table>\n");
    if coverage.sometimes.is_empty() {
        html.push_str("<p class=\"note\">These scenarios catalog no <em>sometimes</em> property.</p>\n");
    }
    html.push_str("<table><tr><th>sometimes property</th><th>runs reaching it</th></tr>\n");
    for (name, count) in &coverage.sometimes {
        let class = if *count == 0 { " class=\"gap\"" } else { "" };
        let _ = writeln!(html, "<tr{class}><td>{}</td><td class=\"number\">{count}</td></tr>", escape(name));
    }
    html.push_str("</table>\n<table><tr><th>fault kind</th><th>injected</th></tr>\n");
    for (kind, count) in &summary.faults {
        let _ = writeln!(html, "<tr><td>{}</td><td class=\"number\">{count}</td></tr>", escape(kind));
    }
    html.push_str("</table>\n<table><tr><th>fault effect</th><th>times</th></tr>\n");
    for (effect, count) in &summary.fault_effects {
        let _ = writeln!(html, "<tr><td>{}</td><td class=\"number\">{count}</td></tr>", escape(effect));
    }
    html.push_str("</table>\n");
}
