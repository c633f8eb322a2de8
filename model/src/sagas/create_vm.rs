//! CreateVM: insert the row, allocate an IP, create on the hypervisor, mark running.
//! Every step is idempotent, so a retry after a crash anywhere converges.

use crate::calls::already_done;
use crate::calls::StepError;
use crate::host::{HostError, HostRequest};
use crate::ids::VmId;
use crate::sagas::SagaContext;
use crate::store::{StoreError, StoreReply, Transaction};

/// Runs the CreateVM saga for `vm` on host `host`; `Ok(false)` when the VM was deleted
/// before it could be created (its row and address are given back).
pub async fn create_vm(saga: &SagaContext, vm: VmId, host: u32) -> Result<bool, StepError> {
    saga.store(Transaction::InsertVm(vm, host)).await?;
    saga.fault_point("create_vm.after_insert").await?;
    let ip = match saga.store(Transaction::AllocateIp(vm)).await {
        Ok(StoreReply::Ip(ip)) => ip,
        Err(StepError::Store(StoreError::PoolExhausted)) => return refuse_without_address(saga, vm).await,
        Ok(_) => return Err(StepError::Protocol),
        Err(error) => return Err(error),
    };
    saga.node.step(format!("{ip} allocated to {vm}"));
    saga.fault_point("create_vm.after_ip_allocate").await?;
    if let Err(error) = saga.host(host, HostRequest::CreateVm { vm, ip }).await {
        return match error {
            StepError::Host(HostError::Gone) => super::give_back_vm(saga, vm, ip).await.map(|()| false),
            error => Err(error),
        };
    }
    saga.node.step(format!("{vm} created on host-{host} at {ip}"));
    saga.fault_point("create_vm.after_hypervisor_create").await?;
    saga.store(Transaction::MarkVmRunning(vm)).await?;
    Ok(true)
}

/// No address is free: the create is refused (as an API answers "insufficient capacity")
/// and its row is given back.
async fn refuse_without_address(saga: &SagaContext, vm: VmId) -> Result<bool, StepError> {
    let deleted = saga.store(Transaction::DeleteVm(vm)).await;
    already_done(deleted, StepError::Store(StoreError::NotFound))?;
    saga.node.step(format!("{vm} refused: the IP pool is exhausted"));
    saga.node.sim().sometimes("a create was refused: the IP pool is exhausted", true);
    Ok(false)
}
