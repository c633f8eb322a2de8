//! The consumer: a collector that reads the stream page by page through a cursor and queues what
//! it reads, workers that take events from the queue by tenant and handle them in transactions
//! with row locks, a cache in front of the item API, and the tenant dashboard that renders the
//! oldest live items through that cache.

use super::event::Event;
use super::item_cache::{jitter_ms, ItemCache, Lookup};
use super::ledger::{self, Ledger};
use super::locks::{LockError, Locks, RowKey, TransactionId};
use super::projection::{Applied, HandlerBugs, Projection, Queued};
use super::protocol::{ItemRequest, ItemRpc, StreamReply, StreamRequest, StreamRpc};
use super::scheduler;
use super::settings::EventsSettings;
use crate::bugs::{LOCK_ORDER_INVERTED, STALE_CURSOR_CACHE, TTL_WITHOUT_JITTER, UNFAIR_QUEUE};
use crate::ids::{ItemId, TenantId};
use fleetsim_sim::{Disk, NodeContext, NodeIndex, Sim};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// The fault point between a handler's transaction and its commit.
pub const BEFORE_COMMIT: &str = "events.handle.before_commit";

/// What the consumer is given at boot; it outlives every crash.
#[derive(Clone)]
pub struct Consumer {
    /// Its store.
    pub projection: Disk<Projection>,
    /// The stream's node.
    pub stream: NodeIndex,
    /// The item API's node.
    pub items: NodeIndex,
    /// The god's view of timing.
    pub ledger: Ledger,
    /// Shape, timing and bounds.
    pub settings: EventsSettings,
}

#[derive(Default)]
struct Volatile {
    cache: ItemCache,
    fetching: BTreeSet<ItemId>,
    cursor: Option<(u64, u64)>,
    taken: BTreeSet<u64>,
    last_tenant: Option<TenantId>,
    /// When each queued position arrived: true time and the consumer's downtime then.
    arrived: BTreeMap<u64, (u64, u64)>,
}

/// One incarnation of the consumer: what it knows until it crashes.
#[derive(Clone)]
struct Running {
    node: NodeContext,
    consumer: Consumer,
    volatile: Arc<Mutex<Volatile>>,
    locks: Locks,
    wake: Arc<Notify>,
    transactions: Arc<AtomicU64>,
    items: ItemRpc,
}

impl Running {
    fn volatile(&self) -> MutexGuard<'_, Volatile> {
        self.volatile.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn sim(&self) -> &Sim {
        self.node.sim()
    }

    /// True time and the consumer's downtime so far, to measure waits while it ran.
    fn clock(&self) -> (u64, u64) {
        (self.sim().now_ms(), self.sim().node_down_ms(self.node.index()))
    }
}

/// Adds the consumer to `sim`.
pub fn boot(sim: &Sim, consumer: Consumer) -> NodeIndex {
    sim.add_node("consumer", move |node| {
        let consumer = consumer.clone();
        async move {
            let items = ItemRpc::bind_client(&node).await;
            let running = Running {
                node,
                items,
                consumer,
                volatile: Arc::default(),
                locks: Locks::default(),
                wake: Arc::new(Notify::new()),
                transactions: Arc::default(),
            };
            // Events queued before a crash arrived then; their wait runs from the restart.
            let clock = running.clock();
            let queued: Vec<u64> =
                running.consumer.projection.read(|projection| projection.queue.keys().copied().collect());
            running.volatile().arrived = queued.into_iter().map(|position| (position, clock)).collect();
            for _ in 0..running.consumer.settings.workers {
                madsim::task::spawn(work(running.clone()));
            }
            madsim::task::spawn(dashboard(running.clone()));
            collect(running).await;
        }
    })
}

/// The collector's cursor: from its cache while the entry lives, else from the store (and cached).
fn cursor(running: &Running) -> u64 {
    let now_ms = running.node.now_ms();
    if let Some((cursor, expires_ms)) = running.volatile().cursor {
        if now_ms < expires_ms {
            return cursor;
        }
    }
    let cursor = running.consumer.projection.read(|projection| projection.cursor);
    running.volatile().cursor = Some((cursor, now_ms + running.consumer.settings.cursor_ttl_ms));
    cursor
}

/// Reads the stream page by page and queues what it reads, with the cursor after it, in one write.
async fn collect(running: Running) {
    let settings = running.consumer.settings;
    let stream = StreamRpc::bind_client(&running.node).await;
    loop {
        running.node.sleep_ms(settings.poll_interval_ms).await;
        if running.consumer.projection.read(|projection| projection.queue.len()) >= settings.queue_max {
            continue;
        }
        let from = cursor(&running);
        let request = StreamRequest::Fetch { from, limit: settings.page_size };
        let Ok(StreamReply::Page { events, next }) =
            stream.call(running.consumer.stream, request, settings.call_timeout_ms).await
        else {
            continue;
        };
        if events.is_empty() {
            continue;
        }
        let positions = running.consumer.projection.commit(&running.node, |projection| {
            let first = projection.next_position;
            projection.enqueue(&events);
            projection.cursor = next;
            first..projection.next_position
        });
        running.consumer.projection.sync(&running.node).await;
        let clock = running.clock();
        let mut volatile = running.volatile();
        volatile.arrived.extend(positions.map(|position| (position, clock)));
        if !running.sim().bug(STALE_CURSOR_CACHE) {
            // Fixed: the cache is updated with the cursor the store now holds.
            volatile.cursor = Some((next, running.node.now_ms() + settings.cursor_ttl_ms));
        }
        // stale-cursor-cache: the cursor goes to the store only; the cache keeps the old one.
        drop(volatile);
        running.wake.notify_waiters();
    }
}

/// One worker: takes the next event as the scheduler says and handles it.
async fn work(running: Running) {
    let unfair = running.sim().bug(UNFAIR_QUEUE);
    loop {
        let picked = running.consumer.projection.read(|projection| {
            let mut volatile = running.volatile();
            let picked = scheduler::pick(&projection.queue, &volatile.taken, volatile.last_tenant, unfair);
            if let Some(queued) = picked {
                volatile.taken.insert(queued.position);
                volatile.last_tenant = Some(queued.event.tenant);
            }
            picked
        });
        match picked {
            Some(queued) => {
                handle(&running, queued).await;
                running.volatile().taken.remove(&queued.position);
            }
            None => {
                let _ = madsim::time::timeout(madsim::time::Duration::from_millis(100), running.wake.notified()).await;
            }
        }
    }
}

/// Handles one queued event: the handler's work, the item's details, then a transaction that
/// locks the item's row and its tenant's usage row, applies the event and takes it off the queue.
async fn handle(running: &Running, queued: Queued) {
    let (settings, event) = (running.consumer.settings, queued.event);
    let (now_ms, down_ms) = running.clock();
    let arrived = running.volatile().arrived.get(&queued.position).copied();
    if let (true, Some((arrived_ms, down_then_ms))) = (settings.is_small(event.tenant), arrived) {
        let wait_ms = (now_ms - arrived_ms).saturating_sub(down_ms - down_then_ms);
        let what = || format!("{event:?} waited {wait_ms} ms in the queue from {arrived_ms} ms while the consumer ran");
        running.consumer.ledger.observe(running.sim(), ledger::SMALL_WAIT, wait_ms, what);
        running.sim().state_changed();
        let whales_ahead = running.consumer.projection.read(|projection| {
            projection
                .queue
                .range(..queued.position)
                .filter(|(_, ahead)| !settings.is_small(ahead.event.tenant))
                .count()
        });
        running.sim().sometimes(super::BEHIND_WHALE, whales_ahead >= 50);
    }
    // A repeated or overtaken event is recognized before any work is spent on it, unless the
    // handler does not recognize repeats at all (`event-not-idempotent`).
    let bugs = HandlerBugs::of(running.sim());
    let seen = running
        .consumer
        .projection
        .read(|projection| projection.rows.get(&event.item).is_some_and(|row| row.version >= event.version));
    if bugs.not_idempotent || !seen {
        running.node.sleep_ms(settings.service_ms).await;
        let _details = details(running, event.item, false).await;
    }
    let transaction = TransactionId(running.transactions.fetch_add(1, Ordering::Relaxed) + 1);
    let committed = transact(running, transaction, &queued).await;
    running.locks.release(transaction);
    if let Some(applied) = committed {
        running.volatile().arrived.remove(&queued.position);
        running.consumer.ledger.handled(running.sim(), &event, running.sim().now_ms());
        running.sim().sometimes(super::REPEATED_RECOGNIZED, applied == Applied::Stale);
        running.sim().sometimes(super::TOMBSTONE_KEPT, applied == Applied::Tombstone);
    }
}

/// The rows `event`'s transaction locks, in the order it locks them.
fn lock_order(running: &Running, event: &Event) -> [RowKey; 2] {
    let rows = [RowKey::Item(event.item), RowKey::Usage(event.tenant)];
    if running.sim().bug(LOCK_ORDER_INVERTED) && running.sim().model_rng(|rng| rng.gen_bool(0.5)) {
        // lock-order-inverted: the two updates run at once (as `Promise.all`), so which row is
        // locked first depends on timing: half the transactions lock usage before the item.
        return [rows[1], rows[0]];
    }
    // Fixed: every transaction locks the item's row, then the usage row.
    rows
}

/// Runs the event's transaction; what it applied, or `None` if it was aborted.
async fn transact(running: &Running, transaction: TransactionId, queued: &Queued) -> Option<Applied> {
    let settings = running.consumer.settings;
    for row in lock_order(running, &queued.event) {
        let (asked_ms, down_ms) = running.clock();
        if let Err(LockError::Deadlock(cycle)) = running.locks.lock(transaction, row).await {
            running.sim().sometimes(super::DEADLOCK_FOUND, true);
            running.consumer.ledger.deadlock(format!("the store's deadlock detector aborted {transaction:?}: {cycle}"));
            running.sim().state_changed();
            return None;
        }
        let (granted_ms, down_now_ms) = running.clock();
        let wait_ms = (granted_ms - asked_ms).saturating_sub(down_now_ms - down_ms);
        running.sim().sometimes(super::LOCK_WAITED, granted_ms > asked_ms);
        let what = || format!("{transaction:?} waited {wait_ms} ms for {row} from {asked_ms} ms");
        running.consumer.ledger.observe(running.sim(), ledger::LOCK_WAIT, wait_ms, what);
        running.node.sleep_ms(settings.statement_ms).await;
    }
    running.node.fault_point(BEFORE_COMMIT).await.ok()?;
    let bugs = HandlerBugs::of(running.sim());
    let projection = &running.consumer.projection;
    let applied = projection.commit(&running.node, |projection| {
        projection.queued(queued.position).then(|| projection.apply(queued.position, &queued.event, bugs))
    })?;
    projection.sync(&running.node).await;
    Some(applied)
}

/// `item`'s display name: from the cache, else fetched from the item API (and cached); `None` when
/// the API does not answer. An expired entry is refetched, a missing one fetched; unless `wait`,
/// the fetch runs on its own and the old name (if any) is given at once: a handler never stalls
/// on the API.
async fn details(running: &Running, item: ItemId, wait: bool) -> Option<String> {
    let lookup = running.volatile().cache.get(item, running.node.now_ms());
    let (refetch, old) = match lookup {
        Lookup::Hit(name) => return Some(name),
        Lookup::Expired(name) => (true, Some(name)),
        Lookup::Missing => (false, None),
    };
    if wait {
        return fetch(running, item, refetch).await;
    }
    let fetching = running.clone();
    madsim::task::spawn(async move {
        fetch(&fetching, item, refetch).await;
    });
    old
}

/// Fetches `item` from the item API (one fetch per item at a time) and caches it.
async fn fetch(running: &Running, item: ItemId, refetch: bool) -> Option<String> {
    let settings = running.consumer.settings;
    if !running.volatile().fetching.insert(item) {
        return None;
    }
    let reply =
        running.items.call(running.consumer.items, ItemRequest { item, refetch }, settings.call_timeout_ms).await;
    let mut volatile = running.volatile();
    volatile.fetching.remove(&item);
    let details = reply.ok()?;
    let without_jitter = running.sim().bug(TTL_WITHOUT_JITTER);
    let jitter =
        jitter_ms(settings.item_ttl_ms, without_jitter, |below| running.sim().model_rng(|rng| rng.gen_range(0..below)));
    volatile.cache.set(item, details.name.clone(), running.node.now_ms(), settings.item_ttl_ms, jitter);
    Some(details.name)
}

/// The tenant dashboard: every `dashboard_interval_ms` it renders the oldest `dashboard_items`
/// live items, each through the cache, the expired ones refetched at once.
async fn dashboard(running: Running) {
    loop {
        running.node.sleep_ms(running.consumer.settings.dashboard_interval_ms).await;
        let shown = running.consumer.settings.dashboard_items;
        let items: Vec<ItemId> =
            running.consumer.projection.read(Projection::live_items).into_iter().take(shown).collect();
        let now_ms = running.node.now_ms();
        for item in items {
            let refetch = match running.volatile().cache.get(item, now_ms) {
                Lookup::Hit(_) => continue,
                Lookup::Expired(_) => true,
                Lookup::Missing => false,
            };
            let running = running.clone();
            madsim::task::spawn(async move {
                fetch(&running, item, refetch).await;
            });
        }
    }
}
