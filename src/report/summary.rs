//! `summary.json`: a campaign's totals, coverage and distinct failures, mergeable across shards.

use crate::build_info::BuildInfo;
use crate::fuzz::shard::Shard;
use crate::fuzz::spec::CampaignSpec;
use crate::fuzz::tally::{FailureEntry, ScenarioTally, SeedBucket, Tally};
use fleetsim_sim::outcome::FaultPointCount;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The summary file in a campaign folder.
pub const SUMMARY_FILE: &str = "summary.json";
/// The summary format this fleetsim writes and reads.
pub const SUMMARY_FORMAT_VERSION: u64 = 1;

/// Which windows a campaign reached, and which it never did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoverageSummary {
    /// Passes and firings per fault point, summed over runs.
    pub fault_points: BTreeMap<String, FaultPointCount>,
    /// Runs in which each `sometimes` property held.
    pub sometimes: BTreeMap<String, u64>,
    /// Fault points passed but never fired.
    pub fault_points_never_fired: Vec<String>,
    /// `sometimes` properties never reached: each one is a gap in the campaign.
    pub sometimes_never_reached: Vec<String>,
    /// What the models measured, over every run (`Sim::measure`); per scenario in `by_scenario`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub measurements: BTreeMap<String, fleetsim_sim::Measurement>,
}

/// The whole result of a campaign (or of merged shards).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Format of this file.
    pub format_version: u64,
    /// The fleetsim build.
    pub fleetsim: BuildInfo,
    /// The program that ran the campaign, as its replay commands name it.
    #[serde(default = "default_program")]
    pub program: String,
    /// The campaign (for merged shards: the whole campaign).
    pub campaign: CampaignSpec,
    /// The shards these totals cover.
    pub shards: Vec<Shard>,
    /// The campaign's shards a merge did not have (`merge --allow-partial`); empty otherwise.
    #[serde(default)]
    pub shards_missing: Vec<Shard>,
    /// Whether every planned run finished (no shard missing, no bound stopped it).
    pub complete: bool,
    /// The bound that stopped the campaign early, if one did (`time_s_max`).
    pub stopped_by: Option<String>,
    /// Runs finished.
    pub runs: u64,
    /// Runs planned: the shard's, for one campaign process; the whole campaign's, when merged.
    pub runs_planned: u64,
    /// Runs restored from a checkpoint rather than run by the last process.
    pub runs_restored: u64,
    /// Runs the last process (or processes, when merged) ran.
    pub runs_executed: u64,
    /// Runs that failed.
    pub failures: u64,
    /// Distinct failures (by scenario, bugs and first invariant).
    pub distinct_failures: u64,
    /// Runs per second of wall time (runs executed / wall_s).
    pub seeds_per_sec: f64,
    /// Wall seconds of the last process (the longest shard, when merged).
    pub wall_s: f64,
    /// Wall seconds of the whole campaign, over every process that ran a part of it (resumes
    /// included; the longest shard, when merged). Zero in summaries written before it was kept.
    #[serde(default)]
    pub wall_s_total: f64,
    /// Runs in which each invariant was violated.
    pub by_invariant: BTreeMap<String, u64>,
    /// Runs and failures per scenario.
    pub by_scenario: BTreeMap<String, ScenarioTally>,
    /// Faults injected, per kind.
    pub faults: BTreeMap<String, u64>,
    /// What the faults did, per effect: messages held back, unsynced writes lost, torn writes
    /// discarded, reads served from an old snapshot.
    #[serde(default)]
    pub fault_effects: BTreeMap<String, u64>,
    /// Fault points and `sometimes` properties.
    pub coverage: CoverageSummary,
    /// Runs and failures per slice of the seed range, in seed order (slice `i` starts at seed
    /// `start + ceil(i * seeds / slices)`); empty when the totals did not count them.
    #[serde(default)]
    pub seed_buckets: Vec<SeedBucket>,
    /// Each distinct failure: signature, earliest seed, count and report file.
    pub failure_reports: Vec<FailureEntry>,
    /// Failed runs with a new signature past the kept-failures bound (not written).
    pub signatures_dropped: u64,
    /// The file with one line per run (`fuzz --record`), relative to the campaign folder.
    #[serde(default)]
    pub records: Option<String>,
}

/// The program name of summaries and reports written before it was recorded.
pub fn default_program() -> String {
    "fleetsim".to_string()
}

/// The parts of a summary that describe how it was produced, not what it found.
#[derive(Clone, Debug)]
pub struct SummaryContext {
    /// The program that ran it.
    pub program: String,
    /// The campaign.
    pub campaign: CampaignSpec,
    /// Shards covered.
    pub shards: Vec<Shard>,
    /// Shards of the campaign not covered (a partial merge).
    pub shards_missing: Vec<Shard>,
    /// Runs planned.
    pub runs_planned: u64,
    /// Restored runs.
    pub runs_restored: u64,
    /// Executed runs.
    pub runs_executed: u64,
    /// Wall seconds of the last process.
    pub wall_s: f64,
    /// Wall seconds over every process.
    pub wall_s_total: f64,
    /// Early stop, if any.
    pub stopped_by: Option<String>,
    /// The run record file, when runs were recorded.
    pub records: Option<String>,
}

impl Summary {
    /// The summary of `tally` produced as `context` says.
    pub fn new(tally: &Tally, context: SummaryContext) -> Self {
        Self {
            format_version: SUMMARY_FORMAT_VERSION,
            fleetsim: BuildInfo::current(),
            program: context.program,
            complete: tally.runs == context.runs_planned && context.shards_missing.is_empty(),
            campaign: context.campaign,
            shards: context.shards,
            shards_missing: context.shards_missing,
            stopped_by: context.stopped_by,
            runs: tally.runs,
            runs_planned: context.runs_planned,
            runs_restored: context.runs_restored,
            runs_executed: context.runs_executed,
            failures: tally.failures,
            distinct_failures: tally.distinct.len() as u64,
            seeds_per_sec: context.runs_executed as f64 / context.wall_s.max(1e-3),
            wall_s: context.wall_s,
            wall_s_total: context.wall_s_total.max(context.wall_s),
            by_invariant: tally.by_invariant.clone(),
            by_scenario: tally.by_scenario.clone(),
            faults: tally.faults.clone(),
            fault_effects: tally.fault_effects.clone(),
            coverage: CoverageSummary {
                fault_points: tally.coverage.fault_points.clone(),
                sometimes: tally.coverage.sometimes.clone(),
                fault_points_never_fired: tally.fault_points_never_fired(),
                sometimes_never_reached: tally.sometimes_never_reached(),
                measurements: tally.coverage.measurements.clone(),
            },
            failure_reports: tally.distinct.values().cloned().collect(),
            signatures_dropped: tally.signatures_dropped,
            seed_buckets: tally.seed_buckets.clone(),
            records: context.records,
        }
    }

    /// The totals this summary was made from.
    pub fn tally(&self) -> Tally {
        let mut tally = Tally {
            runs: self.runs,
            failures: self.failures,
            by_invariant: self.by_invariant.clone(),
            by_scenario: self.by_scenario.clone(),
            faults: self.faults.clone(),
            fault_effects: self.fault_effects.clone(),
            signatures_dropped: self.signatures_dropped,
            seed_buckets: self.seed_buckets.clone(),
            ..Tally::default()
        };
        tally.coverage.fault_points = self.coverage.fault_points.clone();
        tally.coverage.sometimes = self.coverage.sometimes.clone();
        tally.coverage.measurements = self.coverage.measurements.clone();
        tally.distinct =
            self.failure_reports.iter().map(|entry| (entry.signature.file_stem(), entry.clone())).collect();
        tally
    }

    /// Reads `folder/summary.json`.
    pub fn load(folder: &Path) -> Result<Self, String> {
        let path = folder.join(SUMMARY_FILE);
        let text =
            std::fs::read_to_string(&path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let summary: Self =
            serde_json::from_str(&text).map_err(|error| format!("{} is corrupt: {error}", path.display()))?;
        if summary.format_version != SUMMARY_FORMAT_VERSION {
            return Err(format!("{} has unknown format version {}", path.display(), summary.format_version));
        }
        Ok(summary)
    }
}
