//! Campaigns through the binary: reports that replay, results and run records independent of jobs
//! and shards, a killed campaign resumed without loss or repetition, readable pages, hunt and shrink.

use fleetsim_model::bugs::CATALOG;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn fleetsim(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim")).args(arguments).output().expect("the binary runs")
}

fn scratch(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("fleetsim-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    folder
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn summary(folder: &Path) -> Value {
    serde_json::from_str(&text(&folder.join("summary.json"))).expect("summary.json is JSON")
}

/// What a campaign found, without the timings that may differ from run to run.
fn findings(summary: &Value) -> Value {
    let mut found = serde_json::Map::new();
    for key in ["runs", "failures", "distinct_failures", "by_invariant", "by_scenario", "faults", "coverage"] {
        found.insert(key.to_string(), summary[key].clone());
    }
    let failures: Vec<Value> = summary["failure_reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| serde_json::json!([entry["signature"], entry["seed"], entry["runs"]]))
        .collect();
    found.insert("failure_reports".to_string(), Value::Array(failures));
    Value::Object(found)
}

fn campaign(folder: &Path, extra: &[&str]) -> Output {
    let bug = CATALOG[0];
    let out = folder.to_str().unwrap();
    let mut arguments = vec!["fuzz", "--scenario", bug.scenario, "--bug", bug.id, "--out", out, "--quiet"];
    arguments.extend_from_slice(extra);
    fleetsim(&arguments)
}

/// The lines of a campaign's `runs.jsonl`, sorted (they are written as runs finish).
fn records(folder: &Path) -> Vec<String> {
    let mut lines: Vec<String> = text(&folder.join("runs.jsonl")).lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// Each position of `0..runs` has exactly one line.
fn assert_one_record_per_run(folder: &Path, runs: u64) {
    let mut items: Vec<u64> = records(folder)
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).expect("a record line is JSON")["item"].as_u64().unwrap())
        .collect();
    items.sort_unstable();
    assert_eq!(items, (0..runs).collect::<Vec<u64>>(), "one record per run in {}", folder.display());
}

/// Tags open and close in order (void elements and `/>` excepted).
fn assert_well_formed(html: &str) {
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("every tag closes") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        let name: String = tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if ["meta", "br", "hr", "img", "input", "link"].contains(&name.as_str()) {
            continue;
        }
        if tag.starts_with('/') {
            assert_eq!(open.pop().as_deref(), Some(name.as_str()), "unbalanced </{name}>");
        } else {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "unclosed tags: {open:?}");
}

#[test]
fn a_campaign_with_a_bug_writes_reports_that_replay_and_pages_that_show_them() {
    let folder = scratch("bug");
    let output = campaign(&folder, &["--seeds", "150", "--jobs", "2"]);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let summary = summary(&folder);
    assert!(summary["failures"].as_u64().unwrap() > 0 && summary["runs"] == 150);
    for key in ["seeds_per_sec", "by_invariant", "coverage"] {
        assert!(summary.get(key).is_some(), "summary lacks {key}");
    }
    assert!(summary["records"].is_null() && !folder.join("runs.jsonl").exists(), "runs are recorded on request only");
    let reports = summary["failure_reports"].as_array().unwrap();
    assert_eq!(reports.len() as u64, summary["distinct_failures"].as_u64().unwrap());
    let junit = text(&folder.join("junit.xml"));
    let scenario = fleetsim_scenarios::registry().scenario(CATALOG[0].scenario).unwrap().invariants();
    let mut invariants: Vec<&str> = scenario.iter().map(|invariant| invariant.name).collect();
    invariants.extend(fleetsim_sim::HARNESS_INVARIANTS.iter().map(|invariant| invariant.name));
    invariants.sort_unstable();
    invariants.dedup();
    assert_eq!(junit.matches("<testcase").count(), 1 + invariants.len(), "the scenario, then each invariant: {junit}");
    assert_eq!(junit.matches("<failure").count(), 1 + reports.len(), "the scenario and each distinct failure fail");
    let index = text(&folder.join("index.html"));
    assert_well_formed(&index);
    assert!(index.contains("id=\"chart-failures-by-seed\"") && index.contains("id=\"chart-coverage\""), "two charts");
    let slices = summary["seed_buckets"].as_array().unwrap();
    let sliced = |field: &str| slices.iter().map(|slice| slice[field].as_u64().unwrap()).sum::<u64>();
    assert_eq!((slices.len(), sliced("runs"), sliced("failures")), (50, 150, summary["failures"].as_u64().unwrap()));
    for entry in reports {
        let report = folder.join(entry["report"].as_str().unwrap());
        let replay = fleetsim(&["replay", report.to_str().unwrap()]);
        assert_eq!(replay.status.code(), Some(0), "{}", String::from_utf8_lossy(&replay.stdout));
        let page = text(&report.with_extension("html"));
        assert_well_formed(&page);
        let invariant = entry["signature"]["invariant"].as_str().unwrap();
        assert!(page.contains(&format!("violated: {invariant}")), "the page names the violation");
        assert!(page.contains(&format!("fleetsim replay {}", report.display())), "the page gives the replay command");
        assert!(page.contains("<svg") && page.contains("marker-end"), "the page draws a timeline with messages");
        let lanes = page.matches("class=\"lane-name\"").count();
        assert!(lanes >= 4 && page.contains("id=\"violation-marker\""), "a lane per node and the violation marked");
        let steps = page.split("<h2>The run, step by step</h2>").nth(1).unwrap().split("<h2>").next().unwrap();
        for debug_text in ["VmId(", "JobId(", "Ok(", "Err(", "Injected(", " { "] {
            assert!(!steps.contains(debug_text), "the steps read as words, not {debug_text}: {steps}");
        }
        assert!(steps.contains(": create vm-") && steps.contains(" ends done"), "{steps}");
        let lane_names: Vec<&str> = page
            .split("class=\"lane-name\"")
            .skip(1)
            .map(|rest| rest.split('>').nth(1).unwrap().split('<').next().unwrap())
            .collect();
        for host in
            steps.split(" on host-").skip(1).map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next().unwrap())
        {
            let agent = format!("agent-{host}");
            assert!(lane_names.contains(&agent.as_str()), "host-{host} is served by {agent}: {lane_names:?}");
        }
        let sim_ms = serde_json::from_str::<serde_json::Value>(&text(&report)).unwrap()["sim_ms"].as_u64().unwrap();
        let fired = page.split("<h2>Faults injected</h2>").nth(1).unwrap().split("<h2>").next().unwrap();
        for start in fired.split("<tr><td class=\"number\">").skip(1) {
            let start_ms: u64 = start.split('<').next().unwrap().parse().unwrap();
            assert!(start_ms <= sim_ms, "only windows that fired are listed: {start_ms} ms in a run of {sim_ms} ms");
        }
    }
    let late = fleetsim(&["fuzz", "--resume", "--record", "--out", folder.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&late.stderr);
    assert_eq!(late.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("started without --record") && !folder.join("runs.jsonl").exists(), "{stderr}");
    std::fs::remove_dir_all(folder).unwrap();
}

#[test]
fn a_campaign_stopped_by_its_time_bound_is_shown_incomplete_with_the_wall_time_of_every_part() {
    let folder = scratch("time-bound");
    let out = folder.to_str().unwrap();
    let first = fleetsim(&["fuzz", "--quiet", "--seeds", "100000000", "--time", "1s", "--out", out]);
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    let second = fleetsim(&["fuzz", "--quiet", "--resume", "--time", "1s", "--out", out]);
    assert_eq!(second.status.code(), Some(0), "{}", String::from_utf8_lossy(&second.stderr));
    let summary = summary(&folder);
    assert_eq!((summary["complete"].as_bool(), summary["stopped_by"].as_str()), (Some(false), Some("time_s_max")));
    let (last, total) = (summary["wall_s"].as_f64().unwrap(), summary["wall_s_total"].as_f64().unwrap());
    assert!(last >= 1.0 && total >= last + 0.9, "the total counts both parts: {total} s, the last {last} s");
    let index = text(&folder.join("index.html"));
    let headline = index.split("<h1>").nth(1).unwrap().split("</h1>").next().unwrap();
    assert!(headline.contains("incomplete") && !headline.contains("good"), "never green: {headline}");
    assert!(index.contains("resumes included") && !index.contains("(shards 0/1)"), "wall time in all; no shard noise");

    // A merge refuses a folder a live resume is writing, and takes it once that process is gone.
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(["fuzz", "--quiet", "--resume", "--time", "60s", "--out", out])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(folder.join("journal.jsonl")).map(|text| text.lines().count()).unwrap_or(0) < 10 {
        assert!(Instant::now() < deadline, "the resume made no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    let merged = folder.with_extension("merged");
    let refused = fleetsim(&["merge", out, "--out", merged.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is in use by another process")
            && stderr.contains("still being written")
            && !merged.join("summary.json").exists(),
        "{stderr}"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let taken = fleetsim(&["merge", out, "--out", merged.to_str().unwrap()]);
    assert_eq!(taken.status.code(), Some(0), "{}", String::from_utf8_lossy(&taken.stderr));
    std::fs::remove_dir_all(merged).unwrap();
    std::fs::remove_dir_all(folder).unwrap();
}

#[test]
fn campaign_results_do_not_depend_on_jobs() {
    let (one, two) = (scratch("jobs-1"), scratch("jobs-2"));
    campaign(&one, &["--seeds", "120", "--jobs", "1", "--record"]);
    campaign(&two, &["--seeds", "120", "--jobs", "2", "--record"]);
    assert_eq!(findings(&summary(&one)), findings(&summary(&two)));
    assert_one_record_per_run(&one, 120);
    assert_eq!(
        (&summary(&one)["records"], &summary(&two)["records"]),
        (&Value::from("runs.jsonl"), &Value::from("runs.jsonl"))
    );
    assert_eq!(records(&one), records(&two), "every run's record is the same whatever the jobs");
    let failed_lines = records(&one).iter().filter(|line| line.contains("\"verdict\":\"fail\"")).count() as u64;
    assert_eq!(failed_lines, summary(&one)["failures"].as_u64().unwrap());
    std::fs::remove_dir_all(one).unwrap();
    std::fs::remove_dir_all(two).unwrap();
}

#[test]
fn two_shards_merged_equal_the_unsharded_campaign() {
    let (whole, first, second, merged) = (scratch("whole"), scratch("shard-0"), scratch("shard-1"), scratch("merged"));
    campaign(&whole, &["--seeds", "100", "--record"]);
    campaign(&first, &["--seeds", "100", "--shard", "0/2", "--record"]);
    let environment_shard = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args([
            "fuzz",
            "--scenario",
            CATALOG[0].scenario,
            "--bug",
            CATALOG[0].id,
            "--seeds",
            "100",
            "--quiet",
            "--record",
        ])
        .args(["--out", second.to_str().unwrap()])
        .env("JOB_COMPLETION_INDEX", "1")
        .env("FLEETSIM_SHARDS", "2")
        .output()
        .unwrap();
    assert_eq!(summary(&second)["shards"][0]["index"], 1, "{}", String::from_utf8_lossy(&environment_shard.stderr));
    assert_eq!(summary(&first)["runs"].as_u64().unwrap() + summary(&second)["runs"].as_u64().unwrap(), 100);
    let output =
        fleetsim(&["merge", first.to_str().unwrap(), second.to_str().unwrap(), "--out", merged.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "failures found: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(findings(&summary(&merged)), findings(&summary(&whole)));
    assert_eq!(records(&merged), records(&whole), "the shards' records join into the whole campaign's");
    assert_eq!(summary(&merged)["records"], "runs.jsonl");
    for entry in summary(&merged)["failure_reports"].as_array().unwrap() {
        assert!(merged.join(entry["report"].as_str().unwrap()).exists(), "merged reports hold {entry}");
    }
    let again =
        fleetsim(&["merge", first.to_str().unwrap(), first.to_str().unwrap(), "--out", merged.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2), "a shard counted twice is refused");
    std::fs::remove_file(second.join("runs.jsonl")).unwrap();
    std::fs::remove_dir_all(&merged).unwrap();
    let partial =
        fleetsim(&["merge", first.to_str().unwrap(), second.to_str().unwrap(), "--out", merged.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&partial.stderr);
    assert_eq!(partial.status.code(), Some(1), "failures found: {stderr}");
    assert!(stderr.contains("run records not joined") && summary(&merged)["records"].is_null(), "{stderr}");
    assert!(!merged.join("runs.jsonl").exists(), "records of some shards only are not a campaign's records");
    for folder in [whole, first, second, merged] {
        std::fs::remove_dir_all(folder).unwrap();
    }
}

#[test]
fn a_campaign_killed_mid_way_and_resumed_loses_no_failure_and_repeats_no_seed() {
    let (reference, killed) = (scratch("reference"), scratch("killed"));
    campaign(&reference, &["--seeds", "700", "--jobs", "2", "--record"]);
    let bug = CATALOG[0];
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(["fuzz", "--scenario", bug.scenario, "--bug", bug.id, "--seeds", "700", "--jobs", "2", "--quiet"])
        .arg("--record")
        .args(["--out", killed.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let journal = killed.join("journal.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&journal).map(|text| text.lines().count()).unwrap_or(0) < 100 {
        assert!(Instant::now() < deadline, "the campaign made no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(child.try_wait().unwrap().is_none(), "the campaign must still be running when it is killed");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let resumed = fleetsim(&["fuzz", "--resume", "--out", killed.to_str().unwrap(), "--quiet"]);
    assert_eq!(resumed.status.code(), Some(1), "{}", String::from_utf8_lossy(&resumed.stderr));
    let after = summary(&killed);
    let (restored, executed) = (after["runs_restored"].as_u64().unwrap(), after["runs_executed"].as_u64().unwrap());
    assert!((100..700).contains(&restored), "restored {restored}");
    assert_eq!(restored + executed, 700, "no seed ran twice");
    assert_eq!(findings(&after), findings(&summary(&reference)));
    assert_one_record_per_run(&killed, 700);
    assert_eq!(records(&killed), records(&reference), "the resumed campaign recorded every run once, the same");
    for entry in after["failure_reports"].as_array().unwrap() {
        let report = killed.join(entry["report"].as_str().unwrap());
        assert_eq!(fleetsim(&["replay", report.to_str().unwrap()]).status.code(), Some(0));
    }
    let fresh = campaign(&killed, &["--seeds", "700"]);
    assert_eq!(fresh.status.code(), Some(2), "a folder holding a campaign is never overwritten");
    std::fs::remove_dir_all(reference).unwrap();
    std::fs::remove_dir_all(killed).unwrap();
}

#[test]
fn replay_names_corrupt_truncated_unknown_and_diverged_reports() {
    let folder = scratch("replay");
    let bug = CATALOG[0];
    let output =
        fleetsim(&["hunt", "--bug", bug.id, "--max-seeds", "300", "--out", folder.to_str().unwrap(), "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let report_path = folder.join(format!("{}.json", bug.id));
    let original = text(&report_path);
    let variants: [(&str, String, i32, &str); 4] = [
        ("truncated", original[..original.len() / 2].to_string(), 2, "corrupt or truncated"),
        (
            "version",
            original.replacen("\"format_version\": 1", "\"format_version\": 99", 1),
            2,
            "unknown format version 99",
        ),
        (
            "scenario",
            original.replace(&format!("\"scenario\": \"{}\"", bug.scenario), "\"scenario\": \"nope\""),
            2,
            "unknown scenario 'nope'",
        ),
        ("hash", original.replacen("\"trace_hash\": \"", "\"trace_hash\": \"ff", 1), 3, "diverged"),
    ];
    for (name, content, code, message) in variants {
        let path = folder.join(format!("{name}.json"));
        std::fs::write(&path, content).unwrap();
        let output = fleetsim(&["replay", path.to_str().unwrap()]);
        let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert_eq!(output.status.code(), Some(code), "{name}: {said}");
        assert!(said.contains(message) && !said.contains("panicked"), "{name}: {said}");
    }
    let trace = fleetsim(&["replay", report_path.to_str().unwrap(), "--trace", ":violation"]);
    let printed = String::from_utf8_lossy(&trace.stdout);
    assert!(printed.lines().next().unwrap().contains("violation"), "{printed}");
    std::fs::remove_dir_all(folder).unwrap();
}

#[test]
fn hunt_gives_the_first_seed_in_seed_order_whatever_the_jobs() {
    let bug = CATALOG[0];
    let hunt = |jobs: &str| {
        let folder = scratch(&format!("hunt-{jobs}"));
        let output = fleetsim(&["hunt", "--bug", bug.id, "--jobs", jobs, "--out", folder.to_str().unwrap(), "--json"]);
        assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
        std::fs::remove_dir_all(folder).unwrap();
        let results: Value = serde_json::from_slice(&output.stdout).unwrap();
        let result = results[0].clone();
        assert_eq!((result["bug"].as_str(), result["found"].as_bool()), (Some(bug.id), Some(true)));
        (result["first_seed"].clone(), result["seeds_tried"].clone(), result["invariants"].clone())
    };
    assert_eq!(hunt("1"), hunt("2"));
}

#[test]
fn shrink_keeps_the_invariant_with_no_more_plan_than_before() {
    let folder = scratch("shrink");
    let bug = CATALOG[0];
    fleetsim(&["hunt", "--bug", bug.id, "--out", folder.to_str().unwrap()]);
    let report = folder.join(format!("{}.json", bug.id));
    let minimal = folder.join("minimal.json");
    let output = fleetsim(&["shrink", report.to_str().unwrap(), "--out", minimal.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let entries = |path: &Path| {
        let value: Value = serde_json::from_str(&text(path)).unwrap();
        let length = |key: &str| value["plan"][key].as_array().unwrap().len();
        (length("workload") + length("faults"), value["signature"].clone())
    };
    let (before, signature) = entries(&report);
    let (after, minimal_signature) = entries(&minimal);
    assert!(after <= before, "{after} > {before}");
    assert_eq!(signature, minimal_signature);
    assert_eq!(fleetsim(&["replay", minimal.to_str().unwrap()]).status.code(), Some(0));
    std::fs::remove_dir_all(folder).unwrap();
}

#[test]
fn fuzz_bad_input_exits_2_with_one_line() {
    for (arguments, named) in [
        (vec!["fuzz", "--scenario", "nope"], "unknown scenario 'nope'"),
        (vec!["fuzz", "--shard", "2/2"], "malformed shard '2/2'"),
        (vec!["fuzz", "--jobs", "0"], "--jobs"),
        (vec!["fuzz", "--time", "soon"], "malformed duration 'soon'"),
        (vec!["fuzz", "--bug", "no-such-bug"], "unknown bug 'no-such-bug'"),
        (vec!["hunt", "--bug", "no-such-bug"], "unknown bug 'no-such-bug'"),
        (vec!["merge", "/nonexistent/fleetsim", "--out", "/tmp/x"], "cannot read"),
    ] {
        let output = fleetsim(&arguments);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{arguments:?}: {stderr}");
        assert!(stderr.contains(named) && stderr.trim().lines().count() == 1, "{arguments:?}: {stderr}");
    }
}
