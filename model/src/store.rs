//! The data store: tables of VMs, IP allocations and jobs, changed only by atomic
//! transactions. Durable: a crash of the store or of its client loses no commit.

use crate::ids::{HostId, Ip, JobId, VmId};
use crate::message::{Reply, Request};
use fleetsim_sim::{Disk, Handler, NodeContext, NodeIndex};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where a VM is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VmState {
    /// The row exists; the VM may not run yet.
    Creating,
    /// The VM was created on its host.
    Running,
}

/// A row of the VM table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmRow {
    /// The VM.
    pub vm: VmId,
    /// The host it runs on.
    pub host: HostId,
    /// Its address, once allocated.
    pub ip: Option<Ip>,
    /// Its state.
    pub state: VmState,
}

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobKind {
    /// Create a VM on a host.
    CreateVm {
        /// The VM to create.
        vm: VmId,
        /// The host to create it on.
        host: HostId,
    },
    /// Delete a VM wherever it is.
    DeleteVm {
        /// The VM to delete.
        vm: VmId,
    },
}

impl JobKind {
    /// The VM the job is about; jobs of one VM run one at a time, oldest first.
    pub fn vm(&self) -> VmId {
        match self {
            JobKind::CreateVm { vm, .. } | JobKind::DeleteVm { vm } => *vm,
        }
    }
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Given up after too many attempts.
    Failed,
}

impl JobState {
    /// Whether the job has finished, one way or the other.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobState::Done | JobState::Failed)
    }
}

/// A row of the job table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRow {
    /// The job.
    pub job: JobId,
    /// What it does.
    pub kind: JobKind,
    /// Its state.
    pub state: JobState,
    /// Claims so far; a finish must name the current one (fencing).
    pub attempt: u32,
    /// Simulated time before which a pending job is not claimed (retry backoff).
    pub not_before_ms: u64,
}

/// Every table of the store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreData {
    /// The IP pool, in allocation order.
    pub ip_pool: Vec<Ip>,
    /// VMs by id.
    pub vms: BTreeMap<VmId, VmRow>,
    /// IP allocations: each address belongs to at most one VM (the unique constraint).
    pub ip_allocations: BTreeMap<Ip, VmId>,
    /// Jobs by id (ids grow with submission order).
    pub jobs: BTreeMap<JobId, JobRow>,
}

/// A transaction the store runs atomically.
#[derive(Clone, Debug)]
pub enum StoreRequest {
    /// Insert a job unless it exists (idempotent by id).
    SubmitJob {
        /// Its id, chosen by the client.
        job: JobId,
        /// What it does.
        kind: JobKind,
    },
    /// Claim the oldest runnable job whose VM has no older unfinished job.
    ClaimJob {
        /// How long the claim lasts.
        lease_ms: u64,
    },
    /// Finish a claimed job, if the claim is still the current one.
    FinishJob {
        /// The job.
        job: JobId,
        /// The claim it was run under.
        attempt: u32,
        /// Done, Failed, or Pending to retry later.
        state: JobState,
        /// With Pending: how long to wait before the next claim.
        retry_after_ms: u64,
    },
    /// Read a VM row.
    GetVm {
        /// The VM.
        vm: VmId,
    },
    /// Insert a VM row unless it exists.
    InsertVm {
        /// The VM.
        vm: VmId,
        /// Its host.
        host: HostId,
    },
    /// Allocate an address to a VM, or return the one it already has.
    AllocateIp {
        /// The VM.
        vm: VmId,
    },
    /// Mark a VM as running on its host.
    MarkRunning {
        /// The VM.
        vm: VmId,
    },
    /// Release `ip` if it is allocated to `vm`.
    ReleaseIp {
        /// The address.
        ip: Ip,
        /// The VM it must belong to.
        vm: VmId,
    },
    /// Delete a VM row.
    DeleteVm {
        /// The VM.
        vm: VmId,
    },
}

/// Why a transaction did nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The row does not exist.
    NotFound,
    /// The address is not allocated to that VM.
    AlreadyFree,
    /// No address is left in the pool.
    PoolExhausted,
    /// The claim named is no longer the job's current one.
    StaleClaim,
}

/// The result of a transaction.
#[derive(Clone, Debug)]
pub enum StoreReply {
    /// Committed, nothing to return.
    Done,
    /// A claimed job, or none runnable.
    Claimed(Option<JobRow>),
    /// A VM row.
    Vm(VmRow),
    /// An allocated address.
    Ip(Ip),
    /// Nothing was changed.
    Refused(StoreError),
}

impl StoreData {
    /// A store with an IP pool of `ip_pool_size` addresses.
    pub fn with_pool(ip_pool_size: u8) -> Self {
        Self { ip_pool: (1..=ip_pool_size).map(|octet| Ip(100 + octet)).collect(), ..Self::default() }
    }

    /// Runs one transaction at simulated time `now_ms` for `caller`.
    pub fn apply(&mut self, caller: NodeIndex, now_ms: u64, request: StoreRequest) -> StoreReply {
        match request {
            StoreRequest::SubmitJob { job, kind } => {
                self.jobs.entry(job).or_insert(JobRow {
                    job,
                    kind,
                    state: JobState::Pending,
                    attempt: 0,
                    not_before_ms: 0,
                });
                StoreReply::Done
            }
            StoreRequest::ClaimJob { lease_ms } => StoreReply::Claimed(self.claim(caller, now_ms, lease_ms)),
            StoreRequest::FinishJob { job, attempt, state, retry_after_ms } => {
                self.finish(job, attempt, state, now_ms + retry_after_ms)
            }
            StoreRequest::GetVm { vm } => {
                self.vms.get(&vm).cloned().map_or(StoreReply::Refused(StoreError::NotFound), StoreReply::Vm)
            }
            StoreRequest::InsertVm { vm, host } => {
                let row = self.vms.entry(vm).or_insert(VmRow { vm, host, ip: None, state: VmState::Creating });
                StoreReply::Vm(row.clone())
            }
            StoreRequest::AllocateIp { vm } => self.allocate_ip(vm),
            StoreRequest::MarkRunning { vm } => match self.vms.get_mut(&vm) {
                Some(row) => {
                    row.state = VmState::Running;
                    StoreReply::Done
                }
                None => StoreReply::Refused(StoreError::NotFound),
            },
            StoreRequest::ReleaseIp { ip, vm } => self.release_ip(ip, vm),
            StoreRequest::DeleteVm { vm } => match self.vms.remove(&vm) {
                Some(_) => StoreReply::Done,
                None => StoreReply::Refused(StoreError::NotFound),
            },
        }
    }

    fn claim(&mut self, worker: NodeIndex, now_ms: u64, lease_ms: u64) -> Option<JobRow> {
        let mut busy_vms = std::collections::BTreeSet::new();
        let mut chosen = None;
        for row in self.jobs.values() {
            if row.state.is_terminal() {
                continue;
            }
            let claimable = match row.state {
                JobState::Pending => row.not_before_ms <= now_ms,
                JobState::Running { lease_until_ms, .. } => lease_until_ms <= now_ms,
                JobState::Done | JobState::Failed => false,
            };
            if claimable && !busy_vms.contains(&row.kind.vm()) {
                chosen = Some(row.job);
                break;
            }
            busy_vms.insert(row.kind.vm());
        }
        let row = self.jobs.get_mut(&chosen?)?;
        row.attempt += 1;
        row.state = JobState::Running { worker, lease_until_ms: now_ms + lease_ms };
        Some(row.clone())
    }

    fn finish(&mut self, job: JobId, attempt: u32, state: JobState, not_before_ms: u64) -> StoreReply {
        match self.jobs.get_mut(&job) {
            Some(row) if row.attempt == attempt && !row.state.is_terminal() => {
                row.state = state;
                row.not_before_ms = not_before_ms;
                StoreReply::Done
            }
            Some(_) => StoreReply::Refused(StoreError::StaleClaim),
            None => StoreReply::Refused(StoreError::NotFound),
        }
    }

    fn allocate_ip(&mut self, vm: VmId) -> StoreReply {
        let Some(row) = self.vms.get_mut(&vm) else {
            return StoreReply::Refused(StoreError::NotFound);
        };
        if let Some(ip) = row.ip {
            return StoreReply::Ip(ip);
        }
        let free = self.ip_pool.iter().copied().find(|ip| !self.ip_allocations.contains_key(ip));
        let Some(ip) = free else {
            return StoreReply::Refused(StoreError::PoolExhausted);
        };
        self.ip_allocations.insert(ip, vm);
        row.ip = Some(ip);
        StoreReply::Ip(ip)
    }

    fn release_ip(&mut self, ip: Ip, vm: VmId) -> StoreReply {
        if self.ip_allocations.get(&ip) != Some(&vm) {
            return StoreReply::Refused(StoreError::AlreadyFree);
        }
        self.ip_allocations.remove(&ip);
        if let Some(row) = self.vms.get_mut(&vm) {
            row.ip = None;
        }
        StoreReply::Done
    }
}

/// The store node's request handler: one transaction per request, committed to `disk`.
pub fn store_handler(context: NodeContext, disk: Disk<StoreData>) -> Handler<Request, Reply> {
    Arc::new(move |caller, request| {
        let reply = match request {
            Request::Store(transaction) => {
                let now_ms = context.sim().now_ms();
                Reply::Store(disk.commit(&context, |data| data.apply(caller, now_ms, transaction)))
            }
            Request::Host(_) => Reply::Unsupported,
        };
        Box::pin(async move { reply })
    })
}
