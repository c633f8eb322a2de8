//! The event pipeline of seed 004 ("the hidden bugs of distributed systems"): a source (the
//! control plane) that emits VM lifecycle events at least once and out of order into a stream, a
//! collector that reads the stream page by page through a cursor, a consumer whose workers keep a
//! tenant dashboard (live items and usage per tenant) in a store with row locks and a deadlock
//! detector, a cache with a TTL in front of an item API, and tenants of very different sizes.

pub mod client;
pub mod consumer;
pub mod event;
pub mod invariants;
pub mod item_cache;
pub mod items_api;
pub mod ledger;
pub mod locks;
pub mod operation;
pub mod projection;
pub mod protocol;
pub mod scheduler;
pub mod settings;
pub mod source;
pub mod stream;
pub mod truth;

pub use operation::EventsOperation;
pub use settings::EventsSettings;

use self::consumer::Consumer;
use self::event::Event;
use self::ledger::Ledger;
use self::projection::{Projection, Row};
use self::source::Source;
use self::truth::{TrueItem, Truth};
use fleetsim_sim::{BoxFuture, Disk, NodeIndex, Sim, System};

/// The fault points the pipeline passes.
pub const FAULT_POINTS: [&str; 1] = [consumer::BEFORE_COMMIT];

/// A handler recognized an event already applied, or overtaken by a newer one, and skipped it.
pub const REPEATED_RECOGNIZED: &str = "a repeated or overtaken event was recognized and skipped";
/// A deletion reached the handler before its item's creation and was kept as a tombstone.
pub const TOMBSTONE_KEPT: &str = "a deletion arrived before its creation and was kept as a tombstone";
/// A transaction waited for a row lock another held.
pub const LOCK_WAITED: &str = "a transaction waited for a row lock another transaction held";
/// A small tenant's event arrived behind a whale's backlog.
pub const BEHIND_WHALE: &str = "a small tenant's event was queued behind 50 or more of a whale's";
/// The store's deadlock detector aborted a transaction (never, in the fixed pipeline).
pub const DEADLOCK_FOUND: &str = "the store's deadlock detector aborted a transaction";

/// The `sometimes` properties that show a run reached the write-up's situations.
pub const SOMETIMES: [&str; 4] = [REPEATED_RECOGNIZED, TOMBSTONE_KEPT, LOCK_WAITED, BEHIND_WHALE];

/// The items every tenant has at the start, as both the source and the dashboard know them (the
/// dashboard was filled from the source before the run, its cursor at the stream's start).
fn initial_items(settings: &EventsSettings) -> (Truth, Projection) {
    let (mut truth, mut projection) = (Truth::default(), Projection::default());
    for tenant in settings.tenants() {
        let count = if settings.is_small(tenant) { settings.small_items } else { settings.whale_items };
        for offset in 0..count {
            let item = truth.new_item();
            let units = 1 + (item.0 + offset) % 4;
            truth.items.insert(item, TrueItem { tenant, version: 1, units, live: true });
            projection.rows.insert(item, Row { tenant, version: 1, units, live: true });
            let usage = projection.usage.entry(tenant).or_default();
            usage.items += 1;
            usage.units += i64::from(units);
        }
    }
    (truth, projection)
}

/// A booted pipeline: its nodes and the state the checkers read.
pub struct Events {
    sim: Sim,
    source: NodeIndex,
    tenants: NodeIndex,
    truth: Disk<Truth>,
    log: Disk<Vec<Event>>,
    projection: Disk<Projection>,
    ledger: Ledger,
    settled_from_ms: u64,
}

impl Events {
    /// Boots every node in `sim` and registers the invariants.
    pub fn boot(sim: &Sim, settings: EventsSettings) -> Self {
        let (truth, projection) = initial_items(&settings);
        let (truth, projection, log) = (Disk::new(truth), Disk::new(projection), Disk::new(Vec::new()));
        let ledger = Ledger::default();
        let first = sim.nodes().len() as u32;
        let (stream, items) = (NodeIndex(first + 1), NodeIndex(first + 3));
        let source = Source { truth: truth.clone(), stream, ledger: ledger.clone(), settings };
        let source = source::boot(sim, source);
        assert_eq!(stream::boot(sim, log.clone(), settings), stream);
        let consumer = Consumer { projection: projection.clone(), stream, items, ledger: ledger.clone(), settings };
        consumer::boot(sim, consumer);
        assert_eq!(items_api::boot(sim, ledger.clone(), settings), items);
        let tenants = sim.add_node("tenants", |_| async {});
        sim.register_invariant(invariants::projection_consistent(truth.clone(), projection.clone()));
        sim.register_invariant(invariants::projection_fresh(ledger.clone(), projection.clone(), settings));
        sim.register_invariant(invariants::no_deadlock(ledger.clone(), settings));
        let limits = sim.limits();
        let steady_from_ms = limits.chaos_ms + limits.heal_ms + settings.item_ttl_ms;
        sim.register_invariant(invariants::backend_rate(sim.clone(), ledger.clone(), settings, steady_from_ms));
        sim.register_invariant(invariants::tenant_wait(ledger.clone(), settings));
        let settled_from_ms = steady_from_ms + settings.item_ttl_ms;
        Self { sim: sim.clone(), source, tenants, truth, log, projection, ledger, settled_from_ms }
    }

    /// The god's view of timing.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }
}

impl System for Events {
    type Operation = EventsOperation;

    fn client(&self) -> NodeIndex {
        self.tenants
    }

    fn describe(&self, operation: &EventsOperation) -> String {
        operation.to_string()
    }

    fn issue(&self, operation: EventsOperation) -> BoxFuture<()> {
        client::issue(self.sim.clone(), self.tenants, self.source, operation)
    }

    /// Settled when every event left the outbox, the collector has read the whole log, the queue
    /// is empty and the store reflects every emitted event, and the steady state `backend-rate` judges
    /// has lasted one TTL.
    fn settled(&self) -> bool {
        if self.sim.now_ms() < self.settled_from_ms {
            return false;
        }
        let published = self.truth.read(|truth| truth.outbox.is_empty());
        let length = self.log.read(Vec::len) as u64;
        published
            && self.projection.read(|projection| {
                let drained = projection.queue.is_empty() && projection.cursor >= length;
                drained && self.ledger.all_emitted(|event| projection.reflects(event))
            })
    }
}
