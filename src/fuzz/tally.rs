//! The running totals of a campaign, built from one record per run and mergeable across shards.

use crate::report::failure::Signature;
use fleetsim_sim::{Coverage, Outcome};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most distinct failures a campaign keeps reports of; later new signatures are only counted.
pub const FAILURES_KEPT_MAX: usize = 1_000;

/// What one run contributes to the totals: a line of the campaign journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Position of the run in the whole campaign (across shards).
    pub item: u64,
    /// Scenario of the run.
    pub scenario: String,
    /// Seed of the run.
    pub seed: u64,
    /// Distinct invariants the run violated, in detection order (empty: passed).
    pub invariants: Vec<String>,
    /// The failure's signature, when it failed.
    pub signature: Option<Signature>,
    /// Faults injected, per kind.
    pub faults: BTreeMap<String, u64>,
    /// What the faults did, per effect (messages held back, unsynced writes lost, stale reads).
    #[serde(default)]
    pub fault_effects: BTreeMap<String, u64>,
    /// Fault points and `sometimes` properties reached.
    pub coverage: Coverage,
}

impl RunRecord {
    /// The record of one outcome at campaign position `item`.
    pub fn of(item: u64, outcome: &Outcome) -> Self {
        let mut invariants: Vec<String> = Vec::new();
        for violation in &outcome.violations {
            if !invariants.contains(&violation.invariant) {
                invariants.push(violation.invariant.clone());
            }
        }
        Self {
            item,
            scenario: outcome.scenario.clone(),
            seed: outcome.seed,
            invariants,
            signature: Signature::of(outcome),
            faults: outcome.faults.clone(),
            fault_effects: outcome.fault_effects.clone(),
            coverage: outcome.coverage.clone(),
        }
    }
}

/// One distinct failure: its signature, the earliest run that showed it, and how often it did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureEntry {
    /// Scenario, bugs, first invariant.
    pub signature: Signature,
    /// Campaign position of the earliest run with this signature.
    pub item: u64,
    /// Seed of that run.
    pub seed: u64,
    /// Runs that failed with this signature.
    pub runs: u64,
    /// The report file, relative to the campaign folder.
    pub report: String,
}

/// Runs and failures of one scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioTally {
    /// Runs of the scenario.
    pub runs: u64,
    /// Of them, the runs that failed.
    pub failures: u64,
    /// The scenario's fault points and `sometimes` properties, summed over its runs.
    #[serde(default, skip_serializing_if = "coverage_is_empty")]
    pub coverage: Coverage,
}

/// Most slices of the seed range the totals count runs and failures in (`Tally::seed_buckets`).
pub const SEED_BUCKETS_MAX: u64 = 50;

/// Runs and failures in one slice of a campaign's seed range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedBucket {
    /// Runs finished in the slice.
    pub runs: u64,
    /// Of them, the runs that failed.
    pub failures: u64,
}

fn coverage_is_empty(coverage: &Coverage) -> bool {
    coverage.fault_points.is_empty() && coverage.sometimes.is_empty() && coverage.measurements.is_empty()
}

/// The totals of a campaign (or of merged shards).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Runs finished.
    pub runs: u64,
    /// Runs that failed.
    pub failures: u64,
    /// Runs in which each invariant was violated.
    pub by_invariant: BTreeMap<String, u64>,
    /// Runs and failures per scenario.
    pub by_scenario: BTreeMap<String, ScenarioTally>,
    /// Faults injected, per kind.
    pub faults: BTreeMap<String, u64>,
    /// What the faults did, per effect, summed over runs.
    #[serde(default)]
    pub fault_effects: BTreeMap<String, u64>,
    /// Fault points and `sometimes` properties, summed over runs.
    pub coverage: Coverage,
    /// Distinct failures by signature file stem.
    pub distinct: BTreeMap<String, FailureEntry>,
    /// Runs whose new signature arrived after `FAILURES_KEPT_MAX` were kept (bound hit).
    pub signatures_dropped: u64,
    /// Runs and failures per slice of the whole campaign's seed range, in seed order
    /// (`CampaignSpec::seed_bucket`); empty for totals begun before slices were counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seed_buckets: Vec<SeedBucket>,
}

/// What the tally wants done with a failed run's report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportDecision {
    /// The run passed, or an earlier run already holds its signature's report.
    Keep,
    /// Write this run's report (a new signature, or an earlier run than the kept one).
    Write,
    /// A new signature past `FAILURES_KEPT_MAX`: count it, write nothing.
    Drop,
}

impl Tally {
    /// Whether a failed run's report should be written before it is added.
    pub fn decide(&self, record: &RunRecord) -> ReportDecision {
        let Some(signature) = &record.signature else { return ReportDecision::Keep };
        match self.distinct.get(&signature.file_stem()) {
            Some(entry) if entry.item <= record.item => ReportDecision::Keep,
            Some(_) => ReportDecision::Write,
            None if self.distinct.len() >= FAILURES_KEPT_MAX => ReportDecision::Drop,
            None => ReportDecision::Write,
        }
    }

    /// Totals of nothing yet, counting runs in `seed_buckets` slices of the seed range.
    pub fn with_seed_buckets(seed_buckets: u64) -> Self {
        Self { seed_buckets: vec![SeedBucket::default(); seed_buckets as usize], ..Self::default() }
    }

    /// Adds one run of seed slice `seed_bucket`; `report` is where its report was written, when
    /// it was.
    pub fn add(&mut self, record: &RunRecord, report: Option<String>, seed_bucket: usize) {
        self.runs += 1;
        let scenario = self.by_scenario.entry(record.scenario.clone()).or_default();
        scenario.runs += 1;
        add_counts(&mut self.faults, &record.faults);
        add_counts(&mut self.fault_effects, &record.fault_effects);
        add_coverage(&mut self.coverage, &record.coverage);
        add_coverage(&mut scenario.coverage, &record.coverage);
        if let Some(bucket) = self.seed_buckets.get_mut(seed_bucket) {
            bucket.runs += 1;
            bucket.failures += u64::from(record.signature.is_some());
        }
        let Some(signature) = &record.signature else { return };
        self.failures += 1;
        scenario.failures += 1;
        for invariant in &record.invariants {
            *self.by_invariant.entry(invariant.clone()).or_default() += 1;
        }
        let entry = FailureEntry {
            signature: signature.clone(),
            item: record.item,
            seed: record.seed,
            runs: 1,
            report: report.unwrap_or_default(),
        };
        self.add_failure(entry);
    }

    fn add_failure(&mut self, entry: FailureEntry) {
        let stem = entry.signature.file_stem();
        let full = self.distinct.len() >= FAILURES_KEPT_MAX;
        match self.distinct.get_mut(&stem) {
            Some(kept) => {
                kept.runs += entry.runs;
                if entry.item < kept.item {
                    (kept.item, kept.seed, kept.report) = (entry.item, entry.seed, entry.report);
                }
            }
            None if full => self.signatures_dropped += entry.runs,
            None => {
                self.distinct.insert(stem, entry);
            }
        }
    }

    /// Adds another tally (a shard) to this one.
    pub fn merge(&mut self, other: &Tally) {
        self.runs += other.runs;
        self.failures += other.failures;
        add_counts(&mut self.by_invariant, &other.by_invariant);
        for (name, scenario) in &other.by_scenario {
            let mine = self.by_scenario.entry(name.clone()).or_default();
            mine.runs += scenario.runs;
            mine.failures += scenario.failures;
            add_coverage(&mut mine.coverage, &scenario.coverage);
        }
        if self.seed_buckets.len() == other.seed_buckets.len() {
            for (mine, theirs) in self.seed_buckets.iter_mut().zip(&other.seed_buckets) {
                mine.runs += theirs.runs;
                mine.failures += theirs.failures;
            }
        } else {
            // One side began before slices were counted: the merged slices would be wrong.
            self.seed_buckets.clear();
        }
        add_counts(&mut self.faults, &other.faults);
        add_counts(&mut self.fault_effects, &other.fault_effects);
        add_coverage(&mut self.coverage, &other.coverage);
        for entry in other.distinct.values() {
            self.add_failure(entry.clone());
        }
        self.signatures_dropped += other.signatures_dropped;
    }

    /// Fault points passed but never fired, by name.
    pub fn fault_points_never_fired(&self) -> Vec<String> {
        self.coverage.fault_points.iter().filter(|(_, count)| count.fires == 0).map(|(name, _)| name.clone()).collect()
    }

    /// `sometimes` properties no run reached, by name.
    pub fn sometimes_never_reached(&self) -> Vec<String> {
        self.coverage.sometimes.iter().filter(|(_, count)| **count == 0).map(|(name, _)| name.clone()).collect()
    }
}

fn add_counts(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (name, count) in from {
        *into.entry(name.clone()).or_default() += count;
    }
}

fn add_coverage(into: &mut Coverage, from: &Coverage) {
    for (name, count) in &from.fault_points {
        let mine = into.fault_points.entry(name.clone()).or_default();
        mine.hits += count.hits;
        mine.fires += count.fires;
    }
    add_counts(&mut into.sometimes, &from.sometimes);
    fleetsim_sim::measurement::merge_all(&mut into.measurements, &from.measurements);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(item: u64, invariant: Option<&str>) -> RunRecord {
        let signature = invariant.map(|name| Signature {
            scenario: "smoke".to_string(),
            bugs: Vec::new(),
            invariant: name.to_string(),
        });
        let mut coverage = Coverage::default();
        coverage.sometimes.insert("reached".to_string(), item % 2);
        RunRecord {
            item,
            scenario: "smoke".to_string(),
            seed: item,
            invariants: invariant.iter().map(|name| name.to_string()).collect(),
            signature,
            faults: BTreeMap::from([("crash".to_string(), 1)]),
            fault_effects: BTreeMap::from([("disk: unsynced writes lost at a crash".to_string(), item % 3)]),
            coverage,
        }
    }

    fn tally_of(records: &[RunRecord]) -> Tally {
        let mut tally = Tally::with_seed_buckets(4);
        for record in records {
            tally.add(record, Some(format!("failures/{}.json", record.item)), (record.item % 4) as usize);
        }
        tally
    }

    #[test]
    fn measurements_of_every_run_merge_into_the_scenario_and_the_campaign() {
        let records: Vec<RunRecord> = (1..=4)
            .map(|item| {
                let mut record = record(item, None);
                let mut measurement = fleetsim_sim::Measurement::default();
                measurement.record(item * 100);
                record.coverage.measurements.insert("undead_ms".to_string(), measurement);
                record
            })
            .collect();
        let tally = tally_of(&records);
        let (campaign, scenario) =
            (&tally.coverage.measurements["undead_ms"], &tally.by_scenario["smoke"].coverage.measurements["undead_ms"]);
        assert_eq!((campaign.count, campaign.min, campaign.max, campaign.sum), (4, 100, 400, 1000));
        assert_eq!(campaign, scenario);
    }

    #[test]
    fn the_earliest_run_of_a_signature_is_kept_whatever_the_completion_order() {
        let records = [
            record(5, Some("unique-ip")),
            record(2, Some("unique-ip")),
            record(3, None),
            record(9, Some("jobs-terminate")),
        ];
        let forward = tally_of(&records);
        let mut reversed_records = records.to_vec();
        reversed_records.reverse();
        assert_eq!(forward, tally_of(&reversed_records));
        let entry = &forward.distinct["smoke--unique-ip--fixed"];
        assert_eq!((entry.item, entry.runs), (2, 2));
        assert_eq!((forward.runs, forward.failures, forward.distinct.len()), (4, 3, 2));
        assert_eq!(forward.decide(&record(1, Some("unique-ip"))), ReportDecision::Write);
        assert_eq!(forward.decide(&record(7, Some("unique-ip"))), ReportDecision::Keep);
    }

    #[test]
    fn merged_halves_equal_the_whole() {
        let records: Vec<RunRecord> = (0..10)
            .map(|item| record(item, [None, Some("unique-ip"), Some("no-orphan-vm")][(item % 3) as usize]))
            .collect();
        let mut merged = tally_of(&records[5..]);
        merged.merge(&tally_of(&records[..5]));
        assert_eq!(merged, tally_of(&records));
        let buckets: Vec<(u64, u64)> =
            merged.seed_buckets.iter().map(|bucket| (bucket.runs, bucket.failures)).collect();
        assert_eq!(buckets, vec![(3, 2), (3, 2), (2, 1), (2, 1)]);
        assert_eq!(merged.by_scenario["smoke"].coverage.sometimes["reached"], 5);
        let mut unsliced = Tally::default();
        unsliced.merge(&merged);
        assert!(unsliced.seed_buckets.is_empty(), "slices merged with totals that have none are dropped");
        assert_eq!(merged.sometimes_never_reached(), Vec::<String>::new());
        assert_eq!(tally_of(&records[..1]).sometimes_never_reached(), vec!["reached".to_string()]);
    }
}
