//! The simulated network's fault state: which links are cut, and what happens to each message.

use crate::nemesis::Fault;
use crate::node::NodeIndex;
use crate::seed::StreamRng;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};

/// What the network does with one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// The message is lost.
    Drop(DropReason),
    /// The message arrives `copies` times, after `extra_delay_ms` more than the base latency,
    /// and once more `late_ms` later when it was held back.
    Deliver {
        /// Extra simulated delay.
        extra_delay_ms: u64,
        /// 1, 2 when duplicated, 0 when only the late copy arrives.
        copies: u8,
        /// The delay of a copy held back past timeouts and leases, if any.
        late_ms: Option<u64>,
    },
}

impl Route {
    /// A message delivered once, on time.
    pub const ON_TIME: Route = Route::Deliver { extra_delay_ms: 0, copies: 1, late_ms: None };
}

/// Why a message was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// A partition, one-way cut or network outage.
    Partitioned,
    /// Random packet loss.
    Lost,
    /// A reply lost to an injected timeout.
    ReplyLost,
}

impl DropReason {
    /// The reason's name in trace lines.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Partitioned => "partitioned",
            DropReason::Lost => "lost",
            DropReason::ReplyLost => "reply_lost",
        }
    }
}

/// A fault window in force, resolved to node indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ActiveFault {
    Blocked(BTreeSet<(NodeIndex, NodeIndex)>),
    AllBlocked,
    Loss(u8),
    Latency(u64),
    Duplicate(u8),
    ReplyLoss(u8),
    Stale { percent: u8, delay_ms_min: u64, delay_ms_max: u64 },
}

/// The network faults in force, and the random stream that decides per message.
#[derive(Debug)]
pub struct Network {
    rng: StreamRng,
    active: BTreeMap<u64, ActiveFault>,
}

impl Network {
    /// A healthy network drawing its decisions from `rng`.
    pub fn new(rng: StreamRng) -> Self {
        Self { rng, active: BTreeMap::new() }
    }

    /// Puts a network fault in force under `window_id`; node faults are ignored here.
    pub fn start(
        &mut self,
        window_id: u64,
        fault: &Fault,
        resolve: impl Fn(&str) -> Option<NodeIndex>,
        all: &[NodeIndex],
    ) {
        let active = match fault {
            Fault::Partition { side } => {
                let side: BTreeSet<NodeIndex> = side.iter().filter_map(|name| resolve(name)).collect();
                let mut blocked = BTreeSet::new();
                for a in side.iter().copied() {
                    for b in all.iter().copied().filter(|node| !side.contains(node)) {
                        blocked.insert((a, b));
                        blocked.insert((b, a));
                    }
                }
                ActiveFault::Blocked(blocked)
            }
            Fault::OneWay { from, to } => match (resolve(from), resolve(to)) {
                (Some(from), Some(to)) => ActiveFault::Blocked(BTreeSet::from([(from, to)])),
                _ => return,
            },
            Fault::NetworkDown => ActiveFault::AllBlocked,
            Fault::PacketLoss { percent } => ActiveFault::Loss(*percent),
            Fault::Latency { extra_ms_max } => ActiveFault::Latency(*extra_ms_max),
            Fault::Duplicate { percent } => ActiveFault::Duplicate(*percent),
            Fault::Timeout { percent } => ActiveFault::ReplyLoss(*percent),
            Fault::StaleDelivery { percent, delay_ms_min, delay_ms_max } => ActiveFault::Stale {
                percent: *percent,
                delay_ms_min: *delay_ms_min,
                delay_ms_max: (*delay_ms_max).max(*delay_ms_min),
            },
            Fault::LongPartition { node } => {
                let Some(node) = resolve(node) else { return };
                let others = all.iter().copied().filter(|other| *other != node);
                ActiveFault::Blocked(others.flat_map(|other| [(node, other), (other, node)]).collect())
            }
            Fault::Crash { .. }
            | Fault::Pause { .. }
            | Fault::LongPause { .. }
            | Fault::ClockSkew { .. }
            | Fault::Disk { .. }
            | Fault::StaleRead { .. }
            | Fault::NodeLoss { .. } => return,
        };
        self.active.insert(window_id, active);
    }

    /// Ends the fault of `window_id`, if it was a network fault.
    pub fn stop(&mut self, window_id: u64) {
        self.active.remove(&window_id);
    }

    /// Ends every network fault.
    pub fn heal(&mut self) {
        self.active.clear();
    }

    /// Decides the fate of one message from `from` to `to`.
    pub fn route(&mut self, from: NodeIndex, to: NodeIndex, is_reply: bool) -> Route {
        if self.active.is_empty() {
            return Route::ON_TIME;
        }
        let (mut loss, mut reply_loss, mut duplicate, mut latency) = (0u8, 0u8, 0u8, 0u64);
        let mut stale = None;
        for fault in self.active.values() {
            match fault {
                ActiveFault::AllBlocked if from != to => return Route::Drop(DropReason::Partitioned),
                ActiveFault::Blocked(links) if links.contains(&(from, to)) => {
                    return Route::Drop(DropReason::Partitioned)
                }
                ActiveFault::Loss(percent) => loss = loss.max(*percent),
                ActiveFault::ReplyLoss(percent) => reply_loss = reply_loss.max(*percent),
                ActiveFault::Duplicate(percent) => duplicate = duplicate.max(*percent),
                ActiveFault::Latency(extra) => latency = latency.max(*extra),
                ActiveFault::Stale { percent, delay_ms_min, delay_ms_max } => {
                    stale = Some((*percent, *delay_ms_min, *delay_ms_max))
                }
                _ => {}
            }
        }
        if loss > 0 && self.rng.gen_range(0..100) < loss {
            return Route::Drop(DropReason::Lost);
        }
        if is_reply && reply_loss > 0 && self.rng.gen_range(0..100) < reply_loss {
            return Route::Drop(DropReason::ReplyLost);
        }
        let copies = if duplicate > 0 && self.rng.gen_range(0..100) < duplicate { 2 } else { 1 };
        let extra_delay_ms = if latency > 0 { self.rng.gen_range(0..=latency) } else { 0 };
        let Some((percent, delay_ms_min, delay_ms_max)) = stale else {
            return Route::Deliver { extra_delay_ms, copies, late_ms: None };
        };
        if self.rng.gen_range(0..100) >= percent {
            return Route::Deliver { extra_delay_ms, copies, late_ms: None };
        }
        // Held back: half the time only the late copy arrives, half the time it is a stale
        // duplicate of a copy that arrived on time, with a delay of its own.
        let late_ms = self.rng.gen_range(delay_ms_min..=delay_ms_max);
        let copies = if self.rng.gen_bool(0.5) { copies } else { copies - 1 };
        Route::Deliver { extra_delay_ms, copies, late_ms: Some(late_ms) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{stream_rng, Stream};

    fn resolve(name: &str) -> Option<NodeIndex> {
        name.strip_prefix('n').and_then(|index| index.parse().ok()).map(NodeIndex)
    }

    #[test]
    fn partition_cuts_both_ways_between_sides_only_and_heals() {
        let mut network = Network::new(stream_rng(1, Stream::Network));
        let all = [NodeIndex(0), NodeIndex(1), NodeIndex(2)];
        network.start(1, &Fault::Partition { side: vec!["n0".into()] }, resolve, &all);
        assert_eq!(network.route(NodeIndex(0), NodeIndex(1), false), Route::Drop(DropReason::Partitioned));
        assert_eq!(network.route(NodeIndex(2), NodeIndex(0), true), Route::Drop(DropReason::Partitioned));
        assert!(matches!(network.route(NodeIndex(1), NodeIndex(2), false), Route::Deliver { .. }));
        network.stop(1);
        assert!(matches!(network.route(NodeIndex(0), NodeIndex(1), false), Route::Deliver { .. }));
    }

    #[test]
    fn one_way_cuts_one_direction_only() {
        let mut network = Network::new(stream_rng(1, Stream::Network));
        let all = [NodeIndex(0), NodeIndex(1)];
        network.start(7, &Fault::OneWay { from: "n0".into(), to: "n1".into() }, resolve, &all);
        assert_eq!(network.route(NodeIndex(0), NodeIndex(1), false), Route::Drop(DropReason::Partitioned));
        assert!(matches!(network.route(NodeIndex(1), NodeIndex(0), false), Route::Deliver { .. }));
    }

    #[test]
    fn loss_duplication_latency_and_reply_loss_happen_at_their_rates() {
        let mut network = Network::new(stream_rng(3, Stream::Network));
        network.start(1, &Fault::Duplicate { percent: 50 }, resolve, &[]);
        network.start(2, &Fault::Latency { extra_ms_max: 40 }, resolve, &[]);
        network.start(3, &Fault::Timeout { percent: 50 }, resolve, &[]);
        let (mut duplicated, mut delayed, mut replies_lost, mut requests_lost) = (0, 0, 0, 0);
        for _ in 0..1000 {
            match network.route(NodeIndex(0), NodeIndex(1), false) {
                Route::Deliver { copies, extra_delay_ms, late_ms: None } => {
                    duplicated += usize::from(copies == 2);
                    delayed += usize::from(extra_delay_ms > 0);
                    assert!(extra_delay_ms <= 40);
                }
                Route::Drop(_) => requests_lost += 1,
                late @ Route::Deliver { late_ms: Some(_), .. } => panic!("held back without a stale delivery: {late:?}"),
            }
            replies_lost +=
                usize::from(network.route(NodeIndex(1), NodeIndex(0), true) == Route::Drop(DropReason::ReplyLost));
        }
        assert_eq!(requests_lost, 0, "reply loss must not touch requests");
        assert!((400..600).contains(&duplicated), "{duplicated}");
        assert!(delayed > 900, "{delayed}");
        assert!((400..600).contains(&replies_lost), "{replies_lost}");
        network.heal();
        assert_eq!(network.route(NodeIndex(0), NodeIndex(1), true), Route::ON_TIME);
    }

    #[test]
    fn stale_delivery_holds_its_share_back_past_the_delay_floor_alone_or_as_a_late_duplicate() {
        let mut network = Network::new(stream_rng(5, Stream::Network));
        let fault = Fault::StaleDelivery { percent: 30, delay_ms_min: 2_500, delay_ms_max: 6_000 };
        network.start(1, &fault, resolve, &[]);
        let (mut alone, mut duplicated, mut on_time) = (0, 0, 0);
        for _ in 0..1000 {
            match network.route(NodeIndex(0), NodeIndex(1), false) {
                Route::Deliver { copies, late_ms: Some(late_ms), .. } => {
                    assert!((2_500..=6_000).contains(&late_ms), "{late_ms}");
                    alone += usize::from(copies == 0);
                    duplicated += usize::from(copies == 1);
                }
                Route::Deliver { copies: 1, late_ms: None, .. } => on_time += 1,
                other => panic!("{other:?}"),
            }
        }
        assert!((100..200).contains(&alone) && (100..200).contains(&duplicated), "{alone} {duplicated}");
        assert_eq!(alone + duplicated + on_time, 1000);
    }

    #[test]
    fn long_partition_isolates_its_node_both_ways() {
        let mut network = Network::new(stream_rng(1, Stream::Network));
        let all = [NodeIndex(0), NodeIndex(1), NodeIndex(2)];
        network.start(1, &Fault::LongPartition { node: "n2".into() }, resolve, &all);
        assert_eq!(network.route(NodeIndex(2), NodeIndex(0), false), Route::Drop(DropReason::Partitioned));
        assert_eq!(network.route(NodeIndex(1), NodeIndex(2), true), Route::Drop(DropReason::Partitioned));
        assert_eq!(network.route(NodeIndex(0), NodeIndex(1), false), Route::ON_TIME);
    }
}
