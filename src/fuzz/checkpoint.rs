//! Surviving a kill: a journal line per finished run, compacted into an atomic checkpoint.
//!
//! Runs finish out of order across jobs. The set of finished positions is a watermark (every
//! position below it is done) plus the finished positions above it, which the dispatcher keeps
//! under `IN_FLIGHT_WINDOW_MAX`. Each finished run appends one line to `journal.jsonl` (a kill can
//! only tear the last line, whose run is then redone); every `CHECKPOINT_EVERY_RUNS` lines the
//! totals are written to `checkpoint.json` atomically and the journal is emptied. Loading applies
//! the journal lines the checkpoint does not already hold, so a kill between the two loses nothing
//! and counts nothing twice.

use crate::files::write_atomically;
use crate::fuzz::spec::CampaignSpec;
use crate::fuzz::tally::{RunRecord, Tally};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// The checkpoint file in a campaign folder.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";
/// The journal file in a campaign folder.
pub const JOURNAL_FILE: &str = "journal.jsonl";
/// Journal lines between two checkpoints (bounds the journal's size).
pub const CHECKPOINT_EVERY_RUNS: u64 = 2_048;
/// Most positions handed out beyond the watermark (bounds the finished set above it).
pub const IN_FLIGHT_WINDOW_MAX: u64 = 4_096;
/// The checkpoint format this fleetsim writes and reads.
const CHECKPOINT_FORMAT_VERSION: u64 = 1;

/// Which campaign positions have finished: all below `watermark`, and those in `above`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoneSet {
    /// Every position below it has finished.
    pub watermark: u64,
    /// Finished positions above the watermark.
    pub above: BTreeSet<u64>,
}

impl DoneSet {
    /// Nothing finished yet; positions start at `first`.
    pub fn starting_at(first: u64) -> Self {
        Self { watermark: first, above: BTreeSet::new() }
    }

    /// Whether `item` has finished.
    pub fn contains(&self, item: u64) -> bool {
        item < self.watermark || self.above.contains(&item)
    }

    /// Marks `item` finished, moving the watermark over every contiguous finished position.
    pub fn insert(&mut self, item: u64) {
        if item != self.watermark {
            if item > self.watermark {
                self.above.insert(item);
            }
            return;
        }
        self.watermark += 1;
        while self.above.remove(&self.watermark) {
            self.watermark += 1;
        }
    }
}

/// The persisted state of a campaign: what it is, what finished, and the totals of what finished.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format of this file.
    pub format_version: u64,
    /// The campaign.
    pub spec: CampaignSpec,
    /// Finished positions.
    pub done: DoneSet,
    /// Totals over the finished positions.
    pub tally: Tally,
    /// Whether every run gets a line in `runs.jsonl` (`fuzz --record`).
    #[serde(default)]
    pub record: bool,
}

impl Checkpoint {
    /// A campaign that has not run anything yet.
    pub fn fresh(spec: CampaignSpec) -> Self {
        let done = DoneSet::starting_at(spec.items().start);
        Self { format_version: CHECKPOINT_FORMAT_VERSION, spec, done, tally: Tally::default(), record: false }
    }

    /// Adds one finished run, unless it is already counted.
    pub fn apply(&mut self, line: &JournalLine) {
        if !self.done.contains(line.record.item) {
            self.tally.add(&line.record, line.report.clone());
            self.done.insert(line.record.item);
        }
    }
}

/// One journal line: a finished run and the report written for it, if any.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalLine {
    /// What the run contributes to the totals.
    pub record: RunRecord,
    /// Its report file, relative to the campaign folder, when one was written for it.
    pub report: Option<String>,
}

/// The checkpoint and journal files of one campaign folder.
#[derive(Debug)]
pub struct CheckpointStore {
    folder: PathBuf,
    journal: File,
    lines_since_checkpoint: u64,
}

impl CheckpointStore {
    /// Starts a new campaign in `folder`; refuses a folder that already holds one.
    pub fn create(folder: &Path, checkpoint: &Checkpoint) -> Result<Self, String> {
        if folder.join(CHECKPOINT_FILE).exists() {
            return Err(format!(
                "{} already holds a campaign: pass --resume to continue it, or choose another --out",
                folder.display()
            ));
        }
        std::fs::create_dir_all(folder).map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
        let journal = open_journal(folder)?;
        let mut store = Self { folder: folder.to_path_buf(), journal, lines_since_checkpoint: 0 };
        store.save(checkpoint)?;
        Ok(store)
    }

    /// Opens the campaign in `folder`: its checkpoint with every journal line applied.
    pub fn open(folder: &Path) -> Result<(Self, Checkpoint), String> {
        let path = folder.join(CHECKPOINT_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot resume: no campaign checkpoint at {} ({error})", path.display()))?;
        let mut checkpoint: Checkpoint = serde_json::from_str(&text)
            .map_err(|error| format!("checkpoint {} is corrupt: {error}", path.display()))?;
        if checkpoint.format_version != CHECKPOINT_FORMAT_VERSION {
            return Err(format!(
                "checkpoint {} has unknown format version {}",
                path.display(),
                checkpoint.format_version
            ));
        }
        let journal_path = folder.join(JOURNAL_FILE);
        if let Ok(file) = File::open(&journal_path) {
            for line in BufReader::new(file).lines() {
                let line = line.map_err(|error| format!("cannot read {}: {error}", journal_path.display()))?;
                // Only the last line can be torn by a kill; its run is simply done again.
                if let Ok(entry) = serde_json::from_str::<JournalLine>(&line) {
                    checkpoint.apply(&entry);
                }
            }
        }
        let journal = open_journal(folder)?;
        let mut store = Self { folder: folder.to_path_buf(), journal, lines_since_checkpoint: 0 };
        store.save(&checkpoint)?;
        Ok((store, checkpoint))
    }

    /// Appends one finished run; returns true when a checkpoint is due.
    pub fn append(&mut self, line: &JournalLine) -> Result<bool, String> {
        let mut text = serde_json::to_string(line).expect("a journal line serializes");
        text.push('\n');
        self.journal.write_all(text.as_bytes()).map_err(|error| format!("cannot append to the journal: {error}"))?;
        self.lines_since_checkpoint += 1;
        Ok(self.lines_since_checkpoint >= CHECKPOINT_EVERY_RUNS)
    }

    /// Writes the checkpoint atomically, then empties the journal it now contains.
    pub fn save(&mut self, checkpoint: &Checkpoint) -> Result<(), String> {
        let text = serde_json::to_vec(checkpoint).expect("a checkpoint serializes");
        write_atomically(&self.folder.join(CHECKPOINT_FILE), &text)
            .map_err(|error| format!("cannot write the checkpoint in {}: {error}", self.folder.display()))?;
        self.journal.set_len(0).map_err(|error| format!("cannot empty the journal: {error}"))?;
        self.lines_since_checkpoint = 0;
        Ok(())
    }
}

fn open_journal(folder: &Path) -> Result<File, String> {
    let path = folder.join(JOURNAL_FILE);
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|error| format!("cannot open {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_done_set_moves_its_watermark_over_out_of_order_completions() {
        let mut done = DoneSet::starting_at(10);
        for item in [12, 11, 14] {
            done.insert(item);
        }
        assert_eq!((done.watermark, done.above.len()), (10, 3));
        done.insert(10);
        assert_eq!(done.watermark, 13);
        assert_eq!(done.above, BTreeSet::from([14]));
        assert!(done.contains(5) && done.contains(14) && !done.contains(13));
    }

    fn line(item: u64) -> JournalLine {
        let record = RunRecord {
            item,
            scenario: "smoke".to_string(),
            seed: item,
            invariants: Vec::new(),
            signature: None,
            faults: Default::default(),
            coverage: Default::default(),
        };
        JournalLine { record, report: None }
    }

    #[test]
    fn reopening_counts_every_journaled_run_once_even_after_a_kill_between_checkpoint_and_truncation() {
        let folder = std::env::temp_dir().join(format!("fleetsim-checkpoint-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        let spec = CampaignSpec {
            scenarios: vec!["smoke".to_string()],
            seeds: 10,
            start: 1,
            bugs: Vec::new(),
            strategy: Default::default(),
            shard: crate::fuzz::shard::Shard::WHOLE,
        };
        let mut checkpoint = Checkpoint::fresh(spec);
        let mut store = CheckpointStore::create(&folder, &checkpoint).unwrap();
        assert!(CheckpointStore::create(&folder, &checkpoint).is_err(), "a campaign folder is never reused");
        for item in [0, 2, 1] {
            store.append(&line(item)).unwrap();
            checkpoint.apply(&line(item));
        }
        store.save(&checkpoint).unwrap();
        // A kill after the checkpoint but before the journal was emptied leaves lines it already holds.
        for item in [1, 4, 2] {
            store.append(&line(item)).unwrap();
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(folder.join(JOURNAL_FILE))
            .unwrap()
            .write_all(b"{\"record\":")
            .unwrap();
        drop(store);
        let (_, reopened) = CheckpointStore::open(&folder).unwrap();
        assert_eq!(reopened.tally.runs, 4);
        assert_eq!((reopened.done.watermark, reopened.done.above.clone()), (3, BTreeSet::from([4])));
        std::fs::remove_dir_all(folder).unwrap();
    }
}
