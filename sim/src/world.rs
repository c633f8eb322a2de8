//! The world: all shared state of one run, the god's view, and the operations on it.

use crate::config::Limits;
use crate::fault_point::{FaultPointAction, FaultPoints};
use crate::history::{History, HistoryEntry, HistoryType, OperationId};
use crate::measurement::Measurement;
use crate::nemesis::{Fault, FaultKind};
use crate::network::{Network, Route};
use crate::node::{NodeContext, NodeIndex, NodeStatus};
use crate::outcome::{Coverage, Violation, ViolationClass};
use crate::plan::FaultPointPlan;
use crate::property::Invariant;
use crate::seed::{stream_rng, Stream, StreamRng};
use crate::trace::{hash_of, Detail, Event, EventKind, LazyWords, Trace};
use madsim::runtime::{Handle, NodeHandle};
use rand::Rng;
use madsim::task::NodeId;
use madsim::time::{Duration, TimeHandle};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// The name the harness goes by in the trace.
pub const NEMESIS_NAME: &str = "nemesis";

/// The port every node's RPC endpoint listens on.
pub const RPC_PORT: u16 = 7000;

/// Text a panic carries when the run hit `events_max`.
pub const EVENTS_BOUND_PANIC: &str = "fleetsim bound hit: events_max";

/// A node's start-up code, run at boot and again at every restart.
pub type NodeInit = Arc<dyn Fn(NodeContext) -> Pin<Box<dyn Future<Output = ()>>> + Send + Sync>;

struct NodeEntry {
    name: Arc<str>,
    handle: NodeHandle,
    address: SocketAddr,
    status: NodeStatus,
    /// True microseconds the node spent not running (crashed, paused or lost) before `down_since_us`.
    down_us: u64,
    /// When the node last stopped running, while it is not running.
    down_since_us: Option<u64>,
    clock: Clock,
    storage: StorageFaults,
    disk_hooks: Vec<DiskHook>,
}

/// What happens to a node's disk: the node crashed, or the run healed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DiskEvent {
    /// The node crashed: the disk forgets what was not synced.
    Crash,
    /// The run healed: the disk writes back what was not synced, as an operating system does.
    Heal,
}

/// What a node's disk does at a [`DiskEvent`].
pub(crate) type DiskHook = Arc<dyn Fn(&Sim, DiskEvent) + Send + Sync>;

/// A node's clock: true time, plus how far it has run ahead (or behind), at a rate.
#[derive(Clone, Copy, Debug)]
struct Clock {
    /// Local minus true time at `since_us`.
    offset_us: i64,
    /// True time the current rate began.
    since_us: u64,
    /// Speed in percent of true time.
    rate_percent: u16,
}

impl Clock {
    const TRUE: Clock = Clock { offset_us: 0, since_us: 0, rate_percent: 100 };

    fn local_us(&self, true_us: u64) -> u64 {
        let drift = (true_us - self.since_us.min(true_us)) as i64 * (i64::from(self.rate_percent) - 100) / 100;
        (true_us as i64 + self.offset_us + drift).max(0) as u64
    }

    /// The same clock from `true_us` on, at `rate_percent`, `jump_us` further ahead.
    fn rebased(&self, true_us: u64, jump_us: u64, rate_percent: u16) -> Clock {
        let offset_us = self.local_us(true_us) as i64 - true_us as i64 + jump_us as i64;
        Clock { offset_us, since_us: true_us, rate_percent }
    }
}

/// The longest clock jump a plan can make.
const CLOCK_JUMP_MS_MAX: u64 = 86_400_000;
/// The fastest a plan can make a clock run, in percent of true time.
const CLOCK_RATE_PERCENT_LIMIT: u16 = 10_000;

/// The storage faults in force on one node.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StorageFaults {
    /// Longest sync while a `disk` window is in force or armed (0: syncs are instant).
    pub(crate) sync_ms_max: u64,
    /// After a `disk` window: crash at the next unsynced write, restarting this much later.
    crash_armed: Option<u64>,
    /// While a `stale_read` window is in force: the oldest snapshot a marked read may see.
    pub(crate) stale_age_ms_max: Option<u64>,
}

/// What a world is made from.
pub struct WorldSetup {
    /// The run's seed.
    pub seed: u64,
    /// The run's bounds.
    pub limits: Limits,
    /// Catalog bugs switched on.
    pub bugs: BTreeSet<String>,
    /// How fault points behave.
    pub fault_points: FaultPointPlan,
    /// Names of the `sometimes` properties the scenario expects to reach.
    pub sometimes_catalog: Vec<String>,
    /// Names of the fault points the scenario expects to pass.
    pub fault_point_catalog: Vec<String>,
    /// Keep every trace event, not only the last ones.
    pub keep_full_trace: bool,
    /// Keep no events: the caller runs a failure again for its tail.
    pub tail_only_on_failure: bool,
}

struct State {
    trace: Trace,
    history: History,
    nodes: Vec<NodeEntry>,
    network: Network,
    fault_points: FaultPoints,
    model_rng: StreamRng,
    sometimes: BTreeMap<String, u64>,
    measurements: BTreeMap<String, Measurement>,
    violations: Vec<Violation>,
    faults: BTreeMap<String, u64>,
    fault_effects: BTreeMap<String, u64>,
    storage_rng: StreamRng,
    next_call_id: u64,
    messages_delivered: u64,
    stopped: bool,
    ended_us: Option<u64>,
}

struct Shared {
    nemesis_name: Arc<str>,
    seed: u64,
    limits: Limits,
    bugs: BTreeSet<String>,
    /// The simulated clock, read directly: `Instant::now` would reach it through an intercepted
    /// system call and a runtime lookup at every trace event.
    clock: TimeHandle,
    /// The clock's reading when the run began.
    started: Duration,
    supervisor: NodeHandle,
    stop: Notify,
    state: Mutex<State>,
    invariants: Mutex<Registered>,
    /// Whether the trace keeps any event, so that words need rendering at all.
    keeps_words: bool,
}

/// The registered invariants, and the two lists the checks walk, kept ready: a state change
/// runs the safety list without building it.
#[derive(Default)]
struct Registered {
    all: Vec<Arc<Invariant>>,
    safety: Arc<[Arc<Invariant>]>,
    eventually: Arc<[Arc<Invariant>]>,
}

impl Registered {
    fn add(&mut self, invariant: Invariant) {
        self.all.push(Arc::new(invariant));
        let list = |safety: bool| self.all.iter().filter(|invariant| invariant.is_safety() == safety).cloned().collect();
        (self.safety, self.eventually) = (list(true), list(false));
    }
}

/// A handle on the run's world; cheap to clone, shared by every node and checker.
#[derive(Clone)]
pub struct Sim {
    shared: Arc<Shared>,
}

/// What a finished (or aborted) run leaves behind for its outcome.
pub struct WorldResults {
    /// Violations, in detection order.
    pub violations: Vec<Violation>,
    /// The trace hash as 16 hex digits.
    pub trace_hash: String,
    /// Trace events recorded.
    pub events: u64,
    /// Messages delivered by the RPC layer: requests, and replies a caller still waited for.
    pub messages_delivered: u64,
    /// Simulated milliseconds the run lasted.
    pub sim_ms: u64,
    /// Faults injected per kind.
    pub faults: BTreeMap<String, u64>,
    /// What the faults did, per effect (messages held back, writes lost, stale reads served).
    pub fault_effects: BTreeMap<String, u64>,
    /// Fault points and `sometimes` properties reached.
    pub coverage: Coverage,
    /// The kept trace events, oldest first.
    pub trace_tail: Vec<Event>,
    /// The history of operations, in order.
    pub history: Vec<HistoryEntry>,
}

impl Sim {
    /// A new world; must be called inside the run's runtime.
    pub fn new(setup: WorldSetup, supervisor: NodeHandle) -> Self {
        // A run that wants its tail only on failure keeps nothing: a caller that wants a failure's
        // tail runs it again without the flag (see `runner::run`), so no run pays for words
        // nobody reads.
        let kept = match (setup.keep_full_trace, setup.tail_only_on_failure) {
            (true, _) => usize::MAX,
            (false, true) => 0,
            (false, false) => setup.limits.trace_events_kept,
        };
        let state = State {
            trace: Trace::new(kept),
            history: History::default(),
            nodes: Vec::new(),
            network: Network::new(stream_rng(setup.seed, Stream::Network)),
            fault_points: FaultPoints::new(setup.seed, setup.fault_points, stream_rng(setup.seed, Stream::FaultPoints))
                .with_catalog(&setup.fault_point_catalog),
            model_rng: stream_rng(setup.seed, Stream::Model),
            sometimes: setup.sometimes_catalog.into_iter().map(|name| (name, 0)).collect(),
            measurements: BTreeMap::new(),
            violations: Vec::new(),
            faults: BTreeMap::new(),
            fault_effects: BTreeMap::new(),
            storage_rng: stream_rng(setup.seed, Stream::Storage),
            next_call_id: 0,
            messages_delivered: 0,
            stopped: false,
            ended_us: None,
        };
        let shared = Shared {
            nemesis_name: Arc::from(NEMESIS_NAME),
            seed: setup.seed,
            limits: setup.limits,
            bugs: setup.bugs,
            clock: TimeHandle::current(),
            started: TimeHandle::current().elapsed(),
            supervisor,
            stop: Notify::new(),
            state: Mutex::new(state),
            invariants: Mutex::new(Registered::default()),
            keeps_words: kept > 0,
        };
        Self { shared: Arc::new(shared) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.shared.seed
    }

    /// Whether the trace keeps any event. When it does not (a campaign's run, which is run again
    /// with its tail only if it fails), [`LazyWords::hash_only`] is all an event's words need.
    pub fn keeps_words(&self) -> bool {
        self.shared.keeps_words
    }

    /// The run's bounds.
    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// Whether catalog bug `id` is switched on in this run.
    pub fn bug(&self, id: &str) -> bool {
        self.shared.bugs.contains(id)
    }

    /// Simulated microseconds since the run began.
    pub fn now_us(&self) -> u64 {
        (self.shared.clock.elapsed() - self.shared.started).as_micros() as u64
    }

    /// Simulated milliseconds since the run began.
    pub fn now_ms(&self) -> u64 {
        self.now_us() / 1000
    }

    /// Draws from the model's random stream.
    pub fn model_rng<R>(&self, draw: impl FnOnce(&mut StreamRng) -> R) -> R {
        draw(&mut self.state().model_rng)
    }

    /// Records an event; past `events_max` the run fails as a liveness violation.
    pub fn trace(&self, node: NodeIndex, kind: EventKind, detail: impl Into<Detail>) {
        self.trace_with_peer(node, None, kind, detail.into());
    }

    /// Records a message event between `node` and `peer`.
    pub fn trace_message(&self, node: NodeIndex, peer: NodeIndex, kind: EventKind, detail: impl Into<Detail>) {
        self.trace_with_peer(node, Some(peer), kind, detail.into());
    }

    fn trace_with_peer(&self, node: NodeIndex, peer: Option<NodeIndex>, kind: EventKind, detail: Detail) {
        let at_us = self.now_us();
        let mut state = self.state();
        let count = state.trace.record(at_us, node.0, peer.map(|peer| peer.0), kind, detail);
        state.messages_delivered += u64::from(kind == EventKind::Deliver);
        if count > self.shared.limits.events_max {
            let message = format!("the run produced more than {} trace events", self.shared.limits.events_max);
            let violation = Violation {
                invariant: "events_max".into(),
                class: ViolationClass::Liveness,
                at_ms: at_us / 1000,
                message,
            };
            state.violations.push(violation);
            drop(state);
            // A zero-time livelock never yields to the driver: unwinding is the only way out.
            panic!("{EVENTS_BOUND_PANIC}");
        }
    }

    /// Records the start of a run phase.
    pub fn phase(&self, name: &str) {
        self.trace(NodeIndex::NEMESIS, EventKind::Phase, name);
    }

    /// Adds a node that runs `init` now and after every restart; returns its index.
    pub fn add_node<F, Fut>(&self, name: &str, init: F) -> NodeIndex
    where
        F: Fn(NodeContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let index = NodeIndex(self.state().nodes.len() as u32);
        assert!(index.0 < 250, "at most 250 nodes per run");
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, index.0 as u8 + 1));
        let context = NodeContext::new(self.clone(), index);
        let init: NodeInit = Arc::new(move |context| Box::pin(init(context)));
        let handle = Handle::current()
            .create_node()
            .name(name)
            .ip(ip)
            .init(move || {
                let started = init(context.clone());
                async move {
                    started.await;
                    // A node whose init returns has exited; keep it alive.
                    std::future::pending::<()>().await;
                }
            })
            .build();
        let entry = NodeEntry {
            name: Arc::from(name),
            handle,
            address: SocketAddr::new(ip, RPC_PORT),
            status: NodeStatus::Up,
            down_us: 0,
            down_since_us: None,
            clock: Clock::TRUE,
            storage: StorageFaults::default(),
            disk_hooks: Vec::new(),
        };
        self.state().nodes.push(entry);
        index
    }

    /// The name of node `index`.
    pub fn node_name(&self, index: NodeIndex) -> String {
        self.node_label(index).to_string()
    }

    /// The name of node `index`, shared rather than copied (for the message path).
    pub(crate) fn node_label(&self, index: NodeIndex) -> Arc<str> {
        self.label_in(&self.state(), index)
    }

    fn label_in(&self, state: &State, index: NodeIndex) -> Arc<str> {
        match index {
            NodeIndex::NEMESIS => self.shared.nemesis_name.clone(),
            NodeIndex(position) => state.nodes[position as usize].name.clone(),
        }
    }

    /// The node called `name`, if any.
    pub fn node_index(&self, name: &str) -> Option<NodeIndex> {
        let state = self.state();
        state.nodes.iter().position(|node| &*node.name == name).map(|position| NodeIndex(position as u32))
    }

    /// Every node, in creation order.
    pub fn nodes(&self) -> Vec<NodeIndex> {
        (0..self.state().nodes.len() as u32).map(NodeIndex).collect()
    }

    /// The RPC address of node `index`.
    pub fn node_address(&self, index: NodeIndex) -> SocketAddr {
        self.state().nodes[index.0 as usize].address
    }

    fn madsim_id(&self, index: NodeIndex) -> NodeId {
        self.state().nodes[index.0 as usize].handle.id()
    }

    /// Spawns `future` on node `index`; it dies with the node.
    pub fn spawn_on(&self, index: NodeIndex, future: impl Future<Output = ()> + Send + 'static) {
        let handle = self.state().nodes[index.0 as usize].handle.clone();
        drop(handle.spawn(future));
    }

    /// Spawns `future` on the harness, which no fault touches.
    pub fn spawn_supervised(&self, future: impl Future<Output = ()> + Send + 'static) {
        drop(self.shared.supervisor.spawn(future));
    }

    fn set_status(&self, index: NodeIndex, from: NodeStatus, to: NodeStatus) -> bool {
        let now_us = self.now_us();
        let mut state = self.state();
        let node = &mut state.nodes[index.0 as usize];
        let changed = node.status == from;
        if changed {
            node.status = to;
            match (from == NodeStatus::Up, to == NodeStatus::Up) {
                (true, false) => node.down_since_us = Some(now_us),
                (false, true) => node.down_us += now_us - node.down_since_us.take().unwrap_or(now_us),
                _ => {}
            }
        }
        changed
    }

    /// Simulated milliseconds node `index` has spent not running (crashed, paused or lost) since
    /// the run began: a checker subtracts the change over a span to judge only the time the node
    /// could work, as a wait "while the system has capacity".
    pub fn node_down_ms(&self, index: NodeIndex) -> u64 {
        let now_us = self.now_us();
        let state = self.state();
        let node = &state.nodes[index.0 as usize];
        (node.down_us + node.down_since_us.map_or(0, |since_us| now_us - since_us)) / 1000
    }

    /// Crashes node `index`: its tasks and volatile state are gone, its disk stays.
    pub fn crash(&self, index: NodeIndex) -> bool {
        let crashed = self.set_status(index, NodeStatus::Up, NodeStatus::Crashed)
            || self.set_status(index, NodeStatus::Paused, NodeStatus::Crashed);
        if crashed {
            self.trace(index, EventKind::Crash, "node crashed");
            Handle::current().kill(self.madsim_id(index));
            let hooks = self.state().nodes[index.0 as usize].disk_hooks.clone();
            for hook in hooks {
                hook(self, DiskEvent::Crash);
            }
        }
        crashed
    }

    /// Kills node `index` for good: it crashes and never restarts, not even when the run heals.
    pub fn lose(&self, index: NodeIndex) -> bool {
        self.crash(index);
        let lost = self.set_status(index, NodeStatus::Crashed, NodeStatus::Lost);
        if lost {
            self.trace(index, EventKind::Crash, "node lost for good");
        }
        lost
    }

    /// Whether node `index` runs, is paused, crashed or lost for good.
    pub fn node_status(&self, index: NodeIndex) -> NodeStatus {
        self.state().nodes[index.0 as usize].status
    }

    /// Runs `hook` every time node `index` crashes and when the run heals (a disk forgetting
    /// its unsynced writes, or writing them back).
    pub(crate) fn on_disk_event(&self, index: NodeIndex, hook: DiskHook) {
        self.state().nodes[index.0 as usize].disk_hooks.push(hook);
    }

    /// Node `index`'s clock, in simulated microseconds since the run began as the node sees them.
    pub fn local_now_us(&self, index: NodeIndex) -> u64 {
        let now_us = self.now_us();
        match index {
            NodeIndex::NEMESIS => now_us,
            NodeIndex(position) => self.state().nodes[position as usize].clock.local_us(now_us),
        }
    }

    /// The true duration of `local_ms` on node `index`'s clock, at its current rate.
    pub fn local_duration(&self, index: NodeIndex, local_ms: u64) -> Duration {
        let rate = match index {
            NodeIndex::NEMESIS => 100,
            NodeIndex(position) => self.state().nodes[position as usize].clock.rate_percent,
        };
        if rate == 100 {
            Duration::from_millis(local_ms)
        } else {
            Duration::from_micros(local_ms.saturating_mul(100_000) / u64::from(rate))
        }
    }

    fn set_clock(&self, index: NodeIndex, jump_ms: u64, rate_percent: u16) {
        let now_us = self.now_us();
        let mut state = self.state();
        let clock = &mut state.nodes[index.0 as usize].clock;
        // An explicit plan may name any jump: past a day it is a day (and never overflows).
        let jump_us = jump_ms.min(CLOCK_JUMP_MS_MAX) * 1000;
        *clock = clock.rebased(now_us, jump_us, rate_percent.clamp(1, CLOCK_RATE_PERCENT_LIMIT));
    }

    /// The storage faults in force on node `index`, read in one lock.
    pub(crate) fn storage_of(&self, index: NodeIndex) -> StorageFaults {
        match index {
            NodeIndex::NEMESIS => StorageFaults::default(),
            NodeIndex(position) => self.state().nodes[position as usize].storage,
        }
    }

    fn change_storage(&self, index: NodeIndex, change: impl FnOnce(&mut StorageFaults)) {
        change(&mut self.state().nodes[index.0 as usize].storage);
    }

    /// How long the next sync of node `index`'s disk takes (0 outside `disk` windows).
    pub(crate) fn sync_delay_ms(&self, index: NodeIndex) -> u64 {
        let sync_ms_max = self.storage_of(index).sync_ms_max;
        if sync_ms_max == 0 {
            return 0;
        }
        self.state().storage_rng.gen_range(1..=sync_ms_max)
    }

    /// Node `index`'s disk is about to sync writes: crashes the node if a `disk` window armed it.
    pub(crate) fn crash_if_armed(&self, index: NodeIndex) -> bool {
        let Some(restart_after_ms) = self.storage_of(index).crash_armed else { return false };
        self.change_storage(index, |storage| (storage.crash_armed, storage.sync_ms_max) = (None, 0));
        self.crash_and_restart_later(index, restart_after_ms);
        true
    }

    /// Node `index`'s disk lost `writes` unsynced writes at a crash; whether the last was torn.
    pub(crate) fn writes_lost(&self, index: NodeIndex, writes: u64) -> bool {
        let torn = self.state().storage_rng.gen_bool(0.5);
        self.count_effect("disk: unsynced writes lost at a crash", writes);
        self.count_effect("disk: torn writes discarded at recovery", u64::from(torn));
        let tail = if torn { ", the last one torn and discarded" } else { "" };
        self.trace(index, EventKind::Storage, format!("{writes} unsynced writes lost{tail}"));
        torn
    }

    /// The oldest snapshot a possibly stale read of node `index`'s disk may see, if any.
    pub(crate) fn stale_age_ms_max(&self, index: NodeIndex) -> Option<u64> {
        self.storage_of(index).stale_age_ms_max
    }

    /// Picks one of `choices` for a possibly stale read.
    pub(crate) fn pick_snapshot(&self, choices: usize) -> usize {
        self.state().storage_rng.gen_range(0..choices)
    }

    /// Counts `count` effects of a fault (a message held back, a write lost, a stale read).
    pub fn count_effect(&self, effect: &str, count: u64) {
        if count > 0 {
            *self.state().fault_effects.entry(effect.to_string()).or_insert(0) += count;
        }
    }

    /// Restarts node `index` if it is crashed; its init runs again.
    pub fn restart(&self, index: NodeIndex) -> bool {
        let restarted = self.set_status(index, NodeStatus::Crashed, NodeStatus::Up);
        if restarted {
            self.trace(index, EventKind::Restart, "node restarted");
            Handle::current().restart(self.madsim_id(index));
        }
        restarted
    }

    /// Pauses node `index` if it is up.
    pub fn pause(&self, index: NodeIndex) -> bool {
        let paused = self.set_status(index, NodeStatus::Up, NodeStatus::Paused);
        if paused {
            self.trace(index, EventKind::FaultStart, "node paused");
            Handle::current().pause(self.madsim_id(index));
        }
        paused
    }

    /// Resumes node `index` if it is paused.
    pub fn resume(&self, index: NodeIndex) -> bool {
        let resumed = self.set_status(index, NodeStatus::Paused, NodeStatus::Up);
        if resumed {
            self.trace(index, EventKind::FaultStop, "node resumed");
            Handle::current().resume(self.madsim_id(index));
        }
        resumed
    }

    /// Crashes node `index` now and restarts it after `restart_after_ms`, from the harness.
    pub fn crash_and_restart_later(&self, index: NodeIndex, restart_after_ms: u64) {
        if self.crash(index) {
            let sim = self.clone();
            self.spawn_supervised(async move {
                madsim::time::sleep(Duration::from_millis(restart_after_ms)).await;
                sim.restart(index);
            });
        }
    }

    /// Counts one injected fault of `kind`.
    pub fn count_fault(&self, kind: FaultKind) {
        *self.state().faults.entry(kind.name().to_string()).or_insert(0) += 1;
    }

    /// Puts fault window `window_id` in force.
    pub fn start_fault(&self, window_id: u64, fault: &Fault) {
        self.count_fault(fault.kind());
        self.trace(NodeIndex::NEMESIS, EventKind::FaultStart, format!("window {window_id}: {fault}"));
        let node = fault.nodes().first().and_then(|name| self.node_index(name));
        match (fault, node) {
            (Fault::Crash { .. } | Fault::NodeLoss { forever: false, .. }, Some(index)) => drop(self.crash(index)),
            (Fault::NodeLoss { forever: true, .. }, Some(index)) => drop(self.lose(index)),
            (Fault::Pause { .. } | Fault::LongPause { .. }, Some(index)) => drop(self.pause(index)),
            (Fault::ClockSkew { jump_ms, rate_percent, .. }, Some(index)) => {
                self.set_clock(index, *jump_ms, *rate_percent)
            }
            (Fault::Disk { sync_ms_max, .. }, Some(index)) => {
                self.change_storage(index, |storage| storage.sync_ms_max = (*sync_ms_max).max(1))
            }
            (Fault::StaleRead { age_ms_max, .. }, Some(index)) => {
                self.change_storage(index, |storage| storage.stale_age_ms_max = Some(*age_ms_max))
            }
            (network_fault, _) => {
                let mut state = self.state();
                let names: BTreeMap<String, NodeIndex> = state
                    .nodes
                    .iter()
                    .enumerate()
                    .map(|(position, node)| (node.name.to_string(), NodeIndex(position as u32)))
                    .collect();
                let all: Vec<NodeIndex> = names.values().copied().collect();
                state.network.start(window_id, network_fault, |name| names.get(name).copied(), &all);
            }
        }
    }

    /// Ends fault window `window_id`.
    pub fn stop_fault(&self, window_id: u64, fault: &Fault) {
        self.trace(NodeIndex::NEMESIS, EventKind::FaultStop, format!("window {window_id}: {}", fault.kind().name()));
        let node = fault.nodes().first().and_then(|name| self.node_index(name));
        match (fault, node) {
            (Fault::Crash { .. } | Fault::NodeLoss { .. }, Some(index)) => drop(self.restart(index)),
            (Fault::Pause { .. } | Fault::LongPause { .. }, Some(index)) => drop(self.resume(index)),
            (Fault::ClockSkew { .. }, Some(index)) => self.set_clock(index, 0, 100),
            (Fault::Disk { restart_after_ms, .. }, Some(index)) => {
                self.change_storage(index, |storage| storage.crash_armed = Some(*restart_after_ms))
            }
            (Fault::StaleRead { .. }, Some(index)) => {
                self.change_storage(index, |storage| storage.stale_age_ms_max = None)
            }
            _ => self.state().network.stop(window_id),
        }
    }

    /// The heal phase: no more faults; every node restarted (but those lost for good) or resumed,
    /// every link repaired.
    pub fn heal(&self) {
        {
            let now_us = self.now_us();
            let mut state = self.state();
            state.network.heal();
            state.fault_points.deactivate();
            for node in &mut state.nodes {
                node.storage = StorageFaults::default();
                // A healed clock keeps the time it shows: clocks never go back.
                node.clock = node.clock.rebased(now_us, 0, 100);
            }
        }
        for index in self.nodes() {
            self.restart(index);
            self.resume(index);
        }
        let hooks: Vec<DiskHook> = self.state().nodes.iter().flat_map(|node| node.disk_hooks.clone()).collect();
        for hook in hooks {
            hook(self, DiskEvent::Heal);
        }
    }

    /// A run-wide unique RPC call id.
    pub fn next_call_id(&self) -> u64 {
        let mut state = self.state();
        state.next_call_id += 1;
        state.next_call_id
    }

    /// Decides the fate of one message and records it; `message` describes the message.
    pub fn route(&self, from: NodeIndex, to: NodeIndex, is_reply: bool, message: LazyWords) -> Route {
        let route = self.state().network.route(from, to, is_reply);
        let kind = match route {
            Route::Drop(_) => EventKind::Drop,
            Route::Deliver { copies: 2, late_ms: None, .. } => EventKind::Duplicate,
            Route::Deliver { late_ms: None, .. } => EventKind::Send,
            Route::Deliver { late_ms: Some(_), .. } => {
                self.count_effect("stale_delivery: messages held back", 1);
                EventKind::HeldBack
            }
        };
        let hash = hash_of(&(route, message.hash()));
        let words = if self.keeps_words() {
            LazyWords::new(hash, move |text| {
                describe_route(route, text);
                message.render_into(text);
            })
        } else {
            LazyWords::hash_only(hash)
        };
        self.trace_with_peer(from, None, kind, Detail::Lazy(words));
        route
    }

    /// Counts a pass over fault point `name` on node `index` and decides what it does.
    pub fn pass_fault_point(&self, index: NodeIndex, name: &str) -> FaultPointAction {
        let action = self.state().fault_points.pass(name);
        match action {
            FaultPointAction::Pass => return action,
            FaultPointAction::Crash { .. } => self.sometimes(&format!("crash at {name}"), true),
            FaultPointAction::Fail => self.sometimes(&format!("failure at {name}"), true),
        }
        self.count_fault(FaultKind::FaultPoint);
        let what = match action {
            FaultPointAction::Crash { restart_after_ms } => format!("crash, up again {restart_after_ms} ms later"),
            _ => "fail the step".to_string(),
        };
        self.trace(index, EventKind::FaultPoint, format!("{name}: {what}"));
        action
    }

    /// Counts a pass over delay point `name` on node `index`; the wait when it fires.
    pub fn pass_delay_point(&self, index: NodeIndex, name: &str) -> Option<u64> {
        let delay_ms = self.state().fault_points.pass_delay(name)?;
        self.count_fault(FaultKind::FaultPoint);
        self.trace(index, EventKind::FaultPoint, format!("{name}: wait {delay_ms} ms"));
        Some(delay_ms)
    }

    /// Records in the history that node `process` invoked an operation described by `detail`.
    pub fn invoke(&self, process: NodeIndex, detail: impl Into<String>) -> OperationId {
        let at_ms = self.now_ms();
        let mut state = self.state();
        let name = self.label_in(&state, process).to_string();
        state.history.invoke(name, at_ms, detail.into())
    }

    /// Records in the history how `operation` completed (`Ok`, `Fail` or `Info`), as `process` saw it.
    pub fn complete(&self, operation: OperationId, kind: HistoryType, process: NodeIndex, detail: impl Into<String>) {
        let at_ms = self.now_ms();
        let mut state = self.state();
        let name = self.label_in(&state, process).to_string();
        state.history.complete(operation, kind, name, at_ms, detail.into());
    }

    /// Reads the history recorded so far (the kept entries, in order).
    pub fn with_history<R>(&self, read: impl FnOnce(&[HistoryEntry]) -> R) -> R {
        read(self.state().history.entries())
    }

    /// Counts a `sometimes` property each time `condition` holds.
    pub fn sometimes(&self, name: &str, condition: bool) {
        let mut state = self.state();
        match state.sometimes.get_mut(name) {
            Some(count) => *count += u64::from(condition),
            // The catalog's properties are there from the start; any other is added at its first count.
            None => drop(state.sometimes.insert(name.to_string(), u64::from(condition))),
        }
    }

    /// Records one value of the distribution `name` (its unit in its name, as `undead_ms`):
    /// outcomes and campaign summaries report its count, quantiles and maximum.
    pub fn measure(&self, name: &str, value: u64) {
        let mut state = self.state();
        match state.measurements.get_mut(name) {
            Some(measurement) => measurement.record(value),
            None => {
                let mut measurement = Measurement::default();
                measurement.record(value);
                state.measurements.insert(name.to_string(), measurement);
            }
        }
    }

    /// Registers an invariant over the god's view.
    pub fn register_invariant(&self, invariant: Invariant) {
        self.registered().add(invariant);
    }

    /// Names of the registered invariants, in registration order.
    pub fn invariant_names(&self) -> Vec<&'static str> {
        self.registered().all.iter().map(|invariant| invariant.name).collect()
    }

    fn registered(&self) -> MutexGuard<'_, Registered> {
        self.shared.invariants.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The safety invariants, or the others, as registered when called: a checker may register
    /// or violate while they run, so they are not read under the lock.
    fn invariants(&self, safety: bool) -> Arc<[Arc<Invariant>]> {
        let registered = self.registered();
        if safety { registered.safety.clone() } else { registered.eventually.clone() }
    }

    /// Runs every safety invariant; called after each durable state change.
    pub fn state_changed(&self) {
        for invariant in self.invariants(true).iter() {
            if let Err(message) = (invariant.check)() {
                self.violate(invariant.name, invariant.class, message);
            }
        }
    }

    /// Runs every convergence and liveness invariant; called once the run has quieted.
    pub fn check_eventually(&self) {
        for invariant in self.invariants(false).iter() {
            if let Err(message) = (invariant.check)() {
                self.violate(invariant.name, invariant.class, message);
            }
        }
    }

    /// Records a violation (once per invariant) and asks the run to stop.
    pub fn violate(&self, invariant: &str, class: ViolationClass, message: String) {
        let at_ms = self.now_ms();
        {
            let mut state = self.state();
            if state.violations.iter().any(|violation| violation.invariant == invariant) {
                return;
            }
            let violation = Violation { invariant: invariant.to_string(), class, at_ms, message: message.clone() };
            state.violations.push(violation);
        }
        self.trace(NodeIndex::NEMESIS, EventKind::Violation, format!("{invariant}: {message}"));
        self.request_stop();
    }

    /// Asks the run to end as soon as the driver wakes.
    pub fn request_stop(&self) {
        self.state().stopped = true;
        self.shared.stop.notify_waiters();
    }

    /// Whether the run was asked to end.
    pub fn stopped(&self) -> bool {
        self.state().stopped
    }

    /// Sleeps `duration_ms` of simulated time, or less if the run is asked to stop.
    pub async fn wait_ms(&self, duration_ms: u64) {
        if self.stopped() {
            return;
        }
        let _ = madsim::time::timeout(Duration::from_millis(duration_ms), self.shared.stop.notified()).await;
    }

    /// Kills every node and lets the runtime drop their tasks.
    pub async fn shutdown(&self) {
        self.state().ended_us = Some(self.now_us());
        let ids: Vec<NodeId> = self.state().nodes.iter().map(|node| node.handle.id()).collect();
        for id in ids {
            Handle::current().kill(id);
        }
        madsim::time::sleep(Duration::from_millis(1)).await;
    }

    /// What the run leaves behind, the kept events rendered (none in a run that wants its tail
    /// only on failure); works after a panic too.
    pub fn results(&self) -> WorldResults {
        let state = self.state();
        let trace_tail = state.trace.kept(|number| self.label_in(&state, NodeIndex(number)).to_string()).collect();
        let last_us = state.trace.last_at_us().unwrap_or(0);
        WorldResults {
            violations: state.violations.clone(),
            trace_hash: state.trace.hash_hex(),
            events: state.trace.count(),
            messages_delivered: state.messages_delivered,
            sim_ms: state.ended_us.unwrap_or(last_us) / 1000,
            faults: state.faults.clone(),
            fault_effects: state.fault_effects.clone(),
            coverage: Coverage {
                fault_points: state.fault_points.counts().clone(),
                sometimes: state.sometimes.clone(),
                measurements: state.measurements.clone(),
            },
            trace_tail,
            history: state.history.entries().to_vec(),
        }
    }
}

/// What the network did with a message, as its trace line begins.
fn describe_route(route: Route, text: &mut String) {
    let _ = match route {
        Route::Drop(reason) => write!(text, "{} ", reason.name()),
        Route::Deliver { copies, extra_delay_ms, late_ms: Some(late_ms) } => {
            write!(text, "{copies} on time (+{extra_delay_ms}ms), 1 held back +{late_ms}ms ")
        }
        Route::Deliver { extra_delay_ms, .. } => write!(text, "+{extra_delay_ms}ms "),
    };
}
