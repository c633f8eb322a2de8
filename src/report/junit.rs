//! `junit.xml`: one test case per scenario and one per distinct failure, for CI dashboards.

use crate::report::summary::Summary;
use std::fmt::Write;

/// One JUnit test case: its class and name, and its failure, if it failed.
struct TestCase {
    classname: &'static str,
    name: String,
    failure: Option<Failure>,
}

/// Why a test case failed: a one-line message and a longer body.
struct Failure {
    message: String,
    body: String,
}

/// The JUnit XML of a campaign summary.
pub fn render(summary: &Summary) -> String {
    let mut cases = scenario_cases(summary);
    cases.extend(shards_case(summary));
    cases.extend(failure_cases(summary));
    let failing = cases.iter().filter(|case| case.failure.is_some()).count();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"fleetsim\" tests=\"{}\" failures=\"{failing}\" time=\"{:.3}\">",
        cases.len(),
        summary.wall_s
    );
    let _ = writeln!(xml, "  <testsuite name=\"fleetsim.fuzz\" tests=\"{}\" failures=\"{failing}\">", cases.len());
    for case in &cases {
        let _ = write!(xml, "    <testcase classname=\"{}\" name=\"{}\"", case.classname, escape(&case.name));
        match &case.failure {
            None => xml.push_str("/>\n"),
            Some(Failure { message, body }) if body.is_empty() => {
                let _ = writeln!(xml, ">\n      <failure message=\"{}\"/>\n    </testcase>", escape(message));
            }
            Some(Failure { message, body }) => {
                let _ = writeln!(
                    xml,
                    ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    escape(message),
                    escape(body)
                );
            }
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

fn scenario_cases(summary: &Summary) -> Vec<TestCase> {
    let case = |(scenario, tally): (&String, &crate::fuzz::tally::ScenarioTally)| TestCase {
        classname: "fleetsim.fuzz.scenario",
        name: format!("scenario {scenario}: {} runs", tally.runs),
        failure: (tally.failures > 0).then(|| Failure {
            message: format!("{} of {} runs failed", tally.failures, tally.runs),
            body: String::new(),
        }),
    };
    summary.by_scenario.iter().map(case).collect()
}

fn failure_cases(summary: &Summary) -> Vec<TestCase> {
    let case = |entry: &crate::fuzz::tally::FailureEntry| {
        let signature = &entry.signature;
        let bugs = if signature.bugs.is_empty() { "fixed model".to_string() } else { signature.bugs.join(", ") };
        TestCase {
            classname: "fleetsim.fuzz.failure",
            name: format!("{} violates {} ({bugs})", signature.scenario, signature.invariant),
            failure: Some(Failure {
                message: format!("seed {:#x} ({} runs with this failure)", entry.seed, entry.runs),
                body: format!("report: {}\nreplay: {} replay {}", entry.report, summary.program, entry.report),
            }),
        }
    };
    summary.failure_reports.iter().map(case).collect()
}

/// For a merged campaign split in shards: a test case that fails when some are missing.
fn shards_case(summary: &Summary) -> Option<TestCase> {
    let count = summary.shards.first()?.count;
    if count == 1 || summary.campaign.shard.count != 1 {
        return None;
    }
    let failure = (!summary.shards_missing.is_empty()).then(|| Failure {
        message: format!(
            "shards {} of {count} are missing from the merge; their seeds were not counted",
            crate::fuzz::shard::shard_list(&summary.shards_missing)
        ),
        body: String::new(),
    });
    Some(TestCase { classname: "fleetsim.fuzz.campaign", name: "every shard merged".to_string(), failure })
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
