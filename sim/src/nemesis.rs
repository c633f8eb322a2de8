//! The nemesis's catalog: fault kinds, fault windows, and how a seed chooses them.

use crate::config::FaultStrategy;
use crate::plan::FaultPointPlan;
use crate::seed::StreamRng;
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A kind of fault, as swarm testing enables or disables it per seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// A node crashes (volatile state lost) and restarts at the window's end.
    Crash,
    /// A node stops being scheduled (as in a long GC pause) and resumes.
    Pause,
    /// The nodes split in two sides that cannot talk (halves, or one node isolated).
    Partition,
    /// Messages from one node to another are lost, the reverse direction works.
    OneWay,
    /// No message crosses the network at all (as in the FiFo outage).
    NetworkDown,
    /// A share of all messages is lost.
    PacketLoss,
    /// Messages get a random extra delay, so they overtake each other.
    Latency,
    /// A share of all messages is delivered twice.
    Duplicate,
    /// A share of replies is lost: the callee acted, the caller times out.
    Timeout,
    /// Named places in model code crash the node or fail the call, or make the task wait.
    FaultPoint,
}

impl FaultKind {
    /// Every kind, in a stable order.
    pub const ALL: [FaultKind; 10] = [
        FaultKind::Crash,
        FaultKind::Pause,
        FaultKind::Partition,
        FaultKind::OneWay,
        FaultKind::NetworkDown,
        FaultKind::PacketLoss,
        FaultKind::Latency,
        FaultKind::Duplicate,
        FaultKind::Timeout,
        FaultKind::FaultPoint,
    ];

    /// The kind's name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::Pause => "pause",
            FaultKind::Partition => "partition",
            FaultKind::OneWay => "one_way",
            FaultKind::NetworkDown => "network_down",
            FaultKind::PacketLoss => "packet_loss",
            FaultKind::Latency => "latency",
            FaultKind::Duplicate => "duplicate",
            FaultKind::Timeout => "timeout",
            FaultKind::FaultPoint => "fault_point",
        }
    }

    /// What the kind does, in one line.
    pub fn summary(self) -> &'static str {
        match self {
            FaultKind::Crash => "crash a node (volatile state lost, durable kept), restart it later",
            FaultKind::Pause => "pause a node (a long stall), resume it later",
            FaultKind::Partition => "split the nodes in two sides, or isolate one node",
            FaultKind::OneWay => "lose every message in one direction between two nodes",
            FaultKind::NetworkDown => "take the whole network down",
            FaultKind::PacketLoss => "lose a share of all messages",
            FaultKind::Latency => "delay messages randomly, so they are reordered",
            FaultKind::Duplicate => "deliver a share of all messages twice",
            FaultKind::Timeout => "lose a share of replies: the call ran, the caller times out",
            FaultKind::FaultPoint => "crash or fail at named places in model code, or wait at delay points (BUGGIFY)",
        }
    }
}

/// One fault with its parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Crash `node`; restart it when the window ends.
    Crash {
        /// Node name.
        node: String,
    },
    /// Pause `node`; resume it when the window ends.
    Pause {
        /// Node name.
        node: String,
    },
    /// Cut every link between `side` and the other nodes, both ways.
    Partition {
        /// The nodes on one side.
        side: Vec<String>,
    },
    /// Lose every message from `from` to `to`.
    OneWay {
        /// Sender whose messages are lost.
        from: String,
        /// Receiver that no longer hears `from`.
        to: String,
    },
    /// Lose every message between any two nodes.
    NetworkDown,
    /// Lose `percent` of all messages.
    PacketLoss {
        /// Share lost, 0 to 100.
        percent: u8,
    },
    /// Delay every message by up to `extra_ms_max` more.
    Latency {
        /// Largest extra delay.
        extra_ms_max: u64,
    },
    /// Deliver `percent` of all messages twice.
    Duplicate {
        /// Share duplicated, 0 to 100.
        percent: u8,
    },
    /// Lose `percent` of all replies.
    Timeout {
        /// Share of replies lost, 0 to 100.
        percent: u8,
    },
}

impl Fault {
    /// The kind of this fault.
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::Crash { .. } => FaultKind::Crash,
            Fault::Pause { .. } => FaultKind::Pause,
            Fault::Partition { .. } => FaultKind::Partition,
            Fault::OneWay { .. } => FaultKind::OneWay,
            Fault::NetworkDown => FaultKind::NetworkDown,
            Fault::PacketLoss { .. } => FaultKind::PacketLoss,
            Fault::Latency { .. } => FaultKind::Latency,
            Fault::Duplicate { .. } => FaultKind::Duplicate,
            Fault::Timeout { .. } => FaultKind::Timeout,
        }
    }

    /// Every node the fault names.
    pub fn nodes(&self) -> Vec<&str> {
        match self {
            Fault::Crash { node } | Fault::Pause { node } => vec![node],
            Fault::Partition { side } => side.iter().map(String::as_str).collect(),
            Fault::OneWay { from, to } => vec![from, to],
            _ => Vec::new(),
        }
    }
}

/// A fault and the simulated time span it is active in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultWindow {
    /// Simulated milliseconds since the run began.
    pub start_ms: u64,
    /// How long the fault lasts.
    pub duration_ms: u64,
    /// What the nemesis does.
    pub fault: Fault,
}

/// Which faults a scenario admits and on which nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultProfile {
    /// Fault kinds the scenario admits.
    pub kinds: Vec<FaultKind>,
    /// Nodes that may crash or pause.
    pub crashable: Vec<String>,
    /// Nodes that take part in partitions.
    pub networked: Vec<String>,
}

/// Draws the nemesis's fault windows and the fault point plan of one seed.
pub fn generate_faults(
    rng: &mut StreamRng,
    profile: &FaultProfile,
    strategy: FaultStrategy,
    chaos_ms: u64,
) -> (Vec<FaultWindow>, FaultPointPlan) {
    let admitted: Vec<FaultKind> = profile.kinds.iter().copied().filter(|kind| admissible(*kind, profile)).collect();
    let (enabled, windows_per_kind) = match strategy {
        FaultStrategy::None => return (Vec::new(), FaultPointPlan::off()),
        FaultStrategy::Uniform => {
            (admitted.iter().copied().filter(|kind| *kind != FaultKind::FaultPoint).collect(), None)
        }
        FaultStrategy::Swarm => {
            // Swarm draws the window kinds per seed; fault points stay on, as BUGGIFY does, and
            // each fires at most once, so every step boundary is hit without starving the run.
            // Windows are few (one or two per kind): races between jobs need quiet stretches.
            let windows: Vec<FaultKind> =
                admitted.iter().copied().filter(|kind| *kind != FaultKind::FaultPoint).collect();
            let mut enabled = swarm_subset(rng, &windows);
            if admitted.contains(&FaultKind::FaultPoint) {
                enabled.push(FaultKind::FaultPoint);
            }
            (enabled, Some(()))
        }
    };
    let mut windows = Vec::new();
    for kind in enabled.iter().copied().filter(|kind| *kind != FaultKind::FaultPoint) {
        let count = if windows_per_kind.is_some() { rng.gen_range(1..=2) } else { 2 };
        for _ in 0..count {
            let uniform = windows_per_kind.is_none();
            windows.push(draw_window(rng, profile, kind, chaos_ms, uniform));
        }
    }
    windows.sort_by_key(|window| (window.start_ms, window.duration_ms));
    let fault_points =
        if enabled.contains(&FaultKind::FaultPoint) { draw_fault_point_plan(rng) } else { FaultPointPlan::off() };
    (windows, fault_points)
}

fn admissible(kind: FaultKind, profile: &FaultProfile) -> bool {
    match kind {
        FaultKind::Crash | FaultKind::Pause => !profile.crashable.is_empty(),
        FaultKind::Partition | FaultKind::OneWay => profile.networked.len() >= 2,
        _ => true,
    }
}

/// Swarm testing: a share of the window kinds drawn per seed (none or half), then each kind
/// on with that chance, so half the seeds meet the fault points alone.
fn swarm_subset(rng: &mut StreamRng, admitted: &[FaultKind]) -> Vec<FaultKind> {
    let share = *[0.0, 0.5].choose(rng).expect("non-empty");
    admitted.iter().copied().filter(|_| rng.gen_bool(share)).collect()
}

/// Every point on, firing at its first pass and only once. In two seeds of three a firing
/// only fails the call, because a crash wipes the node's volatile state and with it the races
/// that need none (clone jobs racing on one source); in the third, one firing in ten crashes.
/// Delay points make a task wait at nine passes in ten: they never stop the run, so they are
/// not bounded, and a late message (seed 002's monitor report) needs them often.
fn draw_fault_point_plan(rng: &mut StreamRng) -> FaultPointPlan {
    FaultPointPlan {
        enable_percent: 100,
        fire_percent: 100,
        crash_percent: *[0u8, 0, 10].choose(rng).expect("non-empty"),
        restart_delay_ms_max: 500,
        fires_per_point_max: 1,
        delay_percent: 90,
        delay_ms_max: 500,
        ..FaultPointPlan::off()
    }
}

fn draw_window(
    rng: &mut StreamRng,
    profile: &FaultProfile,
    kind: FaultKind,
    chaos_ms: u64,
    uniform: bool,
) -> FaultWindow {
    let start_ms = rng.gen_range(0..chaos_ms.max(10) * 9 / 10);
    let duration_ms = if uniform { chaos_ms / 10 } else { rng.gen_range(chaos_ms / 50..=chaos_ms / 5) }.max(1);
    let fault = draw_fault(rng, profile, kind, uniform);
    FaultWindow { start_ms, duration_ms, fault }
}

fn draw_fault(rng: &mut StreamRng, profile: &FaultProfile, kind: FaultKind, uniform: bool) -> Fault {
    let percent = |rng: &mut StreamRng| if uniform { 10 } else { rng.gen_range(5..=50) };
    let pick = |rng: &mut StreamRng, nodes: &[String]| nodes.choose(rng).expect("admissible").clone();
    match kind {
        FaultKind::Crash => Fault::Crash { node: pick(rng, &profile.crashable) },
        FaultKind::Pause => Fault::Pause { node: pick(rng, &profile.crashable) },
        FaultKind::Partition => Fault::Partition { side: draw_side(rng, &profile.networked) },
        FaultKind::OneWay => {
            let mut pair: Vec<&String> = profile.networked.choose_multiple(rng, 2).collect();
            pair.sort();
            if rng.gen_bool(0.5) {
                pair.reverse();
            }
            Fault::OneWay { from: pair[0].clone(), to: pair[1].clone() }
        }
        FaultKind::NetworkDown => Fault::NetworkDown,
        FaultKind::PacketLoss => Fault::PacketLoss { percent: percent(rng) },
        FaultKind::Latency => Fault::Latency { extra_ms_max: if uniform { 50 } else { rng.gen_range(5..=300) } },
        FaultKind::Duplicate => Fault::Duplicate { percent: percent(rng) },
        FaultKind::Timeout => Fault::Timeout { percent: percent(rng) },
        FaultKind::FaultPoint => unreachable!("fault points are not windows"),
    }
}

/// One node alone (isolate one) or a random proper subset (halves).
fn draw_side(rng: &mut StreamRng, nodes: &[String]) -> Vec<String> {
    let mut side: Vec<String> = if rng.gen_bool(0.5) {
        vec![nodes.choose(rng).expect("admissible").clone()]
    } else {
        let size = rng.gen_range(1..nodes.len());
        nodes.choose_multiple(rng, size).cloned().collect()
    };
    side.sort();
    side
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{stream_rng, Stream};
    use std::collections::BTreeSet;

    fn profile() -> FaultProfile {
        let nodes: Vec<String> =
            ["store", "worker-1", "agent-1", "agent-2"].iter().map(|name| name.to_string()).collect();
        FaultProfile { kinds: FaultKind::ALL.to_vec(), crashable: nodes.clone(), networked: nodes }
    }

    #[test]
    fn strategy_none_injects_nothing_and_uniform_every_window_kind() {
        let mut rng = stream_rng(1, Stream::Nemesis);
        let (windows, points) = generate_faults(&mut rng, &profile(), FaultStrategy::None, 5_000);
        assert!(windows.is_empty());
        assert_eq!(points.enable_percent, 0);
        let (windows, points) = generate_faults(&mut rng, &profile(), FaultStrategy::Uniform, 5_000);
        let kinds: BTreeSet<FaultKind> = windows.iter().map(|window| window.fault.kind()).collect();
        assert_eq!(kinds.len(), FaultKind::ALL.len() - 1);
        assert_eq!(points.enable_percent, 0);
    }

    /// The swarm faults of seeds 0..64.
    fn swarm_seeds() -> impl Iterator<Item = (u64, Vec<FaultWindow>, FaultPointPlan)> {
        (0..64).map(|seed| {
            let (windows, points) =
                generate_faults(&mut stream_rng(seed, Stream::Nemesis), &profile(), FaultStrategy::Swarm, 5_000);
            (seed, windows, points)
        })
    }

    #[test]
    fn swarm_varies_the_enabled_kinds_across_seeds_within_the_chaos_phase() {
        let mut subsets = BTreeSet::new();
        for (_, windows, points) in swarm_seeds() {
            let mut kinds: BTreeSet<FaultKind> = windows.iter().map(|window| window.fault.kind()).collect();
            if points.enable_percent > 0 {
                kinds.insert(FaultKind::FaultPoint);
            }
            assert!(!kinds.is_empty());
            assert!(windows.iter().all(|window| window.start_ms < 5_000 && window.duration_ms > 0));
            subsets.insert(kinds);
        }
        assert!(subsets.len() > 20, "only {} distinct subsets", subsets.len());
    }

    #[test]
    fn swarm_runs_range_from_fault_points_alone_to_half_the_window_kinds_with_few_windows_each() {
        let mut kinds_per_seed = BTreeSet::new();
        for (seed, windows, points) in swarm_seeds() {
            let kinds: BTreeSet<FaultKind> = windows.iter().map(|window| window.fault.kind()).collect();
            let most_per_kind =
                kinds.iter().map(|kind| windows.iter().filter(|window| window.fault.kind() == *kind).count()).max();
            assert!(most_per_kind.unwrap_or(0) <= 2, "seed {seed}: {most_per_kind:?} windows of one kind");
            kinds_per_seed.insert(kinds.len());
            assert_eq!((points.enable_percent, points.fire_percent, points.fires_per_point_max), (100, 100, 1));
        }
        let seeds_without_windows = kinds_per_seed.contains(&0);
        assert!(seeds_without_windows && kinds_per_seed.iter().any(|kinds| *kinds >= 3), "{kinds_per_seed:?}");
    }

    #[test]
    fn swarm_fault_points_only_fail_calls_in_some_seeds_and_also_crash_in_others() {
        let plans: Vec<FaultPointPlan> = swarm_seeds().map(|(_, _, points)| points).collect();
        let crash_percents: BTreeSet<u8> = plans.iter().map(|plan| plan.crash_percent).collect();
        assert_eq!(crash_percents, BTreeSet::from([0, 10]));
        assert!(plans.iter().all(|plan| (plan.delay_percent, plan.delay_ms_max) == (90, 500)));
    }

    #[test]
    fn only_swarm_arms_delay_points() {
        for strategy in [FaultStrategy::None, FaultStrategy::Uniform] {
            let (_, points) = generate_faults(&mut stream_rng(1, Stream::Nemesis), &profile(), strategy, 5_000);
            assert_eq!((points.delay_percent, points.enable_percent), (0, 0), "{strategy:?}");
        }
    }
}
