//! Running a campaign: positions handed out in order to worker threads, each run in its own
//! runtime, results folded into the checkpointed totals, failure reports written at once.

use crate::fuzz::checkpoint::{Checkpoint, CheckpointStore, JournalLine, IN_FLIGHT_WINDOW_MAX};
use crate::fuzz::progress::{Progress, Snapshot};
use crate::fuzz::record::{RecordFile, RecordedRun};
use crate::fuzz::spec::CampaignSpec;
use crate::fuzz::tally::{ReportDecision, RunRecord};
use crate::panics::CaughtPanic;
use crate::report::failure::FailureReport;
use fleetsim_sim::{Outcome, Registry, RunConfig, Verdict, Violation, ViolationClass};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One position in this many is run twice and must give the same trace (as FoundationDB's unseed check).
pub const DETERMINISM_CHECK_EVERY_RUNS: u64 = 1_000;

/// The invariant a run violates when running it again gave another trace.
pub use fleetsim_sim::DETERMINISM_INVARIANT;

/// Why a campaign stopped before running every position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The `--time` bound was reached.
    TimeBound,
}

/// How a campaign ran: its final state and what this process did.
#[derive(Debug)]
pub struct CampaignResult {
    /// The final checkpoint: the campaign and the totals of every finished run.
    pub checkpoint: Checkpoint,
    /// Runs finished before this process started (restored from the checkpoint).
    pub runs_restored: u64,
    /// Runs this process finished.
    pub runs_executed: u64,
    /// Wall time of this process's part.
    pub wall: Duration,
    /// Wall time of the whole campaign: every earlier process (up to its last checkpoint) and
    /// this one.
    pub wall_total: Duration,
    /// Set when a bound stopped the campaign early.
    pub stopped_by: Option<StopReason>,
}

/// Options of one campaign process.
#[derive(Clone, Debug)]
pub struct CampaignOptions {
    /// Output folder.
    pub folder: PathBuf,
    /// Worker threads.
    pub jobs: usize,
    /// Wall-clock bound, if any.
    pub time_max: Option<Duration>,
    /// Print progress to standard error.
    pub progress: bool,
}

struct State {
    started: Instant,
    /// Wall milliseconds of the processes before this one.
    wall_ms_before: u64,
    next: u64,
    end: u64,
    checkpoint: Checkpoint,
    store: CheckpointStore,
    record: Option<RecordFile>,
    runs_executed: u64,
    stopped_by: Option<StopReason>,
    error: Option<String>,
    workers_running: usize,
}

struct Shared<'registry> {
    registry: &'registry Registry,
    state: Mutex<State>,
    wakeup: Condvar,
    stopped: Condvar,
    spec: CampaignSpec,
    folder: PathBuf,
    deadline: Option<Instant>,
}

/// Runs (the rest of) a campaign of `registry`'s scenarios whose checkpoint is `checkpoint`,
/// persisted through `store`, each run written to `record` when the campaign records.
pub fn run_campaign(
    registry: &Registry,
    checkpoint: Checkpoint,
    store: CheckpointStore,
    record: Option<RecordFile>,
    options: &CampaignOptions,
) -> Result<CampaignResult, String> {
    let started = Instant::now();
    let items = checkpoint.spec.items();
    let runs_restored = checkpoint.tally.runs;
    let jobs = options.jobs.max(1);
    let shared = Shared {
        registry,
        spec: checkpoint.spec.clone(),
        folder: options.folder.clone(),
        deadline: options.time_max.map(|limit| started + limit),
        state: Mutex::new(State {
            started,
            wall_ms_before: checkpoint.wall_ms,
            next: checkpoint.done.watermark.max(items.start),
            end: items.end,
            checkpoint,
            store,
            record,
            runs_executed: 0,
            stopped_by: None,
            error: None,
            workers_running: jobs,
        }),
        wakeup: Condvar::new(),
        stopped: Condvar::new(),
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| work(&shared));
        }
        watch(&shared, options.progress);
    });
    let mut state = shared.state.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(error) = state.error.take() {
        return Err(error);
    }
    state.save_checkpoint()?;
    let wall_total = Duration::from_millis(state.checkpoint.wall_ms);
    Ok(CampaignResult {
        checkpoint: state.checkpoint,
        runs_restored,
        runs_executed: state.runs_executed,
        wall: started.elapsed(),
        wall_total,
        stopped_by: state.stopped_by,
    })
}

/// The main thread's part: progress until every worker has stopped, woken by the last one.
fn watch(shared: &Shared, show: bool) {
    let mut progress = Progress::start();
    loop {
        let state = shared.lock();
        let state = shared
            .stopped
            .wait_timeout_while(state, progress.interval(), |state| state.workers_running > 0)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .0;
        let (snapshot, running) = (snapshot(&state), state.workers_running);
        drop(state);
        if running == 0 {
            if show {
                progress.finish(snapshot);
            }
            return;
        }
        if show {
            progress.tick(snapshot);
        }
    }
}

fn snapshot(state: &State) -> Snapshot {
    let tally = &state.checkpoint.tally;
    let items = state.checkpoint.spec.items();
    Snapshot {
        runs: tally.runs,
        runs_planned: items.end - items.start,
        runs_executed: state.runs_executed,
        failures: tally.failures,
        distinct: tally.distinct.len() as u64,
    }
}

/// One worker thread: take a position, run it, record it, until none is left.
fn work(shared: &Shared) {
    while let Some(item) = shared.take() {
        let outcome = run_position(shared.registry, &shared.spec, item);
        shared.finish(item, &outcome);
    }
    shared.lock().workers_running -= 1;
    shared.wakeup.notify_all();
    shared.stopped.notify_all();
}

/// The outcome of campaign position `item`: one run, or two for the determinism check.
pub fn run_position(registry: &Registry, spec: &CampaignSpec, item: u64) -> Outcome {
    let config = spec.run_config(item);
    if item.is_multiple_of(DETERMINISM_CHECK_EVERY_RUNS) {
        run_twice(registry, &config)
    } else {
        run_guarded(registry, &config)
    }
}

impl State {
    /// Syncs the run records, then writes the checkpoint: it never counts a run whose record
    /// line a power loss could take.
    fn save_checkpoint(&mut self) -> Result<(), String> {
        let elapsed_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.checkpoint.wall_ms = self.wall_ms_before.saturating_add(elapsed_ms);
        if let Some(file) = self.record.as_mut() {
            file.sync()?;
        }
        self.store.save(&self.checkpoint)
    }
}

impl Shared<'_> {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next position to run, in order, waiting while the window beyond the watermark is full.
    fn take(&self) -> Option<u64> {
        let mut state = self.lock();
        loop {
            if state.error.is_some() || state.stopped_by.is_some() {
                return None;
            }
            if self.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                state.stopped_by = Some(StopReason::TimeBound);
                return None;
            }
            while state.next < state.end && state.checkpoint.done.contains(state.next) {
                state.next += 1;
            }
            if state.next >= state.end {
                return None;
            }
            if state.next < state.checkpoint.done.watermark.saturating_add(IN_FLIGHT_WINDOW_MAX) {
                state.next += 1;
                return Some(state.next - 1);
            }
            state = self.wakeup.wait_timeout(state, Duration::from_millis(100)).expect("the lock is not poisoned").0;
        }
    }

    /// Records a finished run: report first (if it is a new or earlier failure), then the journal.
    fn finish(&self, item: u64, outcome: &Outcome) {
        let record = RunRecord::of(item, outcome);
        let mut state = self.lock();
        let result = record_run(&mut state, self.registry, &self.folder, &record, outcome);
        if let Err(error) = result {
            state.error.get_or_insert(error);
        }
        drop(state);
        self.wakeup.notify_all();
    }
}

fn record_run(
    state: &mut State,
    registry: &Registry,
    folder: &Path,
    record: &RunRecord,
    outcome: &Outcome,
) -> Result<(), String> {
    let (program, strategy) = (registry.program(), state.checkpoint.spec.strategy);
    let report = match state.checkpoint.tally.decide(record) {
        ReportDecision::Write => {
            let with_tail = with_tail(registry, &state.checkpoint.spec.run_config(record.item), outcome);
            Some(write_report(program, folder, &with_tail, strategy)?)
        }
        ReportDecision::Keep | ReportDecision::Drop => None,
    };
    // The run's record line goes first: a run the journal counts always has one.
    if let Some(file) = state.record.as_mut() {
        file.append(&RecordedRun::of(program, record, outcome, strategy))?;
    }
    let line = JournalLine { record: record.clone(), report };
    let checkpoint_due = state.store.append(&line)?;
    state.checkpoint.apply(&line);
    state.runs_executed += 1;
    if checkpoint_due {
        state.save_checkpoint()?;
    }
    Ok(())
}

/// `outcome`, a failure of `config` run without its tail (campaigns keep no trace events), run
/// again with its tail for a report; when the second run goes otherwise, the report says so under
/// [`DETERMINISM_INVARIANT`]. An outcome that has its tail, or passed, is returned as it is.
pub fn with_tail(registry: &Registry, config: &RunConfig, outcome: &Outcome) -> Outcome {
    if outcome.passed() || !outcome.trace_tail.is_empty() || !config.tail_only_on_failure {
        return outcome.clone();
    }
    let mut second = run_guarded(registry, &RunConfig { tail_only_on_failure: false, ..config.clone() });
    second.wall_ms = second.wall_ms.saturating_add(outcome.wall_ms);
    if let Some(violation) = fleetsim_sim::divergence(outcome, &second) {
        second.violations.insert(0, violation);
        second.outcome = Verdict::Fail;
    }
    second
}

/// Writes a failure report under `folder/failures/`; returns its path relative to `folder`.
pub fn write_report(
    program: &str,
    folder: &Path,
    outcome: &Outcome,
    strategy: fleetsim_sim::FaultStrategy,
) -> Result<String, String> {
    let signature = crate::report::failure::Signature::of(outcome).expect("only failures get reports");
    let relative = format!("failures/{}.json", signature.file_stem());
    let path = folder.join(&relative);
    let report = FailureReport::from_outcome(program, outcome, strategy, &path);
    report.write(&path).map_err(|error| format!("cannot write failure report {}: {error}", path.display()))?;
    Ok(relative)
}

/// Runs a configuration twice on `registry`; a different trace or verdict the second time is a
/// violation.
pub fn run_twice(registry: &Registry, config: &RunConfig) -> Outcome {
    let mut first = run_guarded(registry, config);
    let second = run_guarded(registry, config);
    if let Some(violation) = fleetsim_sim::divergence(&first, &second) {
        first.violations.insert(0, violation);
        first.outcome = Verdict::Fail;
    }
    first
}

/// Runs one configuration on `registry`; a panic that escapes the harness or a refused input is a
/// failed outcome.
pub fn run_guarded(registry: &Registry, config: &RunConfig) -> Outcome {
    run_checked(registry, config).unwrap_or_else(|error| failed_outcome(config, "run-refused", error))
}

/// Runs one configuration on `registry` with panics kept off standard error: a panic anywhere in
/// the run is a failed outcome whose violation names the panic's location; a refused input (a
/// plan that does not fit the scenario, an unknown bug) is the error.
pub fn run_checked(registry: &Registry, config: &RunConfig) -> Result<Outcome, String> {
    let (ran, caught) = crate::panics::inside_run(|| catch_unwind(AssertUnwindSafe(|| registry.run(config))));
    match ran {
        Ok(Ok(mut outcome)) => {
            locate_panics(&mut outcome.violations, &caught);
            Ok(outcome)
        }
        Ok(Err(error)) => Err(error.to_string()),
        Err(payload) => {
            let mut outcome = failed_outcome(config, "panic", panic_message(payload.as_ref()));
            locate_panics(&mut outcome.violations, &caught);
            Ok(outcome)
        }
    }
}

/// Appends to each panic violation the location of the panic that carried its message.
fn locate_panics(violations: &mut [Violation], caught: &[CaughtPanic]) {
    for violation in violations.iter_mut().filter(|violation| violation.class == ViolationClass::Panic) {
        if let Some(panic) =
            caught.iter().find(|panic| panic.message == violation.message && !panic.location.is_empty())
        {
            violation.message = format!("{} (at {})", violation.message, panic.location);
        }
    }
}

/// The outcome of a run that could not finish: one violation of `invariant` saying why.
fn failed_outcome(config: &RunConfig, invariant: &str, message: String) -> Outcome {
    let violation = Violation { invariant: invariant.to_string(), class: ViolationClass::Panic, at_ms: 0, message };
    Outcome {
        scenario: config.scenario.clone(),
        seed: config.seed,
        bugs: config.bugs.iter().cloned().collect(),
        outcome: Verdict::Fail,
        violations: vec![violation],
        trace_hash: format!("{:016x}", 0),
        events: 0,
        messages_delivered: 0,
        sim_ms: 0,
        wall_ms: 0,
        faults: Default::default(),
        fault_effects: Default::default(),
        coverage: Default::default(),
        plan: serde_json::Value::Null,
        limits: config.limits.clone().unwrap_or_default(),
        trace_tail: Vec::new(),
        history: Vec::new(),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-text payload".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_double_run_check_adds_nothing_to_a_deterministic_run() {
        for seed in 1..=5 {
            let registry = fleetsim_scenarios::registry();
            let config = RunConfig::new("smoke", seed).with_bug(fleetsim_model::bugs::CATALOG[0].id);
            let (once, twice) = (run_guarded(&registry, &config), run_twice(&registry, &config));
            assert_eq!((&once.trace_hash, &once.violations), (&twice.trace_hash, &twice.violations), "seed {seed}");
        }
    }
}
