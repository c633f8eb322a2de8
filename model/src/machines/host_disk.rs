//! What a host keeps on its own disk: its machines with their full configurations, its volumes'
//! data, and the machines it has destroyed (so a late placement of one is refused).

use super::config::MachineConfig;
use crate::ids::{Ip, MachineId, VolumeId};
use std::collections::{BTreeMap, BTreeSet};

/// One machine on a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostedMachine {
    /// Its full configuration.
    pub config: MachineConfig,
    /// Its private address.
    pub ip: Ip,
    /// Its volume, if any.
    pub volume: Option<VolumeId>,
    /// Whether it should run (a host that boots starts every such machine again).
    pub running: bool,
}

/// A host's disk.
#[derive(Clone, Debug, Default)]
pub struct HostDisk {
    /// Its machines.
    pub machines: BTreeMap<MachineId, HostedMachine>,
    /// Its volumes and the version of the data on each.
    pub volumes: BTreeMap<VolumeId, u64>,
    /// Machines destroyed here.
    pub destroyed: BTreeSet<MachineId>,
}

impl HostDisk {
    /// The machines that run (or will, once the host boots), in identifier order.
    pub fn running(&self) -> Vec<MachineId> {
        self.machines.iter().filter(|(_, machine)| machine.running).map(|(id, _)| *id).collect()
    }
}
