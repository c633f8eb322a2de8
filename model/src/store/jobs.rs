//! The job table: submitted operations, claimed by workers under leases, serialized per
//! object (the job row is the lock), and finished only by the current claim (fencing).

use crate::ids::{InstanceId, JobId, VmId};
use fleetsim_sim::{NodeIndex, Table};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobKind {
    /// Create a VM on a host.
    CreateVm {
        /// The VM to create.
        vm: VmId,
        /// The host to create it on (its index).
        host: u32,
    },
    /// Delete a VM wherever it is.
    DeleteVm {
        /// The VM to delete.
        vm: VmId,
    },
    /// Clone `source` into a new VM `target` on the source's host, via a temporary snapshot.
    CloneVm {
        /// The VM cloned from.
        source: VmId,
        /// The new VM.
        target: VmId,
    },
    /// Take a named, kept snapshot of a VM.
    SnapshotVm {
        /// The VM.
        vm: VmId,
    },
    /// Start an instance in a new VMM.
    StartInstance {
        /// The instance.
        instance: InstanceId,
    },
    /// Stop an instance, destroying its VMM.
    StopInstance {
        /// The instance.
        instance: InstanceId,
    },
}

/// The objects a job holds while it is unfinished.
fn locks(row: &JobRow, serialize_clones: bool) -> impl Iterator<Item = LockKey> {
    let (first, second) = row.kind.lock_pair();
    // clone-unserialized (seed 000): a clone does not hold its source against other clones.
    let unserialized = !serialize_clones && row.kind.clone_source().is_some();
    let first = if unserialized { None } else { Some(first) };
    first.into_iter().chain(second)
}

/// An object a job works on; jobs sharing one run one at a time, oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LockKey {
    /// A VM (for clones: the source and the target).
    Vm(VmId),
    /// An instance.
    Instance(InstanceId),
}

impl JobKind {
    /// The objects the job works on.
    /// The objects a job of this kind locks, without allocating: the first, and a clone's target.
    fn lock_pair(&self) -> (LockKey, Option<LockKey>) {
        match *self {
            JobKind::CreateVm { vm, .. } | JobKind::DeleteVm { vm } | JobKind::SnapshotVm { vm } => {
                (LockKey::Vm(vm), None)
            }
            JobKind::CloneVm { source, target } => (LockKey::Vm(source), Some(LockKey::Vm(target))),
            JobKind::StartInstance { instance } | JobKind::StopInstance { instance } => {
                (LockKey::Instance(instance), None)
            }
        }
    }

    pub fn lock_keys(&self) -> Vec<LockKey> {
        let (first, second) = self.lock_pair();
        std::iter::once(first).chain(second).collect()
    }

    /// The source VM, for a clone.
    pub fn clone_source(&self) -> Option<VmId> {
        match *self {
            JobKind::CloneVm { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// How the steps and the checkers tell a job: `create vm-9 on host-1`.
impl fmt::Display for JobKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobKind::CreateVm { vm, host } => write!(formatter, "create {vm} on host-{host}"),
            JobKind::DeleteVm { vm } => write!(formatter, "delete {vm}"),
            JobKind::CloneVm { source, target } => write!(formatter, "clone {source} into {target}"),
            JobKind::SnapshotVm { vm } => write!(formatter, "snapshot {vm}"),
            JobKind::StartInstance { instance } => write!(formatter, "start {instance}"),
            JobKind::StopInstance { instance } => write!(formatter, "stop {instance}"),
        }
    }
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobState {
    /// Waiting for a worker.
    Pending,
    /// Claimed by `worker` until its lease ends.
    Running {
        /// The worker node's index.
        worker: NodeIndex,
        /// Simulated time the lease ends at.
        lease_until_ms: u64,
    },
    /// Finished successfully.
    Done,
    /// Given up: after too many attempts, or refused for good (its object is gone).
    Failed,
}

/// `pending`, `running until 2035 ms`, `done`, `failed`.
impl fmt::Display for JobState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobState::Pending => formatter.write_str("pending"),
            JobState::Running { lease_until_ms, .. } => write!(formatter, "running until {lease_until_ms} ms"),
            JobState::Done => formatter.write_str("done"),
            JobState::Failed => formatter.write_str("failed"),
        }
    }
}

impl JobState {
    /// Whether the job has finished, one way or the other.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobState::Done | JobState::Failed)
    }
}

/// A row of the job table.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobRow {
    /// The job.
    pub job: JobId,
    /// What it does.
    pub kind: JobKind,
    /// Its state.
    pub state: JobState,
    /// Claims so far; writes and the finish must name the current one (fencing).
    pub attempt: u32,
    /// Simulated time before which a pending job is not claimed (retry backoff).
    pub not_before_ms: u64,
    /// The fencing token of the current claim: grows with every claim of any job.
    #[serde(default)]
    pub fence: u64,
}

impl JobRow {
    /// Whether `attempt` is the job's live claim.
    pub fn claimed_by(&self, attempt: u32) -> bool {
        self.attempt == attempt && matches!(self.state, JobState::Running { .. })
    }

    /// Whether `attempt` is the current claim and its lease has not run out at `now_ms` (the
    /// store's clock): once it has, another job may hold the objects this one touched.
    pub fn leased_to(&self, attempt: u32, now_ms: u64) -> bool {
        self.attempt == attempt
            && matches!(self.state, JobState::Running { lease_until_ms, .. } if lease_until_ms > now_ms)
    }
}

/// The job table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jobs {
    /// Jobs by id (ids grow with submission order).
    pub rows: Table<JobId, JobRow>,
    /// Claims handed out so far: the last fencing token.
    #[serde(default)]
    pub fence_last: u64,
    /// The jobs not yet done or failed, in id order: what a claim looks through, instead of every
    /// row. Kept by `submit` and `finish`, which are the only writers of a row's state.
    #[serde(skip)]
    unfinished: BTreeSet<JobId>,
    /// Per object, the unfinished jobs that lock it: what a claim asks instead of gathering every
    /// job's locks.
    #[serde(skip)]
    holders: BTreeMap<LockKey, BTreeSet<JobId>>,
    /// The unfinished jobs that are the oldest holder of every object they lock: with clones
    /// serialized, the only ones a claim can choose.
    #[serde(skip)]
    heads: BTreeSet<JobId>,
}

/// Whether a worker may take `row` at `now_ms`: pending and due, or running with its lease run out.
fn claimable(row: &JobRow, now_ms: u64) -> bool {
    match row.state {
        JobState::Pending => row.not_before_ms <= now_ms,
        JobState::Running { lease_until_ms, .. } => lease_until_ms <= now_ms,
        JobState::Done | JobState::Failed => false,
    }
}

/// Whether `row` runs under a lease still in force at `now_ms`.
fn leased(row: &JobRow, now_ms: u64) -> bool {
    matches!(row.state, JobState::Running { lease_until_ms, .. } if lease_until_ms > now_ms)
}

impl Jobs {
    /// Inserts a job unless it exists (idempotent by id).
    pub fn submit(&mut self, job: JobId, kind: JobKind) {
        if self.rows.contains_key(&job) {
            return;
        }
        self.unfinished.insert(job);
        self.rows.insert(job, JobRow { job, kind, state: JobState::Pending, attempt: 0, not_before_ms: 0, fence: 0 });
        let mut affected = vec![job];
        for key in kind.lock_keys() {
            let holders = self.holders.entry(key).or_default();
            affected.extend(holders.first().copied());
            holders.insert(job);
        }
        affected.into_iter().for_each(|job| self.refresh_head(job));
    }

    /// Puts `job` among the heads if it is unfinished and the oldest holder of every object it
    /// locks, else takes it out.
    fn refresh_head(&mut self, job: JobId) {
        let head = self.unfinished.contains(&job)
            && self.rows[&job]
                .kind
                .lock_keys()
                .iter()
                .all(|key| self.holders.get(key).and_then(|holders| holders.first()) == Some(&job));
        if head {
            self.heads.insert(job);
        } else {
            self.heads.remove(&job);
        }
    }

    /// Claims the oldest runnable job none of whose objects a running job or an older
    /// unfinished job holds. With `serialize_clones` off, clones ignore other clones of their
    /// source.
    pub fn claim(&mut self, worker: NodeIndex, now_ms: u64, lease_ms: u64, serialize_clones: bool) -> Option<JobRow> {
        // Only a head can be chosen: any other job has an older one on one of its objects. With
        // clones unserialized, a clone's source does not count between clones: look at them all.
        let candidates = if serialize_clones { &self.heads } else { &self.unfinished };
        let chosen = candidates.iter().copied().find(|job| {
            let row = &self.rows[job];
            claimable(row, now_ms)
                && locks(row, serialize_clones).all(|key| self.free_for(*job, key, now_ms, serialize_clones))
        });
        let row = self.rows.get_mut(&chosen?)?;
        self.fence_last += 1;
        row.fence = self.fence_last;
        row.attempt += 1;
        row.state = JobState::Running { worker, lease_until_ms: now_ms + lease_ms };
        Some(row.clone())
    }

    /// Whether `key` is free for `job`: no older unfinished job, and no running one with its lease
    /// in force, holds it (another job's clone of the same source does not, with clones
    /// unserialized).
    fn free_for(&self, job: JobId, key: LockKey, now_ms: u64, serialize_clones: bool) -> bool {
        let holders = self.holders.get(&key).into_iter().flatten().filter(|other| **other != job);
        let mut holders = holders
            .map(|other| &self.rows[other])
            .filter(|other| locks(other, serialize_clones).any(|held| held == key));
        !holders.any(|other| other.job < job || leased(other, now_ms))
    }
    /// Finishes a claimed job if the claim is current; a pending state waits `not_before_ms`.
    pub fn finish(&mut self, job: JobId, attempt: u32, state: JobState, not_before_ms: u64) -> bool {
        match self.rows.get_mut(&job) {
            Some(row) if row.claimed_by(attempt) => {
                row.state = state;
                row.not_before_ms = not_before_ms;
                if state.is_terminal() {
                    let kind = row.kind;
                    self.unfinished.remove(&job);
                    self.heads.remove(&job);
                    let mut affected = Vec::new();
                    for key in kind.lock_keys() {
                        let Some(holders) = self.holders.get_mut(&key) else { continue };
                        holders.remove(&job);
                        affected.extend(holders.first().copied());
                        if holders.is_empty() {
                            self.holders.remove(&key);
                        }
                    }
                    affected.into_iter().for_each(|job| self.refresh_head(job));
                }
                true
            }
            _ => false,
        }
    }

    /// Whether a clone job that uses the temporary snapshot `name` is still unfinished.
    pub fn clone_active_for_snapshot(&self, name: &str) -> bool {
        // The name carries its job's id: look that job up instead of formatting every job's name.
        let job = crate::names::clone_snapshot_job(name);
        job.and_then(|job| self.rows.get(&job))
            .is_some_and(|row| !row.state.is_terminal() && row.kind.clone_source().is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The claim as a scan over every unfinished row, gathering locks as it goes: what the indexed
    /// claim must agree with.
    fn claim_by_scan(jobs: &Jobs, now_ms: u64, serialize_clones: bool) -> Option<JobId> {
        let unfinished = || jobs.rows.values().filter(|row| !row.state.is_terminal());
        let mut held: BTreeSet<LockKey> =
            unfinished().filter(|row| leased(row, now_ms)).flat_map(|row| locks(row, serialize_clones)).collect();
        for row in unfinished() {
            if claimable(row, now_ms) && locks(row, serialize_clones).all(|key| !held.contains(&key)) {
                return Some(row.job);
            }
            held.extend(locks(row, serialize_clones));
        }
        None
    }

    fn kind(choice: u8, first: u32, second: u32) -> JobKind {
        let (vm, other, instance) = (VmId(first), VmId(second), InstanceId(first));
        match choice % 6 {
            0 => JobKind::CreateVm { vm, host: 0 },
            1 => JobKind::DeleteVm { vm },
            2 => JobKind::CloneVm { source: vm, target: other },
            3 => JobKind::SnapshotVm { vm },
            4 => JobKind::StartInstance { instance },
            _ => JobKind::StopInstance { instance },
        }
    }

    proptest! {
        #[test]
        fn the_indexed_claim_picks_what_a_scan_of_every_row_picks(
            steps in proptest::collection::vec((0u8..4, 0u8..6, 1u32..5, 1u32..5, 0u64..40, 1u32..60), 1..80),
            serialize_clones in any::<bool>(),
        ) {
            let (mut jobs, mut now_ms) = (Jobs::default(), 0);
            for (action, choice, first, second, advance_ms, id) in steps {
                now_ms += advance_ms;
                match action {
                    // Submissions arrive out of id order, as over a network.
                    0 | 1 => jobs.submit(JobId(id), kind(choice, first, second)),
                    2 => {
                        let expected = claim_by_scan(&jobs, now_ms, serialize_clones);
                        let claimed = jobs.claim(NodeIndex(1), now_ms, 30, serialize_clones).map(|row| row.job);
                        prop_assert_eq!(claimed, expected);
                    }
                    _ => {
                        let running: Vec<JobRow> = jobs.rows.values().filter(|row| matches!(row.state, JobState::Running { .. })).cloned().collect();
                        if let Some(row) = running.get(first as usize % running.len().max(1)) {
                            let state = [JobState::Done, JobState::Failed, JobState::Pending][choice as usize % 3];
                            prop_assert!(jobs.finish(row.job, row.attempt, state, now_ms + advance_ms));
                        }
                    }
                }
            }
        }
    }
}
