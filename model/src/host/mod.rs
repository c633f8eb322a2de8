//! A hypervisor host and its agent. Physical state (what runs, which snapshots exist) is
//! durable across an agent crash; the agent's process state (locks, in-flight operations,
//! VMM monitors) is not.

pub mod monitor;
mod physical;

pub use physical::{HostData, PhysicalVm, PhysicalVmm, VmmState};

use crate::ids::{InstanceId, Ip, VmId, VmmId};
use crate::message::{ModelRpc, Reply, Request};
use fleetsim_sim::{Disk, Handler, NodeContext, NodeIndex};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// What a snapshot operation does to the name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SnapshotChange {
    Create,
    Delete,
    Retire,
}

/// The `sometimes` property of a host refusing an operation whose fencing token is stale.
pub const FENCED_AT_HOST: &str = "a host fenced off a stale operation";

/// Longest snapshot creation or deletion, holding the source.
pub const SNAPSHOT_MS_MAX: u64 = 40;
/// Longest clone, holding the source (longer than a call timeout: callers may give up).
pub const CLONE_MS_MAX: u64 = 400;
/// Longest VMM set-up under the instance lock (longer than a call timeout).
pub const VMM_SETUP_MS_MAX: u64 = 400;

/// A request to a hypervisor agent.
#[derive(Clone, Debug, Hash)]
pub enum HostRequest {
    /// Start `vm` on `ip`; the same VM already there with that address is success.
    CreateVm {
        /// The VM.
        vm: VmId,
        /// Its address.
        ip: Ip,
    },
    /// Destroy `vm` and its snapshots.
    DestroyVm(VmId),
    /// Snapshot `source` as `name`; refused while another operation holds the source.
    CreateSnapshot {
        /// The VM.
        source: VmId,
        /// The snapshot's name.
        name: String,
        /// The job claim's fencing token.
        fence: Option<u64>,
    },
    /// Delete a snapshot; refused while another operation holds the source.
    DeleteSnapshot {
        /// The VM.
        source: VmId,
        /// The snapshot's name.
        name: String,
        /// The job claim's fencing token (none from the reconciler).
        fence: Option<u64>,
    },
    /// Delete a snapshot for good: its name can never be created again, so a create held back
    /// in the network cannot bring it back. Done when it is gone already.
    RetireSnapshot {
        /// The VM.
        source: VmId,
        /// The snapshot's name.
        name: String,
        /// The job claim's fencing token.
        fence: Option<u64>,
    },
    /// The snapshots of `source`.
    ListSnapshots(VmId),
    /// Clone `source` from its snapshot into a new VM `target` at `ip`, holding the source.
    Clone {
        /// The VM cloned.
        source: VmId,
        /// The snapshot cloned from.
        snapshot: String,
        /// The new VM.
        target: VmId,
        /// Its address.
        ip: Ip,
    },
    /// Register `instance` in `vmm` with the generation the control plane gives it.
    RegisterInstance {
        /// The instance.
        instance: InstanceId,
        /// Its new VMM.
        vmm: VmmId,
        /// The instance generation.
        generation: u64,
        /// The job claim's fencing token.
        fence: Option<u64>,
    },
    /// Set up and run the VMM, under the instance lock; starts its monitor.
    EnsureRunning {
        /// The instance.
        instance: InstanceId,
        /// Its VMM.
        vmm: VmmId,
        /// The job claim's fencing token.
        fence: Option<u64>,
    },
    /// Destroy the VMM and forget the registration, under the instance lock.
    EnsureUnregistered {
        /// The instance.
        instance: InstanceId,
        /// Its VMM.
        vmm: VmmId,
        /// The job claim's fencing token (none from the reconciler).
        fence: Option<u64>,
    },
    /// Everything on the host, for the reconciler.
    Inventory,
}

/// Why an agent refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum HostError {
    /// No such VM, snapshot or VMM.
    #[error("the host has no such VM, snapshot or VMM")]
    NotFound,
    /// It exists already (differently, or by that name).
    #[error("it exists already on the host")]
    AlreadyExists,
    /// Another operation holds the source VM.
    #[error("another operation holds the source VM")]
    SourceLocked,
    /// The VM or VMM was destroyed; it cannot be created or registered again.
    #[error("it was destroyed and cannot come back")]
    Gone,
    /// The operation's fencing token is older than one the host has seen for the instance.
    #[error("fenced: the host has seen a newer token for the instance")]
    Fenced,
}

/// What the reconciler reads from a host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct HostInventory {
    /// Running VMs.
    pub vms: Vec<PhysicalVm>,
    /// Snapshots as (source, name).
    pub snapshots: Vec<(VmId, String)>,
    /// VMMs as (vmm, instance).
    pub vmms: Vec<(VmmId, InstanceId)>,
}

/// An agent's reply.
#[derive(Clone, Debug, Hash)]
pub enum HostReply {
    /// Done.
    Done,
    /// Snapshot names.
    Snapshots(Vec<String>),
    /// Everything on the host.
    Inventory(HostInventory),
    /// Refused; nothing changed.
    Refused(HostError),
}

/// The agent process's volatile state: gone with a crash.
#[derive(Default)]
pub struct AgentProcess {
    busy_sources: Mutex<BTreeSet<VmId>>,
    instance_locks: Mutex<BTreeMap<InstanceId, Arc<tokio::sync::Mutex<()>>>>,
}

impl AgentProcess {
    fn instance_lock(&self, instance: InstanceId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.instance_locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        locks.entry(instance).or_default().clone()
    }

    /// Takes the source for one operation, or says it is held.
    fn take_source(&self, source: VmId) -> bool {
        self.busy_sources.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(source)
    }

    fn free_source(&self, source: VmId) {
        self.busy_sources.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&source);
    }
}

/// Everything an agent's handler works with.
#[derive(Clone)]
pub struct Agent {
    /// The agent's node.
    pub node: NodeContext,
    /// Its endpoint (monitors report through it).
    pub rpc: ModelRpc,
    /// The physical host.
    pub disk: Disk<HostData>,
    /// The process state.
    pub process: Arc<AgentProcess>,
    /// The store node, where monitors report.
    pub store: NodeIndex,
}

/// Starts an agent on `node`: binds its endpoint with the request handler.
pub async fn start_agent(node: NodeContext, disk: Disk<HostData>, store: NodeIndex) -> ModelRpc {
    let process = Arc::new(AgentProcess::default());
    let slot: Arc<Mutex<Option<Agent>>> = Arc::new(Mutex::new(None));
    let handler_slot = slot.clone();
    let handler: Handler<Request, Reply> = Arc::new(move |_caller, request| {
        let agent = handler_slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        Box::pin(async move {
            match (agent, request) {
                (Some(agent), Request::Host(request)) => Reply::Host(agent.handle(request).await),
                _ => Reply::Unsupported,
            }
        })
    });
    let rpc = ModelRpc::bind(&node, Some(handler)).await;
    *slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
        Some(Agent { node, rpc: rpc.clone(), disk, process, store });
    rpc
}

impl Agent {
    fn millis(&self, max: u64) -> u64 {
        self.node.sim().model_rng(|rng| rng.gen_range(1..=max))
    }

    async fn handle(&self, request: HostRequest) -> HostReply {
        let reply = self.serve(request).await;
        if matches!(reply, HostReply::Refused(HostError::Fenced)) {
            self.node.sim().sometimes(FENCED_AT_HOST, true);
        }
        reply
    }

    async fn serve(&self, request: HostRequest) -> HostReply {
        match request {
            HostRequest::CreateVm { vm, ip } => self.commit(|data| create_vm(data, vm, ip)),
            HostRequest::DestroyVm(vm) => self.commit(|data| destroy_vm(data, vm)),
            HostRequest::CreateSnapshot { source, name, fence } => {
                self.snapshot_operation(source, name, fence, SnapshotChange::Create).await
            }
            HostRequest::DeleteSnapshot { source, name, fence } => {
                self.snapshot_operation(source, name, fence, SnapshotChange::Delete).await
            }
            HostRequest::RetireSnapshot { source, name, fence } => {
                self.snapshot_operation(source, name, fence, SnapshotChange::Retire).await
            }
            HostRequest::ListSnapshots(source) => self.disk.read(|data| {
                HostReply::Snapshots(
                    data.snapshots.get(&source).map(|names| names.iter().cloned().collect()).unwrap_or_default(),
                )
            }),
            HostRequest::Clone { source, snapshot, target, ip } => self.clone_vm(source, snapshot, target, ip).await,
            HostRequest::RegisterInstance { instance, vmm, generation, fence } => self.commit(|data| {
                if !data.admit(instance, fence) {
                    return HostReply::Refused(HostError::Fenced);
                }
                if data.destroyed_vmms.contains(&vmm) {
                    return HostReply::Refused(HostError::Gone);
                }
                if !data.vmms.contains_key(&vmm) {
                    data.vmms.insert(vmm, PhysicalVmm { instance, generation, state: VmmState::Registered });
                }
                HostReply::Done
            }),
            HostRequest::EnsureRunning { instance, vmm, fence } => self.ensure_running(instance, vmm, fence).await,
            HostRequest::EnsureUnregistered { instance, vmm, fence } => {
                self.ensure_unregistered(instance, vmm, fence).await
            }
            HostRequest::Inventory => self.disk.read(|data| {
                HostReply::Inventory(HostInventory {
                    vms: data.vms.values().copied().collect(),
                    snapshots: data.snapshot_list(),
                    vmms: data.vmms.iter().map(|(vmm, physical)| (*vmm, physical.instance)).collect(),
                })
            }),
        }
    }

    fn commit(&self, change: impl FnOnce(&mut HostData) -> HostReply) -> HostReply {
        self.disk.commit(&self.node, change)
    }

    /// Creates or deletes a snapshot while holding the source for a short while.
    async fn snapshot_operation(
        &self,
        source: VmId,
        name: String,
        fence: Option<u64>,
        change: SnapshotChange,
    ) -> HostReply {
        if !self.process.take_source(source) {
            self.node.sim().sometimes("a snapshot operation was refused: source locked", true);
            return HostReply::Refused(HostError::SourceLocked);
        }
        self.node.sleep_ms(self.millis(SNAPSHOT_MS_MAX)).await;
        let reply = self.commit(|data| {
            if !data.vms.contains_key(&source) {
                return HostReply::Refused(HostError::NotFound);
            }
            // A create held back in the network past a later attempt's delete must not bring
            // the snapshot back: every attempt's fencing token is higher than the last one's.
            if !data.admit_snapshot(&name, fence) {
                return HostReply::Refused(HostError::Fenced);
            }
            if change == SnapshotChange::Create && data.retired_snapshots.contains(&name) {
                return HostReply::Refused(HostError::Gone);
            }
            if change == SnapshotChange::Retire {
                data.retired_snapshots.insert(name.clone());
            }
            let names = data.snapshots.get_or_insert_with(source, BTreeSet::new);
            let changed =
                if change == SnapshotChange::Create { names.insert(name.clone()) } else { names.remove(&name) };
            match (changed, change) {
                (true, _) | (false, SnapshotChange::Retire) => HostReply::Done,
                (false, SnapshotChange::Create) => HostReply::Refused(HostError::AlreadyExists),
                (false, SnapshotChange::Delete) => HostReply::Refused(HostError::NotFound),
            }
        });
        self.process.free_source(source);
        reply
    }

    /// Clones a VM from one of its snapshots, holding the source the whole time.
    async fn clone_vm(&self, source: VmId, snapshot: String, target: VmId, ip: Ip) -> HostReply {
        if self.disk.read(|data| data.vms.get(&target).is_some_and(|existing| existing.ip == ip)) {
            return HostReply::Done;
        }
        if !self.process.take_source(source) {
            self.node.sim().sometimes("a clone was refused: source locked", true);
            return HostReply::Refused(HostError::SourceLocked);
        }
        self.node.sleep_ms(self.millis(CLONE_MS_MAX)).await;
        let reply = self.commit(|data| {
            let has_snapshot = data.snapshots.get(&source).is_some_and(|names| names.contains(&snapshot));
            if !data.vms.contains_key(&source) || !has_snapshot {
                return HostReply::Refused(HostError::NotFound);
            }
            create_vm(data, target, ip)
        });
        self.process.free_source(source);
        reply
    }

    async fn ensure_running(&self, instance: InstanceId, vmm: VmmId, fence: Option<u64>) -> HostReply {
        let lock = self.process.instance_lock(instance);
        let _held = lock.lock().await;
        if !self.disk.commit(&self.node, |data| data.admit(instance, fence)) {
            return HostReply::Refused(HostError::Fenced);
        }
        let Some(physical) = self.disk.read(|data| data.vmms.get(&vmm).copied()) else {
            return HostReply::Refused(HostError::NotFound);
        };
        if physical.state == VmmState::Running {
            return HostReply::Done;
        }
        self.node.sleep_ms(self.millis(VMM_SETUP_MS_MAX)).await;
        self.commit(|data| {
            if let Some(physical) = data.vmms.get_mut(&vmm) {
                physical.state = VmmState::Running;
            }
            HostReply::Done
        });
        self.node.step(format!("{vmm} of {instance} runs (registered at generation {})", physical.generation));
        monitor::spawn(self.clone(), instance, vmm, physical.generation);
        HostReply::Done
    }

    async fn ensure_unregistered(&self, instance: InstanceId, vmm: VmmId, fence: Option<u64>) -> HostReply {
        let lock = self.process.instance_lock(instance);
        let _held = lock.lock().await;
        if !self.disk.commit(&self.node, |data| data.admit(instance, fence)) {
            self.node.sim().sometimes("a stale worker's instance operation was fenced off at the host", true);
            return HostReply::Refused(HostError::Fenced);
        }
        self.commit(|data| {
            data.vmms.remove(&vmm);
            data.destroyed_vmms.insert(vmm);
            HostReply::Done
        });
        self.node.step(format!("{vmm} of {instance} unregistered and destroyed"));
        HostReply::Done
    }
}

fn create_vm(data: &mut HostData, vm: VmId, ip: Ip) -> HostReply {
    if data.destroyed_vms.contains(&vm) {
        return HostReply::Refused(HostError::Gone);
    }
    match data.vms.get(&vm) {
        Some(existing) if existing.ip == ip => HostReply::Done,
        Some(_) => HostReply::Refused(HostError::AlreadyExists),
        None => {
            data.vms.insert(vm, PhysicalVm { vm, ip });
            HostReply::Done
        }
    }
}

fn destroy_vm(data: &mut HostData, vm: VmId) -> HostReply {
    data.snapshots.remove(&vm);
    data.destroyed_vms.insert(vm);
    match data.vms.remove(&vm) {
        Some(_) => HostReply::Done,
        None => HostReply::Refused(HostError::NotFound),
    }
}
