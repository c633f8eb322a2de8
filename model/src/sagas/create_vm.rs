//! CreateVM: insert the row, allocate an IP, create on the hypervisor, mark running.
//! Every step is idempotent, so a retry after a crash anywhere converges.

use crate::calls::{host, store, StepError};
use crate::host::HostRequest;
use crate::ids::{HostId, VmId};
use crate::sagas::SagaContext;
use crate::store::{StoreReply, StoreRequest};

/// Runs the CreateVM saga for `vm` on `host_id`.
pub async fn create_vm(saga: &SagaContext, vm: VmId, host_id: HostId) -> Result<(), StepError> {
    let store_node = saga.topology.store;
    store(&saga.rpc, store_node, StoreRequest::InsertVm { vm, host: host_id }).await?;
    saga.node.fault_point("create_vm.after_insert").await?;
    let ip = match store(&saga.rpc, store_node, StoreRequest::AllocateIp { vm }).await? {
        StoreReply::Ip(ip) => ip,
        _ => return Err(StepError::Protocol),
    };
    saga.node.step(format!("{ip} allocated to {vm}"));
    saga.node.fault_point("create_vm.after_ip_allocate").await?;
    host(&saga.rpc, saga.topology.host(host_id), HostRequest::CreateVm { vm, ip }).await?;
    saga.node.step(format!("{vm} created on {host_id} at {ip}"));
    saga.node.fault_point("create_vm.after_hypervisor_create").await?;
    store(&saga.rpc, store_node, StoreRequest::MarkRunning { vm }).await?;
    Ok(())
}
