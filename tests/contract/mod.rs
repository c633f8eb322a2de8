//! The command-line contract every binary built on `fleetsim::main_with` keeps: exit codes,
//! one-line errors, JSON fields, reports that replay, campaigns, hunt, shrink and merge. The
//! stock binary and the example system's binary both run it (`cli_contract_tests!`), so an
//! outside system is served exactly like the built-in ones.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test and the names it serves.
pub struct Subject {
    /// Path of the binary.
    pub binary: &'static str,
    /// The program name its registry gives (printed in replay commands).
    pub program: &'static str,
    /// A scenario it serves.
    pub scenario: &'static str,
    /// A bug it implements, and that bug's home scenario.
    pub bug: &'static str,
    /// The bug's home scenario.
    pub bug_scenario: &'static str,
}

/// One `#[test]` per contract clause for `$subject`.
#[macro_export]
macro_rules! cli_contract_tests {
    ($subject:expr) => {
        #[test]
        fn contract_bad_input_exits_2_with_a_line_naming_the_problem() {
            contract::bad_input_exits_2_with_a_line_naming_the_problem(&$subject);
        }
        #[test]
        fn contract_run_json_carries_the_contract_fields() {
            contract::run_json_carries_the_contract_fields(&$subject);
        }
        #[test]
        fn contract_a_seed_replays_to_the_same_trace_in_hex_and_decimal() {
            contract::a_seed_replays_to_the_same_trace_in_hex_and_decimal(&$subject);
        }
        #[test]
        fn contract_list_names_every_scenario_bug_invariant_and_fault_kind() {
            contract::list_names_every_scenario_bug_invariant_and_fault_kind(&$subject);
        }
        #[test]
        fn contract_hunt_finds_the_bug_and_its_report_replays_exactly() {
            contract::hunt_finds_the_bug_and_its_report_replays_exactly(&$subject);
        }
        #[test]
        fn contract_a_campaign_writes_its_folder_and_its_reports_replay() {
            contract::a_campaign_writes_its_folder_and_its_reports_replay(&$subject);
        }
        #[test]
        fn contract_shards_merge_into_the_whole_campaign() {
            contract::shards_merge_into_the_whole_campaign(&$subject);
        }
        #[test]
        fn contract_no_panic_reaches_the_user_from_a_closed_pipe_or_a_bound() {
            contract::no_panic_reaches_the_user_from_a_closed_pipe_or_a_bound(&$subject);
        }
        #[test]
        fn contract_version_names_the_commit_help_the_exit_codes_and_piped_logs_hold_no_colour() {
            contract::version_names_the_commit_help_the_exit_codes_and_piped_logs_hold_no_colour(&$subject);
        }
        #[test]
        fn contract_a_campaign_folder_is_written_by_one_process_at_a_time() {
            contract::a_campaign_folder_is_written_by_one_process_at_a_time(&$subject);
        }
    };
}

fn execute(subject: &Subject, arguments: &[&str]) -> Output {
    Command::new(subject.binary).args(arguments).output().expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn scratch(subject: &Subject, name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("{}-contract-{name}-{}", subject.program, std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    folder
}

fn json_file(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()))
}

fn assert_exit(output: &Output, code: i32, what: &str) {
    assert_eq!(output.status.code(), Some(code), "{what}: stdout {}\nstderr {}", stdout(output), stderr(output));
    assert!(!stderr(output).contains("panicked"), "{what}: a panic reached stderr: {}", stderr(output));
}

/// Unknown names and malformed values: exit 2, a message naming them, no panic; the errors
/// fleetsim writes itself are one line.
pub fn bad_input_exits_2_with_a_line_naming_the_problem(subject: &Subject) {
    let own_errors: [(&[&str], &str); 5] = [
        (&["run", "--scenario", "no-such-scenario", "--seed", "1"], "unknown scenario 'no-such-scenario'"),
        (&["run", "--scenario", subject.scenario, "--seed", "0xZZ"], "malformed seed '0xZZ'"),
        (&["run", "--scenario", subject.scenario, "--seed", "1", "--bug", "no-such-bug"], "unknown bug 'no-such-bug'"),
        (&["run", "--scenario", subject.scenario, "--seed", "1", "--strategy", "wild"], "unknown strategy 'wild'"),
        (&["replay", "/no/such/report.json"], "/no/such/report.json"),
    ];
    for (arguments, named) in own_errors {
        let output = execute(subject, arguments);
        assert_exit(&output, 2, &format!("{arguments:?}"));
        let message = stderr(&output);
        assert!(message.contains(named), "{arguments:?}: the error should name '{named}': {message}");
        assert_eq!(message.trim_end().lines().count(), 1, "{arguments:?}: one line: {message}");
        assert!(message.starts_with(&format!("{}: ", subject.program)), "{arguments:?}: {message}");
    }
    let wrapping = ["--start", "0xfffffffffffffff0", "--seeds", "100"];
    let numbers: [(&[&str], &str); 6] = [
        (&["run", "--scenario", subject.scenario, "--seed", "-1"], "never negative"),
        (&["fuzz", "--scenario", subject.scenario, "--seeds", "-5"], "never negative"),
        (
            &["fuzz", "--scenario", subject.scenario, "--start", "2", "--seeds", "18446744073709551615"],
            "wrap round to 0",
        ),
        (
            &["fuzz", "--scenario", subject.scenario, wrapping[0], wrapping[1], wrapping[2], wrapping[3]],
            "wrap round to 0",
        ),
        (
            &["fuzz", "--scenario", subject.scenario, "--shard", "2/10", "--seeds", "1"],
            "shard 2/10 of a campaign of 1 seeds holds no seed",
        ),
        (&["hunt", "--bug", subject.bug, "--start", "0xffffffffffffffff", "--max-seeds", "10"], "wrap round to 0"),
    ];
    let folder = scratch(subject, "refused");
    for (arguments, named) in numbers {
        let arguments = [arguments, &["--out", folder.to_str().unwrap()]].concat();
        let arguments = if arguments[0] == "run" { &arguments[..arguments.len() - 2] } else { &arguments[..] };
        let output = execute(subject, arguments);
        assert_exit(&output, 2, &format!("{arguments:?}"));
        let message = stderr(&output);
        assert!(message.contains(named), "{arguments:?}: the error should say '{named}': {message}");
        assert_eq!(message.trim_end().lines().count(), 1, "{arguments:?}: one line: {message}");
        assert!(!folder.exists(), "{arguments:?}: refused input writes nothing");
    }
    for (arguments, named) in
        [(&["run", "--scenario", subject.scenario][..], "--seed"), (&["frobnicate"][..], "frobnicate")]
    {
        let output = execute(subject, arguments);
        assert_exit(&output, 2, &format!("{arguments:?}"));
        assert!(stderr(&output).contains(named), "{arguments:?}: {}", stderr(&output));
    }
}

/// `run --json`: the documented fields, exit 0 on a pass, and a replay command naming the program.
pub fn run_json_carries_the_contract_fields(subject: &Subject) {
    let output = execute(subject, &["run", "--scenario", subject.scenario, "--seed", "7", "--json"]);
    assert_exit(&output, 0, "run --json of the fixed system");
    let value: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    for field in
        ["scenario", "seed", "bugs", "outcome", "violations", "trace_hash", "events", "sim_ms", "wall_ms", "faults"]
    {
        assert!(value.get(field).is_some(), "missing field {field}: {value}");
    }
    assert_eq!((value["scenario"].as_str(), value["seed"].as_u64()), (Some(subject.scenario), Some(7)));
    assert_eq!((value["outcome"].as_str(), value["trace_hash"].as_str().map(str::len)), (Some("pass"), Some(16)));
    let replay = value["replay"].as_str().unwrap_or_default();
    assert!(replay.starts_with(&format!("{} run --scenario {}", subject.program, subject.scenario)), "{replay}");
}

/// The same seed twice, once in hex, gives the same trace hash.
pub fn a_seed_replays_to_the_same_trace_in_hex_and_decimal(subject: &Subject) {
    let hash = |seed: &str| {
        let output = execute(subject, &["run", "--scenario", subject.scenario, "--seed", seed, "--json"]);
        serde_json::from_slice::<Value>(&output.stdout).expect("one JSON object")["trace_hash"].clone()
    };
    let decimal = hash("255");
    assert!(decimal.is_string(), "{decimal}");
    assert_eq!((hash("0xff"), hash("255")), (decimal.clone(), decimal));
}

/// `list --json`: the subject's scenario and bug, every invariant a bug expects, the harness's own
/// invariants, and the ten fault kinds.
pub fn list_names_every_scenario_bug_invariant_and_fault_kind(subject: &Subject) {
    let output = execute(subject, &["list", "--json"]);
    assert_exit(&output, 0, "list --json");
    let value: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    let names = |key: &str, field: &str| -> Vec<String> {
        let items = value[key].as_array().unwrap_or_else(|| panic!("{key} is a list: {value}"));
        items.iter().map(|item| item[field].as_str().unwrap_or_default().to_string()).collect()
    };
    assert_eq!(value["program"].as_str(), Some(subject.program));
    assert!(names("scenarios", "name").contains(&subject.scenario.to_string()));
    assert!(names("bugs", "id").contains(&subject.bug.to_string()));
    let invariants = names("invariants", "name");
    for bug in value["bugs"].as_array().unwrap() {
        for expected in bug["invariants"].as_array().unwrap() {
            assert!(invariants.contains(&expected.as_str().unwrap().to_string()), "{expected} is not listed");
        }
        assert!(bug["incident"].as_str().is_some_and(|incident| incident.len() > 20), "{bug}");
    }
    assert!(invariants.contains(&"panic".to_string()) && invariants.contains(&"events_max".to_string()));
    assert_eq!(names("fault_kinds", "name").len(), 17);
    assert!(names("fault_kinds", "name").contains(&"node_loss".to_string()));
    assert!(names("fault_kinds", "name").contains(&"stale_delivery".to_string()));
    let text = execute(subject, &["list"]);
    assert_exit(&text, 0, "list");
    assert!(stdout(&text).contains(subject.bug) && stdout(&text).contains(subject.scenario));
}

/// `hunt` finds the bug in its home scenario; the report replays (exit 0), a tampered one
/// diverges (exit 3) and a truncated one is bad input (exit 2).
pub fn hunt_finds_the_bug_and_its_report_replays_exactly(subject: &Subject) {
    let folder = scratch(subject, "hunt");
    let out = folder.to_str().unwrap();
    let output = execute(subject, &["hunt", "--bug", subject.bug, "--max-seeds", "200", "--out", out, "--json"]);
    assert_exit(&output, 0, "hunt");
    let results: Value = serde_json::from_slice(&output.stdout).expect("a JSON array");
    let result = &results[0];
    assert_eq!((result["bug"].as_str(), result["found"].as_bool()), (Some(subject.bug), Some(true)), "{result}");
    assert_eq!(
        (result["scenario"].as_str(), result["expected_invariant"].as_bool()),
        (Some(subject.bug_scenario), Some(true))
    );
    let report_path = PathBuf::from(result["report"].as_str().expect("a report path"));
    let report = json_file(&report_path);
    assert!(report["replay"].as_str().unwrap().starts_with(&format!("{} replay ", subject.program)), "{report}");
    let replayed = execute(subject, &["replay", report_path.to_str().unwrap()]);
    assert_exit(&replayed, 0, "replay of a hunted report");
    assert!(stdout(&replayed).starts_with("reproduced:"), "{}", stdout(&replayed));
    let report_text = report_path.to_str().unwrap();
    let traced = execute(subject, &["replay", report_text, "--trace"]);
    assert_exit(&traced, 0, "replay --trace");
    assert!(stdout(&traced).lines().count() > 20, "the whole trace: {}", stdout(&traced));
    let trace_first = execute(subject, &["replay", "--trace", report_text]);
    assert_exit(&trace_first, 0, "replay --trace FILE: the report is never taken for directives");
    assert_eq!(stdout(&trace_first), stdout(&traced), "replay --trace FILE prints the whole trace");
    for arguments in
        [["replay", report_text, "--trace", ":violation"], ["replay", "--trace", ":violation", report_text]]
    {
        let filtered = execute(subject, &arguments);
        assert_exit(&filtered, 0, &format!("{arguments:?}"));
        let lines: Vec<String> = stdout(&filtered).lines().map(str::to_string).collect();
        assert!(
            lines.len() >= 2 && lines[..lines.len() - 1].iter().all(|line| line.contains(" violation ")),
            "{lines:?}"
        );
    }
    let run_filtered = execute(subject, &["run", "--scenario", subject.scenario, "--seed", "7", "--trace", ":phase"]);
    assert_exit(&run_filtered, 0, "run --trace DIRECTIVES");
    assert!(
        stdout(&run_filtered).lines().filter(|line| line.contains(" phase ")).count() >= 3,
        "{}",
        stdout(&run_filtered)
    );
    assert!(!stdout(&run_filtered).contains(" send "), "{}", stdout(&run_filtered));
    let mut tampered = report.clone();
    tampered["trace_hash"] = Value::String("0000000000000000".into());
    let tampered_path = folder.join("tampered.json");
    std::fs::write(&tampered_path, serde_json::to_string(&tampered).unwrap()).unwrap();
    assert_exit(&execute(subject, &["replay", tampered_path.to_str().unwrap()]), 3, "replay of a tampered report");
    let mut garbage = report.clone();
    garbage["plan"] = serde_json::json!({"workload": "garbage"});
    let garbage_path = folder.join("garbage.json");
    std::fs::write(&garbage_path, serde_json::to_string(&garbage).unwrap()).unwrap();
    for command in ["replay", "shrink"] {
        let output = execute(subject, &[command, garbage_path.to_str().unwrap()]);
        assert_exit(&output, 2, &format!("{command} of a report whose plan does not parse"));
        assert!(stderr(&output).contains("cannot be replayed: the plan does not fit"), "{}", stderr(&output));
    }
    let text = std::fs::read_to_string(&report_path).unwrap();
    let truncated_path = folder.join("truncated.json");
    std::fs::write(&truncated_path, &text[..text.len() / 2]).unwrap();
    let truncated = execute(subject, &["replay", truncated_path.to_str().unwrap()]);
    assert_exit(&truncated, 2, "replay of a truncated report");
    let shrunk_path = folder.join("shrunk.json");
    let shrunk = execute(subject, &["shrink", report_path.to_str().unwrap(), "--out", shrunk_path.to_str().unwrap()]);
    assert_exit(&shrunk, 0, "shrink");
    assert_exit(&execute(subject, &["replay", shrunk_path.to_str().unwrap()]), 0, "replay of the shrunk report");
    let _ = std::fs::remove_dir_all(&folder);
}

/// A campaign with the bug: exit 1, `summary.json`, `junit.xml` whose failures carry their
/// violation and replay command under names that do not change with the seeds, `index.html`,
/// and every failure report replays; the fixed system over the same seeds: exit 0.
pub fn a_campaign_writes_its_folder_and_its_reports_replay(subject: &Subject) {
    let folder = scratch(subject, "fuzz");
    let buggy_campaign = |name: &str, seeds: &str| {
        let out = folder.join(name);
        let arguments = ["fuzz", "--scenario", subject.bug_scenario, "--seeds", seeds, "--bug", subject.bug, "--quiet"];
        let output = execute(subject, &[&arguments[..], &["--out", out.to_str().unwrap()]].concat());
        assert_exit(&output, 1, &format!("a campaign of {seeds} seeds with a bug"));
        out
    };
    let buggy = buggy_campaign("buggy", "40");
    let summary = json_file(&buggy.join("summary.json"));
    for field in ["runs", "failures", "seeds_per_sec", "by_invariant", "coverage", "failure_reports"] {
        assert!(summary.get(field).is_some(), "summary.json misses {field}");
    }
    assert_eq!((summary["runs"].as_u64(), summary["program"].as_str()), (Some(40), Some(subject.program)));
    assert!(summary["failures"].as_u64().unwrap() > 0);
    for name in ["junit.xml", "index.html"] {
        assert!(buggy.join(name).is_file(), "{name} is written");
    }
    for entry in summary["failure_reports"].as_array().unwrap() {
        let report = buggy.join(entry["report"].as_str().unwrap());
        assert_exit(&execute(subject, &["replay", report.to_str().unwrap()]), 0, "replay of a campaign's report");
    }
    assert_junit_tracks_the_failures(&buggy, &summary);
    let longer = buggy_campaign("longer", "60");
    assert_eq!(junit_test_names(&longer), junit_test_names(&buggy), "JUnit test names do not depend on the seeds");
    let fixed = folder.join("fixed");
    let output = execute(
        subject,
        &["fuzz", "--scenario", subject.scenario, "--seeds", "40", "--quiet", "--out", fixed.to_str().unwrap()],
    );
    assert_exit(&output, 0, "a campaign of the fixed system");
    let _ = std::fs::remove_dir_all(&folder);
}

/// Two shards merged count the same runs and failures as the campaign they split, and merge
/// exits 1 when they hold failures, like fuzz. A merge refuses (exit 2) a missing shard unless
/// `--allow-partial`, which names the missing shard in `summary.json`, `junit.xml` and the page;
/// it refuses an `--out` that is one of its inputs or holds a campaign, and shards of another
/// campaign.
pub fn shards_merge_into_the_whole_campaign(subject: &Subject) {
    let folder = scratch(subject, "merge");
    let campaign = |name: &str, seeds: &str, shard: Option<&str>| {
        let out = folder.join(name);
        let mut arguments = vec!["fuzz", "--scenario", subject.bug_scenario, "--seeds", seeds, "--bug", subject.bug];
        arguments.extend(["--quiet", "--out", out.to_str().unwrap()]);
        if let Some(shard) = shard {
            arguments.extend(["--shard", shard]);
        }
        assert_eq!(execute(subject, &arguments).status.code().map(|code| code <= 1), Some(true), "{arguments:?}");
        out
    };
    let whole = campaign("whole", "20", None);
    let shards = [campaign("shard-0", "20", Some("0/2")), campaign("shard-1", "20", Some("1/2"))];
    let [first, second] = shards.each_ref().map(|shard| shard.to_str().unwrap());
    let merged = folder.join("merged");
    let output = execute(subject, &["merge", first, second, "--out", merged.to_str().unwrap()]);
    let whole_summary = json_file(&whole.join("summary.json"));
    let failed = whole_summary["failures"].as_u64().unwrap() > 0;
    assert_exit(&output, if failed { 1 } else { 0 }, "merge exits as the whole campaign's fuzz does");
    let merged_summary = json_file(&merged.join("summary.json"));
    for field in ["runs", "failures", "distinct_failures", "by_invariant", "runs_planned", "complete"] {
        assert_eq!(merged_summary[field], whole_summary[field], "{field}");
    }
    assert_eq!(merged_summary["shards_missing"], serde_json::json!([]));

    let partial = folder.join("partial");
    let refused = execute(subject, &["merge", first, "--out", partial.to_str().unwrap()]);
    assert_exit(&refused, 2, "a merge with a missing shard");
    let message = stderr(&refused);
    assert!(message.contains("1/2") && message.contains("--allow-partial"), "{message}");
    assert!(!partial.join("summary.json").exists(), "a refused merge writes nothing");
    let allowed = execute(subject, &["merge", first, "--out", partial.to_str().unwrap(), "--allow-partial"]);
    assert!(matches!(allowed.status.code(), Some(0 | 1)), "--allow-partial: {}", stderr(&allowed));
    let partial_summary = json_file(&partial.join("summary.json"));
    assert_eq!(partial_summary["shards_missing"], serde_json::json!([{"index": 1, "count": 2}]));
    assert_eq!(
        (partial_summary["complete"].as_bool(), &partial_summary["runs_planned"]),
        (Some(false), &whole_summary["runs_planned"])
    );
    let junit = std::fs::read_to_string(partial.join("junit.xml")).unwrap();
    assert!(junit.contains("name=\"every shard merged\"") && junit.contains("shards 1/2 of 2 are missing"), "{junit}");
    let page = std::fs::read_to_string(partial.join("index.html")).unwrap();
    assert!(page.contains("shards 1/2 of this campaign are missing"), "the page names the missing shard");

    let before = std::fs::read_to_string(shards[0].join("summary.json")).unwrap();
    let other = campaign("other", "30", Some("1/2"));
    let refusals: [(&[&str], &str); 3] = [
        (&["merge", first, second, "--out", first], "is one of the folders to merge"),
        (&["merge", first, second, "--out", whole.to_str().unwrap()], "holds a campaign"),
        (&["merge", first, other.to_str().unwrap(), "--out", merged.to_str().unwrap()], "holds another campaign"),
    ];
    for (arguments, named) in refusals {
        let output = execute(subject, arguments);
        assert_exit(&output, 2, &format!("{arguments:?}"));
        assert!(stderr(&output).contains(named), "{arguments:?}: {}", stderr(&output));
        assert_eq!(stderr(&output).trim_end().lines().count(), 1, "one line: {}", stderr(&output));
    }
    assert_eq!(std::fs::read_to_string(shards[0].join("summary.json")).unwrap(), before, "no input is overwritten");
    let _ = std::fs::remove_dir_all(&folder);
}

/// The item of every line of a campaign's `runs.jsonl`, sorted.
fn recorded_items(folder: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(folder.join("runs.jsonl")).expect("runs.jsonl is written");
    let mut items: Vec<u64> = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("a record line is JSON")["item"].as_u64().unwrap())
        .collect();
    items.sort_unstable();
    items
}

/// Two campaigns started at once into one folder: one runs, the other exits 2 with one line
/// naming the folder and the process that holds it, and every run is recorded exactly once.
/// While another process holds the folder's lock, a fresh campaign, a resume and a merge into it
/// are refused the same way; once it is released, the campaign resumes.
pub fn a_campaign_folder_is_written_by_one_process_at_a_time(subject: &Subject) {
    let folder = scratch(subject, "lock");
    let out = folder.join("campaign");
    let out_text = out.to_str().unwrap();
    let arguments =
        ["fuzz", "--scenario", subject.bug_scenario, "--seeds", "100", "--bug", subject.bug, "--record", "--quiet"];
    let spawn = || {
        let mut command = Command::new(subject.binary);
        command.args(arguments).args(["--out", out_text]).stdout(Stdio::null()).stderr(Stdio::piped());
        command.spawn().expect("the binary runs")
    };
    let (first, second) = (spawn(), spawn());
    let ids = [first.id(), second.id()];
    let outputs = [first.wait_with_output().unwrap(), second.wait_with_output().unwrap()];
    let codes = [outputs[0].status.code(), outputs[1].status.code()];
    let winner = codes.iter().position(|code| matches!(code, Some(0 | 1))).expect("one campaign runs");
    let loser = 1 - winner;
    assert_exit(&outputs[loser], 2, "the second campaign into one folder");
    let message = stderr(&outputs[loser]);
    assert_eq!(message.trim_end().lines().count(), 1, "one line: {message}");
    assert!(message.contains(out_text), "the folder is named: {message}");
    assert!(
        message.contains(&format!("pid {}", ids[winner])) || message.contains("already holds a campaign"),
        "the holder is named: {message}"
    );
    assert_eq!(json_file(&out.join("summary.json"))["runs"].as_u64(), Some(100));
    assert_eq!(recorded_items(&out), (0..100).collect::<Vec<u64>>(), "every run recorded exactly once");
    let merged = folder.join("merged");
    std::fs::create_dir_all(&merged).unwrap();
    let held = [&out, &merged].map(|held| {
        let file = std::fs::File::options().create(true).truncate(false).write(true).open(held.join("fleetsim.lock"));
        let mut file = file.unwrap();
        file.try_lock().expect("no fleetsim process holds the folder any more");
        file.set_len(0).unwrap();
        std::io::Write::write_all(&mut file, format!("pid {} (test)\n", std::process::id()).as_bytes()).unwrap();
        file
    });
    let refused: [Vec<&str>; 3] = [
        [&arguments[..], &["--out", out_text]].concat(),
        vec!["fuzz", "--resume", "--quiet", "--out", out_text],
        vec!["merge", out_text, "--out", merged.to_str().unwrap()],
    ];
    for arguments in refused {
        let output = execute(subject, &arguments);
        assert_exit(&output, 2, &format!("{arguments:?} while another process holds the folder"));
        let message = stderr(&output);
        let holder = format!("pid {} (test)", std::process::id());
        assert!(message.contains("in use by another process") && message.contains(&holder), "{message}");
        assert_eq!(message.trim_end().lines().count(), 1, "one line: {message}");
    }
    drop(held);
    let resumed = execute(subject, &["fuzz", "--resume", "--quiet", "--out", out_text]);
    assert!(matches!(resumed.status.code(), Some(0 | 1)), "resume once released: {}", stderr(&resumed));
    assert_eq!(recorded_items(&out), (0..100).collect::<Vec<u64>>(), "every run still recorded exactly once");
    let _ = std::fs::remove_dir_all(&folder);
}

/// Runs the subject with standard output into a pipe whose reader is already gone.
fn execute_into_a_closed_pipe(subject: &Subject, arguments: &[&str]) -> Output {
    let mut child = Command::new(subject.binary)
        .args(arguments)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    drop(child.stdout.take());
    child.wait_with_output().expect("the binary ends")
}

/// No panic reaches the user: `run --trace` and `replay --trace` into a pipe whose reader went
/// away (as `| head` does) end quietly with their own exit code, and a report whose limits trip
/// a bound replays as a reported liveness failure (exit 3), with no panic message and no
/// backtrace on standard error even under `RUST_BACKTRACE=1`.
pub fn no_panic_reaches_the_user_from_a_closed_pipe_or_a_bound(subject: &Subject) {
    let folder = scratch(subject, "quiet");
    let out = folder.to_str().unwrap();
    let hunted = execute(subject, &["hunt", "--bug", subject.bug, "--max-seeds", "200", "--out", out, "--json"]);
    assert_exit(&hunted, 0, "hunt");
    let report_path = folder.join(format!("{}.json", subject.bug));
    let report_text = report_path.to_str().unwrap();
    let closed: [(&[&str], i32); 3] = [
        (&["run", "--scenario", subject.scenario, "--seed", "7", "--trace"], 0),
        (&["replay", report_text, "--trace"], 0),
        (&["list"], 0),
    ];
    for (arguments, code) in closed {
        let output = execute_into_a_closed_pipe(subject, arguments);
        assert_exit(&output, code, &format!("{arguments:?} into a closed pipe"));
        assert_eq!(stderr(&output), "", "{arguments:?}: nothing on standard error");
    }
    let mut report = json_file(&report_path);
    report["limits"]["events_max"] = Value::from(50);
    let bounded_path = folder.join("bounded.json");
    std::fs::write(&bounded_path, serde_json::to_string(&report).unwrap()).unwrap();
    let bounded = Command::new(subject.binary)
        .args(["replay", bounded_path.to_str().unwrap()])
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("the binary runs");
    assert_exit(&bounded, 3, "replay of a report whose limits trip a bound");
    assert!(stdout(&bounded).contains("now violates events_max (liveness)"), "{}", stdout(&bounded));
    // A bound hit inside a task unwinds it; madsim names that task in one line, and that is all.
    let said = stderr(&bounded);
    assert!(said.lines().count() <= 1 && said.lines().all(|line| line.starts_with("context: node=")), "{said}");
    assert!(!said.contains("panicked") && !said.contains("backtrace") && !said.contains("bound hit"), "{said}");
    let _ = std::fs::remove_dir_all(&folder);
}

/// The names of a campaign's JUnit test cases, sorted.
fn junit_test_names(campaign: &Path) -> Vec<String> {
    let junit = std::fs::read_to_string(campaign.join("junit.xml")).expect("junit.xml is written");
    let mut names: Vec<String> = junit
        .split("<testcase ")
        .skip(1)
        .map(|case| case.split("name=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// Every distinct failure fails the JUnit test case `scenario: invariant`, whose body carries
/// the report's first violation message and the command that replays the report; no test name
/// carries a run count.
fn assert_junit_tracks_the_failures(campaign: &Path, summary: &Value) {
    let junit = std::fs::read_to_string(campaign.join("junit.xml")).expect("junit.xml is written");
    for entry in summary["failure_reports"].as_array().unwrap() {
        let (scenario, invariant) =
            (entry["signature"]["scenario"].as_str().unwrap(), entry["signature"]["invariant"].as_str().unwrap());
        let report_path = campaign.join(entry["report"].as_str().unwrap());
        let report = json_file(&report_path);
        let start = junit
            .find(&format!("name=\"{scenario}: {invariant}\""))
            .unwrap_or_else(|| panic!("no test case {scenario}: {invariant}: {junit}"));
        let case = &junit[start..start + junit[start..].find("</testcase>").expect("the case is closed")];
        let message = fleetsim::report::junit::escape(report["violations"][0]["message"].as_str().unwrap());
        assert!(case.contains("<failure") && case.contains(&message), "the violation message: {case}");
        assert!(case.contains(&format!("replay {}", report_path.display())), "the replay command: {case}");
    }
    let runs = summary["runs"].as_u64().unwrap();
    for name in junit_test_names(campaign) {
        assert!(!name.contains(&format!("{runs} runs")) && !name.contains("seed"), "a stable name: {name}");
    }
}

/// `--version` names the version and the git commit of the build, `--help` lists every exit
/// code, and log lines written to a pipe carry no colour codes.
pub fn version_names_the_commit_help_the_exit_codes_and_piped_logs_hold_no_colour(subject: &Subject) {
    let build = fleetsim::build_info::BuildInfo::current();
    let version = execute(subject, &["--version"]);
    assert_exit(&version, 0, "--version");
    let said = stdout(&version);
    assert!(said.contains(&build.version) && said.contains(&format!("commit {}", build.commit)), "{said}");
    let help = execute(subject, &["--help"]);
    assert_exit(&help, 0, "--help");
    let said = stdout(&help);
    assert!(said.contains("Exit codes:"), "{said}");
    for code in ["0  success", "1  a violation", "2  bad input", "3  replay"] {
        assert!(said.contains(code), "--help lists exit code '{code}': {said}");
    }
    let logged = Command::new(subject.binary)
        .args(["run", "--scenario", subject.scenario, "--seed", "1"])
        .env("RUST_LOG", "debug")
        .output()
        .expect("the binary runs");
    let said = stderr(&logged);
    assert!(said.contains("DEBUG"), "debug log lines are written: {said}");
    assert!(!said.contains('\u{1b}'), "no escape codes in a piped log: {said}");
}
