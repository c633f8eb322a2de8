//! The inventory's messages: what clients, agents and store nodes ask a store node, and what
//! store nodes announce to agents. A leaf module: the nodes and their callers import it.

use super::record::Record;
use crate::ids::VmId;
use fleetsim_sim::Rpc;
use std::fmt;

/// Keys and their records, as handoffs, anti-entropy and registrations carry them; traces list
/// only the keys.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Entries(pub Vec<(VmId, Record)>);

impl fmt::Debug for Entries {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<String> = self.0.iter().map(|(vm, _)| vm.to_string()).collect();
        write!(formatter, "[{}]", keys.join(", "))
    }
}

/// Why a write was registered, for the coverage properties that tell the incident's window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// The control plane's API wrote fields.
    Api,
    /// An agent registered a VM after a start or a reconnect.
    Registration,
    /// An agent reported a state change.
    Update,
}

/// A request to a store node.
#[derive(Clone, Debug, Hash)]
pub enum StoreRequest {
    /// Are you there? (membership pings, agents' heartbeats)
    Ping,
    /// Coordinate a quorum write of `update` to `vm`'s replicas.
    Put {
        /// The key.
        vm: VmId,
        /// The fields to write (merged into each replica).
        update: Record,
        /// Who writes, and why.
        purpose: Purpose,
    },
    /// Coordinate a quorum read of `vm`, repairing replicas that differ.
    Get {
        /// The key.
        vm: VmId,
    },
    /// Register an agent's VMs with this node as their coordinator: one write per VM.
    Register {
        /// The agent's host, by name.
        host: String,
        /// Each VM and the fields the hypervisor knows of it.
        vms: Entries,
    },
    /// Merge `update` into this node's copy of partition `vnode` (a replica write or a repair).
    Replicate {
        /// The partition.
        vnode: u32,
        /// The key.
        vm: VmId,
        /// What to merge in.
        update: Record,
    },
    /// Read this node's copy of `vm` in partition `vnode`.
    Fetch {
        /// The partition.
        vnode: u32,
        /// The key.
        vm: VmId,
    },
    /// A fallback hands off what it holds of partition `vnode` to the partition's owner.
    Handoff {
        /// The partition.
        vnode: u32,
        /// Everything the fallback held of it.
        entries: Entries,
    },
    /// Anti-entropy: the digests of the keys whose home is `first`, as the asking primary holds
    /// them; the answer carries this node's records that differ, in partition `vnode`.
    Exchange {
        /// This node's partition to compare.
        vnode: u32,
        /// The home partition of the keys compared.
        first: u32,
        /// Key digests of the asking node.
        digests: Vec<(VmId, u64)>,
    },
}

/// A store node's answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StoreReply {
    /// Here.
    Pong,
    /// A quorum acknowledged the write (or a replica merged it).
    Written,
    /// Too few replicas answered in time: the write may or may not have landed.
    Unavailable,
    /// What a quorum (or one replica) holds of the key.
    Value(Option<Record>),
    /// A registration's outcome: the VMs a quorum acknowledged.
    Registered(Vec<VmId>),
    /// The owner merged the handoff.
    HandedOff,
    /// Anti-entropy: the records that differ from the digests sent, and the keys this node lacks.
    Differences {
        /// This node's records that differ or that the asking node lacks.
        entries: Entries,
        /// Keys the asking node holds that this node lacks.
        lacking: Vec<VmId>,
    },
}

/// An announcement a store node broadcasts to the agents (as sniffle's mDNS broadcasts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Announcement;

/// The store protocol's endpoint.
pub type StoreRpc = Rpc<StoreRequest, StoreReply>;
/// The agents' endpoint for announcements.
pub type AnnounceRpc = Rpc<Announcement, ()>;
