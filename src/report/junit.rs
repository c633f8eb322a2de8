//! `junit.xml`: one test case per scenario and one per distinct failure, for CI dashboards.

use crate::report::summary::Summary;
use std::fmt::Write;

/// The JUnit XML of a campaign summary.
pub fn render(summary: &Summary) -> String {
    let cases = summary.by_scenario.len() + summary.failure_reports.len();
    let failing =
        summary.by_scenario.values().filter(|scenario| scenario.failures > 0).count() + summary.failure_reports.len();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"fleetsim\" tests=\"{cases}\" failures=\"{failing}\" time=\"{:.3}\">",
        summary.wall_s
    );
    let _ = writeln!(xml, "  <testsuite name=\"fleetsim.fuzz\" tests=\"{cases}\" failures=\"{failing}\">");
    for (scenario, tally) in &summary.by_scenario {
        let name = format!("scenario {scenario}: {} runs", tally.runs);
        let _ = write!(xml, "    <testcase classname=\"fleetsim.fuzz.scenario\" name=\"{}\"", escape(&name));
        if tally.failures == 0 {
            xml.push_str("/>\n");
        } else {
            let message = format!("{} of {} runs failed", tally.failures, tally.runs);
            let _ = writeln!(xml, ">\n      <failure message=\"{}\"/>\n    </testcase>", escape(&message));
        }
    }
    for entry in &summary.failure_reports {
        let signature = &entry.signature;
        let bugs = if signature.bugs.is_empty() { "fixed model".to_string() } else { signature.bugs.join(", ") };
        let name = format!("{} violates {} ({bugs})", signature.scenario, signature.invariant);
        let message = format!("seed {:#x} ({} runs with this failure)", entry.seed, entry.runs);
        let body = format!("report: {}\nreplay: {} replay {}", entry.report, summary.program, entry.report);
        let _ = writeln!(
            xml,
            "    <testcase classname=\"fleetsim.fuzz.failure\" name=\"{}\">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
            escape(&name),
            escape(&message),
            escape(&body)
        );
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// Text made safe for XML and HTML attributes and content.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            character if character.is_control() && character != '\n' && character != '\t' => escaped.push(' '),
            character => escaped.push(character),
        }
    }
    escaped
}
