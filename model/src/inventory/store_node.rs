//! A store node: it hosts its partitions (and fallbacks), coordinates quorum reads and writes,
//! and runs membership, announcements, handoff and anti-entropy in the background.

use super::protocol::{AnnounceRpc, StoreReply, StoreRequest, StoreRpc};
use super::record::Record;
use super::ring::{owner, STORE_NODES};
use super::roster::Roster;
use super::settings::InventorySettings;
use super::status::Status;
use super::vnodes::Vnodes;
use super::watch::Watch;
use super::{anti_entropy, coordinator, handoff, membership};
use crate::ids::VmId;
use fleetsim_sim::{BoxFuture, Disk, Handler, NodeContext, NodeIndex, Sim};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// What a store node is given at boot; it outlives every crash.
#[derive(Clone)]
pub struct StoreNode {
    /// Its ring position.
    pub position: usize,
    /// Every node of the run.
    pub roster: Arc<Roster>,
    /// Its partitions, on disk.
    pub vnodes: Disk<Vnodes>,
    /// The god's view of beliefs, where it writes its own.
    pub status: Status,
    /// The god's view of the incident's window.
    pub watch: Watch,
    /// Shape and timing.
    pub settings: InventorySettings,
    /// Whether the node has started before in this run: the ring formed before the run began, so
    /// a node's first start sees every peer up; after a crash it sees only itself until its pings
    /// are answered.
    pub started_before: Arc<AtomicBool>,
}

/// One incarnation of a store node: what it knows until it crashes.
#[derive(Clone)]
pub struct Running {
    /// The node's context.
    pub node: NodeContext,
    /// What it was given at boot.
    pub store: StoreNode,
    /// Its endpoint for calling peers.
    pub peers: StoreRpc,
    /// Its endpoint for announcing itself to agents.
    pub announcer: AnnounceRpc,
    reachable: Arc<Mutex<[bool; STORE_NODES]>>,
}

impl Running {
    fn reachable_lock(&self) -> MutexGuard<'_, [bool; STORE_NODES]> {
        self.reachable.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The store nodes this node believes are up (itself always).
    pub fn reachable(&self) -> [bool; STORE_NODES] {
        *self.reachable_lock()
    }

    /// Replaces what this node believes is up, and mirrors it to the god's view.
    pub fn set_reachable(&self, reachable: [bool; STORE_NODES]) {
        *self.reachable_lock() = reachable;
        self.store.status.set_reachable(self.store.position, reachable);
    }

    /// The node index of the store node at ring position `position`.
    pub fn store_index(&self, position: usize) -> NodeIndex {
        self.store.roster.stores[position]
    }

    /// Merges `update` into this node's copy of `vm` in `vnode`, durably.
    pub async fn merge_local(&self, vnode: u32, vm: VmId, update: &Record) {
        let store = &self.store;
        if owner(vnode) != store.position {
            store.watch.on_fallback(vm, self.node.now_ms());
        }
        store.vnodes.commit(&self.node, |vnodes| vnodes.merge(vnode, vm, update));
        store.vnodes.sync(&self.node).await;
    }
}

/// Adds store node `position` to `sim`.
pub fn boot(sim: &Sim, store: StoreNode) -> NodeIndex {
    let name = format!("store-{}", store.position);
    sim.add_node(&name, move |node| {
        let store = store.clone();
        async move { start(node, store).await }
    })
}

async fn start(node: NodeContext, store: StoreNode) {
    let mut reachable = [!store.started_before.swap(true, Ordering::Relaxed); STORE_NODES];
    reachable[store.position] = true;
    store.status.set_reachable(store.position, reachable);
    let running = Running {
        peers: StoreRpc::bind_client(&node).await,
        announcer: AnnounceRpc::bind_client(&node).await,
        node: node.clone(),
        store,
        reachable: Arc::new(Mutex::new(reachable)),
    };
    let serving = running.clone();
    let handler: Handler<StoreRequest, StoreReply> =
        Arc::new(move |from, request| Box::pin(serve(serving.clone(), from, request)) as BoxFuture<StoreReply>);
    let _endpoint = StoreRpc::bind(&node, Some(handler)).await;
    madsim::task::spawn(membership::run(running.clone()));
    madsim::task::spawn(membership::announce(running.clone()));
    madsim::task::spawn(handoff::run(running.clone()));
    anti_entropy::run(running).await;
}

async fn serve(running: Running, from: NodeIndex, request: StoreRequest) -> StoreReply {
    match request {
        StoreRequest::Ping => StoreReply::Pong,
        StoreRequest::Put { vm, update, purpose } => coordinator::put(&running, vm, update, purpose).await,
        StoreRequest::Get { vm } => coordinator::get(&running, vm).await,
        StoreRequest::Register { host, vms } => coordinator::register(&running, from, &host, vms).await,
        StoreRequest::Replicate { vnode, vm, update } => {
            running.merge_local(vnode, vm, &update).await;
            StoreReply::Written
        }
        StoreRequest::Fetch { vnode, vm } => {
            StoreReply::Value(running.store.vnodes.read(|vnodes| vnodes.get(vnode, vm).cloned()))
        }
        StoreRequest::Handoff { vnode, entries } => handoff::receive(&running, vnode, entries).await,
        StoreRequest::Exchange { vnode, first, digests } => anti_entropy::answer(&running, vnode, first, &digests),
    }
}
