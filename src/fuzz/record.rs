//! `fuzz --record`: one JSON line per finished run in `runs.jsonl`, exactly once per run across
//! kills and `--resume`. A run's line is written before its journal line, so every run the
//! checkpoint counts has one; reopening drops the lines of runs it does not count (killed between
//! the two writes, or torn) and the second line of any run, and those runs are done again.

use crate::fuzz::checkpoint::DoneSet;
use crate::fuzz::tally::RunRecord;
use fleetsim_sim::{FaultStrategy, Outcome, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// The record file in a campaign folder.
pub const RECORD_FILE: &str = "runs.jsonl";

/// One finished run, as `runs.jsonl` holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedRun {
    /// Position of the run in the whole campaign.
    pub item: u64,
    /// Scenario of the run.
    pub scenario: String,
    /// Seed of the run.
    pub seed: u64,
    /// Pass or fail.
    pub verdict: Verdict,
    /// Distinct invariants violated, in detection order.
    pub invariants: Vec<String>,
    /// The failure's signature, when it failed: its report is `failures/<signature>.json`, written
    /// for the earliest run with that signature.
    pub signature: Option<String>,
    /// Hash over the run's ordered trace.
    pub trace_hash: String,
    /// Trace events.
    pub events: u64,
    /// Messages the RPC layer delivered.
    pub messages_delivered: u64,
    /// Simulated milliseconds the run lasted.
    pub sim_ms: u64,
    /// Faults injected, per kind.
    pub faults: BTreeMap<String, u64>,
    /// Fault and delay points that fired, with how often.
    pub fault_points_fired: BTreeMap<String, u64>,
    /// The `fleetsim run` line that reruns it.
    pub command: String,
}

impl RecordedRun {
    /// The line of a run: its journal record and outcome, run under `strategy`.
    pub fn of(record: &RunRecord, outcome: &Outcome, strategy: FaultStrategy) -> Self {
        let fault_points_fired = outcome
            .coverage
            .fault_points
            .iter()
            .filter(|(_, count)| count.fires > 0)
            .map(|(name, count)| (name.clone(), count.fires))
            .collect();
        Self {
            item: record.item,
            scenario: record.scenario.clone(),
            seed: record.seed,
            verdict: outcome.outcome,
            invariants: record.invariants.clone(),
            signature: record.signature.as_ref().map(|signature| signature.file_stem()),
            trace_hash: outcome.trace_hash.clone(),
            events: outcome.events,
            messages_delivered: outcome.messages_delivered,
            sim_ms: outcome.sim_ms,
            faults: record.faults.clone(),
            fault_points_fired,
            command: crate::report::failure::rerun_command(outcome, strategy),
        }
    }
}

/// The open record file of a campaign.
#[derive(Debug)]
pub struct RecordFile {
    path: PathBuf,
    file: File,
}

impl RecordFile {
    /// Starts an empty record file in a new campaign's folder.
    pub fn create(folder: &Path) -> Result<Self, String> {
        let path = folder.join(RECORD_FILE);
        File::create(&path).map_err(|error| format!("cannot create {}: {error}", path.display()))?;
        Self::open_for_append(path)
    }

    /// Reopens the record file of a campaign whose `runs_done` finished runs are `done`, keeping
    /// exactly one line for each of them (rewritten atomically).
    pub fn resume(folder: &Path, done: &DoneSet, runs_done: u64) -> Result<Self, String> {
        let path = folder.join(RECORD_FILE);
        let file = match File::open(&path) {
            Ok(file) => file,
            // Killed between the checkpoint's creation and the record's: nothing ran yet.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && runs_done == 0 => {
                return Self::create(folder)
            }
            Err(error) => return Err(format!("cannot resume the record {}: {error}", path.display())),
        };
        let mut kept = Vec::new();
        let mut seen = BTreeSet::new();
        for line in BufReader::new(file).lines() {
            let line = line.map_err(|error| format!("cannot read {}: {error}", path.display()))?;
            let Ok(run) = serde_json::from_str::<RecordedRun>(&line) else { continue };
            if done.contains(run.item) && seen.insert(run.item) {
                kept.extend_from_slice(line.as_bytes());
                kept.push(b'\n');
            }
        }
        crate::files::write_atomically(&path, &kept)
            .map_err(|error| format!("cannot rewrite {}: {error}", path.display()))?;
        Self::open_for_append(path)
    }

    fn open_for_append(path: PathBuf) -> Result<Self, String> {
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
        Ok(Self { path, file })
    }

    /// Appends one run's line.
    pub fn append(&mut self, run: &RecordedRun) -> Result<(), String> {
        let mut text = serde_json::to_string(run).expect("a recorded run serializes");
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .map_err(|error| format!("cannot append to {}: {error}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(item: u64) -> RecordedRun {
        RecordedRun {
            item,
            scenario: "smoke".to_string(),
            seed: item + 1,
            verdict: Verdict::Pass,
            invariants: Vec::new(),
            signature: None,
            trace_hash: format!("{item:016x}"),
            events: 1,
            messages_delivered: 0,
            sim_ms: 1,
            faults: BTreeMap::new(),
            fault_points_fired: BTreeMap::new(),
            command: format!("fleetsim run --scenario smoke --seed {:#x}", item + 1),
        }
    }

    fn items_in(path: &Path) -> Vec<u64> {
        let text = std::fs::read_to_string(path).unwrap();
        text.lines().map(|line| serde_json::from_str::<RecordedRun>(line).unwrap().item).collect()
    }

    #[test]
    fn resuming_keeps_one_line_per_finished_run_and_drops_the_rest() {
        let folder = std::env::temp_dir().join(format!("fleetsim-record-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).unwrap();
        let mut record = RecordFile::create(&folder).unwrap();
        // Runs 0, 2, 1 and 4 finished; 3 was recorded but killed before its journal line; 2 was
        // recorded twice (finished, then done again after an earlier kill); the last line is torn.
        for item in [0, 2, 3, 1, 2, 4] {
            record.append(&run(item)).unwrap();
        }
        drop(record);
        OpenOptions::new().append(true).open(folder.join(RECORD_FILE)).unwrap().write_all(b"{\"item\":5,").unwrap();
        let mut done = DoneSet::starting_at(0);
        for item in [0, 2, 1, 4] {
            done.insert(item);
        }
        let mut record = RecordFile::resume(&folder, &done, 4).unwrap();
        assert_eq!(items_in(&folder.join(RECORD_FILE)), vec![0, 2, 1, 4]);
        record.append(&run(3)).unwrap();
        assert_eq!(items_in(&folder.join(RECORD_FILE)), vec![0, 2, 1, 4, 3]);
        // A lost record file is an error, unless nothing had run yet (killed before creating it).
        std::fs::remove_file(folder.join(RECORD_FILE)).unwrap();
        assert!(RecordFile::resume(&folder, &done, 4).is_err());
        RecordFile::resume(&folder, &DoneSet::starting_at(0), 0).unwrap();
        assert_eq!(items_in(&folder.join(RECORD_FILE)), Vec::<u64>::new());
        std::fs::remove_dir_all(folder).unwrap();
    }
}
