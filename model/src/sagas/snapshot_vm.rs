//! SnapshotVM: take a kept snapshot `snap-<job>` of a VM on its host.

use crate::calls::{already_done, StepError};
use crate::host::{HostError, HostRequest};
use crate::ids::VmId;
use crate::names::kept_snapshot;
use crate::sagas::SagaContext;
use crate::store::{StoreError, StoreReply, Transaction, VmState};

/// Runs the SnapshotVM saga; `Ok(false)` when the VM is gone or never ran.
pub async fn snapshot_vm(saga: &SagaContext, vm: VmId) -> Result<bool, StepError> {
    let row = match saga.store(Transaction::GetVm(vm)).await {
        Ok(StoreReply::Vm(row)) if row.state == VmState::Running => row,
        Ok(StoreReply::Vm(_)) | Err(StepError::Store(StoreError::NotFound)) => return Ok(false),
        Ok(_) => return Err(StepError::Protocol),
        Err(error) => return Err(error),
    };
    saga.fault_point("snapshot_vm.before_snapshot").await?;
    let name = kept_snapshot(saga.claim.expect("a snapshot runs as a job").job);
    let created =
        saga.host(row.host, HostRequest::CreateSnapshot { source: vm, name: name.clone(), fence: saga.fence() }).await;
    already_done(created, StepError::Host(HostError::AlreadyExists))?;
    saga.node.step(format!("{name} of {vm} taken on host-{}", row.host));
    Ok(true)
}
