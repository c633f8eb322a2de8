//! DeleteVM: destroy on the hypervisor, then release the IP, then delete the row. The row
//! stays until everything else is done, so a retry always knows what is left to do.

use crate::calls::{already_done, host, store, StepError};
use crate::host::{HostError, HostRequest};
use crate::ids::VmId;
use crate::sagas::SagaContext;
use crate::store::{StoreError, StoreReply, StoreRequest};

/// Runs the DeleteVM saga for `vm`; every step treats "already done" as success.
pub async fn delete_vm(saga: &SagaContext, vm: VmId) -> Result<(), StepError> {
    let row = match store(&saga.rpc, saga.topology.store, StoreRequest::GetVm { vm }).await {
        Ok(StoreReply::Vm(row)) => row,
        Err(StepError::Store(StoreError::NotFound)) => return Ok(()),
        Ok(_) => return Err(StepError::Protocol),
        Err(error) => return Err(error),
    };
    saga.node.fault_point("delete_vm.before_destroy").await?;
    let destroy = host(&saga.rpc, saga.topology.host(row.host), HostRequest::DestroyVm { vm }).await;
    already_done(destroy, StepError::Host(HostError::NotFound))?;
    saga.node.step(format!("{vm} destroyed on {}", row.host));
    saga.node.fault_point("delete_vm.after_destroy").await?;
    if let Some(ip) = row.ip {
        let release = store(&saga.rpc, saga.topology.store, StoreRequest::ReleaseIp { ip, vm }).await.map(|_| ());
        already_done(release, StepError::Store(StoreError::AlreadyFree))?;
        saga.node.step(format!("{ip} released from {vm}"));
    }
    saga.node.fault_point("delete_vm.after_ip_release").await?;
    let delete = store(&saga.rpc, saga.topology.store, StoreRequest::DeleteVm { vm }).await.map(|_| ());
    already_done(delete, StepError::Store(StoreError::NotFound))?;
    saga.node.step(format!("{vm} row deleted"));
    Ok(())
}
