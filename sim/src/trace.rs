//! The trace: every meaningful event of a run, hashed in order, the last ones kept.
//!
//! The hash is fed from each event's fields. An event's words are either text made when it
//! happened or [`LazyWords`]: a hash of what they describe, and a way to render them that runs
//! only for the events the trace keeps. Message events, most of a run's trace, are lazy, so a
//! run that nobody reads pays for no text.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A run phase began.
    Phase,
    /// A node sent a message.
    Send,
    /// A message reached its destination's dispatcher.
    Deliver,
    /// The network dropped a message.
    Drop,
    /// The network duplicated a message.
    Duplicate,
    /// A reply arrived that nobody waited for any more.
    LateReply,
    /// A call timed out: its outcome is unknown.
    Timeout,
    /// A nemesis fault began.
    FaultStart,
    /// A nemesis fault ended.
    FaultStop,
    /// A node crashed.
    Crash,
    /// A node restarted.
    Restart,
    /// A fault point fired.
    FaultPoint,
    /// A workload operation was issued.
    Workload,
    /// The system under test did something worth recording.
    Step,
    /// An invariant was violated.
    Violation,
    /// The network held a message back, to deliver it seconds later.
    HeldBack,
    /// A node's disk lost or discarded writes at a crash, or served a stale read.
    Storage,
}

impl EventKind {
    /// The kind's name in trace lines.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Phase => "phase",
            EventKind::Send => "send",
            EventKind::Deliver => "deliver",
            EventKind::Drop => "drop",
            EventKind::Duplicate => "duplicate",
            EventKind::LateReply => "late_reply",
            EventKind::Timeout => "timeout",
            EventKind::FaultStart => "fault_start",
            EventKind::FaultStop => "fault_stop",
            EventKind::Crash => "crash",
            EventKind::Restart => "restart",
            EventKind::FaultPoint => "fault_point",
            EventKind::Workload => "workload",
            EventKind::Step => "step",
            EventKind::Violation => "violation",
            EventKind::HeldBack => "held_back",
            EventKind::Storage => "storage",
        }
    }
}

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the run's trace, from 0.
    pub index: u64,
    /// Simulated microseconds since the run began.
    pub at_us: u64,
    /// Name of the node it happened on (`nemesis` for the harness).
    pub node: String,
    /// For a message event, the node at the other end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// What happened.
    pub kind: EventKind,
    /// Words about it, naming the objects involved.
    pub detail: String,
}

impl fmt::Display for Event {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "#{:<6} {:>6}.{:03}ms {:<10} {:<11} {}",
            self.index,
            self.at_us / 1000,
            self.at_us % 1000,
            self.node,
            self.kind.name(),
            self.detail
        )?;
        match &self.peer {
            Some(peer) => write!(formatter, " [peer {peer}]"),
            None => Ok(()),
        }
    }
}

/// Renders an event's words into the text it shows.
type Render = dyn Fn(&mut String) + Send + Sync;

/// An event's words rendered only if the event is kept, with a hash of what they describe
/// standing in for their text in the trace hash.
///
/// Two words that render differently must hash differently: the hash must cover every value
/// the text shows (use [`hash_of`] for values that implement `Hash`).
#[derive(Clone)]
pub struct LazyWords {
    hash: u64,
    /// `None` for words made in a run that keeps no events: they only ever feed the hash.
    render: Option<Arc<Render>>,
}

impl LazyWords {
    /// Words with structural hash `hash`, rendered by `render` when the event is kept.
    pub fn new(hash: u64, render: impl Fn(&mut String) + Send + Sync + 'static) -> Self {
        Self { hash, render: Some(Arc::new(render)) }
    }

    /// Words that only feed the hash, for a run that keeps no events (see
    /// [`crate::Sim::keeps_words`]): nothing to render them with is made or held. They render as
    /// nothing.
    pub fn hash_only(hash: u64) -> Self {
        Self { hash, render: None }
    }

    /// The hash standing in for the text.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// Appends the text to `text`.
    pub fn render_into(&self, text: &mut String) {
        if let Some(render) = &self.render {
            render(text)
        }
    }

    /// The text, on its own.
    pub fn text(&self) -> String {
        let mut text = String::new();
        self.render_into(&mut text);
        text
    }
}

impl fmt::Debug for LazyWords {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("LazyWords").field("hash", &self.hash).field("text", &self.text()).finish()
    }
}

/// Words about an event, as the trace receives and keeps them.
#[derive(Clone, Debug)]
pub enum Detail {
    /// Text made when the event happened; its bytes feed the hash.
    Text(String),
    /// Words rendered only if the event is kept; their hash feeds the trace hash.
    Lazy(LazyWords),
}

impl From<String> for Detail {
    fn from(text: String) -> Self {
        Detail::Text(text)
    }
}

impl From<&str> for Detail {
    fn from(text: &str) -> Self {
        Detail::Text(text.to_string())
    }
}

impl From<LazyWords> for Detail {
    fn from(words: LazyWords) -> Self {
        Detail::Lazy(words)
    }
}

impl Detail {
    fn render(&self) -> String {
        match self {
            Detail::Text(text) => text.clone(),
            Detail::Lazy(words) => words.text(),
        }
    }
}

/// A kept event as the trace stores it: nodes by number, named only when the event is shown.
#[derive(Debug)]
struct KeptEvent {
    index: u64,
    at_us: u64,
    node: u32,
    peer: Option<u32>,
    kind: EventKind,
    detail: Detail,
}

impl KeptEvent {
    fn to_event(&self, name: &impl Fn(u32) -> String) -> Event {
        Event {
            index: self.index,
            at_us: self.at_us,
            node: name(self.node),
            peer: self.peer.map(name),
            kind: self.kind,
            detail: self.detail.render(),
        }
    }
}

/// The ordered event log of one run: a hash over all events and the last `kept_max` of them.
#[derive(Debug)]
pub struct Trace {
    hash: u64,
    count: u64,
    kept: VecDeque<KeptEvent>,
    kept_max: usize,
    last_at_us: Option<u64>,
}

const HASH_START: u64 = 0xcbf2_9ce4_8422_2325;
const FOLD_MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

/// Folds `bytes` into `hash` eight at a time: order-sensitive, and every byte and the
/// length reach every bit of the result through the multiply and rotate.
fn fold(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        hash = mix_word(hash, u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
    }
    let rest = chunks.remainder();
    let mut tail = [0u8; 8];
    tail[..rest.len()].copy_from_slice(rest);
    mix_word(hash, u64::from_le_bytes(tail) ^ ((bytes.len() as u64) << 56))
}

fn mix_word(hash: u64, word: u64) -> u64 {
    (hash ^ word).wrapping_mul(FOLD_MULTIPLIER).rotate_left(29)
}

/// Tells lazy words from text in the hash, so neither can pass for the other.
const LAZY_TAG: u64 = 0x1A2E_0000_0000_0001;
/// Stands for the missing peer of an event between a node and no one (no node has this number).
const NO_PEER: u64 = 1 << 32;

/// The trace's hasher: the same fold as the trace hash, for values that implement `Hash`.
/// Deterministic (no per-process keys), so a value hashes the same in every run.
#[derive(Clone, Copy, Debug)]
pub struct TraceHasher {
    hash: u64,
}

impl Default for TraceHasher {
    fn default() -> Self {
        Self { hash: HASH_START }
    }
}

impl Hasher for TraceHasher {
    fn finish(&self) -> u64 {
        self.hash
    }

    fn write(&mut self, bytes: &[u8]) {
        self.hash = fold(self.hash, bytes);
    }

    fn write_u8(&mut self, value: u8) {
        self.hash = mix_word(self.hash, u64::from(value));
    }

    fn write_u16(&mut self, value: u16) {
        self.hash = mix_word(self.hash, u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.hash = mix_word(self.hash, u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.hash = mix_word(self.hash, value);
    }

    fn write_usize(&mut self, value: usize) {
        self.hash = mix_word(self.hash, value as u64);
    }
}

/// `value`'s hash under [`TraceHasher`]: what [`LazyWords`] carry for the values they show.
pub fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut hasher = TraceHasher::default();
    value.hash(&mut hasher);
    hasher.finish()
}

impl Trace {
    /// An empty trace that keeps the last `kept_max` events.
    pub fn new(kept_max: usize) -> Self {
        Self { hash: HASH_START, count: 0, kept: VecDeque::new(), kept_max, last_at_us: None }
    }

    /// Appends an event of node number `node` (with `peer`, if any) and folds it into the hash;
    /// returns the number of events so far. Nodes go into the hash by number, and get their names
    /// only when [`Trace::kept`] shows them.
    pub fn record(&mut self, at_us: u64, node: u32, peer: Option<u32>, kind: EventKind, detail: Detail) -> u64 {
        let mut hash = mix_word(self.hash, at_us);
        hash = mix_word(hash, u64::from(node));
        hash = mix_word(hash, peer.map_or(NO_PEER, u64::from));
        hash = mix_word(hash, 0xff00 | kind as u64);
        self.hash = match &detail {
            Detail::Text(text) => fold(hash, text.as_bytes()),
            Detail::Lazy(words) => mix_word(mix_word(hash, LAZY_TAG), words.hash),
        };
        if self.kept_max > 0 {
            if self.kept.len() == self.kept_max {
                self.kept.pop_front();
            }
            self.kept.push_back(KeptEvent { index: self.count, at_us, node, peer, kind, detail });
        }
        self.count += 1;
        self.last_at_us = Some(at_us);
        self.count
    }

    /// The hash over every event so far.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// The hash as the 16 hex digits reports carry.
    pub fn hash_hex(&self) -> String {
        format!("{:016x}", self.hash)
    }

    /// Events recorded so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The kept events, oldest first.
    pub fn kept<'a>(&'a self, name: impl Fn(u32) -> String + 'a) -> impl Iterator<Item = Event> + 'a {
        self.kept.iter().map(move |event| event.to_event(&name))
    }

    /// Simulated microseconds of the last event, if any, kept or not.
    pub fn last_at_us(&self) -> Option<u64> {
        self.last_at_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_every_field_and_on_order() {
        let mut base = Trace::new(4);
        base.record(1, 0, None, EventKind::Send, "x".into());
        base.record(2, 1, Some(0), EventKind::Deliver, "y".into());
        let variants: [(u64, u32, Option<u32>, EventKind, &str); 7] = [
            (9, 1, Some(0), EventKind::Deliver, "y"),
            (2, 2, Some(0), EventKind::Deliver, "y"),
            (2, 1, Some(2), EventKind::Deliver, "y"),
            (2, 1, None, EventKind::Deliver, "y"),
            (2, 1, Some(1), EventKind::Deliver, "y"),
            (2, 1, Some(0), EventKind::Drop, "y"),
            (2, 1, Some(0), EventKind::Deliver, "z"),
        ];
        for (at_us, node, peer, kind, detail) in variants {
            let mut other = Trace::new(4);
            other.record(1, 0, None, EventKind::Send, "x".into());
            other.record(at_us, node, peer, kind, detail.into());
            assert_ne!(other.hash(), base.hash(), "{node} {peer:?} {detail}");
        }
        let mut swapped = Trace::new(4);
        swapped.record(2, 1, Some(0), EventKind::Deliver, "y".into());
        swapped.record(1, 0, None, EventKind::Send, "x".into());
        assert_ne!(swapped.hash(), base.hash());
    }

    #[test]
    fn lazy_words_feed_the_hash_and_render_only_when_kept() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let rendered = Arc::new(AtomicUsize::new(0));
        let words = |hash: u64| {
            let rendered = rendered.clone();
            LazyWords::new(hash, move |text| {
                rendered.fetch_add(1, Ordering::Relaxed);
                text.push_str(&format!("words {hash}"));
            })
        };
        let mut trace = Trace::new(2);
        for hash in 0..10 {
            trace.record(hash, 0, None, EventKind::Send, words(hash).into());
        }
        assert_eq!(rendered.load(Ordering::Relaxed), 0, "nothing is rendered while the run goes on");
        let kept: Vec<String> = trace.kept(|_| "n".to_string()).map(|event| event.detail).collect();
        assert_eq!(kept, vec!["words 8", "words 9"]);
        assert_eq!(rendered.load(Ordering::Relaxed), 2, "only the kept events are rendered");

        let mut other = Trace::new(2);
        for hash in 0..10 {
            other.record(hash, 0, None, EventKind::Send, words(if hash == 3 { 33 } else { hash }).into());
        }
        assert_ne!(other.hash(), trace.hash(), "an event that fell out of the kept tail still counts");
        let mut as_text = Trace::new(2);
        for hash in 0..10 {
            as_text.record(hash, 0, None, EventKind::Send, format!("words {hash}").into());
        }
        assert_ne!(as_text.hash(), trace.hash(), "lazy words and text are told apart");
    }

    #[test]
    fn hash_of_is_deterministic_and_covers_every_field() {
        #[derive(Hash)]
        struct Call {
            id: u64,
            name: &'static str,
            ids: Vec<u32>,
        }
        let call = |id, name, ids| hash_of(&Call { id, name, ids });
        assert_eq!(call(1, "a", vec![1, 2]), call(1, "a", vec![1, 2]));
        assert_ne!(call(1, "a", vec![1, 2]), call(2, "a", vec![1, 2]));
        assert_ne!(call(1, "a", vec![1, 2]), call(1, "b", vec![1, 2]));
        assert_ne!(call(1, "a", vec![1, 2]), call(1, "a", vec![2, 1]));
        assert_ne!(call(1, "a", vec![1, 2]), call(1, "a", vec![1, 2, 0]));
        assert_ne!(hash_of(&("ab", "c")), hash_of(&("a", "bc")));
    }

    #[test]
    fn memory_is_bounded_while_the_hash_covers_everything() {
        let mut trace = Trace::new(3);
        for index in 0..10 {
            trace.record(index, index as u32 % 2, Some(2), EventKind::Step, format!("{index}").into());
        }
        assert_eq!(trace.count(), 10);
        let name = |number: u32| format!("node-{number}");
        let kept: Vec<(u64, String, Option<String>)> =
            trace.kept(name).map(|event| (event.index, event.node, event.peer)).collect();
        let node = |index: u64, number: u32| (index, name(number), Some(name(2)));
        assert_eq!(kept, vec![node(7, 1), node(8, 0), node(9, 1)], "kept events name their nodes when shown");
        assert_eq!(trace.hash_hex().len(), 16);
    }
}
