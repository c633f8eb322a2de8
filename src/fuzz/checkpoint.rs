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
/// The checkpoint format this fleetsim writes: version 1 with a checksum.
const CHECKPOINT_FORMAT_VERSION: u64 = 2;
/// The format before checkpoints carried a checksum; still read, with the cross-checks only.
const CHECKPOINT_FORMAT_VERSION_UNCHECKED: u64 = 1;
/// The field of `checkpoint.json` that holds the checksum of the rest.
const CHECKSUM_FIELD: &str = "checksum";

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

    /// How many positions from `first` on have finished.
    pub fn count_from(&self, first: u64) -> u64 {
        self.watermark.saturating_sub(first) + self.above.len() as u64
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
    /// Wall milliseconds the campaign has run for, over every process that ran it, up to this
    /// checkpoint.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub wall_ms: u64,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

impl Checkpoint {
    /// A campaign that has not run anything yet.
    pub fn fresh(spec: CampaignSpec) -> Self {
        let done = DoneSet::starting_at(spec.items().start);
        let tally = Tally::with_seed_buckets(spec.seed_buckets());
        Self { format_version: CHECKPOINT_FORMAT_VERSION, spec, done, tally, record: false, wall_ms: 0 }
    }

    /// Adds one finished run, unless it is already counted.
    pub fn apply(&mut self, line: &JournalLine) {
        if !self.done.contains(line.record.item) {
            self.tally.add(&line.record, line.report.clone(), self.spec.seed_bucket(line.record.item));
            self.done.insert(line.record.item);
        }
    }

    /// Checks that the checkpoint agrees with itself: finished positions inside this shard and as
    /// many as the runs counted, never more than planned, per-scenario and per-failure totals that
    /// add up, and every kept failure a finished run of this campaign with its report's name.
    pub fn verify(&self) -> Result<(), String> {
        self.spec.check()?;
        let items = self.spec.items();
        let done = &self.done;
        let planned = items.end - items.start;
        if done.watermark < items.start || done.watermark > items.end {
            return Err(format!("its watermark {} lies outside the shard's positions {items:?}", done.watermark));
        }
        if let Some(item) = done.above.iter().find(|item| **item <= done.watermark || **item >= items.end) {
            return Err(format!("finished position {item} lies outside the shard's positions {items:?}"));
        }
        let finished = done.count_from(items.start);
        if finished != self.tally.runs || self.tally.runs > planned {
            return Err(format!(
                "it counts {} runs but {finished} finished positions, of {planned} planned",
                self.tally.runs
            ));
        }
        self.verify_totals()?;
        self.tally.distinct.values().try_for_each(|entry| self.verify_failure(entry))
    }

    fn verify_totals(&self) -> Result<(), String> {
        let tally = &self.tally;
        let scenario_runs: u64 = tally.by_scenario.values().map(|scenario| scenario.runs).sum();
        let scenario_failures: u64 = tally.by_scenario.values().map(|scenario| scenario.failures).sum();
        let kept_failures: u64 = tally.distinct.values().map(|entry| entry.runs).sum();
        if scenario_runs != tally.runs || scenario_failures != tally.failures || tally.failures > tally.runs {
            return Err(format!(
                "its per-scenario totals ({scenario_runs} runs, {scenario_failures} failed) differ from its totals ({} runs, {} failed)",
                tally.runs, tally.failures
            ));
        }
        let sliced_runs: u64 = tally.seed_buckets.iter().map(|bucket| bucket.runs).sum();
        let sliced_failures: u64 = tally.seed_buckets.iter().map(|bucket| bucket.failures).sum();
        let slices_wrong = tally.seed_buckets.len() as u64 != self.spec.seed_buckets()
            || (sliced_runs, sliced_failures) != (tally.runs, tally.failures);
        if !tally.seed_buckets.is_empty() && slices_wrong {
            return Err(format!(
                "its {} seed slices hold {sliced_runs} runs and {sliced_failures} failed, not its totals ({} runs, {} failed)",
                tally.seed_buckets.len(),
                tally.runs,
                tally.failures
            ));
        }
        if kept_failures + tally.signatures_dropped != tally.failures {
            return Err(format!(
                "its distinct failures hold {kept_failures} runs and {} dropped, but {} runs failed",
                tally.signatures_dropped, tally.failures
            ));
        }
        if let Some((invariant, runs)) = tally.by_invariant.iter().find(|(_, runs)| **runs > tally.failures) {
            return Err(format!(
                "invariant {invariant} is counted in {runs} runs, more than the {} failed",
                tally.failures
            ));
        }
        if let Some(scenario) = tally.by_scenario.keys().find(|name| !self.spec.scenarios.contains(name)) {
            return Err(format!("it counts runs of scenario '{scenario}', which the campaign does not run"));
        }
        Ok(())
    }

    fn verify_failure(&self, entry: &crate::fuzz::tally::FailureEntry) -> Result<(), String> {
        let stem = entry.signature.file_stem();
        let expected_report = format!("failures/{stem}.json");
        let fits = self.done.contains(entry.item)
            && self.spec.items().contains(&entry.item)
            && self.spec.identifies(entry.item, &entry.signature.scenario, entry.seed)
            && entry.signature.bugs == self.spec.bugs
            && entry.report == expected_report
            && entry.runs > 0;
        if !fits {
            return Err(format!(
                "its failure {stem} (position {}, seed {:#x}, report '{}') is not a finished run of this campaign",
                entry.item, entry.seed, entry.report
            ));
        }
        Ok(())
    }
}

/// FNV-1a, 64 bits: the checksum of a checkpoint's content (it catches edits and damage, not
/// forgery).
fn checksum_of(checkpoint: &Checkpoint) -> String {
    let bytes = serde_json::to_vec(checkpoint).expect("a checkpoint serializes");
    let hash = bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3));
    format!("{hash:016x}")
}

/// The bytes of `checkpoint.json`: the checkpoint with the checksum of its content.
fn checkpoint_bytes(checkpoint: &Checkpoint) -> Vec<u8> {
    let mut value = serde_json::to_value(checkpoint).expect("a checkpoint serializes");
    let object = value.as_object_mut().expect("a checkpoint is an object");
    object.insert(CHECKSUM_FIELD.to_string(), checksum_of(checkpoint).into());
    serde_json::to_vec(&value).expect("a checkpoint serializes")
}

/// Reads `checkpoint.json`, checking its format and checksum; the error says what is wrong.
fn parse_checkpoint(text: &str) -> Result<Checkpoint, String> {
    let mut value: serde_json::Value = serde_json::from_str(text).map_err(|error| format!("it is corrupt: {error}"))?;
    let checksum = value.as_object_mut().and_then(|object| object.remove(CHECKSUM_FIELD));
    let mut checkpoint: Checkpoint =
        serde_json::from_value(value).map_err(|error| format!("it is corrupt: {error}"))?;
    match (checkpoint.format_version, checksum) {
        (CHECKPOINT_FORMAT_VERSION, Some(serde_json::Value::String(found))) => {
            let expected = checksum_of(&checkpoint);
            if found != expected {
                return Err(format!("its content does not match its checksum ({found}, content {expected})"));
            }
        }
        (CHECKPOINT_FORMAT_VERSION, _) => return Err("its checksum is missing".to_string()),
        (CHECKPOINT_FORMAT_VERSION_UNCHECKED, None) => checkpoint.format_version = CHECKPOINT_FORMAT_VERSION,
        (version, _) => return Err(format!("it has unknown format version {version}")),
    }
    Ok(checkpoint)
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

    /// Opens the campaign in `folder`: its checkpoint, verified, with every journal line applied
    /// and the result verified again; a damaged or edited folder is refused, naming the file.
    pub fn open(folder: &Path) -> Result<(Self, Checkpoint), String> {
        let path = folder.join(CHECKPOINT_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot resume: no campaign checkpoint at {} ({error})", path.display()))?;
        let refuse = |problem: String| {
            format!("cannot resume: checkpoint {} is damaged or was edited: {problem}", path.display())
        };
        let mut checkpoint = parse_checkpoint(&text).map_err(refuse)?;
        checkpoint.verify().map_err(refuse)?;
        let journal_path = folder.join(JOURNAL_FILE);
        for line in read_journal(&journal_path, &checkpoint.spec)? {
            checkpoint.apply(&line);
        }
        checkpoint.verify().map_err(|problem| {
            format!("cannot resume: journal {} does not fit its checkpoint: {problem}", journal_path.display())
        })?;
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

    /// Writes the checkpoint atomically, then empties the journal it now contains and syncs the
    /// emptied journal. Whatever the checkpoint counts must be durable before (run records).
    pub fn save(&mut self, checkpoint: &Checkpoint) -> Result<(), String> {
        write_atomically(&self.folder.join(CHECKPOINT_FILE), &checkpoint_bytes(checkpoint))
            .map_err(|error| format!("cannot write the checkpoint in {}: {error}", self.folder.display()))?;
        self.journal.set_len(0).map_err(|error| format!("cannot empty the journal: {error}"))?;
        self.journal.sync_all().map_err(|error| format!("cannot sync the journal: {error}"))?;
        self.lines_since_checkpoint = 0;
        Ok(())
    }
}

/// The lines of a journal, each checked to name a run of `spec`; only the last line may be torn
/// (a kill mid-write), and its run is then simply done again.
fn read_journal(path: &Path, spec: &CampaignSpec) -> Result<Vec<JournalLine>, String> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    };
    let damaged = |number: usize, problem: String| {
        format!("cannot resume: journal {} is damaged at line {number}: {problem}", path.display())
    };
    let mut lines = Vec::new();
    let mut torn: Option<(usize, String)> = None;
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        if let Some((number, problem)) = torn.take() {
            return Err(damaged(number, problem));
        }
        match serde_json::from_str::<JournalLine>(&line) {
            Ok(entry) => {
                entry.check(spec).map_err(|problem| damaged(index + 1, problem))?;
                lines.push(entry);
            }
            Err(error) => torn = Some((index + 1, error.to_string())),
        }
    }
    Ok(lines)
}

impl JournalLine {
    /// Checks that the line names a run of `spec` and, if any, that run's report file.
    fn check(&self, spec: &CampaignSpec) -> Result<(), String> {
        let record = &self.record;
        if !spec.items().contains(&record.item) || !spec.identifies(record.item, &record.scenario, record.seed) {
            return Err(format!(
                "position {} ({} seed {:#x}) is not a run of this campaign's shard",
                record.item, record.scenario, record.seed
            ));
        }
        let expected = record.signature.as_ref().map(|signature| format!("failures/{}.json", signature.file_stem()));
        match (&self.report, &expected) {
            (Some(report), Some(expected)) if report != expected => {
                Err(format!("position {} names report '{report}' instead of '{expected}'", record.item))
            }
            (Some(report), None) => Err(format!("position {} passed but names report '{report}'", record.item)),
            _ => Ok(()),
        }
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
    use crate::report::failure::Signature;

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
            seed: item + 1,
            invariants: Vec::new(),
            signature: None,
            faults: Default::default(),
            fault_effects: Default::default(),
            coverage: Default::default(),
        };
        JournalLine { record, report: None }
    }

    /// Ten seeds of smoke from seed 1, unsharded.
    fn spec() -> CampaignSpec {
        CampaignSpec {
            scenarios: vec!["smoke".to_string()],
            seeds: 10,
            start: 1,
            bugs: Vec::new(),
            strategy: Default::default(),
            shard: crate::fuzz::shard::Shard::WHOLE,
        }
    }

    fn failed_line(item: u64, invariant: &str) -> JournalLine {
        let mut line = line(item);
        let signature = Signature { scenario: "smoke".to_string(), bugs: Vec::new(), invariant: invariant.to_string() };
        line.report = Some(format!("failures/{}.json", signature.file_stem()));
        line.record.invariants = vec![invariant.to_string()];
        line.record.signature = Some(signature);
        line
    }

    /// The checkpoint after positions 0, 1, 2 and 4, the second one failing.
    fn checkpoint_after_four_runs() -> Checkpoint {
        let mut checkpoint = Checkpoint::fresh(spec());
        for line in [line(0), failed_line(1, "unique-ip"), line(2), line(4)] {
            checkpoint.apply(&line);
        }
        checkpoint
    }

    /// A change made to a checkpoint by hand.
    type Edit = fn(&mut Checkpoint);

    #[test]
    fn a_checkpoint_that_disagrees_with_itself_is_refused() {
        let intact = checkpoint_after_four_runs();
        assert_eq!(intact.verify(), Ok(()));
        let edits: [(&str, Edit); 7] = [
            ("watermark past the shard", |checkpoint| checkpoint.done.watermark = 11),
            ("a finished position no run counts", |checkpoint| checkpoint.done.watermark = 4),
            ("more runs than finished positions", |checkpoint| checkpoint.tally.runs += 1),
            ("per-scenario runs that do not add up", |checkpoint| {
                checkpoint.tally.by_scenario.get_mut("smoke").unwrap().runs -= 1
            }),
            ("failures without their distinct failure", |checkpoint| checkpoint.tally.failures += 1),
            ("a failure at another seed", |checkpoint| checkpoint.tally.distinct.values_mut().next().unwrap().seed = 7),
            ("a failure whose report is elsewhere", |checkpoint| {
                checkpoint.tally.distinct.values_mut().next().unwrap().report = "../outside.json".to_string()
            }),
        ];
        for (edit, apply) in edits {
            let mut edited = intact.clone();
            apply(&mut edited);
            assert!(edited.verify().is_err(), "{edit} is accepted");
        }
    }

    #[test]
    fn an_edited_checkpoint_fails_its_checksum_and_an_unchecked_old_one_is_read() {
        let checkpoint = checkpoint_after_four_runs();
        let text = String::from_utf8(checkpoint_bytes(&checkpoint)).unwrap();
        assert_eq!(parse_checkpoint(&text), Ok(checkpoint.clone()));
        let edited = text.replacen("\"runs\":4", "\"runs\":5", 1);
        assert_ne!(edited, text);
        assert!(parse_checkpoint(&edited).unwrap_err().contains("does not match its checksum"));
        let mut old = serde_json::to_value(&checkpoint).unwrap();
        old["format_version"] = 1.into();
        assert_eq!(parse_checkpoint(&old.to_string()), Ok(checkpoint.clone()));
        old["format_version"] = 2.into();
        assert!(parse_checkpoint(&old.to_string()).unwrap_err().contains("checksum is missing"));
    }

    #[test]
    fn a_journal_damaged_before_its_last_line_or_naming_other_runs_is_refused() {
        let folder = std::env::temp_dir().join(format!("fleetsim-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join(JOURNAL_FILE);
        let text = |lines: &[JournalLine]| -> String {
            lines.iter().map(|line| serde_json::to_string(line).unwrap() + "\n").collect()
        };
        let intact = text(&[line(0), failed_line(1, "unique-ip")]);
        std::fs::write(&path, format!("{intact}{{\"record\":")).unwrap();
        assert_eq!(read_journal(&path, &spec()).unwrap().len(), 2, "a torn last line is a kill mid-write");
        std::fs::write(&path, format!("{{\"record\":\n{intact}")).unwrap();
        assert!(read_journal(&path, &spec()).unwrap_err().contains("damaged at line 1"));
        let mut other_seed = line(3);
        other_seed.record.seed = 99;
        let mut other_report = failed_line(3, "unique-ip");
        other_report.report = Some("failures/elsewhere.json".to_string());
        for wrong in [other_seed, line(10), other_report] {
            std::fs::write(&path, text(&[line(0), wrong])).unwrap();
            assert!(read_journal(&path, &spec()).unwrap_err().contains("damaged at line 2"));
        }
        std::fs::remove_dir_all(folder).unwrap();
    }

    #[test]
    fn reopening_counts_every_journaled_run_once_even_after_a_kill_between_checkpoint_and_truncation() {
        let folder = std::env::temp_dir().join(format!("fleetsim-checkpoint-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        let mut checkpoint = Checkpoint::fresh(spec());
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
