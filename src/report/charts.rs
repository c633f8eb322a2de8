//! The campaign page's pictures: small inline SVG charts, drawn from the summary alone (no
//! scripts, nothing fetched), so the page stays one self-contained file.

use crate::fuzz::tally::ScenarioTally;
use crate::report::junit::escape;
use crate::report::summary::Summary;
use std::fmt::Write;

/// Width of one chart in pixels: two fit side by side in a 1,400 px window.
pub const CHART_WIDTH_PX: usize = 620;
const PLOT_LEFT_PX: usize = 44;
const PLOT_TOP_PX: usize = 28;
const PLOT_HEIGHT_PX: usize = 120;
const BAR_ROW_PX: usize = 18;
const LABEL_COLUMN_PX: usize = 150;

const RED: &str = "#b00020";
const GREEN: &str = "#1b7f3b";
const TRACK: &str = "#ececec";

/// Failed runs per slice of the seed range: one bar per slice, its height the share of the
/// slice's runs that failed; a slice with no run yet is an empty dashed box.
pub fn failures_by_seed(summary: &Summary) -> String {
    let buckets = &summary.seed_buckets;
    let height = PLOT_TOP_PX + PLOT_HEIGHT_PX + 34;
    let mut svg = open_svg("chart-failures-by-seed", height, "failed runs over the seed range");
    title(&mut svg, "Failed runs over the seed range (share of each slice's runs)");
    if buckets.is_empty() {
        let _ = writeln!(
            svg,
            "<text x=\"{PLOT_LEFT_PX}\" y=\"{}\">These totals did not count runs per seed slice.</text>",
            PLOT_TOP_PX + 20
        );
        svg.push_str("</svg>");
        return svg;
    }
    let plot_width = CHART_WIDTH_PX - PLOT_LEFT_PX - 10;
    let slot = plot_width / buckets.len();
    let bottom = PLOT_TOP_PX + PLOT_HEIGHT_PX;
    for (label, fraction) in [("100%", 1.0), ("50%", 0.5), ("0%", 0.0)] {
        let y = bottom - (fraction * PLOT_HEIGHT_PX as f64) as usize;
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#666\">{label}</text><line x1=\"{PLOT_LEFT_PX}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#ddd\"/>",
            PLOT_LEFT_PX - 4,
            y + 4,
            PLOT_LEFT_PX + slot * buckets.len()
        );
    }
    let spec = &summary.campaign;
    for (index, bucket) in buckets.iter().enumerate() {
        let x = PLOT_LEFT_PX + index * slot + 1;
        let first = spec.seed_bucket_start(index as u64);
        let last = spec.seed_bucket_start(index as u64 + 1).saturating_sub(1).max(first);
        let tip = format!("seeds {first:#x} to {last:#x}: {} runs, {} failed", bucket.runs, bucket.failures);
        if bucket.runs == 0 {
            let _ = writeln!(svg, "<rect x=\"{x}\" y=\"{PLOT_TOP_PX}\" width=\"{}\" height=\"{PLOT_HEIGHT_PX}\" fill=\"none\" stroke=\"#999\" stroke-dasharray=\"3,3\"><title>{} (not run)</title></rect>", slot - 2, escape(&tip));
            continue;
        }
        let bar = (bucket.failures as f64 / bucket.runs as f64 * PLOT_HEIGHT_PX as f64).round() as usize;
        let bar = if bucket.failures > 0 { bar.max(2) } else { 0 };
        let _ = writeln!(svg, "<rect x=\"{x}\" y=\"{PLOT_TOP_PX}\" width=\"{}\" height=\"{PLOT_HEIGHT_PX}\" fill=\"{TRACK}\"><title>{}</title></rect><rect x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{bar}\" fill=\"{RED}\"><title>{}</title></rect>", slot - 2, escape(&tip), bottom - bar, slot - 2, escape(&tip));
    }
    let last_seed = spec.start.saturating_add(spec.seeds - 1);
    let _ = writeln!(
        svg,
        "<text x=\"{PLOT_LEFT_PX}\" y=\"{0}\" fill=\"#666\">seed {1:#x}</text><text x=\"{2}\" y=\"{0}\" text-anchor=\"end\" fill=\"#666\">seed {last_seed:#x}</text>\
         <text x=\"{3}\" y=\"{0}\" text-anchor=\"middle\" fill=\"#666\">{4} slices; dashed: not run</text>",
        bottom + 16,
        spec.start,
        PLOT_LEFT_PX + slot * buckets.len(),
        PLOT_LEFT_PX + slot * buckets.len() / 2,
        buckets.len()
    );
    svg.push_str("</svg>");
    svg
}

/// Per scenario, three bars: the share of its fault points that fired, of its `sometimes`
/// properties reached, and of its runs that failed.
pub fn coverage_by_scenario(summary: &Summary) -> String {
    let rows = summary.by_scenario.len() * 3;
    let height =
        PLOT_TOP_PX + (rows + summary.by_scenario.len()).max(1) * BAR_ROW_PX + summary.by_scenario.len() * 6 + 24;
    let mut svg = open_svg("chart-coverage", height, "coverage per scenario");
    title(&mut svg, "Coverage per scenario");
    let mut y = PLOT_TOP_PX;
    for (name, tally) in &summary.by_scenario {
        let _ = writeln!(svg, "<text x=\"0\" y=\"{}\" font-weight=\"bold\">{}</text>", y + 13, escape(name));
        y += BAR_ROW_PX;
        for (label, part, whole, color) in bars(tally) {
            bar(&mut svg, y, label, part, whole, color);
            y += BAR_ROW_PX;
        }
        y += 6;
    }
    let _ = writeln!(
        svg,
        "<text x=\"0\" y=\"{}\" fill=\"#666\">green: the share reached (more is better); red: the share of runs that failed</text>",
        y + 12
    );
    svg.push_str("</svg>");
    svg
}

/// The three bars of one scenario: label, part, whole, colour.
fn bars(tally: &ScenarioTally) -> [(&'static str, u64, u64, &'static str); 3] {
    let points = &tally.coverage.fault_points;
    let fired = points.values().filter(|count| count.fires > 0).count() as u64;
    let sometimes = &tally.coverage.sometimes;
    let reached = sometimes.values().filter(|count| **count > 0).count() as u64;
    [
        ("fault points fired", fired, points.len() as u64, GREEN),
        ("sometimes reached", reached, sometimes.len() as u64, GREEN),
        ("runs failed", tally.failures, tally.runs, RED),
    ]
}

fn bar(svg: &mut String, y: usize, label: &str, part: u64, whole: u64, color: &str) {
    let track = CHART_WIDTH_PX - LABEL_COLUMN_PX - 110;
    let filled = if whole == 0 { 0 } else { (part as f64 / whole as f64 * track as f64).round() as usize };
    let filled = if part > 0 { filled.max(2) } else { 0 };
    let text = if whole == 0 { "none cataloged".to_string() } else { format!("{part} of {whole}") };
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#444\">{label}</text>\
         <rect x=\"{LABEL_COLUMN_PX}\" y=\"{}\" width=\"{track}\" height=\"12\" fill=\"{TRACK}\"/>\
         <rect x=\"{LABEL_COLUMN_PX}\" y=\"{}\" width=\"{filled}\" height=\"12\" fill=\"{color}\"><title>{label}: {text}</title></rect>\
         <text x=\"{}\" y=\"{}\">{text}</text>",
        LABEL_COLUMN_PX - 6,
        y + 13,
        y + 3,
        y + 3,
        LABEL_COLUMN_PX + track + 6,
        y + 13
    );
}

fn open_svg(id: &str, height: usize, label: &str) -> String {
    format!(
        "<svg id=\"{id}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{CHART_WIDTH_PX}\" height=\"{height}\" \
         viewBox=\"0 0 {CHART_WIDTH_PX} {height}\" role=\"img\" aria-label=\"{label}\" font-size=\"12\" font-family=\"system-ui,sans-serif\">\n"
    )
}

fn title(svg: &mut String, text: &str) {
    let _ = writeln!(svg, "<text x=\"0\" y=\"14\" font-weight=\"bold\" font-size=\"13\">{text}</text>");
}
