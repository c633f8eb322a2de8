//! The RPC layer: typed requests over madsim endpoints, one dispatcher per endpoint,
//! per-call timeouts, and the nemesis's drop, delay and duplication applied per message.

use crate::network::Route;
use crate::node::{NodeContext, NodeIndex};
use crate::trace::{hash_of, EventKind, LazyWords};
use crate::world::Sim;
use madsim::net::Endpoint;
use madsim::time::Duration;
use std::fmt::{Debug, Write};
use std::hash::Hash;
use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;

const RPC_TAG: u64 = 0x00F1_EE75;

/// A message type the RPC layer can carry. Its `Hash` stands in for its text in the trace hash
/// and its `Debug` text is made only for the events the trace keeps; it is cloned when a kept
/// event still shows it as it is handed over.
pub trait Message: Clone + Debug + Hash + Send + Sync + 'static {}
impl<T: Clone + Debug + Hash + Send + Sync + 'static> Message for T {}

/// A boxed future a handler returns.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Serves one request from a node: the caller's index and the request, to the reply.
pub type Handler<Request, Reply> = Arc<dyn Fn(NodeIndex, Request) -> BoxFuture<Reply> + Send + Sync>;

/// Why a call has no reply. The outcome of such a call is unknown: it may have run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// No reply within the call's timeout.
    #[error("timed out: outcome unknown")]
    Timeout,
}

/// Tells the four message events apart in the trace hash.
#[derive(Clone, Copy, Hash)]
enum Leg {
    SendCall,
    DeliverCall,
    SendReply,
    DeliverReply,
}

/// A message, shared with the trace events that show it, and its hash.
struct Shown<Message> {
    message: Arc<Message>,
    hash: u64,
}

impl<Message: Hash> Shown<Message> {
    fn new(message: Message) -> Self {
        let hash = hash_of(&message);
        Self { message: Arc::new(message), hash }
    }
}

impl<Message: Clone> Shown<Message> {
    /// The message itself, copied only if a kept trace event still shows it.
    fn into_message(self) -> Message {
        Arc::unwrap_or_clone(self.message)
    }
}

impl<Message> Clone for Shown<Message> {
    fn clone(&self) -> Self {
        Self { message: self.message.clone(), hash: self.hash }
    }
}

#[derive(Clone)]
enum Body<Request, Reply> {
    Request(Shown<Request>),
    Reply(Shown<Reply>),
}

/// The words of one message event: `call #7 to store: …`, rendered only if the event is kept
/// (in a run that keeps no events, only their hash is made).
fn message_words<Value: Debug + Send + Sync + 'static>(
    sim: &Sim,
    leg: Leg,
    call_id: u64,
    peer: NodeIndex,
    shown: &Shown<Value>,
) -> LazyWords {
    let hash = hash_of(&(leg, call_id, peer, shown.hash));
    if !sim.keeps_words() {
        return LazyWords::hash_only(hash);
    }
    let peer_name = sim.node_label(peer);
    let (what, direction) = match leg {
        Leg::SendCall => ("call", "to"),
        Leg::DeliverCall => ("call", "from"),
        Leg::SendReply => ("reply", "to"),
        Leg::DeliverReply => ("reply", "from"),
    };
    if let Leg::DeliverReply = leg {
        // A delivered reply's line does not show it: holding it would only force a copy.
        return LazyWords::new(hash, move |text| {
            let _ = write!(text, "{what} #{call_id} {direction} {peer_name}");
        });
    }
    let message = shown.message.clone();
    LazyWords::new(hash, move |text| {
        let _ = write!(text, "{what} #{call_id} {direction} {peer_name}: {message:?}");
    })
}

#[derive(Clone)]
struct Envelope<Request, Reply> {
    from: NodeIndex,
    reply_address: SocketAddr,
    call_id: u64,
    body: Body<Request, Reply>,
}

struct Inner<Request, Reply> {
    context: NodeContext,
    endpoint: Endpoint,
    reply_address: SocketAddr,
    pending: Mutex<PendingCalls<Reply>>,
    requests: PhantomData<fn(Request)>,
}

/// The calls waiting for a reply, by call id: a vector kept in id order, which a node's few
/// outstanding calls search faster than a map, with no node allocated per call. The order is the
/// map's, so dropping the endpoint wakes the waiting callers in the same order.
struct PendingCalls<Reply> {
    calls: Vec<(u64, oneshot::Sender<Reply>)>,
}

impl<Reply> PendingCalls<Reply> {
    fn insert(&mut self, call_id: u64, sender: oneshot::Sender<Reply>) {
        // Call ids grow, so a new call almost always goes last.
        match self.calls.last() {
            Some((last, _)) if *last > call_id => {
                let position = self.calls.partition_point(|(waiting, _)| *waiting < call_id);
                self.calls.insert(position, (call_id, sender));
            }
            _ => self.calls.push((call_id, sender)),
        }
    }

    fn remove(&mut self, call_id: u64) -> Option<oneshot::Sender<Reply>> {
        let position = self.calls.binary_search_by_key(&call_id, |(waiting, _)| *waiting).ok()?;
        Some(self.calls.remove(position).1)
    }
}

/// A node's RPC endpoint: it can call other nodes and, with a handler, serve them.
pub struct Rpc<Request, Reply> {
    inner: Arc<Inner<Request, Reply>>,
}

impl<Request, Reply> Clone for Rpc<Request, Reply> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

impl<Request: Message, Reply: Message> Rpc<Request, Reply> {
    /// Binds the node's endpoint and starts its dispatcher; requests go to `handler` if any.
    pub async fn bind(context: &NodeContext, handler: Option<Handler<Request, Reply>>) -> Self {
        let address = context.sim().node_address(context.index());
        Self::bind_at(context, address, handler).await
    }

    /// Binds a caller-only endpoint on a free port of the node. One endpoint serves any number
    /// of concurrent calls (replies find their call by its id); binding one per call is costly,
    /// since finding a free port grows with the node's open endpoints: bind once per incarnation
    /// of a node and share it.
    pub async fn bind_client(context: &NodeContext) -> Self {
        let address = SocketAddr::new(context.sim().node_address(context.index()).ip(), 0);
        Self::bind_at(context, address, None).await
    }

    async fn bind_at(context: &NodeContext, address: SocketAddr, handler: Option<Handler<Request, Reply>>) -> Self {
        let endpoint = Endpoint::bind(address).await.expect("a node's RPC port is free after a restart");
        let reply_address = endpoint.local_addr().expect("a bound endpoint has an address");
        let inner = Arc::new(Inner {
            context: context.clone(),
            endpoint,
            reply_address,
            pending: Mutex::new(PendingCalls { calls: Vec::new() }),
            requests: PhantomData,
        });
        let dispatcher = inner.clone();
        madsim::task::spawn(async move { dispatch(dispatcher, handler).await });
        Self { inner }
    }

    /// Calls node `to`; `Err(Timeout)` after `timeout_ms` without a reply.
    pub async fn call(&self, to: NodeIndex, request: Request, timeout_ms: u64) -> Result<Reply, RpcError> {
        let sim = self.inner.context.sim();
        let call_id = sim.next_call_id();
        let (sender, receiver) = oneshot::channel();
        self.inner.pending().insert(call_id, sender);
        let request = Shown::new(request);
        let words = message_words(sim, Leg::SendCall, call_id, to, &request);
        let reply_address = self.inner.reply_address;
        let envelope = Envelope { from: self.inner.context.index(), reply_address, call_id, body: Body::Request(request) };
        transmit(&self.inner, to, sim.node_address(to), envelope, words).await;
        // The caller's clock judges the timeout: a fast clock gives up early.
        let timeout = sim.local_duration(self.inner.context.index(), timeout_ms);
        match madsim::time::timeout(timeout, receiver).await {
            Ok(Ok(reply)) => Ok(reply),
            _ => {
                self.inner.pending().remove(call_id);
                let index = self.inner.context.index();
                let to_name = sim.node_label(to);
                sim.trace(index, EventKind::Timeout, format!("call #{call_id} to {to_name} after {timeout_ms}ms"));
                Err(RpcError::Timeout)
            }
        }
    }
}

impl<Request, Reply> Inner<Request, Reply> {
    fn pending(&self) -> MutexGuard<'_, PendingCalls<Reply>> {
        self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Sends one envelope through the nemesis: dropped, delayed or duplicated as it decides.
async fn transmit<Request: Message, Reply: Message>(
    inner: &Arc<Inner<Request, Reply>>,
    to: NodeIndex,
    address: SocketAddr,
    envelope: Envelope<Request, Reply>,
    words: LazyWords,
) {
    let sim = inner.context.sim();
    let is_reply = matches!(envelope.body, Body::Reply(_));
    let Route::Deliver { extra_delay_ms, copies, late_ms } = sim.route(inner.context.index(), to, is_reply, words)
    else {
        return;
    };
    if let Some(late_ms) = late_ms {
        send_later(inner, address, Box::new(envelope.clone()), late_ms);
    }
    let mut envelope = Some(envelope);
    for copy in 1..=copies {
        let payload = if copy == copies {
            Box::new(envelope.take().expect("the last copy moves the envelope"))
        } else {
            Box::new(envelope.clone().expect("earlier copies clone the envelope"))
        };
        if extra_delay_ms == 0 {
            let _ = inner.endpoint.send_to_raw(address, RPC_TAG, payload).await;
        } else {
            send_later(inner, address, payload, extra_delay_ms);
        }
    }
}

/// Sends `payload` after `delay_ms`, from a task of its own (it dies if the sender crashes).
fn send_later<Request: Message, Reply: Message>(
    inner: &Arc<Inner<Request, Reply>>,
    address: SocketAddr,
    payload: Box<Envelope<Request, Reply>>,
    delay_ms: u64,
) {
    let delayed = inner.clone();
    madsim::task::spawn(async move {
        madsim::time::sleep(Duration::from_millis(delay_ms)).await;
        let _ = delayed.endpoint.send_to_raw(address, RPC_TAG, payload).await;
    });
}

/// The endpoint's one receive loop: requests to the handler, replies to their waiting
/// caller, and replies nobody waits for any more dropped (so the mailbox never grows).
async fn dispatch<Request: Message, Reply: Message>(
    inner: Arc<Inner<Request, Reply>>,
    handler: Option<Handler<Request, Reply>>,
) {
    let sim = inner.context.sim().clone();
    let me = inner.context.index();
    while let Ok((payload, _)) = inner.endpoint.recv_from_raw(RPC_TAG).await {
        let Ok(envelope) = payload.downcast::<Envelope<Request, Reply>>() else {
            continue;
        };
        let Envelope { from, reply_address, call_id, body } = *envelope;
        match body {
            Body::Request(request) => {
                let words = message_words(&sim, Leg::DeliverCall, call_id, from, &request);
                sim.trace_message(me, from, EventKind::Deliver, words);
                let Some(handler) = handler.clone() else { continue };
                let replier = inner.clone();
                madsim::task::spawn(async move {
                    let reply = Shown::new(handler(from, request.into_message()).await);
                    let sim = replier.context.sim();
                    let words = message_words(sim, Leg::SendReply, call_id, from, &reply);
                    let envelope =
                        Envelope { from: replier.context.index(), reply_address, call_id, body: Body::Reply(reply) };
                    transmit(&replier, from, reply_address, envelope, words).await;
                });
            }
            Body::Reply(reply) => match inner.pending().remove(call_id) {
                Some(waiting) => {
                    let words = message_words(&sim, Leg::DeliverReply, call_id, from, &reply);
                    sim.trace_message(me, from, EventKind::Deliver, words);
                    let _ = waiting.send(reply.into_message());
                }
                None => sim.trace(
                    me,
                    EventKind::LateReply,
                    format!("reply #{call_id} from {} dropped", sim.node_label(from)),
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_calls_are_found_by_id_in_any_insertion_order_and_kept_in_id_order() {
        let mut pending = PendingCalls { calls: Vec::new() };
        let mut receivers = Vec::new();
        for call_id in [3, 7, 5, 9, 1] {
            let (sender, receiver) = oneshot::channel::<u64>();
            pending.insert(call_id, sender);
            receivers.push((call_id, receiver));
        }
        let ids: Vec<u64> = pending.calls.iter().map(|(call_id, _)| *call_id).collect();
        assert_eq!(ids, [1, 3, 5, 7, 9], "kept in id order, as a map would drop them");
        assert!(pending.remove(4).is_none() && pending.remove(10).is_none(), "an unknown id finds nothing");
        let sender = pending.remove(5).expect("a waiting call is found");
        assert!(sender.send(55).is_ok());
        let (_, receiver) = receivers.iter_mut().find(|(call_id, _)| *call_id == 5).expect("call 5 waits");
        assert_eq!(receiver.try_recv(), Ok(55), "the reply reaches the caller of that id");
        assert!(pending.remove(5).is_none(), "a call is answered once");
        assert_eq!(pending.calls.len(), 4);
    }
}
