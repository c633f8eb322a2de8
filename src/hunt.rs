//! `fleetsim hunt`: for each catalog bug, seeds of its home scenario until the first violation.

use crate::cli::number_argument;
use crate::cli::HuntArguments;
use crate::fuzz::campaign::{run_guarded, with_tail};
use crate::fuzz::{jobs_from, strategy_from};
use crate::report::failure::FailureReport;
use crate::{EXIT_PASS, EXIT_VIOLATION};
use fleetsim_sim::{BugInfo, FaultStrategy, Outcome, Registry, RunConfig};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Most seeds `--max-seeds` may ask for per bug.
pub const HUNT_SEEDS_MAX: u64 = 100_000_000;

/// What hunting one bug found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HuntResult {
    /// The catalog bug.
    pub bug: String,
    /// Its home scenario.
    pub scenario: String,
    /// Whether a seed violated an invariant.
    pub found: bool,
    /// Seeds tried, in order, up to and including the first detection.
    pub seeds_tried: u64,
    /// The first seed (in seed order) that violated an invariant.
    pub first_seed: Option<u64>,
    /// The invariants that run violated.
    pub invariants: Vec<String>,
    /// Whether one of them is an invariant the catalog expects to catch the bug.
    pub expected_invariant: bool,
    /// Wall milliseconds the hunt took.
    pub wall_ms: u64,
    /// The report of the detecting run.
    pub report: Option<String>,
}

/// How to hunt.
#[derive(Clone, Copy, Debug)]
struct HuntOptions {
    start: u64,
    seeds_max: u64,
    jobs: usize,
    strategy: FaultStrategy,
}

/// Runs `hunt` over `registry`'s bugs: exit 0 when every bug was found, 1 when some were not.
pub fn hunt(arguments: &HuntArguments, registry: &Registry) -> Result<u8, String> {
    let bugs: Vec<BugInfo> = if arguments.bug == "all" {
        registry.bugs()
    } else {
        vec![registry.bug(&arguments.bug).map_err(|error| error.to_string())?]
    };
    if bugs.is_empty() {
        return Err("hunt: the registry's scenarios declare no bug to hunt".to_string());
    }
    let seeds_max = number_argument("--max-seeds", &arguments.max_seeds)?;
    if seeds_max == 0 || seeds_max > HUNT_SEEDS_MAX {
        return Err(format!("--max-seeds must be between 1 and {HUNT_SEEDS_MAX}"));
    }
    let start = number_argument("--start", &arguments.start)?;
    if start.checked_add(seeds_max - 1).is_none() {
        return Err(format!(
            "--start {start:#x} with --max-seeds {seeds_max} runs past the last seed {:#x}: seeds would wrap round to 0",
            u64::MAX
        ));
    }
    let options = HuntOptions {
        start,
        seeds_max,
        jobs: jobs_from(arguments.jobs)?,
        strategy: strategy_from(&arguments.strategy)?,
    };
    let folder =
        arguments.out.clone().map(PathBuf::from).unwrap_or_else(|| crate::files::default_output_folder("hunt-"));
    let mut results = Vec::new();
    for bug in &bugs {
        results.push(hunt_bug(registry, bug, options, &folder)?);
        if !arguments.json {
            print_result(registry.program(), results.last().expect("just pushed"));
        }
    }
    if arguments.json {
        outln!("{}", serde_json::to_string_pretty(&results).expect("results serialize"));
    }
    Ok(if results.iter().all(|result| result.found) { EXIT_PASS } else { EXIT_VIOLATION })
}

fn print_result(program: &str, result: &HuntResult) {
    match (result.first_seed, &result.report) {
        (Some(seed), Some(report)) => outln!(
            "{}: found at seed {seed:#x} after {} seeds of {} ({} ms): {}{}\n  {program} replay {report}",
            result.bug,
            result.seeds_tried,
            result.scenario,
            result.wall_ms,
            result.invariants.join(", "),
            if result.expected_invariant { "" } else { " (none of them is an invariant the catalog expects)" }
        ),
        _ => outln!(
            "{}: NOT found in {} seeds of {} ({} ms)",
            result.bug,
            result.seeds_tried,
            result.scenario,
            result.wall_ms
        ),
    }
}

/// Hunts one bug over `jobs` threads; the answer is the first failing seed in seed order.
fn hunt_bug(registry: &Registry, bug: &BugInfo, options: HuntOptions, folder: &Path) -> Result<HuntResult, String> {
    let started = Instant::now();
    let next = AtomicU64::new(0);
    let best: Mutex<Option<(u64, Outcome)>> = Mutex::new(None);
    let config_at = |offset: u64| {
        let mut config = RunConfig::new(bug.scenario, options.start + offset).with_bug(bug.id);
        config.tail_only_on_failure = true;
        config.strategy = options.strategy;
        config
    };
    let best_offset = |best: &Mutex<Option<(u64, Outcome)>>| {
        best.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).as_ref().map(|(offset, _)| *offset)
    };
    std::thread::scope(|scope| {
        for _ in 0..options.jobs {
            scope.spawn(|| loop {
                let offset = next.fetch_add(1, Ordering::SeqCst);
                if offset >= options.seeds_max || best_offset(&best).is_some_and(|found| offset > found) {
                    return;
                }
                let outcome = run_guarded(registry, &config_at(offset));
                if !outcome.passed() {
                    let mut best = best.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    if best.as_ref().is_none_or(|(found, _)| offset < *found) {
                        *best = Some((offset, outcome));
                    }
                }
            });
        }
    });
    let found = best.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut result = HuntResult {
        bug: bug.id.to_string(),
        scenario: bug.scenario.to_string(),
        found: found.is_some(),
        seeds_tried: found.as_ref().map(|(offset, _)| offset + 1).unwrap_or(options.seeds_max),
        first_seed: found.as_ref().map(|(_, outcome)| outcome.seed),
        invariants: Vec::new(),
        expected_invariant: false,
        wall_ms: started.elapsed().as_millis() as u64,
        report: None,
    };
    if let Some((offset, lean)) = found {
        let outcome = with_tail(registry, &config_at(offset), &lean);
        let path = folder.join(format!("{}.json", bug.id));
        FailureReport::from_outcome(registry.program(), &outcome, options.strategy, &path)
            .write(&path)
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
        result.invariants = crate::fuzz::tally::RunRecord::of(0, &outcome).invariants;
        result.expected_invariant = result.invariants.iter().any(|name| bug.invariants.contains(&name.as_str()));
        result.report = Some(path.display().to_string());
    }
    Ok(result)
}

/// Validates bug IDs against `registry` and the chosen scenarios (each must implement every bug);
/// returns them in the order runs hold them (sorted, no repeats).
pub fn bugs_checked(bugs: &[String], scenarios: &[String], registry: &Registry) -> Result<Vec<String>, String> {
    for bug in bugs {
        registry.bug(bug).map_err(|error| error.to_string())?;
        for name in scenarios {
            let scenario = registry.scenario(name).map_err(|error| error.to_string())?;
            if !scenario.bugs().iter().any(|implemented| implemented.id == bug.as_str()) {
                return Err(format!(
                    "bug '{bug}' is not implemented by scenario '{name}' (choose scenarios with --scenario)"
                ));
            }
        }
    }
    let sorted: std::collections::BTreeSet<String> = bugs.iter().cloned().collect();
    Ok(sorted.into_iter().collect())
}
