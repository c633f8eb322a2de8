//! StartInstance (as omicron's instance-start saga): give the instance a new VMM (advancing
//! its generation), register it with a host, charge provisioning, ask the host to run it.
//! If the host does not answer in time, unwind: release the charge, unregister, clear the
//! VMM. A worker crash resumes the saga from the instance row, which records the VMM.

use crate::calls::StepError;
use crate::host::{HostError, HostRequest};
use crate::ids::{InstanceId, VmmId};
use crate::sagas::SagaContext;
use crate::store::{StoreError, StoreReply, Transaction};
use crate::unwind_log::Unwound;

/// Runs the StartInstance saga.
pub async fn start_instance(saga: &SagaContext, instance: InstanceId) -> Result<(), StepError> {
    // No shortcut for a running instance: a monitor may have marked it running while an
    // unwind released its charge, so every idempotent step runs again.
    let StoreReply::Instance(row) = saga.store(Transaction::GetInstance(instance)).await? else {
        return Err(StepError::Protocol);
    };
    let hosts = saga.topology.hosts.len() as u64;
    let host_wanted = ((u64::from(instance.0) + row.generation) % hosts) as u32;
    let StoreReply::Instance(row) = saga.store(Transaction::SetVmm(instance, host_wanted)).await? else {
        return Err(StepError::Protocol);
    };
    let (vmm, host) = row.vmm.ok_or(StepError::Protocol)?;
    let generation = row.generation;
    saga.node.step(format!("{instance} gets {vmm} on host-{host} at generation {generation}"));
    saga.fault_point("start_instance.after_set_vmm").await?;
    let registered =
        saga.host(host, HostRequest::RegisterInstance { instance, vmm, generation, fence: saga.fence() }).await;
    if let Err(error @ StepError::Host(HostError::Gone)) = registered {
        // The VMM was destroyed by an unwind of an earlier attempt: drop it, start anew.
        unwind(saga, instance, vmm, host, generation).await?;
        return Err(error);
    }
    registered?;
    saga.fault_point("start_instance.after_register").await?;
    let charged = saga.store(Transaction::Charge(instance, generation)).await;
    if let Err(error @ StepError::Store(StoreError::Released)) = charged {
        // An unwind of an earlier attempt released this generation: finish it, start anew.
        unwind(saga, instance, vmm, host, generation).await?;
        return Err(error);
    }
    charged?;
    saga.node.step(format!("{instance} charged at generation {generation}"));
    saga.fault_point("start_instance.after_charge").await?;
    match saga.host(host, HostRequest::EnsureRunning { instance, vmm, fence: saga.fence() }).await {
        Ok(_) => {
            saga.store(Transaction::MarkInstanceRunning(instance, vmm)).await?;
            Ok(())
        }
        Err(error @ (StepError::Store(StoreError::StaleClaim) | StepError::Host(HostError::Fenced))) => Err(error),
        Err(error) => {
            saga.node.step(format!("{instance} did not come up in {vmm} ({error}): unwinding"));
            unwind(saga, instance, vmm, host, generation).await?;
            saga.node.sim().sometimes("a start saga unwound after a timeout", error == StepError::Timeout);
            Err(error)
        }
    }
}

/// The undo steps of a start, in reverse order of the actions.
async fn unwind(
    saga: &SagaContext,
    instance: InstanceId,
    vmm: VmmId,
    host: u32,
    generation: u64,
) -> Result<(), StepError> {
    saga.undo("release provisioning", || async {
        saga.store(Transaction::Release(instance, generation)).await.map(|_| ())
    })
    .await?;
    saga.node.step(format!("{instance} released at generation {generation}"));
    saga.fault_point("start_instance.unwind.after_release").await?;
    saga.undo("unregister", || async {
        saga.host(host, HostRequest::EnsureUnregistered { instance, vmm, fence: saga.fence() }).await.map(|_| ())
    })
    .await?;
    saga.fault_point("start_instance.unwind.after_unregister").await?;
    saga.undo("clear vmm", || async { saga.store(Transaction::ClearVmm(instance, vmm)).await.map(|_| ()) }).await?;
    saga.node.step(format!("{instance} unwound: {vmm} cleared"));
    saga.unwinds.record(saga.node.sim(), Unwound { instance, vmm, host, generation });
    Ok(())
}
