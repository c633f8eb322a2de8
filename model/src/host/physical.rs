//! What is physically on a host: VMs, snapshots, VMMs and instance registrations. It
//! survives a crash of the agent process.

use crate::ids::{InstanceId, Ip, VmId, VmmId};
use fleetsim_sim::Table;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A VM as it runs on a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PhysicalVm {
    /// The VM.
    pub vm: VmId,
    /// The address it answers on.
    pub ip: Ip,
}

/// Whether a VMM runs yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VmmState {
    /// Registered; not set up yet.
    Registered,
    /// Set up and running.
    Running,
}

/// A VMM on a host, with the instance generation it was registered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhysicalVmm {
    /// The instance it runs.
    pub instance: InstanceId,
    /// The generation the control plane registered it with.
    pub generation: u64,
    /// Whether it runs.
    pub state: VmmState,
}

/// Everything physically on one host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostData {
    /// Running VMs by id.
    pub vms: Table<VmId, PhysicalVm>,
    /// VMs destroyed here: a VM id is never created again, so a late or duplicated create
    /// cannot bring a deleted VM back.
    pub destroyed_vms: BTreeSet<VmId>,
    /// Snapshots by source VM.
    pub snapshots: Table<VmId, BTreeSet<String>>,
    /// VMMs by id.
    pub vmms: Table<VmmId, PhysicalVmm>,
    /// VMMs destroyed here: a VMM id is used for one start only and never comes back.
    pub destroyed_vmms: BTreeSet<VmmId>,
    /// The highest fencing token seen per instance: an operation with a lower one comes from a
    /// worker whose claim was taken over, and is refused.
    pub instance_fences: BTreeMap<InstanceId, u64>,
    /// The highest fencing token seen per snapshot name (names are per job, so only the
    /// attempts of one job share one): a create or delete with a lower one is refused.
    #[serde(default)]
    pub snapshot_fences: BTreeMap<String, u64>,
    /// Snapshot names deleted for good: they are never created again.
    #[serde(default)]
    pub retired_snapshots: BTreeSet<String>,
}

impl HostData {
    /// Admits an instance operation made under `fence` (none: the reconciler's, which acts
    /// only on confirmed orphans) and remembers the highest token; refuses a stale one.
    pub fn admit(&mut self, instance: InstanceId, fence: Option<u64>) -> bool {
        let Some(fence) = fence else { return true };
        let highest = self.instance_fences.entry(instance).or_insert(0);
        if fence < *highest {
            return false;
        }
        *highest = fence;
        true
    }

    /// Admits a snapshot operation on `name` made under `fence` (none: the reconciler's) and
    /// remembers the highest token; refuses a stale one.
    pub fn admit_snapshot(&mut self, name: &str, fence: Option<u64>) -> bool {
        let Some(fence) = fence else { return true };
        let highest = self.snapshot_fences.entry(name.to_string()).or_insert(0);
        if fence < *highest {
            return false;
        }
        *highest = fence;
        true
    }

    /// Every snapshot on the host as (source, name).
    pub fn snapshot_list(&self) -> Vec<(VmId, String)> {
        self.snapshots
            .iter()
            .flat_map(|(source, names)| names.iter().map(move |name| (*source, name.clone())))
            .collect()
    }
}
