//! Command-line arguments.

use clap::{Args, Parser, Subcommand};

/// Deterministic simulation and fault-injection testbed for VM control planes.
#[derive(Debug, Parser)]
#[command(name = "fleetsim", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List scenarios, bugs, invariants and fault kinds.
    List(ListArguments),
    /// Run one seed of one scenario.
    Run(RunArguments),
    /// Run a campaign of many seeds; write a summary, failure reports, JUnit XML and HTML.
    Fuzz(FuzzArguments),
    /// Re-run a failure report and check that its outcome and trace hash reproduce.
    Replay(ReplayArguments),
    /// For each catalog bug, run seeds of its scenario until the first violation.
    Hunt(HuntArguments),
    /// Join the output folders of campaign shards into one; refuses missing shards unless allowed.
    Merge(MergeArguments),
    /// Remove plan entries from a failure report while the same invariant still fails.
    Shrink(ShrinkArguments),
}

/// Arguments of `fleetsim list`.
#[derive(Debug, Args)]
pub struct ListArguments {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `fleetsim run`.
#[derive(Debug, Args)]
pub struct RunArguments {
    /// Scenario to run (see `fleetsim list`).
    #[arg(long)]
    pub scenario: String,
    /// Seed, decimal or 0x hexadecimal.
    #[arg(long)]
    pub seed: String,
    /// Catalog bug to switch on (repeatable).
    #[arg(long = "bug", value_name = "ID")]
    pub bugs: Vec<String>,
    /// Fault strategy: none, uniform or swarm.
    #[arg(long, default_value = "swarm")]
    pub strategy: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Print every trace event of the run.
    #[arg(long)]
    pub trace: bool,
}

/// Arguments of `fleetsim fuzz`. Campaign arguments left out take their defaults, or on
/// `--resume` the checkpoint's values.
#[derive(Clone, Debug, Default, Args)]
pub struct FuzzArguments {
    /// Scenario to run, a comma-separated list, or `all` (default: all).
    #[arg(long, value_name = "S")]
    pub scenario: Option<String>,
    /// Seeds of the whole campaign, each run on every chosen scenario (default: 2500).
    #[arg(long, value_name = "N")]
    pub seeds: Option<String>,
    /// First seed, decimal or 0x hexadecimal (default: 1).
    #[arg(long, value_name = "K")]
    pub start: Option<String>,
    /// Stop handing out runs after this wall time (e.g. 90s, 15m, 2h); resumable later.
    #[arg(long, value_name = "DURATION")]
    pub time: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "J")]
    pub jobs: Option<usize>,
    /// Catalog bug to switch on in every run (repeatable).
    #[arg(long = "bug", value_name = "ID")]
    pub bugs: Vec<String>,
    /// Fault strategy: none, uniform or swarm (default: swarm).
    #[arg(long, value_name = "S")]
    pub strategy: Option<String>,
    /// Run the I-th (from 0) of N disjoint slices of the seeds; default from JOB_COMPLETION_INDEX
    /// with FLEETSIM_SHARDS, or SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Output folder (default: reports/<UTC timestamp>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<String>,
    /// Continue the campaign in --out from its checkpoint, without re-running finished seeds.
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Write one JSON line per finished run to runs.jsonl in the output folder (kept on --resume).
    #[arg(long)]
    pub record: bool,
    /// No progress lines on standard error.
    #[arg(long)]
    pub quiet: bool,
}

/// Arguments of `fleetsim replay`.
#[derive(Debug, Args)]
pub struct ReplayArguments {
    /// A failure report written by fuzz, hunt or shrink.
    pub file: String,
    /// Print the run's whole event log, filtered by directives: comma-separated `[-]NODE[:KIND]`,
    /// NODE may end in `*`, a leading `-` excludes (e.g. `store,worker*:step,-:deliver`).
    #[arg(long, value_name = "DIRECTIVES", num_args = 0..=1, default_missing_value = "")]
    pub trace: Option<String>,
}

/// Arguments of `fleetsim hunt`.
#[derive(Debug, Args)]
pub struct HuntArguments {
    /// Catalog bug to hunt, or `all` (default: all).
    #[arg(long, value_name = "ID", default_value = "all")]
    pub bug: String,
    /// Most seeds tried per bug.
    #[arg(long, value_name = "N", default_value = "1000")]
    pub max_seeds: String,
    /// First seed, decimal or 0x hexadecimal.
    #[arg(long, value_name = "K", default_value = "1")]
    pub start: String,
    /// Worker threads (default: one per core); the result does not depend on it.
    #[arg(long, value_name = "J")]
    pub jobs: Option<usize>,
    /// Fault strategy: none, uniform or swarm.
    #[arg(long, value_name = "S", default_value = "swarm")]
    pub strategy: String,
    /// Folder for the reports of the runs that found bugs (default: reports/hunt-<UTC timestamp>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<String>,
    /// Print one JSON array instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `fleetsim merge`.
#[derive(Debug, Args)]
pub struct MergeArguments {
    /// Output folders of the shards of one campaign.
    #[arg(required = true, value_name = "DIR")]
    pub folders: Vec<String>,
    /// Folder for the merged summary, reports and pages (not one of the shards' folders).
    #[arg(long, value_name = "DIR")]
    pub out: String,
    /// Merge even when some shards of the campaign are missing; the summary, the page and the
    /// JUnit report name them.
    #[arg(long)]
    pub allow_partial: bool,
}

/// Arguments of `fleetsim shrink`.
#[derive(Debug, Args)]
pub struct ShrinkArguments {
    /// A failure report.
    pub file: String,
    /// Where to write the minimal report (default: FILE with `.min.json`).
    #[arg(long, value_name = "FILE")]
    pub out: Option<String>,
}
