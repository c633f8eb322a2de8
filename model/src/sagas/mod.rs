//! Sagas: multi-step operations across the store and the hypervisors. Forward steps are
//! idempotent, so a retry or a resumed attempt after a crash converges; the start saga
//! unwinds its completed steps when the VMM does not come up in time.

mod clone_vm;
mod create_vm;
mod delete_vm;
mod snapshot_vm;
mod start_instance;
mod stop_instance;

pub use clone_vm::clone_vm;
pub use create_vm::create_vm;
pub use delete_vm::delete_vm;
pub use snapshot_vm::snapshot_vm;
pub use start_instance::start_instance;
pub use stop_instance::stop_instance;

use crate::calls::{self, StepError};
use crate::host::{HostReply, HostRequest};
use crate::message::ModelRpc;
use crate::store::{Claim, JobKind, StoreReply, Transaction, UndoFailure};
use crate::topology::Topology;
use crate::unwind_log::UnwindLog;
use fleetsim_sim::NodeContext;

/// Attempts of one undo step before the saga records it as failed.
pub const UNDO_ATTEMPTS_MAX: u32 = 40;
/// Pause between two attempts of an undo step.
pub const UNDO_RETRY_MS: u64 = 250;

/// What a saga runs with: its node, its endpoint, where everything is, and its claim.
#[derive(Clone)]
pub struct SagaContext {
    /// The worker node running the saga.
    pub node: NodeContext,
    /// The worker's endpoint.
    pub rpc: ModelRpc,
    /// Where the store and the hosts are.
    pub topology: Topology,
    /// The job claim every store write is made under.
    pub claim: Option<Claim>,
    /// Where the saga reports the unwinds it completed, for `clean-unwind`.
    pub unwinds: UnwindLog,
}

impl SagaContext {
    /// Whether catalog bug `id` is switched on in this run.
    pub fn bug(&self, id: &str) -> bool {
        self.node.sim().bug(id)
    }

    /// A store transaction under the saga's claim.
    pub async fn store(&self, transaction: Transaction) -> Result<StoreReply, StepError> {
        calls::store(&self.rpc, self.topology.store, self.claim, transaction).await
    }

    /// The fencing token of the saga's claim.
    pub fn fence(&self) -> Option<u64> {
        self.claim.map(|claim| claim.fence)
    }

    /// A request to the agent of host `host`.
    pub async fn host(&self, host: u32, request: HostRequest) -> Result<HostReply, StepError> {
        calls::host(&self.rpc, self.topology.hosts[host as usize], request).await
    }

    /// A fault point at a step boundary of the saga.
    pub async fn fault_point(&self, name: &str) -> Result<(), StepError> {
        Ok(self.node.fault_point(name).await?)
    }

    /// Runs an undo step until it succeeds; after `UNDO_ATTEMPTS_MAX` failures it is recorded
    /// as a failed undo (which the `no-failed-undo` invariant reports).
    pub async fn undo<F, Fut>(&self, step: &str, action: F) -> Result<(), StepError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(), StepError>>,
    {
        let mut last = StepError::Protocol;
        for _ in 0..UNDO_ATTEMPTS_MAX {
            match action().await {
                Ok(()) => return Ok(()),
                Err(
                    error @ (StepError::Store(crate::store::StoreError::StaleClaim)
                    | StepError::Host(crate::host::HostError::Fenced)),
                ) => return Err(error),
                Err(error) => last = error,
            }
            self.node.sleep_ms(UNDO_RETRY_MS).await;
        }
        let job = self.claim.map(|claim| claim.job).unwrap_or(crate::ids::JobId(0));
        let failure = UndoFailure { job, step: step.to_string(), error: last.to_string() };
        let _ = calls::store_plain(&self.rpc, self.topology.store, Transaction::RecordUndoFailure(failure)).await;
        Err(last)
    }
}

/// Every fault point of every saga, by saga (the saga property tests walk them all).
pub const FAULT_POINTS: &[(&str, &[&str])] = &[
    ("create_vm", &["create_vm.after_insert", "create_vm.after_ip_allocate", "create_vm.after_hypervisor_create"]),
    ("delete_vm", &["delete_vm.before_first_step", "delete_vm.after_destroy", "delete_vm.after_ip_release"]),
    (
        "clone_vm",
        &[
            "clone_vm.after_target_row",
            "clone_vm.after_snapshot_create",
            "clone_vm.after_clone",
            "clone_vm.after_snapshot_delete",
        ],
    ),
    ("snapshot_vm", &["snapshot_vm.before_snapshot"]),
    (
        "start_instance",
        &[
            "start_instance.after_set_vmm",
            "start_instance.after_register",
            "start_instance.after_charge",
            "start_instance.unwind.after_release",
            "start_instance.unwind.after_unregister",
        ],
    ),
    ("stop_instance", &["stop_instance.after_unregister", "stop_instance.after_release"]),
];

/// Every delay point, by the saga whose runs pass it: the VMM monitors a start leaves behind.
pub const DELAY_POINTS: &[(&str, &[&str])] = &[("start_instance", &[crate::host::monitor::REPORT_DELAY_POINT])];

/// Gives back the row and address of a VM that was deleted before it was created.
async fn give_back_vm(saga: &SagaContext, vm: crate::ids::VmId, ip: crate::ids::Ip) -> Result<(), StepError> {
    use crate::store::StoreError;
    let released = saga.store(Transaction::ReleaseIp(ip, vm)).await;
    calls::already_done(released, StepError::Store(StoreError::AlreadyFree))?;
    let deleted = saga.store(Transaction::DeleteVm(vm)).await;
    calls::already_done(deleted, StepError::Store(StoreError::NotFound))?;
    saga.node.step(format!("{vm} was deleted before it was created: {ip} and its row given back"));
    Ok(())
}

/// Runs the saga of one job kind; `Ok(false)` means the job is refused for good.
pub async fn run_job(saga: &SagaContext, kind: JobKind) -> Result<bool, StepError> {
    match kind {
        JobKind::CreateVm { vm, host } => create_vm(saga, vm, host).await,
        JobKind::DeleteVm { vm } => delete_vm(saga, vm).await.map(|()| true),
        JobKind::CloneVm { source, target } => clone_vm(saga, source, target).await,
        JobKind::SnapshotVm { vm } => snapshot_vm(saga, vm).await,
        JobKind::StartInstance { instance } => start_instance(saga, instance).await.map(|()| true),
        JobKind::StopInstance { instance } => stop_instance(saga, instance).await.map(|()| true),
    }
}
