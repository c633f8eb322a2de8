//! The control plane's history of jobs, as the checkers read it: when each job was submitted,
//! claimed and finished, in one order shared by all of them. It lives outside every node (a crash
//! loses none of it) and mirrors each entry into the run's history (`Sim::invoke` and
//! `Sim::complete`), so reports carry what the system acknowledged.

use crate::ids::JobId;
use crate::store::{JobKind, JobState, StoreReply, StoreRequest, Transaction};
use fleetsim_sim::{HistoryType, NodeIndex, OperationId, Sim};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// What the log knows of one job; positions are in the log's own order of events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobRecord {
    /// What the job does.
    pub kind: JobKind,
    /// Its operation in the run's history.
    pub operation: OperationId,
    /// When the store first held it.
    pub submitted_at: u64,
    /// When a worker last claimed it, if ever.
    pub claimed_at: Option<u64>,
    /// How and when it finished, if it did: `Done` (ok) or `Failed` (fail).
    pub finished: Option<(JobState, u64)>,
}

#[derive(Debug, Default)]
struct Log {
    jobs: BTreeMap<JobId, JobRecord>,
    next_position: u64,
    changes: u64,
    /// The job of every change, in order: what incremental checkers read.
    changed: Vec<JobId>,
}

/// A finish the store committed but has not acknowledged yet (its write is not synced): it
/// keeps its place in the commit order and enters the log once acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a finish enters the log only when acknowledged"]
pub struct PendingFinish {
    job: JobId,
    state: JobState,
    position: u64,
}

/// The job history of one run; cheap to clone, shared by the store and the checkers.
#[derive(Clone, Debug, Default)]
pub struct JobLog {
    log: Arc<Mutex<Log>>,
}

/// The part of a store request the log cares about, taken before the store consumes it.
#[derive(Clone, Copy, Debug)]
pub enum JobEvent {
    /// A job submitted (perhaps again).
    Submit(JobId, JobKind),
    /// A worker asked for a job.
    Claim,
    /// A claimed job's finish.
    Finish(JobId, JobState),
}

impl JobEvent {
    /// The event a store request stands for, if any.
    pub fn of(request: &StoreRequest) -> Option<Self> {
        match (&request.transaction, request.claim) {
            (Transaction::SubmitJob { job, kind }, _) => Some(JobEvent::Submit(*job, *kind)),
            (Transaction::ClaimJob { .. }, _) => Some(JobEvent::Claim),
            (Transaction::FinishJob { state, .. }, Some(claim)) => Some(JobEvent::Finish(claim.job, *state)),
            _ => None,
        }
    }
}

impl JobLog {
    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records what a store request did when the store committed it, as `caller` asked for it.
    /// Submissions and claims enter the log at once; a finish keeps its place in the commit
    /// order and enters when the store acknowledges it ([`JobLog::acknowledge`]), so a finish
    /// lost with an unsynced write never counts as done.
    pub fn record(&self, sim: &Sim, caller: NodeIndex, event: JobEvent, reply: &StoreReply) -> Option<PendingFinish> {
        match (event, reply) {
            (JobEvent::Submit(job, kind), StoreReply::Done) => self.submitted(sim, caller, job, kind),
            (JobEvent::Claim, StoreReply::Claimed(Some(row))) => {
                let mut log = self.lock();
                let position = log.take_position();
                if let Some(record) = log.jobs.get_mut(&row.job) {
                    record.claimed_at = Some(position);
                    log.changes += 1;
                    log.changed.push(row.job);
                }
            }
            (JobEvent::Finish(job, state @ (JobState::Done | JobState::Failed)), StoreReply::Done) => {
                let position = self.lock().take_position();
                return Some(PendingFinish { job, state, position });
            }
            _ => {}
        }
        None
    }

    /// Records that the store acknowledged a finish it committed earlier.
    pub fn acknowledge(&self, sim: &Sim, caller: NodeIndex, finish: PendingFinish) {
        let operation = {
            let mut log = self.lock();
            let Some(record) = log.jobs.get_mut(&finish.job).filter(|record| record.finished.is_none()) else {
                return;
            };
            record.finished = Some((finish.state, finish.position));
            let operation = record.operation;
            log.changes += 1;
            log.changed.push(finish.job);
            operation
        };
        let kind = if finish.state == JobState::Done { HistoryType::Ok } else { HistoryType::Fail };
        sim.complete(operation, kind, caller, format!("{} {}", finish.job, finish.state));
    }

    fn submitted(&self, sim: &Sim, caller: NodeIndex, job: JobId, kind: JobKind) {
        if self.lock().jobs.contains_key(&job) {
            return;
        }
        let operation = sim.invoke(caller, format!("{job} ({kind})"));
        let mut log = self.lock();
        let submitted_at = log.take_position();
        log.jobs.insert(job, JobRecord { kind, operation, submitted_at, claimed_at: None, finished: None });
        log.changes += 1;
        log.changed.push(job);
    }

    /// Reads every job's record.
    pub fn read<R>(&self, read: impl FnOnce(&BTreeMap<JobId, JobRecord>) -> R) -> R {
        read(&self.lock().jobs)
    }

    /// How many changes the log has recorded: it changes exactly when the log does.
    /// Visits, in order, the job of every change after the first `position` changes, with its
    /// record as it stands now; returns the position after the last (a checker's next `position`).
    pub fn changes_since(&self, position: usize, mut visit: impl FnMut(JobId, &JobRecord)) -> usize {
        let log = self.lock();
        for job in log.changed.get(position..).unwrap_or_default() {
            visit(*job, &log.jobs[job]);
        }
        log.changed.len()
    }

    pub fn version(&self) -> u64 {
        self.lock().changes
    }
}

impl Log {
    fn take_position(&mut self) -> u64 {
        self.next_position += 1;
        self.next_position
    }
}
