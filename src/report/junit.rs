//! `junit.xml`: test cases CI tools can track from night to night. Their names never change with
//! the seeds or the run counts: one per scenario (`delete`), one per scenario and invariant it
//! checks (`delete: unique-ip`), failing when some run of the scenario violated that invariant
//! first, with the violation's message and the replay command in the failure body; and, for a
//! merged campaign split in shards, `every shard merged`.

use crate::fuzz::tally::FailureEntry;
use crate::report::summary::Summary;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

/// What the JUnit report needs beyond the summary.
#[derive(Clone, Debug, Default)]
pub struct JunitContext {
    /// The invariants each scenario checks (its own and the harness's), by scenario.
    pub invariants: BTreeMap<String, Vec<String>>,
    /// The first violation of each distinct failure's report, by signature file stem.
    pub violations: BTreeMap<String, FirstViolation>,
    /// The campaign folder, as the replay commands name it.
    pub folder: PathBuf,
}

/// The first violation of a failure report, as its JUnit failure body tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirstViolation {
    /// Simulated milliseconds into the run.
    pub at_ms: u64,
    /// What was violated.
    pub message: String,
    /// The `run` line that reruns the seed.
    pub rerun: String,
}

/// One JUnit test case: its class and name, and its failure, if it failed.
struct TestCase {
    classname: String,
    name: String,
    failure: Option<Failure>,
}

/// Why a test case failed: a one-line message and a longer body.
struct Failure {
    message: String,
    body: String,
}

/// The JUnit XML of a campaign summary.
pub fn render(summary: &Summary, context: &JunitContext) -> String {
    let mut cases = Vec::new();
    for scenario in &summary.campaign.scenarios {
        cases.push(scenario_case(summary, scenario));
        cases.extend(invariant_cases(summary, context, scenario));
    }
    cases.extend(shards_case(summary));
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
        write_case(&mut xml, case);
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

fn write_case(xml: &mut String, case: &TestCase) {
    let _ = write!(xml, "    <testcase classname=\"{}\" name=\"{}\"", escape(&case.classname), escape(&case.name));
    match &case.failure {
        None => xml.push_str("/>\n"),
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

/// `delete`: fails when any run of the scenario failed.
fn scenario_case(summary: &Summary, scenario: &str) -> TestCase {
    let tally = summary.by_scenario.get(scenario).cloned().unwrap_or_default();
    let failed = failures_of(summary, scenario);
    let failure = (tally.failures > 0).then(|| Failure {
        message: format!("{} of {} runs failed", tally.failures, tally.runs),
        body: failed
            .iter()
            .map(|entry| {
                format!(
                    "{} runs fail first with {} (test case {scenario}: {})",
                    entry.runs, entry.signature.invariant, entry.signature.invariant
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
    });
    TestCase { classname: "fleetsim.fuzz".to_string(), name: scenario.to_string(), failure }
}

/// `delete: unique-ip`, one per invariant the scenario checks and per invariant some run of it
/// violated first; fails with the earliest such run's violation and replay command.
fn invariant_cases(summary: &Summary, context: &JunitContext, scenario: &str) -> Vec<TestCase> {
    let failed = failures_of(summary, scenario);
    let mut invariants: Vec<String> = context.invariants.get(scenario).cloned().unwrap_or_default();
    for entry in &failed {
        if !invariants.contains(&entry.signature.invariant) {
            invariants.push(entry.signature.invariant.clone());
        }
    }
    let case = |invariant: String| {
        let entry = failed.iter().find(|entry| entry.signature.invariant == invariant);
        TestCase {
            classname: format!("fleetsim.fuzz.{scenario}"),
            name: format!("{scenario}: {invariant}"),
            failure: entry.map(|entry| failure_of(summary, context, entry)),
        }
    };
    invariants.into_iter().map(case).collect()
}

fn failures_of<'summary>(summary: &'summary Summary, scenario: &str) -> Vec<&'summary FailureEntry> {
    summary.failure_reports.iter().filter(|entry| entry.signature.scenario == scenario).collect()
}

fn failure_of(summary: &Summary, context: &JunitContext, entry: &FailureEntry) -> Failure {
    let signature = &entry.signature;
    let report = context.folder.join(&entry.report);
    let mut body = format!(
        "{} seed {:#x} fails first with {} ({} runs of the campaign do)\n",
        signature.scenario, entry.seed, signature.invariant, entry.runs
    );
    let violation = context.violations.get(&signature.file_stem());
    if let Some(violation) = violation {
        let _ = writeln!(body, "violation at {} ms: {}", violation.at_ms, violation.message);
    }
    let _ = writeln!(body, "replay: {} replay {}", summary.program, report.display());
    if let Some(violation) = violation {
        let _ = writeln!(body, "rerun: {}", violation.rerun);
    }
    let message = match violation {
        Some(violation) => format!("seed {:#x}: {}", entry.seed, violation.message),
        None => format!("seed {:#x} violates {}", entry.seed, signature.invariant),
    };
    Failure { message, body }
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
    Some(TestCase { classname: "fleetsim.fuzz".to_string(), name: "every shard merged".to_string(), failure })
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
