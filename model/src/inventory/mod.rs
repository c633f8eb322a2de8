//! The replicated VM inventory (seed 001, FiFo's sniffle on riak_core): seven store nodes on a
//! consistent-hashing ring of partitions, three replicas per VM, sloppy quorum with fallbacks
//! and hinted handoff, records that are CRDTs, read repair and active anti-entropy; hypervisor
//! agents that register their VMs with whichever store node they hear first; and the control
//! plane's API writing the fields the agents do not know.

pub mod agent;
pub mod anti_entropy;
pub mod api;
pub mod coordinator;
pub mod fan_out;
pub mod handoff;
pub mod invariants;
pub mod membership;
pub mod operation;
pub mod protocol;
pub mod record;
pub mod ring;
pub mod roster;
pub mod settings;
pub mod status;
pub mod store_node;
pub mod vnodes;
pub mod watch;
pub mod write_log;

pub use operation::InventoryOperation;
pub use settings::InventorySettings;

use self::agent::{Agent, HostedVm};
use self::ring::STORE_NODES;
use self::roster::Roster;
use self::status::Status;
use self::store_node::StoreNode;
use self::vnodes::Vnodes;
use self::watch::Watch;
use self::write_log::WriteLog;
use crate::ids::VmId;
use fleetsim_sim::{BoxFuture, Disk, NodeIndex, Sim, System};
use std::sync::Arc;

/// The fault points the inventory passes.
pub const FAULT_POINTS: [&str; 3] =
    ["inventory.put.before_reply", "inventory.handoff.before_forget", "inventory.exchange.before_repair"];

/// The `sometimes` properties that show a run reached the incident's window.
pub const SOMETIMES: [&str; 7] = [
    "a registration landed on three fallbacks",
    "an API write landed on three fallbacks",
    "a handoff arrived at a vnode holding fields the handed-off record lacks",
    "a handoff reached a key no read repair had touched since it landed on a fallback",
    "a handoff reached a key anti-entropy had not compared since it landed on a fallback",
    "a read repaired a replica",
    "anti-entropy repaired a replica",
];

/// The VMs of host `host`: `vms_per_host` each, numbered from 1 across the hosts.
pub fn hosted_vms(settings: &InventorySettings, host: u32) -> Vec<HostedVm> {
    (0..settings.vms_per_host)
        .map(|offset| {
            let number = host * settings.vms_per_host + offset + 1;
            HostedVm { vm: VmId(number), ram_mb: 1_024 * (1 + number % 4), running: !number.is_multiple_of(3) }
        })
        .collect()
}

/// A booted inventory: its nodes and the durable state the checkers read.
pub struct Inventory {
    sim: Sim,
    roster: Arc<Roster>,
    stores: Vec<Disk<Vnodes>>,
    status: Status,
    log: WriteLog,
}

impl Inventory {
    /// Boots every node in `sim` and registers the invariants.
    pub fn boot(sim: &Sim, settings: InventorySettings) -> Self {
        let roster = Arc::new(Roster::from_first(sim.nodes().len() as u32, STORE_NODES, settings.hosts as usize));
        let (status, watch, log) = (Status::new(settings.hosts as usize), Watch::default(), WriteLog::default());
        let stores: Vec<Disk<Vnodes>> = (0..STORE_NODES).map(|_| Disk::new(Vnodes::default())).collect();
        for (position, vnodes) in stores.iter().enumerate() {
            let (status, watch) = (status.clone(), watch.clone());
            let started_before = Arc::default();
            let store = StoreNode {
                position,
                roster: roster.clone(),
                vnodes: vnodes.clone(),
                status,
                watch,
                settings,
                started_before,
            };
            assert_eq!(store_node::boot(sim, store), roster.stores[position]);
        }
        for host in 0..settings.hosts {
            let vms = Disk::new(hosted_vms(&settings, host));
            let agent = Agent {
                host: host as usize,
                roster: roster.clone(),
                vms,
                status: status.clone(),
                log: log.clone(),
                settings,
            };
            assert_eq!(agent::boot(sim, agent), roster.agents[host as usize]);
        }
        assert_eq!(sim.add_node("api", |_| async {}), roster.api);
        sim.register_invariant(invariants::no_lost_fields(log.clone(), stores.clone()));
        sim.register_invariant(invariants::replicas_converge(stores.clone()));
        Self { sim: sim.clone(), roster, stores, status, log }
    }

    /// The write history: every acknowledged field.
    pub fn write_log(&self) -> &WriteLog {
        &self.log
    }

    /// Store node `position`'s partitions, as on its disk.
    pub fn store(&self, position: usize) -> &Disk<Vnodes> {
        &self.stores[position]
    }
}

impl System for Inventory {
    type Operation = InventoryOperation;

    fn client(&self) -> NodeIndex {
        self.roster.api
    }

    fn describe(&self, operation: &InventoryOperation) -> String {
        operation.to_string()
    }

    fn issue(&self, operation: InventoryOperation) -> BoxFuture<()> {
        api::issue(self.sim.clone(), self.roster.clone(), self.log.clone(), operation)
    }

    fn settled(&self) -> bool {
        self.status.all_connected() && invariants::converged(&self.stores).is_ok()
    }
}
