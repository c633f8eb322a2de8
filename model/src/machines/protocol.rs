//! The machine platform's messages: what the control plane and the proxy ask a host, what
//! tenants and the proxy ask the control plane, and what machines ask the queue. A leaf module:
//! the nodes and their callers import it.

use super::catalog::{HostStatus, MachineState};
use super::config::{App, IncompleteConfig, MachineConfig};
use crate::ids::{DeployId, HostId, Ip, MachineId, SnapshotId, VolumeId};
use fleetsim_sim::Rpc;

/// A request to a host.
#[derive(Clone, Debug, Hash)]
pub enum HostRequest {
    /// A heartbeat: are you there, and what runs on you?
    Heartbeat,
    /// Create and start a machine.
    Place {
        /// The machine.
        machine: MachineId,
        /// Its full configuration.
        config: MachineConfig,
        /// Its address.
        ip: Ip,
        /// Its volume, which the host creates if it lacks it.
        volume: Option<VolumeId>,
    },
    /// Start or stop a machine.
    SetRunning {
        /// The machine.
        machine: MachineId,
        /// Start it (or stop it).
        running: bool,
    },
    /// Destroy a machine (idempotent: destroying one that is gone succeeds).
    Destroy {
        /// The machine.
        machine: MachineId,
    },
    /// Restart a machine on a new release (a deploy step).
    Update {
        /// The machine.
        machine: MachineId,
        /// The release.
        release: u32,
    },
    /// The full configuration of a machine.
    GetConfig {
        /// The machine.
        machine: MachineId,
    },
    /// The data version of a volume, to snapshot it.
    Snapshot {
        /// The volume.
        volume: VolumeId,
    },
    /// Create a volume holding a snapshot's data.
    RestoreVolume {
        /// The new volume.
        volume: VolumeId,
        /// The snapshot's data version.
        data_version: u64,
    },
    /// A request the proxy routed to a machine.
    Serve {
        /// The machine.
        machine: MachineId,
        /// The route the control plane chose, as the platform's records name it.
        route: u64,
    },
}

/// A host's answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HostReply {
    /// The heartbeat's answer: the machines present on the host, running or not.
    Alive {
        /// Every machine on the host.
        machines: Vec<MachineId>,
    },
    /// Done.
    Done,
    /// The machine is not on this host.
    NoSuchMachine,
    /// The machine was destroyed here; it is not placed again.
    AlreadyDestroyed,
    /// A machine's full configuration.
    Config(MachineConfig),
    /// A volume's data version.
    DataVersion(u64),
    /// The volume is not on this host.
    NoSuchVolume,
    /// The machine served the request.
    Served,
}

/// What a tenant asks the control plane's machine API, and what the proxy asks it.
#[derive(Clone, Debug, Hash)]
pub enum ControlRequest {
    /// Every machine of an app, as `ListMachines` answers.
    List {
        /// The app.
        app: App,
    },
    /// One machine, as `GetMachine` answers.
    Get {
        /// The machine.
        machine: MachineId,
    },
    /// Create a machine of `app` on a reachable host (with a new volume, or `volume`).
    Create {
        /// The app.
        app: App,
        /// An existing volume to attach (on its host); none: a new one if the app has volumes.
        volume: Option<VolumeId>,
    },
    /// Clone a machine: the same configuration, on a reachable host.
    Clone {
        /// The machine cloned.
        source: MachineId,
    },
    /// Start or stop a machine.
    SetRunning {
        /// The machine.
        machine: MachineId,
        /// Start it (or stop it).
        running: bool,
    },
    /// `DestroyMachine`, with or without `force`.
    Destroy {
        /// The machine.
        machine: MachineId,
        /// Destroy it although its host is unreachable.
        force: bool,
    },
    /// Create a volume from a volume's latest snapshot, on a reachable host.
    RestoreVolume {
        /// The volume whose latest snapshot is used.
        volume: VolumeId,
    },
    /// Start a rolling deploy of an app's next release.
    Deploy {
        /// The app.
        app: App,
    },
    /// The proxy asks where to send a request for `app`.
    Route {
        /// The app.
        app: App,
    },
}

/// A machine as `ListMachines` shows it (without its configuration).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MachineSummary {
    /// The machine.
    pub id: MachineId,
    /// Its state.
    pub state: MachineState,
    /// Its host.
    pub host: HostId,
    /// Its host's health.
    pub host_status: HostStatus,
    /// Its volume.
    pub volume: Option<VolumeId>,
}

/// A machine as `GetMachine` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MachineView {
    /// The machine.
    pub id: MachineId,
    /// Its state.
    pub state: MachineState,
    /// Its host.
    pub host: HostId,
    /// Its host's health.
    pub host_status: HostStatus,
    /// Its full configuration, fetched from its host; `None` when the host did not answer.
    pub config: Option<MachineConfig>,
    /// The scrubbed copy, given when `config` is not.
    pub incomplete_config: Option<IncompleteConfig>,
    /// Its volume.
    pub volume: Option<VolumeId>,
}

/// The control plane's answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ControlReply {
    /// `ListMachines`: the app's alive machines.
    Machines(Vec<MachineSummary>),
    /// `GetMachine`.
    Machine(Box<MachineView>),
    /// A machine was created (or cloned) and runs.
    Created(MachineId),
    /// Done.
    Done,
    /// The destroy was accepted: the machine is destroyed, or destroying until its host answers.
    Destroy(MachineState),
    /// A volume was restored from a snapshot.
    Restored {
        /// The new volume.
        volume: VolumeId,
        /// The snapshot used.
        snapshot: SnapshotId,
    },
    /// A deploy was started.
    Deploying(DeployId),
    /// Where the proxy sends the request: a started machine on a reachable host.
    Route {
        /// The machine.
        machine: MachineId,
        /// Its host.
        host: HostId,
        /// The route's number.
        route: u64,
    },
    /// Refused, and why.
    Refused(String),
}

/// What a machine asks the queue, and what a tenant asks the proxy.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EdgeRequest {
    /// A worker machine takes the next message.
    Take {
        /// The machine.
        machine: MachineId,
    },
    /// A tenant's user sends a request to an app through the proxy.
    Request {
        /// The app.
        app: App,
    },
}

/// The queue's or the proxy's answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EdgeReply {
    /// The message handed out.
    Message(u64),
    /// The request was served by `machine`.
    Served(MachineId),
    /// It could not be done, and why.
    Failed(String),
}

/// A host's endpoint.
pub type HostRpc = Rpc<HostRequest, HostReply>;
/// The control plane's endpoint.
pub type ControlRpc = Rpc<ControlRequest, ControlReply>;
/// The queue's and the proxy's endpoints.
pub type EdgeRpc = Rpc<EdgeRequest, EdgeReply>;
