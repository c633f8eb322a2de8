//! A resumed campaign verifies its folder before it trusts it: records and reports that were
//! lost are written again by re-running their runs, exactly as they were; a checkpoint that was
//! edited is refused with exit 2 before anything runs.

use fleetsim_model::bugs::CATALOG;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Seeds of the campaign every case tampers with.
const SEEDS: u64 = 300;

fn fleetsim(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim")).args(arguments).output().expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("fleetsim-integrity-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    folder
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A finished campaign of the first catalog bug, with run records.
fn campaign(folder: &Path) -> Output {
    let bug = CATALOG[0];
    let seeds = SEEDS.to_string();
    let arguments = ["fuzz", "--scenario", bug.scenario, "--bug", bug.id, "--seeds", &seeds, "--record", "--quiet"];
    fleetsim(&[&arguments[..], &["--out", folder.to_str().unwrap()]].concat())
}

fn resume(folder: &Path) -> Output {
    fleetsim(&["fuzz", "--resume", "--quiet", "--out", folder.to_str().unwrap()])
}

/// The record lines, sorted (they are written in the order runs finish).
fn sorted_records(folder: &Path) -> Vec<String> {
    let mut lines: Vec<String> = text(&folder.join("runs.jsonl")).lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// What a campaign found, without timings.
fn findings(folder: &Path) -> Value {
    let summary: Value = serde_json::from_str(&text(&folder.join("summary.json"))).unwrap();
    let keys = ["runs", "failures", "distinct_failures", "by_invariant", "by_scenario", "faults", "coverage"];
    let mut found: serde_json::Map<String, Value> =
        keys.iter().map(|key| (key.to_string(), summary[key].clone())).collect();
    found.insert("failure_reports".to_string(), summary["failure_reports"].clone());
    Value::Object(found)
}

fn assert_refused(output: &Output, named: &str) {
    let message = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains(named), "the error should name '{named}': {message}");
    assert_eq!(message.trim_end().lines().count(), 1, "one line: {message}");
    assert!(!message.contains("panicked"), "{message}");
}

#[test]
fn a_resume_writes_lost_records_and_reports_again_and_refuses_an_edited_checkpoint() {
    let folder = scratch("tampered");
    assert_eq!(campaign(&folder).status.code(), Some(1), "the bug is found");
    let (records, found) = (sorted_records(&folder), findings(&folder));
    let summary: Value = serde_json::from_str(&text(&folder.join("summary.json"))).unwrap();
    let report = folder.join(summary["failure_reports"][0]["report"].as_str().unwrap());
    let report_bytes = std::fs::read(&report).unwrap();

    // A deleted failure report is written again, byte for byte.
    std::fs::remove_file(&report).unwrap();
    let output = resume(&folder);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("1 failure reports; re-running"), "{}", stderr(&output));
    assert_eq!(std::fs::read(&report).unwrap(), report_bytes, "the report is written again exactly");

    // Record lines cut off at half the file (mid-line) are written again, one per run.
    let full = text(&folder.join("runs.jsonl"));
    std::fs::write(folder.join("runs.jsonl"), &full[..full.len() / 2]).unwrap();
    let output = resume(&folder);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("lacks the record lines of"), "{}", stderr(&output));
    assert_eq!(sorted_records(&folder), records, "every run has its line again, the same line");
    assert_eq!(findings(&folder), found, "the summary is the campaign's");

    // An edited watermark or tally is refused before anything runs or is written.
    let checkpoint = text(&folder.join("checkpoint.json"));
    let watermark = format!("\"watermark\":{SEEDS}");
    let runs = format!("\"runs\":{SEEDS},\"seed_buckets\"");
    let edits = [
        checkpoint.replacen(&watermark, &format!("\"watermark\":{}", SEEDS + 100), 1),
        checkpoint.replacen(&runs, &format!("\"runs\":{},\"seed_buckets\"", SEEDS - 1), 1),
    ];
    for edited in edits {
        assert_ne!(edited, checkpoint, "the edit applies");
        std::fs::write(folder.join("checkpoint.json"), &edited).unwrap();
        let before = (text(&folder.join("summary.json")), text(&folder.join("runs.jsonl")));
        assert_refused(&resume(&folder), "checkpoint.json is damaged or was edited");
        assert_eq!((text(&folder.join("summary.json")), text(&folder.join("runs.jsonl"))), before);
        assert_eq!(text(&folder.join("checkpoint.json")), edited, "a refused folder is left as it was");
    }
    std::fs::write(folder.join("checkpoint.json"), &checkpoint).unwrap();
    assert_eq!(resume(&folder).status.code(), Some(1), "the intact checkpoint resumes");
    let leftovers: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    std::fs::remove_dir_all(folder).unwrap();
}
