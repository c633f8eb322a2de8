//! The source of the events: the control plane's item records and its outbox. A change and its
//! event are one durable write; a publisher sends every event not yet acknowledged to the stream
//! again and again, each on its own, so the stream gets them at least once and not in order.

use super::event::{Action, Event};
use super::ledger::Ledger;
use super::operation::EventsOperation;
use super::protocol::{SourceReply, SourceRpc, StreamReply, StreamRequest, StreamRpc};
use super::settings::EventsSettings;
use super::truth::Truth;
use crate::ids::EventId;
use fleetsim_sim::{BoxFuture, Disk, Handler, NodeContext, NodeIndex, Sim};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What the source is given at boot; it outlives every crash.
#[derive(Clone)]
pub struct Source {
    /// Its disk.
    pub truth: Disk<Truth>,
    /// The stream's node.
    pub stream: NodeIndex,
    /// The god's view of what happened.
    pub ledger: Ledger,
    /// Shape and timing.
    pub settings: EventsSettings,
}

/// Adds the source to `sim`.
pub fn boot(sim: &Sim, source: Source) -> NodeIndex {
    sim.add_node("source", move |node| {
        let source = source.clone();
        async move {
            // What is on the disk at a start is durable; later events once their write is synced.
            let durable = Arc::new(AtomicU64::new(source.truth.read(|truth| truth.last_event)));
            let (serving, context, synced) = (source.clone(), node.clone(), durable.clone());
            let handler: Handler<EventsOperation, SourceReply> = Arc::new(move |_, request| {
                let (source, node, synced) = (serving.clone(), context.clone(), synced.clone());
                Box::pin(async move { change(&node, &source, &synced, request).await }) as BoxFuture<SourceReply>
            });
            let _endpoint = SourceRpc::bind(&node, Some(handler)).await;
            publish(node, source, durable).await;
        }
    })
}

/// Applies one change and emits its events, durably, before it answers; then lets the
/// publisher have them (an event published before its write is durable could outlive it).
async fn change(node: &NodeContext, source: &Source, durable: &AtomicU64, request: EventsOperation) -> SourceReply {
    let events: Vec<Event> = source.truth.commit(node, |truth| match request {
        EventsOperation::Create { tenant, units } => {
            let item = truth.new_item();
            vec![truth.emit(tenant, item, Action::Created, units)]
        }
        EventsOperation::Flash { tenant, units } => {
            let item = truth.new_item();
            vec![truth.emit(tenant, item, Action::Created, units), truth.emit(tenant, item, Action::Deleted, units)]
        }
        EventsOperation::Update { tenant, pick, units } => {
            let live = truth.live_items(tenant);
            if live.is_empty() {
                return Vec::new();
            }
            let item = live[pick as usize % live.len()];
            vec![truth.emit(tenant, item, Action::Updated, units)]
        }
        EventsOperation::Delete { tenant, pick } => {
            let live = truth.live_items(tenant);
            if live.is_empty() {
                return Vec::new();
            }
            let item = live[pick as usize % live.len()];
            let units = truth.items[&item].units;
            vec![truth.emit(tenant, item, Action::Deleted, units)]
        }
        EventsOperation::Burst { tenant, creates } => (0..creates)
            .map(|step| {
                let item = truth.new_item();
                truth.emit(tenant, item, Action::Created, 1 + step % 4)
            })
            .collect(),
    });
    source.truth.sync(node).await;
    if let Some(last) = events.last() {
        durable.fetch_max(last.id.0, Ordering::Relaxed);
    }
    let now_ms = node.sim().now_ms();
    for event in &events {
        source.ledger.emitted(event, now_ms);
    }
    match events.first() {
        Some(first) => SourceReply::Emitted { first: first.id, count: events.len() as u32 },
        None => SourceReply::Nothing,
    }
}

/// Longest pause before an event's next publish attempt.
const RETRY_MS_MAX: u64 = 2_000;

/// An outbox event's publishing: whether a call is out, and when the next may start.
#[derive(Clone, Copy, Debug, Default)]
struct Attempts {
    in_flight: bool,
    failed: u32,
    next_ms: u64,
}

/// Every `publish_interval_ms`, sends each durable outbox event whose turn it is to the stream, each in
/// a call of its own; an acknowledged one leaves the outbox, an unacknowledged one is tried again
/// after a pause that doubles with each failure (up to `RETRY_MS_MAX`), so an unreachable stream
/// is not flooded with copies.
async fn publish(node: NodeContext, source: Source, durable: Arc<AtomicU64>) {
    let attempts: Arc<Mutex<BTreeMap<EventId, Attempts>>> = Arc::default();
    let stream = StreamRpc::bind_client(&node).await;
    loop {
        node.sleep_ms(source.settings.publish_interval_ms).await;
        let durable_through = EventId(durable.load(Ordering::Relaxed));
        let pending: Vec<Event> =
            source.truth.read(|truth| truth.outbox.range(..=durable_through).map(|(_, event)| *event).collect());
        let now_ms = node.now_ms();
        for event in pending {
            {
                let mut attempts = attempts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let entry = attempts.entry(event.id).or_default();
                if entry.in_flight || now_ms < entry.next_ms {
                    continue;
                }
                entry.in_flight = true;
            }
            let (node, source, attempts, stream) = (node.clone(), source.clone(), attempts.clone(), stream.clone());
            madsim::task::spawn(async move {
                let reply =
                    stream.call(source.stream, StreamRequest::Publish(event), source.settings.call_timeout_ms).await;
                let appended = reply == Ok(StreamReply::Appended);
                if appended {
                    source.truth.commit(&node, |truth| truth.outbox.remove(&event.id));
                }
                let mut attempts = attempts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if appended {
                    attempts.remove(&event.id);
                } else if let Some(entry) = attempts.get_mut(&event.id) {
                    entry.failed += 1;
                    let pause_ms = (source.settings.call_timeout_ms << entry.failed.min(8)).min(RETRY_MS_MAX);
                    (entry.in_flight, entry.next_ms) = (false, node.now_ms() + pause_ms);
                }
            });
        }
    }
}
