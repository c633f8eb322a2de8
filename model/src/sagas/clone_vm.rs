//! CloneVM: clone a source VM into a new VM through a temporary snapshot `clone-<job>`.
//! The fixed saga deletes its own leftover before creating the snapshot (delete before
//! create), cleans orphaned `clone-*` snapshots on the way, and deletes its snapshot as a
//! real step, retried like any other, not in a best-effort deferred cleanup.

use crate::bugs::{CLONE_SNAPSHOT_NOT_IDEMPOTENT, CLONE_UNSERIALIZED};
use crate::calls::{already_done, StepError};
use crate::host::{HostError, HostReply, HostRequest};
use crate::ids::VmId;
use crate::names::{clone_snapshot, is_clone_snapshot};
use crate::sagas::SagaContext;
use crate::store::{StoreError, StoreReply, Transaction, VmState};

/// Runs the CloneVM saga; `Ok(false)` when the source is gone or never ran (refused for good).
pub async fn clone_vm(saga: &SagaContext, source: VmId, target: VmId) -> Result<bool, StepError> {
    let source_row = match saga.store(Transaction::GetVm(source)).await {
        Ok(StoreReply::Vm(row)) if row.state == VmState::Running => row,
        Ok(StoreReply::Vm(_)) | Err(StepError::Store(StoreError::NotFound)) => return Ok(false),
        Ok(_) => return Err(StepError::Protocol),
        Err(error) => return Err(error),
    };
    let host = source_row.host;
    saga.store(Transaction::InsertVm(target, host)).await?;
    let StoreReply::Ip(ip) = saga.store(Transaction::AllocateIp(target)).await? else {
        return Err(StepError::Protocol);
    };
    saga.fault_point("clone_vm.after_target_row").await?;
    let name = clone_snapshot(saga.claim.expect("a clone runs as a job").job);
    if saga.bug(CLONE_SNAPSHOT_NOT_IDEMPOTENT) {
        // clone-snapshot-not-idempotent (seed 000): create without looking for a leftover; the
        // cleanup is a deferred best effort that a crash or a refused call skips.
        saga.host(host, HostRequest::CreateSnapshot { source, name: name.clone(), fence: saga.fence() }).await?;
        saga.fault_point("clone_vm.after_snapshot_create").await?;
        let cloned = saga.host(host, HostRequest::Clone { source, snapshot: name.clone(), target, ip }).await;
        saga.fault_point("clone_vm.after_clone").await?;
        let cleanup =
            saga.host(host, HostRequest::DeleteSnapshot { source, name: name.clone(), fence: saga.fence() }).await;
        if let Err(error) = cleanup {
            saga.node.step(format!("snapshot cleanup failed: {name} on {source}: {error}"));
        }
        cloned?;
    } else {
        prepare_snapshot(saga, host, source, &name).await?;
        saga.fault_point("clone_vm.after_snapshot_create").await?;
        let cloned = saga.host(host, HostRequest::Clone { source, snapshot: name.clone(), target, ip }).await;
        if let Err(StepError::Host(HostError::Gone)) = cloned {
            // The target was deleted before the clone ran: clean up and give the target back.
            saga.host(host, HostRequest::RetireSnapshot { source, name: name.clone(), fence: saga.fence() }).await?;
            return super::give_back_vm(saga, target, ip).await.map(|()| false);
        }
        cloned?;
        saga.fault_point("clone_vm.after_clone").await?;
        let fence = saga.fence();
        if saga.bug(CLONE_UNSERIALIZED) {
            // clone-unserialized (seed 000): the original cleanup is a deferred best effort; with
            // clones of one source running at once the source is often locked and it fails.
            let deleted = saga.host(host, HostRequest::DeleteSnapshot { source, name: name.clone(), fence }).await;
            if let Err(error) = deleted {
                saga.node.step(format!("snapshot cleanup failed: {name} on {source}: {error}"));
            }
        } else {
            // Retired, not only deleted: a create of this attempt held back in the network must
            // not bring the snapshot back once the job finished.
            saga.host(host, HostRequest::RetireSnapshot { source, name: name.clone(), fence }).await?;
        }
        saga.fault_point("clone_vm.after_snapshot_delete").await?;
    }
    saga.node.step(format!("{target} cloned from {source} on host-{host} at {ip}"));
    saga.store(Transaction::MarkVmRunning(target)).await?;
    Ok(true)
}

/// Delete before create: remove this job's own leftover and any orphaned `clone-*` snapshot
/// (clones of one source are serialized, so no other is in use), then create the snapshot.
async fn prepare_snapshot(saga: &SagaContext, host: u32, source: VmId, name: &str) -> Result<(), StepError> {
    let HostReply::Snapshots(existing) = saga.host(host, HostRequest::ListSnapshots(source)).await? else {
        return Err(StepError::Protocol);
    };
    for snapshot in existing.into_iter().filter(|snapshot| is_clone_snapshot(snapshot)) {
        let deleted =
            saga.host(host, HostRequest::DeleteSnapshot { source, name: snapshot.clone(), fence: saga.fence() }).await;
        if snapshot == name {
            saga.node.sim().sometimes("a clone retry removed its own leftover snapshot", deleted.is_ok());
            already_done(deleted, StepError::Host(HostError::NotFound))?;
        } else if deleted.is_ok() {
            saga.node.step(format!("orphaned snapshot {snapshot} on {source} removed"));
        }
    }
    let created =
        saga.host(host, HostRequest::CreateSnapshot { source, name: name.to_string(), fence: saga.fence() }).await;
    match created {
        // An earlier attempt cloned and retired the snapshot: the clone step finds its target.
        Err(StepError::Host(HostError::Gone)) => Ok(()),
        created => created.map(|_| ()),
    }
}
