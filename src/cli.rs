//! Command-line arguments.

use clap::{Args, Parser, Subcommand};

/// A seed or count flag's value: decimal or `0x` hexadecimal, from 0 to 2^64 - 1; the error
/// names the flag and, for a negative number, says so.
pub fn number_argument(flag: &str, text: &str) -> Result<u64, String> {
    if text.trim_start().starts_with('-') {
        return Err(format!(
            "{flag} {text}: seeds and counts are whole numbers from 0 to {} (decimal or 0x hexadecimal), never negative",
            u64::MAX
        ));
    }
    fleetsim_sim::parse_seed(text).map_err(|error| format!("{flag}: {error}"))
}

/// The version `--version` prints: the package version and the git commit it was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("FLEETSIM_GIT_COMMIT"), ")");

/// The exit codes, as `--help` lists them.
pub const EXIT_CODES_HELP: &str = "Exit codes:
  0  success: no violation or failure found, a replay reproduced, every hunted bug found
  1  a violation or failures found (fuzz, merge, run); hunt: some bug not found
  2  bad input: an unknown name, a malformed or out-of-range value, an unreadable or damaged
     report or campaign folder, a folder another process holds, shards missing from a merge
  3  replay: the re-run diverged from its report";

/// Deterministic simulation and fault-injection testbed for VM control planes.
#[derive(Debug, Parser)]
#[command(name = "fleetsim", version = VERSION, about, after_help = EXIT_CODES_HELP)]
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
    #[arg(long, allow_negative_numbers = true)]
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
    /// Print the run's whole event log; with directives, only the events they select (see
    /// `replay --trace`).
    #[arg(long, value_name = "DIRECTIVES", num_args = 0..=1, default_missing_value = "")]
    pub trace: Option<String>,
}

/// Arguments of `fleetsim fuzz`. Campaign arguments left out take their defaults, or on
/// `--resume` the checkpoint's values.
#[derive(Clone, Debug, Default, Args)]
pub struct FuzzArguments {
    /// Scenario to run, a comma-separated list, or `all` (default: all).
    #[arg(long, value_name = "S")]
    pub scenario: Option<String>,
    /// Seeds of the whole campaign, each run on every chosen scenario (default: 2500).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub seeds: Option<String>,
    /// First seed, decimal or 0x hexadecimal (default: 1).
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    pub start: Option<String>,
    /// Stop handing out runs after this wall time (e.g. 90s, 15m, 2h); resumable later.
    #[arg(long, value_name = "DURATION")]
    pub time: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "J", allow_negative_numbers = true)]
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
    /// Output folder (default: a folder named by the UTC time under reports/).
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

/// Arguments of `fleetsim replay`. Use [`ReplayArguments::report_and_filter`]: `--trace` takes
/// an optional value, so in `replay --trace FILE` clap hands the report to `--trace`.
#[derive(Debug, Args)]
pub struct ReplayArguments {
    /// A failure report written by fuzz, hunt or shrink.
    #[arg(required_unless_present = "trace")]
    pub file: Option<String>,
    /// Print the run's whole event log, filtered by directives: comma-separated `[-]NODE[:KIND]`,
    /// NODE may end in `*`, a leading `-` excludes (e.g. `store,worker*:step,-:deliver`). The
    /// report is always the one positional argument, before or after `--trace`.
    #[arg(long, value_name = "DIRECTIVES", num_args = 0..=1, default_missing_value = "")]
    pub trace: Option<String>,
}

impl ReplayArguments {
    /// The report to replay and the trace directives, if the trace is wanted. The report is the
    /// one positional argument: when clap took it as the value of `--trace` (`replay --trace
    /// FILE`), it is the report and the whole trace is printed.
    pub fn report_and_filter(&self) -> Result<(&str, Option<&str>), String> {
        match (self.file.as_deref(), self.trace.as_deref()) {
            (Some(file), trace) => Ok((file, trace)),
            (None, Some(file)) if !file.is_empty() => Ok((file, Some(""))),
            (None, _) => Err("replay needs the report to replay: replay FILE [--trace [DIRECTIVES]]".to_string()),
        }
    }
}

/// Arguments of `fleetsim hunt`.
#[derive(Debug, Args)]
pub struct HuntArguments {
    /// Catalog bug to hunt, or `all` (default: all).
    #[arg(long, value_name = "ID", default_value = "all")]
    pub bug: String,
    /// Most seeds tried per bug.
    #[arg(long, value_name = "N", default_value = "1000", allow_negative_numbers = true)]
    pub max_seeds: String,
    /// First seed, decimal or 0x hexadecimal.
    #[arg(long, value_name = "K", default_value = "1", allow_negative_numbers = true)]
    pub start: String,
    /// Worker threads (default: one per core); the result does not depend on it.
    #[arg(long, value_name = "J", allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// Fault strategy: none, uniform or swarm.
    #[arg(long, value_name = "S", default_value = "swarm")]
    pub strategy: String,
    /// Folder for the reports of the runs that found bugs (default: reports/hunt- and the UTC time).
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
