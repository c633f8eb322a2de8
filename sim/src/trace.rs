//! The trace: every meaningful event of a run, hashed in order, the last ones kept.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;
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

/// A kept event as the trace stores it: node names shared, not copied, per event.
#[derive(Debug)]
struct KeptEvent {
    index: u64,
    at_us: u64,
    node: Arc<str>,
    peer: Option<Arc<str>>,
    kind: EventKind,
    detail: String,
}

impl KeptEvent {
    fn to_event(&self) -> Event {
        Event {
            index: self.index,
            at_us: self.at_us,
            node: self.node.to_string(),
            peer: self.peer.as_deref().map(str::to_string),
            kind: self.kind,
            detail: self.detail.clone(),
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

impl Trace {
    /// An empty trace that keeps the last `kept_max` events.
    pub fn new(kept_max: usize) -> Self {
        Self { hash: HASH_START, count: 0, kept: VecDeque::new(), kept_max }
    }

    /// Appends an event and folds it into the hash; returns the number of events so far.
    pub fn record(
        &mut self,
        at_us: u64,
        node: impl Into<Arc<str>>,
        peer: Option<Arc<str>>,
        kind: EventKind,
        detail: String,
    ) -> u64 {
        let node = node.into();
        let mut hash = mix_word(self.hash, at_us);
        hash = fold(hash, node.as_bytes());
        hash = fold(hash, peer.as_deref().unwrap_or("").as_bytes());
        hash = mix_word(hash, 0xff00 | kind as u64);
        self.hash = fold(hash, detail.as_bytes());
        if self.kept_max > 0 {
            if self.kept.len() == self.kept_max {
                self.kept.pop_front();
            }
            self.kept.push_back(KeptEvent { index: self.count, at_us, node, peer, kind, detail });
        }
        self.count += 1;
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
    pub fn kept(&self) -> impl Iterator<Item = Event> + '_ {
        self.kept.iter().map(KeptEvent::to_event)
    }

    /// Simulated microseconds of the last kept event, if any.
    pub fn last_kept_at_us(&self) -> Option<u64> {
        self.kept.back().map(|event| event.at_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_every_field_and_on_order() {
        let mut base = Trace::new(4);
        base.record(1, "a", None, EventKind::Send, "x".into());
        base.record(2, "b", None, EventKind::Deliver, "y".into());
        let variants: [(u64, &str, EventKind, &str); 4] = [
            (9, "b", EventKind::Deliver, "y"),
            (2, "c", EventKind::Deliver, "y"),
            (2, "b", EventKind::Drop, "y"),
            (2, "b", EventKind::Deliver, "z"),
        ];
        for (at_us, node, kind, detail) in variants {
            let mut other = Trace::new(4);
            other.record(1, "a", None, EventKind::Send, "x".into());
            other.record(at_us, node, None, kind, detail.into());
            assert_ne!(other.hash(), base.hash(), "{node} {detail}");
        }
        let mut swapped = Trace::new(4);
        swapped.record(2, "b", None, EventKind::Deliver, "y".into());
        swapped.record(1, "a", None, EventKind::Send, "x".into());
        assert_ne!(swapped.hash(), base.hash());
    }

    #[test]
    fn memory_is_bounded_while_the_hash_covers_everything() {
        let mut trace = Trace::new(3);
        for index in 0..10 {
            trace.record(index, "n", None, EventKind::Step, format!("{index}"));
        }
        assert_eq!(trace.count(), 10);
        let kept: Vec<u64> = trace.kept().map(|event| event.index).collect();
        assert_eq!(kept, vec![7, 8, 9]);
        assert_eq!(trace.hash_hex().len(), 16);
    }
}
