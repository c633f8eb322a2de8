//! `fuzz --record`: one JSON line per finished run in `runs.jsonl`, exactly once per run across
//! kills and `--resume`. A run's line is written before its journal line, so every run the
//! checkpoint counts has one; reopening drops the lines of runs it does not count (killed between
//! the two writes, or torn) and the second line of any run, and those runs are done again.
//! Reopening streams the file and remembers the runs it kept as a `DoneSet` does: lines come
//! nearly in campaign order, so its memory stays within the in-flight window.

use crate::fuzz::checkpoint::{Checkpoint, DoneSet};
use crate::fuzz::tally::RunRecord;
use fleetsim_sim::{FaultStrategy, Outcome, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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
    /// What the faults did, per effect.
    #[serde(default)]
    pub fault_effects: BTreeMap<String, u64>,
    /// Fault and delay points that fired, with how often.
    pub fault_points_fired: BTreeMap<String, u64>,
    /// The `fleetsim run` line that reruns it.
    pub command: String,
}

impl RecordedRun {
    /// The line of a run: its journal record and outcome, run under `strategy`.
    pub fn of(program: &str, record: &RunRecord, outcome: &Outcome, strategy: FaultStrategy) -> Self {
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
            fault_effects: record.fault_effects.clone(),
            fault_points_fired,
            command: crate::report::failure::rerun_command(program, outcome, strategy),
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

    /// Reopens the record file of the campaign `checkpoint` describes, keeping exactly one line
    /// for each run it counts (rewritten atomically); returns it with the counted positions that
    /// have no line (lost, torn, or not a line of that run), in order, to be written again.
    pub fn resume(folder: &Path, checkpoint: &Checkpoint) -> Result<(Self, Vec<u64>), String> {
        let path = folder.join(RECORD_FILE);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok((Self::create(folder)?, lines_missing(checkpoint, &DoneSet::default())))
            }
            Err(error) => return Err(format!("cannot resume the record {}: {error}", path.display())),
        };
        let spec = &checkpoint.spec;
        let mut seen = DoneSet::starting_at(spec.items().start);
        let rewritten = crate::files::write_atomically_with(&path, |output| {
            for line in BufReader::new(file).lines() {
                let line = line?;
                let Ok(run) = serde_json::from_str::<RecordedRun>(&line) else { continue };
                let counted = checkpoint.done.contains(run.item) && spec.items().contains(&run.item);
                if counted && !seen.contains(run.item) && spec.identifies(run.item, &run.scenario, run.seed) {
                    seen.insert(run.item);
                    output.write_all(line.as_bytes())?;
                    output.write_all(b"\n")?;
                }
            }
            Ok(())
        });
        rewritten.map_err(|error| format!("cannot rewrite {}: {error}", path.display()))?;
        Ok((Self::open_for_append(path)?, lines_missing(checkpoint, &seen)))
    }

    fn open_for_append(path: PathBuf) -> Result<Self, String> {
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
        Ok(Self { path, file })
    }

    /// Makes every line written so far durable (before a checkpoint counts their runs).
    pub fn sync(&mut self) -> Result<(), String> {
        self.file.sync_data().map_err(|error| format!("cannot sync {}: {error}", self.path.display()))
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

/// The positions `checkpoint` counts that `seen` does not hold, in order.
fn lines_missing(checkpoint: &Checkpoint, seen: &DoneSet) -> Vec<u64> {
    let done = &checkpoint.done;
    let counted = (checkpoint.spec.items().start..done.watermark).chain(done.above.iter().copied());
    counted.filter(|item| !seen.contains(*item)).collect()
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
            fault_effects: BTreeMap::new(),
            fault_points_fired: BTreeMap::new(),
            command: format!("fleetsim run --scenario smoke --seed {:#x}", item + 1),
        }
    }

    fn items_in(path: &Path) -> Vec<u64> {
        let text = std::fs::read_to_string(path).unwrap();
        text.lines().map(|line| serde_json::from_str::<RecordedRun>(line).unwrap().item).collect()
    }

    /// A checkpoint of the second of two shards of 10 smoke seeds (positions 5..10) after `done`.
    fn checkpoint_after(done: &[u64]) -> Checkpoint {
        let spec = crate::fuzz::spec::CampaignSpec {
            scenarios: vec!["smoke".to_string()],
            seeds: 10,
            start: 1,
            bugs: Vec::new(),
            strategy: FaultStrategy::default(),
            shard: crate::fuzz::shard::Shard { index: 1, count: 2 },
        };
        let mut checkpoint = Checkpoint::fresh(spec);
        for &item in done {
            checkpoint.done.insert(item);
            checkpoint.tally.runs += 1;
        }
        checkpoint
    }

    #[test]
    fn resuming_keeps_one_line_per_finished_run_and_drops_the_rest() {
        let folder = std::env::temp_dir().join(format!("fleetsim-record-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).unwrap();
        let mut record = RecordFile::create(&folder).unwrap();
        // Runs 5, 7, 6 and 9 finished; 8 was recorded but killed before its journal line; 7 was
        // recorded twice (finished, then done again after an earlier kill); the last line is torn.
        for item in [5, 7, 8, 6, 7, 9] {
            record.append(&run(item)).unwrap();
        }
        drop(record);
        OpenOptions::new().append(true).open(folder.join(RECORD_FILE)).unwrap().write_all(b"{\"item\":5,").unwrap();
        let checkpoint = checkpoint_after(&[5, 7, 6, 9]);
        let (mut record, missing) = RecordFile::resume(&folder, &checkpoint).unwrap();
        assert_eq!(items_in(&folder.join(RECORD_FILE)), vec![5, 7, 6, 9]);
        assert_eq!(missing, Vec::<u64>::new());
        record.append(&run(8)).unwrap();
        assert_eq!(items_in(&folder.join(RECORD_FILE)), vec![5, 7, 6, 9, 8]);
        // Counted runs without their line (lost, or a line of another seed) are named, in order.
        drop(record);
        let text = std::fs::read_to_string(folder.join(RECORD_FILE)).unwrap();
        std::fs::write(folder.join(RECORD_FILE), text.replace("\"seed\":8,", "\"seed\":80,")).unwrap();
        let (_, missing) = RecordFile::resume(&folder, &checkpoint_after(&[5, 7, 6, 9, 8])).unwrap();
        assert_eq!((items_in(&folder.join(RECORD_FILE)), missing), (vec![5, 6, 9, 8], vec![7]));
        // A lost record file: every counted run is named, and an empty file is started.
        std::fs::remove_file(folder.join(RECORD_FILE)).unwrap();
        let (_, missing) = RecordFile::resume(&folder, &checkpoint).unwrap();
        assert_eq!((items_in(&folder.join(RECORD_FILE)), missing), (Vec::<u64>::new(), vec![5, 6, 7, 9]));
        std::fs::remove_dir_all(folder).unwrap();
    }
}
