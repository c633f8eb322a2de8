//! The data store: tables of VMs, IP allocations, instances, provisioning and jobs,
//! changed only by atomic transactions. Durable: a crash of the store or of its client
//! loses no acknowledged commit. Saga writes carry their job claim and are refused once the
//! claim is stale (fencing) or its lease ran out by the store's clock, so a worker that lost its
//! lease cannot change anything.

pub mod instances;
pub mod jobs;
pub mod provisioning;
pub mod vms;

pub use instances::{InstanceRow, InstanceState, Instances};
pub use jobs::{JobKind, JobRow, JobState, Jobs, LockKey};
pub use provisioning::{Collection, Provisioning, ResourceRow, Usage};
pub use vms::{VmError, VmRow, VmState, Vms};

use crate::bugs::{CLONE_UNSERIALIZED, UNCONDITIONAL_COUNTER_DELETE};
use crate::ids::{InstanceId, Ip, JobId, ProjectId, VmId, VmmId};
use crate::job_log::{JobEvent, JobLog};
use crate::message::{Reply, Request};
use fleetsim_sim::{Disk, Handler, NodeContext, NodeIndex};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A job claim: the job and the attempt a worker runs it under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Claim {
    /// The job.
    pub job: JobId,
    /// The attempt.
    pub attempt: u32,
    /// The claim's fencing token, which hosts check for instance operations.
    pub fence: u64,
}

/// What a VMM's monitor observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VmmObservation {
    /// The VMM runs.
    Running,
    /// The VMM is gone.
    Destroyed,
}

impl VmmObservation {
    /// `running` or `destroyed`.
    pub fn name(self) -> &'static str {
        match self {
            VmmObservation::Running => "running",
            VmmObservation::Destroyed => "destroyed",
        }
    }
}

/// A difference the reconciler found and repaired; in a correct control plane it finds none.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Discrepancy {
    /// Simulated time it was repaired.
    pub at_ms: u64,
    /// `orphan-vm`, `orphan-vmm` or `leaked-snapshot`.
    pub kind: String,
    /// What was found, naming the objects.
    pub evidence: String,
}

/// The last write the store committed under a job claim, with that job's claim as the store held
/// it at the commit: what `no-stale-write` audits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedWrite {
    /// The job the write was made for.
    pub job: JobId,
    /// The attempt the write named.
    pub attempt: u32,
    /// The job's attempt when the write committed.
    pub current_attempt: u32,
    /// Whether the job was running (claimed) when the write committed.
    pub running: bool,
}

/// An undo step a saga could not complete.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UndoFailure {
    /// The job whose saga unwound.
    pub job: JobId,
    /// The undo step.
    pub step: String,
    /// Why it failed last.
    pub error: String,
}

/// A transaction the store runs atomically.
#[derive(Clone, Debug, Hash)]
pub enum Transaction {
    /// Insert a job unless it exists (idempotent by id).
    SubmitJob {
        /// Its id, chosen by the client.
        job: JobId,
        /// What it does.
        kind: JobKind,
    },
    /// Claim the oldest runnable job none of whose objects an older unfinished job holds.
    ClaimJob {
        /// How long the claim lasts.
        lease_ms: u64,
    },
    /// Finish the claimed job: Done, Failed, or Pending to retry after `retry_after_ms`.
    FinishJob {
        /// The new state.
        state: JobState,
        /// With Pending: how long to wait before the next claim.
        retry_after_ms: u64,
    },
    /// Read a VM row.
    GetVm(VmId),
    /// Insert a VM row unless it exists.
    InsertVm(VmId, u32),
    /// Allocate an address to a VM, or return the one it has.
    AllocateIp(VmId),
    /// Mark a VM as running.
    MarkVmRunning(VmId),
    /// Release `ip` if it is allocated to the VM.
    ReleaseIp(Ip, VmId),
    /// Delete a VM row.
    DeleteVm(VmId),
    /// Read an instance row.
    GetInstance(InstanceId),
    /// Give a stopped instance a new VMM on a host, or return the one it has.
    SetVmm(InstanceId, u32),
    /// Charge the instance's provisioning, if `generation` is current.
    Charge(InstanceId, u64),
    /// Release the instance's provisioning, under the generation check.
    Release(InstanceId, u64),
    /// Clear the VMM from the instance, if it is the current one.
    ClearVmm(InstanceId, VmmId),
    /// Mark the instance running in its VMM.
    MarkInstanceRunning(InstanceId, VmmId),
    /// A VMM monitor's report, made with the generation the VMM was registered with.
    ReportVmm {
        /// The instance.
        instance: InstanceId,
        /// Its VMM.
        vmm: VmmId,
        /// The generation registered with the host.
        generation: u64,
        /// What the monitor saw.
        observation: VmmObservation,
    },
    /// What the reconciler compares hosts against: VM rows, instances, live clone snapshots, as
    /// a lagging replica may serve it (under `stale_read` faults, from an old snapshot).
    Inventory,
    /// The same, from the latest committed state.
    InventoryLatest,
    /// The reconciler repaired a difference.
    RecordDiscrepancy(Discrepancy),
    /// A saga gave up on an undo step.
    RecordUndoFailure(UndoFailure),
}

/// A transaction, with the claim it is made under when a saga makes it.
#[derive(Clone, Debug, Hash)]
pub struct StoreRequest {
    /// The claim; a stale one makes the store refuse.
    pub claim: Option<Claim>,
    /// What to do.
    pub transaction: Transaction,
}

/// Why a transaction did nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist.
    #[error("the store has no such row")]
    NotFound,
    /// The address is not allocated to that VM.
    #[error("the address is not allocated to that VM")]
    AlreadyFree,
    /// No address is left in the pool.
    #[error("the IP pool is exhausted")]
    PoolExhausted,
    /// The claim named is no longer the job's current one.
    #[error("the claim is no longer the job's current one")]
    StaleClaim,
    /// The instance's charge at that generation was released: the VMM is being taken down.
    #[error("the charge at that generation was released")]
    Released,
}

impl From<VmError> for StoreError {
    fn from(error: VmError) -> Self {
        match error {
            VmError::NotFound => StoreError::NotFound,
            VmError::AlreadyFree => StoreError::AlreadyFree,
            VmError::PoolExhausted => StoreError::PoolExhausted,
        }
    }
}

/// What the reconciler reads from the store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct StoreInventory {
    /// Every VM row.
    pub vms: Vec<VmRow>,
    /// The current VMM of every instance that has one.
    pub vmms: Vec<(InstanceId, VmmId)>,
    /// Temporary snapshot names of unfinished clone jobs.
    pub live_clone_snapshots: Vec<String>,
}

/// The result of a transaction.
#[derive(Clone, Debug, Hash)]
pub enum StoreReply {
    /// Committed, nothing to return.
    Done,
    /// A claimed job, or none runnable.
    Claimed(Option<JobRow>),
    /// A VM row.
    Vm(VmRow),
    /// An allocated address.
    Ip(Ip),
    /// An instance row.
    Instance(InstanceRow),
    /// The reconciler's view.
    Inventory(StoreInventory),
    /// Nothing was changed.
    Refused(StoreError),
}

/// Every table of the store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreData {
    /// VMs and IP allocations.
    pub vms: Vms,
    /// Instances.
    pub instances: Instances,
    /// Provisioning resources and collection counters.
    pub provisioning: Provisioning,
    /// Jobs.
    pub jobs: Jobs,
    /// Differences the reconciler repaired.
    pub discrepancies: Vec<Discrepancy>,
    /// Undo steps sagas gave up on.
    pub undo_failures: Vec<UndoFailure>,
    /// The last write committed under a claim.
    #[serde(default)]
    pub claimed_write_last: Option<ClaimedWrite>,
}

/// The circumstances of one transaction.
#[derive(Clone, Copy, Debug)]
pub struct Environment {
    /// The calling node.
    pub caller: NodeIndex,
    /// Simulated time at the store.
    pub now_ms: u64,
    /// Catalog bug `unconditional-counter-delete` is on.
    pub unconditional_counter_delete: bool,
    /// Catalog bug `clone-unserialized` is on.
    pub clone_unserialized: bool,
}

/// Something worth counting as a `sometimes` property.
pub type Observation = Option<&'static str>;

/// Evidence lists are bounded: the store keeps at most this many of each.
pub const EVIDENCE_MAX: usize = 64;

impl StoreData {
    /// A store with an IP pool of `ip_pool_size` addresses and the given instances.
    pub fn new(ip_pool_size: u8, instances: &[(InstanceId, ProjectId, Usage)]) -> Self {
        let mut data = Self { vms: Vms::with_pool(ip_pool_size), ..Self::default() };
        for (instance, project, usage) in instances {
            data.instances.create(*instance, *project, *usage);
        }
        data
    }

    /// Runs one request atomically.
    pub fn apply(&mut self, environment: &Environment, request: StoreRequest) -> (StoreReply, Observation) {
        if let Some(claim) = request.claim {
            // A claim whose lease ran out is stale too: the job's objects may be another job's now
            // (the job table's locks count running claims with a live lease only).
            if !self.jobs.rows.get(&claim.job).is_some_and(|row| row.leased_to(claim.attempt, environment.now_ms)) {
                return (StoreReply::Refused(StoreError::StaleClaim), Some("a stale claim was fenced off"));
            }
        }
        // The audit trail of fencing, kept apart from the check above so that `no-stale-write`
        // judges the check rather than repeating it.
        self.claimed_write_last = request.claim.map(|claim| {
            let row = self.jobs.rows.get(&claim.job);
            ClaimedWrite {
                job: claim.job,
                attempt: claim.attempt,
                current_attempt: row.map_or(0, |row| row.attempt),
                running: row.is_some_and(|row| matches!(row.state, JobState::Running { .. })),
            }
        });
        match request.transaction {
            Transaction::FinishJob { state, retry_after_ms } => {
                let claim = request.claim.expect("a finish names its claim");
                self.jobs.finish(claim.job, claim.attempt, state, environment.now_ms + retry_after_ms);
                (StoreReply::Done, None)
            }
            Transaction::ReportVmm { instance, vmm, generation, observation } => {
                self.report_vmm(environment, instance, vmm, generation, observation)
            }
            transaction => (self.transact(environment, transaction), None),
        }
    }

    fn transact(&mut self, environment: &Environment, transaction: Transaction) -> StoreReply {
        let result: Result<StoreReply, StoreError> = match transaction {
            Transaction::SubmitJob { job, kind } => {
                self.jobs.submit(job, kind);
                Ok(StoreReply::Done)
            }
            Transaction::ClaimJob { lease_ms } => {
                let serialize = !environment.clone_unserialized;
                Ok(StoreReply::Claimed(self.jobs.claim(environment.caller, environment.now_ms, lease_ms, serialize)))
            }
            Transaction::GetVm(vm) => self.vms.rows.get(&vm).cloned().map(StoreReply::Vm).ok_or(StoreError::NotFound),
            Transaction::InsertVm(vm, host) => Ok(StoreReply::Vm(self.vms.insert(vm, host))),
            Transaction::AllocateIp(vm) => self.vms.allocate_ip(vm).map(StoreReply::Ip).map_err(Into::into),
            Transaction::MarkVmRunning(vm) => self.vms.mark_running(vm).map(|()| StoreReply::Done).map_err(Into::into),
            Transaction::ReleaseIp(ip, vm) => {
                self.vms.release_ip(ip, vm).map(|()| StoreReply::Done).map_err(Into::into)
            }
            Transaction::DeleteVm(vm) => self.vms.delete(vm).map(|()| StoreReply::Done).map_err(Into::into),
            Transaction::GetInstance(instance) => {
                self.instances.rows.get(&instance).cloned().map(StoreReply::Instance).ok_or(StoreError::NotFound)
            }
            Transaction::SetVmm(instance, host) => {
                self.instances.set_vmm(instance, host).map(StoreReply::Instance).ok_or(StoreError::NotFound)
            }
            Transaction::Charge(instance, generation) => self.charge(environment.now_ms, instance, generation),
            Transaction::Release(instance, generation) => {
                let current = self.instances.generation_current(instance, generation);
                let unconditional = environment.unconditional_counter_delete;
                self.provisioning.release(environment.now_ms, instance, generation, current, unconditional);
                Ok(StoreReply::Done)
            }
            Transaction::ClearVmm(instance, vmm) => {
                self.instances.clear_vmm(instance, vmm);
                Ok(StoreReply::Done)
            }
            Transaction::MarkInstanceRunning(instance, vmm) => {
                self.instances.mark_running(instance, vmm);
                Ok(StoreReply::Done)
            }
            Transaction::Inventory | Transaction::InventoryLatest => Ok(StoreReply::Inventory(self.inventory())),
            Transaction::RecordDiscrepancy(discrepancy) => {
                push_bounded(&mut self.discrepancies, discrepancy);
                Ok(StoreReply::Done)
            }
            Transaction::RecordUndoFailure(failure) => {
                push_bounded(&mut self.undo_failures, failure);
                Ok(StoreReply::Done)
            }
            Transaction::FinishJob { .. } | Transaction::ReportVmm { .. } => unreachable!("handled in apply"),
        };
        result.unwrap_or_else(StoreReply::Refused)
    }

    fn charge(&mut self, now_ms: u64, instance: InstanceId, generation: u64) -> Result<StoreReply, StoreError> {
        let row = self.instances.rows.get(&instance).ok_or(StoreError::NotFound)?;
        if row.generation != generation {
            return Err(StoreError::StaleClaim);
        }
        if self.provisioning.released_at(instance, generation) {
            return Err(StoreError::Released);
        }
        let resource = ResourceRow { instance, project: row.project, usage: row.usage, generation };
        self.provisioning.charge(now_ms, resource);
        Ok(StoreReply::Done)
    }

    /// A monitor's report: a destroyed VMM releases its instance's provisioning under the
    /// generation check (the decision point of `unconditional-counter-delete`).
    fn report_vmm(
        &mut self,
        environment: &Environment,
        instance: InstanceId,
        vmm: VmmId,
        generation: u64,
        observation: VmmObservation,
    ) -> (StoreReply, Observation) {
        let current = self.instances.generation_current(instance, generation);
        let stale_with_charge = !current && self.provisioning.resources.contains_key(&instance);
        match observation {
            VmmObservation::Running => {
                if current {
                    self.instances.mark_running(instance, vmm);
                }
            }
            VmmObservation::Destroyed => {
                let unconditional = environment.unconditional_counter_delete;
                self.provisioning.release(environment.now_ms, instance, generation, current, unconditional);
                if current {
                    self.instances.clear_vmm(instance, vmm);
                }
            }
        }
        let observed = (stale_with_charge && observation == VmmObservation::Destroyed)
            .then_some("a stale monitor report arrived after a newer generation charged");
        (StoreReply::Done, observed)
    }

    fn inventory(&self) -> StoreInventory {
        let live_clone_snapshots = self
            .jobs
            .rows
            .values()
            .filter(|row| !row.state.is_terminal() && row.kind.clone_source().is_some())
            .map(|row| crate::names::clone_snapshot(row.job))
            .collect();
        StoreInventory {
            vms: self.vms.rows.values().cloned().collect(),
            vmms: self.instances.rows.values().filter_map(|row| row.vmm.map(|(vmm, _)| (row.instance, vmm))).collect(),
            live_clone_snapshots,
        }
    }
}

fn push_bounded<T>(list: &mut Vec<T>, item: T) {
    if list.len() < EVIDENCE_MAX {
        list.push(item);
    }
}

/// The store node's request handler: one transaction per request, committed to `disk`; what it
/// does to jobs goes into `log`.
pub fn store_handler(context: NodeContext, disk: Disk<StoreData>, log: JobLog) -> Handler<Request, Reply> {
    Arc::new(move |caller, request| {
        let (context, disk, log) = (context.clone(), disk.clone(), log.clone());
        Box::pin(async move {
            match request {
                Request::Store(request) => Reply::Store(serve(&context, &disk, &log, caller, request).await),
                Request::Host(_) => Reply::Unsupported,
            }
        })
    })
}

/// Runs one request: a possibly stale read from a snapshot, anything else as a transaction that
/// is synced before it is acknowledged. Leases and retry times are judged by the store's clock.
async fn serve(
    context: &NodeContext,
    disk: &Disk<StoreData>,
    log: &JobLog,
    caller: NodeIndex,
    request: StoreRequest,
) -> StoreReply {
    if let (None, Transaction::Inventory) = (&request.claim, &request.transaction) {
        return disk.read_possibly_stale(context, |data| StoreReply::Inventory(data.inventory()));
    }
    let event = JobEvent::of(&request);
    let sim = context.sim();
    let environment = Environment {
        caller,
        now_ms: context.now_ms(),
        unconditional_counter_delete: sim.bug(UNCONDITIONAL_COUNTER_DELETE),
        clone_unserialized: sim.bug(CLONE_UNSERIALIZED),
    };
    let (reply, observed) = disk.commit(context, |data| data.apply(&environment, request));
    if let Some(property) = observed {
        sim.sometimes(property, true);
    }
    let finish = event.and_then(|event| log.record(sim, caller, event, &reply));
    // Nothing is acknowledged before it is durable: a crash before the sync loses the write and
    // the reply with it, so the caller sees an unknown outcome, never a forgotten success.
    disk.sync(context).await;
    if let Some(finish) = finish {
        log.acknowledge(sim, caller, finish);
    }
    reply
}
