//! The control plane's durable catalog: hosts and their health, machines with their scrubbed
//! configurations, addresses, volumes, snapshots and deploys.

use super::config::{App, IncompleteConfig};
use crate::ids::{DeployId, HostId, Ip, MachineId, SnapshotId, VolumeId};
use std::collections::BTreeMap;
use std::fmt;

/// A host's health as the control plane judges it from heartbeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HostStatus {
    /// It answered a heartbeat recently.
    Ok,
    /// It answered none for a while.
    Unreachable,
}

impl fmt::Display for HostStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            HostStatus::Ok => "ok",
            HostStatus::Unreachable => "unreachable",
        })
    }
}

/// One host's health record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostHealth {
    /// Ok or unreachable.
    pub status: HostStatus,
    /// The control plane's clock when the host last answered a heartbeat.
    pub answered_ms: u64,
    /// The control plane's clock when it judged the host unreachable.
    pub unreachable_since_ms: u64,
}

/// A machine's state, as in the platform's API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MachineState {
    /// Recorded; its host has not confirmed it runs.
    Created,
    /// Running on its host.
    Started,
    /// Stopped on its host (it keeps its address and volume).
    Stopped,
    /// To be destroyed as soon as its host answers.
    Destroying,
    /// Gone from its host; its address is free.
    Destroyed,
}

impl MachineState {
    /// The state's name in the API.
    pub fn name(self) -> &'static str {
        match self {
            MachineState::Created => "created",
            MachineState::Started => "started",
            MachineState::Stopped => "stopped",
            MachineState::Destroying => "destroying",
            MachineState::Destroyed => "destroyed",
        }
    }

    /// Whether the machine is alive in the API: neither destroying nor destroyed.
    pub fn is_alive(self) -> bool {
        matches!(self, MachineState::Created | MachineState::Started | MachineState::Stopped)
    }
}

impl fmt::Display for MachineState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// One machine's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineRecord {
    /// Its app.
    pub app: App,
    /// The host it was created on.
    pub host: HostId,
    /// Its state.
    pub state: MachineState,
    /// Its private address (kept until the host confirms the machine is gone).
    pub ip: Ip,
    /// The scrubbed copy of its configuration.
    pub incomplete: IncompleteConfig,
    /// Its volume, if its app has them.
    pub volume: Option<VolumeId>,
}

/// One volume's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeRecord {
    /// The host that holds its data.
    pub host: HostId,
    /// The machine it is attached to.
    pub machine: Option<MachineId>,
    /// The snapshot it was created from, if any.
    pub from_snapshot: Option<SnapshotId>,
}

/// A snapshot of a volume, kept off the volume's host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Its name.
    pub id: SnapshotId,
    /// The volume's data version it holds.
    pub data_version: u64,
}

/// How a deploy stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeployState {
    /// Still updating machines.
    Running,
    /// Every machine runs the release.
    Done,
    /// Stopped at a machine it could not update; the reason names it.
    Failed(String),
}

/// One rolling deploy of an app to a release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployRecord {
    /// The app.
    pub app: App,
    /// The release every machine of the app must run.
    pub release: u32,
    /// How it stands.
    pub state: DeployState,
}

/// The control plane's durable state.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    /// Every host's health, by host.
    pub hosts: BTreeMap<HostId, HostHealth>,
    /// Every machine ever created (destroyed ones are kept, as tombstones of the API).
    pub machines: BTreeMap<MachineId, MachineRecord>,
    /// Every address in use, and the machine holding it.
    pub ips: BTreeMap<Ip, MachineId>,
    /// Every volume.
    pub volumes: BTreeMap<VolumeId, VolumeRecord>,
    /// The snapshots of every volume, oldest first.
    pub snapshots: BTreeMap<VolumeId, Vec<Snapshot>>,
    /// Every deploy.
    pub deploys: BTreeMap<DeployId, DeployRecord>,
    /// The current release of each app (what new machines run).
    pub releases: BTreeMap<App, u32>,
    /// The last identifier handed out, of every kind.
    pub last_id: u32,
}

impl Catalog {
    /// A fresh identifier (machines, volumes, snapshots and deploys share one counter).
    pub fn next_id(&mut self) -> u32 {
        self.last_id += 1;
        self.last_id
    }

    /// The lowest free address of a pool of `pool_size`, if any.
    pub fn free_ip(&self, pool_size: u32) -> Option<Ip> {
        (1..=pool_size.min(u32::from(u8::MAX))).map(|number| Ip(number as u8)).find(|ip| !self.ips.contains_key(ip))
    }

    /// The host's status (unknown hosts count as unreachable).
    pub fn host_status(&self, host: HostId) -> HostStatus {
        self.hosts.get(&host).map_or(HostStatus::Unreachable, |health| health.status)
    }

    /// The reachable host with the fewest alive machines (the lowest numbered on ties).
    pub fn emptiest_reachable_host(&self) -> Option<HostId> {
        let load = |host: HostId| {
            self.machines.values().filter(|machine| machine.host == host && machine.state.is_alive()).count()
        };
        let reachable = self.hosts.iter().filter(|(_, health)| health.status == HostStatus::Ok).map(|(host, _)| *host);
        reachable.min_by_key(|host| (load(*host), *host))
    }

    /// The app's machines that are alive, in identifier order.
    pub fn alive_machines(&self, app: App) -> Vec<MachineId> {
        let alive = self.machines.iter().filter(|(_, machine)| machine.app == app && machine.state.is_alive());
        alive.map(|(id, _)| *id).collect()
    }

    /// Marks `machine` destroyed and frees its address and volume attachment.
    pub fn forget(&mut self, machine: MachineId) {
        let Some(record) = self.machines.get_mut(&machine) else { return };
        record.state = MachineState::Destroyed;
        if self.ips.get(&record.ip) == Some(&machine) {
            self.ips.remove(&record.ip);
        }
        if let Some(volume) = record.volume.and_then(|volume| self.volumes.get_mut(&volume)) {
            volume.machine = None;
        }
    }

    /// The latest snapshot of `volume`, if any.
    pub fn latest_snapshot(&self, volume: VolumeId) -> Option<Snapshot> {
        self.snapshots.get(&volume).and_then(|snapshots| snapshots.last().copied())
    }

    /// Whether a deploy of `app` is running.
    pub fn deploying(&self, app: App) -> bool {
        self.deploys.values().any(|deploy| deploy.app == app && deploy.state == DeployState::Running)
    }
}
