//! StopInstance: unregister (destroying the VMM), release the charge, clear the VMM.

use crate::calls::StepError;
use crate::host::HostRequest;
use crate::ids::InstanceId;
use crate::sagas::SagaContext;
use crate::store::{StoreReply, Transaction};

/// Runs the StopInstance saga.
pub async fn stop_instance(saga: &SagaContext, instance: InstanceId) -> Result<(), StepError> {
    let StoreReply::Instance(row) = saga.store(Transaction::GetInstance(instance)).await? else {
        return Err(StepError::Protocol);
    };
    let Some((vmm, host)) = row.vmm else { return Ok(()) };
    saga.host(host, HostRequest::EnsureUnregistered { instance, vmm, fence: saga.fence() }).await?;
    saga.fault_point("stop_instance.after_unregister").await?;
    saga.store(Transaction::Release(instance, row.generation)).await?;
    saga.fault_point("stop_instance.after_release").await?;
    saga.store(Transaction::ClearVmm(instance, vmm)).await?;
    saga.node.step(format!("{instance} stopped: {vmm} destroyed, released at generation {}", row.generation));
    Ok(())
}
