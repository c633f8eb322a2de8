//! `fleetsim fuzz`: a campaign of many seeds over worker threads, resumable and shardable.

pub mod campaign;
pub mod checkpoint;
pub mod progress;
pub mod record;
pub mod repair;
pub mod shard;
pub mod spec;
pub mod tally;

use crate::cli::number_argument;
use crate::cli::FuzzArguments;
use crate::lock::FolderLock;
use crate::report::summary::{Summary, SummaryContext};
use crate::{EXIT_PASS, EXIT_VIOLATION};
use campaign::{CampaignOptions, StopReason};
use checkpoint::{Checkpoint, CheckpointStore};
use fleetsim_sim::{FaultStrategy, Registry};
use record::RecordFile;
use repair::Repairs;
use shard::Shard;
use spec::CampaignSpec;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Seeds of the default campaign, each run on every scenario: about a minute on two free cores
/// (measured: about 43 ms of CPU per seed over the five scenarios).
pub const DEFAULT_SEEDS: u64 = 2_500;

/// Runs `fuzz` over `registry`'s scenarios: exit 0 without failure, 1 with failures.
pub fn fuzz(arguments: &FuzzArguments, registry: &Registry) -> Result<u8, String> {
    let folder = arguments.out.clone().map(PathBuf::from).unwrap_or_else(|| crate::files::default_output_folder(""));
    let options = CampaignOptions {
        folder: folder.clone(),
        jobs: jobs_from(arguments.jobs)?,
        time_max: arguments.time.as_deref().map(parse_duration).transpose()?,
        progress: !arguments.quiet,
    };
    // The lock is held until the campaign's outputs are written: one process per folder.
    let opened =
        if arguments.resume { resume(arguments, registry, &options)? } else { start(arguments, registry, &folder)? };
    let OpenedCampaign { lock: _lock, store, checkpoint, record } = opened;
    let shard = checkpoint.spec.shard;
    let shard = if shard.count > 1 { format!(" (shard {shard})") } else { String::new() };
    errln!(
        "fuzz: {} seeds from {:#x} of {}{shard}, {} jobs, into {}",
        checkpoint.spec.seeds,
        checkpoint.spec.start,
        checkpoint.spec.scenarios.join(", "),
        options.jobs,
        folder.display()
    );
    let result = campaign::run_campaign(registry, checkpoint, store, record, &options)?;
    let items = result.checkpoint.spec.items();
    let context = SummaryContext {
        program: registry.program().to_string(),
        campaign: result.checkpoint.spec.clone(),
        shards: vec![result.checkpoint.spec.shard],
        shards_missing: Vec::new(),
        runs_planned: items.end - items.start,
        runs_restored: result.runs_restored,
        runs_executed: result.runs_executed,
        wall_s: result.wall.as_secs_f64(),
        wall_s_total: result.wall_total.as_secs_f64(),
        stopped_by: result.stopped_by.map(|StopReason::TimeBound| "time_s_max".to_string()),
        records: result.checkpoint.record.then(|| record::RECORD_FILE.to_string()),
    };
    let summary = Summary::new(&result.checkpoint.tally, context);
    crate::report::write_outputs(&folder, &summary, registry)?;
    print_summary(&summary, &folder);
    Ok(if summary.failures == 0 { EXIT_PASS } else { EXIT_VIOLATION })
}

/// A campaign folder ready to run in: held, with its checkpoint store and record file.
struct OpenedCampaign {
    lock: FolderLock,
    store: CheckpointStore,
    checkpoint: Checkpoint,
    record: Option<RecordFile>,
}

/// Starts a new campaign in `folder`, which must not hold one.
fn start(arguments: &FuzzArguments, registry: &Registry, folder: &Path) -> Result<OpenedCampaign, String> {
    let checkpoint = Checkpoint { record: arguments.record, ..Checkpoint::fresh(spec_from(arguments, registry)?) };
    let lock = FolderLock::create_and_acquire(folder)?;
    let store = CheckpointStore::create(folder, &checkpoint)?;
    let record = checkpoint.record.then(|| RecordFile::create(folder)).transpose()?;
    Ok(OpenedCampaign { lock, store, checkpoint, record })
}

/// Opens the campaign in `options.folder` to continue it, after checking that the folder agrees
/// with itself and writing again, by re-running their runs, the records and reports it lost.
fn resume(arguments: &FuzzArguments, registry: &Registry, options: &CampaignOptions) -> Result<OpenedCampaign, String> {
    let folder = options.folder.as_path();
    let lock = FolderLock::acquire_existing(folder)?;
    let (store, checkpoint) = CheckpointStore::open(folder)?;
    check_resumable(&checkpoint.spec, arguments, registry)?;
    if arguments.record && !checkpoint.record {
        return Err(format!(
            "--resume --record: the campaign in {} was started without --record, so its earlier runs have no records",
            folder.display()
        ));
    }
    let (mut record, lost_records) = match checkpoint.record {
        true => RecordFile::resume(folder, &checkpoint).map(|(file, lost)| (Some(file), lost))?,
        false => (None, Vec::new()),
    };
    let repairs = Repairs { records: lost_records, reports: repair::lost_reports(folder, &checkpoint.tally, registry) };
    if !repairs.is_empty() {
        let mut lost = Vec::new();
        if !repairs.records.is_empty() {
            lost.push(format!("the record lines of {} runs", repairs.records.len()));
        }
        if !repairs.reports.is_empty() {
            lost.push(format!("{} failure reports", repairs.reports.len()));
        }
        errln!("fuzz: {} lacks {}; re-running their runs to write them again", folder.display(), lost.join(" and "));
        repair::repair(registry, &checkpoint.spec, folder, record.as_mut(), &repairs, options.jobs)?;
    }
    if let Some(file) = record.as_mut() {
        file.sync()?;
    }
    Ok(OpenedCampaign { lock, store, checkpoint, record })
}

/// One line per distinct failure of `summary`, with the command that replays its report in `folder`.
pub fn print_failures(summary: &Summary, folder: &std::path::Path) {
    for entry in &summary.failure_reports {
        let path = folder.join(&entry.report);
        outln!(
            "  {} {} seed {:#x} ({} runs): {} replay {}",
            entry.signature.scenario,
            entry.signature.invariant,
            entry.seed,
            entry.runs,
            summary.program,
            path.display()
        );
    }
}

fn print_summary(summary: &Summary, folder: &std::path::Path) {
    outln!(
        "{} runs ({} planned{}), {} failed runs, {} distinct failures, {:.0} seeds/s",
        summary.runs,
        summary.runs_planned,
        summary.stopped_by.as_deref().map(|bound| format!(", stopped by {bound}")).unwrap_or_default(),
        summary.failures,
        summary.distinct_failures,
        summary.seeds_per_sec
    );
    print_failures(summary, folder);
    if let Some(records) = &summary.records {
        outln!("records: {}", folder.join(records).display());
    }
    if !summary.coverage.sometimes_never_reached.is_empty() {
        outln!("  sometimes never reached: {}", summary.coverage.sometimes_never_reached.join(", "));
    }
    for (name, measurement) in &summary.coverage.measurements {
        outln!("  measured {name}: {}", measurement.describe());
    }
    outln!("report: {}", folder.join("index.html").display());
}

/// The campaign the arguments describe, validated against `registry`.
pub fn spec_from(arguments: &FuzzArguments, registry: &Registry) -> Result<CampaignSpec, String> {
    let scenarios = scenarios_from(arguments.scenario.as_deref().unwrap_or("all"), registry)?;
    let number =
        |flag: &str, text: &Option<String>| text.as_deref().map(|text| number_argument(flag, text)).transpose();
    let seeds = number("--seeds", &arguments.seeds)?.unwrap_or(DEFAULT_SEEDS);
    let start = number("--start", &arguments.start)?.unwrap_or(1);
    let strategy = strategy_from(arguments.strategy.as_deref().unwrap_or("swarm"))?;
    let bugs = crate::hunt::bugs_checked(&arguments.bugs, &scenarios, registry)?;
    let spec = CampaignSpec { scenarios, seeds, start, bugs, strategy, shard: shard_from(arguments.shard.as_deref())? };
    spec.check()?;
    Ok(spec)
}

/// On `--resume`, every campaign argument given must match the checkpoint's.
fn check_resumable(found: &CampaignSpec, arguments: &FuzzArguments, registry: &Registry) -> Result<(), String> {
    let given = FuzzArguments {
        scenario: arguments.scenario.clone().or_else(|| Some(scenario_argument(found, registry))),
        seeds: arguments.seeds.clone().or_else(|| Some(found.seeds.to_string())),
        start: arguments.start.clone().or_else(|| Some(found.start.to_string())),
        strategy: arguments.strategy.clone().or_else(|| Some(found.strategy.name().to_string())),
        shard: arguments.shard.clone().or_else(|| Some(found.shard.to_string())),
        bugs: if arguments.bugs.is_empty() { found.bugs.clone() } else { arguments.bugs.clone() },
        ..arguments.clone()
    };
    let wanted = spec_from(&given, registry)?;
    if &wanted != found {
        return Err(format!(
            "--resume: the arguments describe another campaign than the checkpoint's ({}); leave them out or repeat the original ones",
            serde_json::to_string(found).expect("a spec serializes")
        ));
    }
    Ok(())
}

fn scenario_argument(spec: &CampaignSpec, registry: &Registry) -> String {
    let all: Vec<String> = registry.scenario_names().into_iter().map(String::from).collect();
    if spec.scenarios == all {
        "all".to_string()
    } else {
        spec.scenarios.join(",")
    }
}

/// `all`, or a comma-separated list of `registry`'s scenarios.
pub fn scenarios_from(text: &str, registry: &Registry) -> Result<Vec<String>, String> {
    let known: Vec<String> = registry.scenario_names().into_iter().map(String::from).collect();
    if text == "all" {
        return Ok(known);
    }
    let mut chosen = Vec::new();
    for name in text.split(',').map(str::trim) {
        if !known.iter().any(|known| known == name) {
            return Err(format!("unknown scenario '{name}' (known: all, {})", known.join(", ")));
        }
        if !chosen.iter().any(|chosen: &String| chosen == name) {
            chosen.push(name.to_string());
        }
    }
    Ok(chosen)
}

/// A fault strategy by name.
pub fn strategy_from(text: &str) -> Result<FaultStrategy, String> {
    FaultStrategy::from_name(text).ok_or_else(|| format!("unknown strategy '{text}' (known: none, uniform, swarm)"))
}

/// `--jobs`, or one per core.
pub fn jobs_from(jobs: Option<usize>) -> Result<usize, String> {
    match jobs {
        Some(0) => Err("--jobs must be at least 1".to_string()),
        Some(jobs) if jobs > JOBS_MAX => Err(format!("--jobs {jobs} is above the bound of {JOBS_MAX}")),
        Some(jobs) => Ok(jobs),
        None => Ok(std::thread::available_parallelism().map(usize::from).unwrap_or(1)),
    }
}

/// Most worker threads one process runs.
pub const JOBS_MAX: usize = 1_024;

/// `--shard`, else the batch engine's environment, else the whole campaign.
fn shard_from(flag: Option<&str>) -> Result<Shard, String> {
    if let Some(text) = flag {
        return Shard::parse(text);
    }
    Ok(Shard::from_environment(|name| std::env::var(name).ok())?.unwrap_or(Shard::WHOLE))
}

/// A wall-clock duration: `90`, `90s`, `15m`, `2h`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let malformed = || format!("malformed duration '{text}' (examples: 90s, 15m, 2h, 1h30m)");
    let mut seconds: u64 = 0;
    let mut number = String::new();
    for character in text.trim().chars() {
        if character.is_ascii_digit() {
            number.push(character);
            continue;
        }
        let unit = match character {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(malformed()),
        };
        let value: u64 = number.parse().map_err(|_| malformed())?;
        seconds = seconds.checked_add(value.checked_mul(unit).ok_or_else(malformed)?).ok_or_else(malformed)?;
        number.clear();
    }
    if !number.is_empty() {
        seconds = seconds.checked_add(number.parse().map_err(|_| malformed())?).ok_or_else(malformed)?;
    }
    if seconds == 0 {
        return Err(malformed());
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_reject_the_rest() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        for bad in ["", "0s", "5d", "m", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
