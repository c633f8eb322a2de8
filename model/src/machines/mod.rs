//! The machine platform of seed 003 (Fly.io's machines on dead hosts): a control plane that
//! judges hosts' health from heartbeats, machines whose full configuration lives only on their
//! host, force destroy of machines on unreachable hosts (kept `destroying` until the host returns),
//! a proxy that routes only to started machines on reachable hosts, volumes tied to hosts with
//! snapshots kept elsewhere, and rolling deploys that finish although a host is dead.

pub mod api;
pub mod catalog;
pub mod config;
pub mod control;
pub mod deploy;
pub mod host;
pub mod host_disk;
pub mod invariants;
pub mod ledger;
pub mod operation;
pub mod protocol;
pub mod proxy;
pub mod queue;
pub mod roster;
pub mod settings;
pub mod snapshots;
pub mod tenant;

pub use operation::MachinesOperation;
pub use settings::MachinesSettings;

use self::catalog::{
    Catalog, DeployState, HostHealth, HostStatus, MachineRecord, MachineState, Snapshot, VolumeRecord,
};
use self::config::{App, MachineConfig};
use self::control::Control;
use self::host::Host;
use self::host_disk::{HostDisk, HostedMachine};
use self::invariants::View;
use self::ledger::Ledger;
use self::roster::Roster;
use crate::ids::{HostId, Ip, MachineId, SnapshotId, VolumeId};
use fleetsim_sim::{BoxFuture, Disk, NodeIndex, NodeStatus, Sim, System};
use std::sync::Arc;

/// The fault points the platform passes.
pub const FAULT_POINTS: [&str; 3] = [api::BEFORE_PLACE, control::BEFORE_FORGET, deploy::BEFORE_UPDATE];

/// A host came back holding a machine the control plane had kept `destroying`.
pub const HOST_RETURNED_WITH_DESTROYING: &str = "a host returned still holding a machine destroyed through the API";
/// A machine destroyed through the API ran on its returned host, then was destroyed there.
pub const UNDEAD_RETURNED: &str = "a machine destroyed through the API ran undead on its returned host";
/// A force destroy of a machine on an unreachable host was accepted.
pub const FORCE_DESTROY_ACCEPTED: &str = "a force destroy of a machine on an unreachable host was accepted";
/// A destroy was refused because the host's loss was recent.
pub const DESTROY_REFUSED_RECENT: &str = "a destroy was refused because its host was lost only recently";
/// `GetMachine` answered the incomplete configuration of a machine on an unreachable host.
pub const INCOMPLETE_FOR_UNREACHABLE: &str =
    "GetMachine answered incomplete_config for a machine on an unreachable host";
/// A clone of a machine on an unreachable host was refused.
pub const CLONE_OF_DEAD_REFUSED: &str = "a clone of a machine on an unreachable host was refused";
/// A volume was restored from its latest snapshot.
pub const VOLUME_RESTORED: &str = "a volume was restored from its latest snapshot";
/// A deploy replaced a stateless machine on an unreachable host.
pub const DEPLOY_REPLACED: &str = "a deploy replaced a machine on an unreachable host";
/// A deploy failed naming a machine and its volume.
pub const DEPLOY_FAILED_ON_VOLUME: &str = "a deploy failed naming a machine and its volume";

/// The measurement of how long each machine destroyed through the API ran on its reachable
/// host before the host destroyed it.
pub const UNDEAD_MEASUREMENT: &str = "undead_ms";

/// The `sometimes` properties that show a run reached the write-up's situations.
pub fn sometimes() -> Vec<String> {
    let named = [
        HOST_RETURNED_WITH_DESTROYING,
        UNDEAD_RETURNED,
        host::UNDEAD_WORKER,
        FORCE_DESTROY_ACCEPTED,
        DESTROY_REFUSED_RECENT,
        INCOMPLETE_FOR_UNREACHABLE,
        CLONE_OF_DEAD_REFUSED,
        VOLUME_RESTORED,
        DEPLOY_REPLACED,
        DEPLOY_FAILED_ON_VOLUME,
    ];
    named.map(String::from).to_vec()
}

/// The fleet at the start of a run: machines of every app spread over the hosts, databases with
/// a volume each, every volume with a first snapshot.
fn initial_fleet(settings: &MachinesSettings) -> (Catalog, Vec<HostDisk>) {
    let mut catalog = Catalog::default();
    let mut disks = vec![HostDisk::default(); settings.hosts as usize];
    let health = HostHealth { status: HostStatus::Ok, answered_ms: 0, unreachable_since_ms: 0 };
    catalog.hosts = (0..settings.hosts).map(|host| (HostId(host), health)).collect();
    let apps = [App::Web, App::Web, App::Web, App::Db, App::Db, App::Worker, App::Worker];
    for (position, app) in apps.into_iter().enumerate() {
        let host = HostId(position as u32 % settings.hosts);
        let machine = MachineId(catalog.next_id());
        let ip = Ip(position as u8 + 1);
        let config = MachineConfig { app, release: 1, memory_mb: 256, secret: format!("secret-of-{machine}") };
        let volume = app.has_volume().then(|| VolumeId(catalog.next_id()));
        if let Some(volume) = volume {
            catalog.volumes.insert(volume, VolumeRecord { host, machine: Some(machine), from_snapshot: None });
            let snapshot = Snapshot { id: SnapshotId(catalog.next_id()), data_version: 0 };
            catalog.snapshots.insert(volume, vec![snapshot]);
            disks[host.0 as usize].volumes.insert(volume, 0);
        }
        let record =
            MachineRecord { app, host, state: MachineState::Started, ip, incomplete: config.scrubbed(), volume };
        catalog.machines.insert(machine, record);
        catalog.ips.insert(ip, machine);
        disks[host.0 as usize].machines.insert(machine, HostedMachine { config, ip, volume, running: true });
    }
    catalog.releases = App::ALL.into_iter().map(|app| (app, 1)).collect();
    (catalog, disks)
}

/// A booted machine platform: its nodes and the state the checkers read.
pub struct Machines {
    sim: Sim,
    roster: Arc<Roster>,
    catalog: Disk<Catalog>,
    ledger: Ledger,
    view: View,
}

impl Machines {
    /// Boots every node in `sim` and registers the invariants.
    pub fn boot(sim: &Sim, settings: MachinesSettings) -> Self {
        let roster = Arc::new(Roster::from_first(sim.nodes().len() as u32, settings.hosts));
        let (catalog, disks) = initial_fleet(&settings);
        let ledger = Ledger::default();
        for disk in &disks {
            for (machine, hosted) in &disk.machines {
                ledger.created(*machine, hosted.config.clone());
            }
        }
        let catalog = Disk::new(catalog);
        let control = Control { catalog: catalog.clone(), roster: roster.clone(), ledger: ledger.clone(), settings };
        assert_eq!(control::boot(sim, control), roster.control);
        assert_eq!(proxy::boot(sim, roster.clone(), settings), roster.proxy);
        assert_eq!(queue::boot(sim), roster.queue);
        assert_eq!(sim.add_node("tenant", |_| async {}), roster.tenant);
        let hosts: Vec<Disk<HostDisk>> = disks.into_iter().map(Disk::new).collect();
        for (number, disk) in hosts.iter().enumerate() {
            let host = Host {
                id: HostId(number as u32),
                disk: disk.clone(),
                roster: roster.clone(),
                ledger: ledger.clone(),
                settings,
            };
            assert_eq!(host::boot(sim, host), roster.hosts[number]);
        }
        let view = View {
            sim: sim.clone(),
            roster: roster.clone(),
            hosts,
            catalog: catalog.clone(),
            ledger: ledger.clone(),
            undead_grace_ms: settings.undead_grace_ms,
        };
        sim.register_invariant(invariants::no_undead(view.clone()));
        sim.register_invariant(invariants::unique_ip(view.clone()));
        sim.register_invariant(invariants::deploys_finish(view.clone()));
        sim.register_invariant(invariants::config_answered(ledger.clone()));
        Self { sim: sim.clone(), roster, catalog, ledger, view }
    }

    /// What tenants were told and what the hosts did.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The control plane's catalog.
    pub fn catalog(&self) -> &Disk<Catalog> {
        &self.catalog
    }
}

impl System for Machines {
    type Operation = MachinesOperation;

    fn client(&self) -> NodeIndex {
        self.roster.tenant
    }

    fn describe(&self, operation: &MachinesOperation) -> String {
        operation.to_string()
    }

    fn issue(&self, operation: MachinesOperation) -> BoxFuture<()> {
        tenant::issue(self.sim.clone(), self.roster.clone(), self.ledger.clone(), operation)
    }

    /// Settled when no deploy runs, no placement is open, every host that exists answers, no
    /// machine waits `destroying` on a reachable host, and no destroyed machine runs.
    fn settled(&self) -> bool {
        if self.view.destroyed_machine_runs() {
            return false;
        }
        let hosts_back = self.roster.hosts.iter().enumerate().all(|(number, index)| {
            let lost = self.sim.node_status(*index) == NodeStatus::Lost;
            lost || self.catalog.read(|catalog| catalog.host_status(HostId(number as u32)) == HostStatus::Ok)
        });
        hosts_back
            && self.catalog.read(|catalog| {
                let deploys_done = catalog.deploys.values().all(|deploy| deploy.state != DeployState::Running);
                let machines_done = catalog.machines.values().all(|machine| match machine.state {
                    MachineState::Created => false,
                    MachineState::Destroying => catalog.host_status(machine.host) == HostStatus::Unreachable,
                    _ => true,
                });
                deploys_done && machines_done
            })
    }
}
