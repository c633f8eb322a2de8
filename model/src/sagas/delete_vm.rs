//! DeleteVM: destroy on the hypervisor, then release the IP, then delete the row. The row
//! stays until everything else is done, so a retry always knows what is left to do.

use crate::bugs::{DELETE_NOT_IDEMPOTENT, IP_RELEASED_BEFORE_DESTROY};
use crate::calls::{already_done, StepError};
use crate::host::{HostError, HostRequest};
use crate::ids::VmId;
use crate::sagas::SagaContext;
use crate::store::{StoreError, StoreReply, Transaction, VmRow};

/// Runs the DeleteVM saga for `vm`.
pub async fn delete_vm(saga: &SagaContext, vm: VmId) -> Result<(), StepError> {
    let row = match saga.store(Transaction::GetVm(vm)).await {
        Ok(StoreReply::Vm(row)) => row,
        // delete-not-idempotent (seed 000): a retry that finds the row gone fails instead of succeeding.
        Err(StepError::Store(StoreError::NotFound)) if !saga.bug(DELETE_NOT_IDEMPOTENT) => return Ok(()),
        Ok(_) => return Err(StepError::Protocol),
        Err(error) => return Err(error),
    };
    saga.fault_point("delete_vm.before_first_step").await?;
    if saga.bug(IP_RELEASED_BEFORE_DESTROY) {
        // ip-released-before-destroy (seed 000): the address and the row go first, the machine last.
        release_ip(saga, &row).await?;
        delete_row(saga, vm).await?;
        saga.fault_point("delete_vm.after_db_delete").await?;
        destroy(saga, &row).await
    } else {
        destroy(saga, &row).await?;
        saga.fault_point("delete_vm.after_destroy").await?;
        release_ip(saga, &row).await?;
        saga.fault_point("delete_vm.after_ip_release").await?;
        delete_row(saga, vm).await
    }
}

/// Where the fixed model treats "already done" as success, `delete-not-idempotent` fails.
fn tolerate<T>(saga: &SagaContext, result: Result<T, StepError>, done: StepError) -> Result<(), StepError> {
    // delete-not-idempotent (seed 000): "not found" / "already free" is an error on retry.
    if saga.bug(DELETE_NOT_IDEMPOTENT) {
        result.map(|_| ())
    } else {
        already_done(result, done)
    }
}

async fn destroy(saga: &SagaContext, row: &VmRow) -> Result<(), StepError> {
    let destroyed = saga.host(row.host, HostRequest::DestroyVm(row.vm)).await;
    tolerate(saga, destroyed, StepError::Host(HostError::NotFound))?;
    saga.node.step(format!("{} destroyed on host-{}", row.vm, row.host));
    Ok(())
}

async fn release_ip(saga: &SagaContext, row: &VmRow) -> Result<(), StepError> {
    let Some(ip) = row.ip else { return Ok(()) };
    let released = saga.store(Transaction::ReleaseIp(ip, row.vm)).await;
    tolerate(saga, released, StepError::Store(StoreError::AlreadyFree))?;
    saga.node.step(format!("{ip} released from {}", row.vm));
    Ok(())
}

async fn delete_row(saga: &SagaContext, vm: VmId) -> Result<(), StepError> {
    let deleted = saga.store(Transaction::DeleteVm(vm)).await;
    tolerate(saga, deleted, StepError::Store(StoreError::NotFound))?;
    saga.node.step(format!("{vm} row deleted"));
    Ok(())
}
