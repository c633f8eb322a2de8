//! Nodes: their identity in a run, and the context a node's code runs with.

use crate::fault_point::FaultPointAction;
use crate::trace::{Detail, EventKind};
use crate::world::Sim;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A node's position in the run's node table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeIndex(pub u32);

impl NodeIndex {
    /// The harness itself: the nemesis and the workload driver. Never faulted.
    pub const NEMESIS: NodeIndex = NodeIndex(u32::MAX);
}

impl fmt::Display for NodeIndex {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

/// Whether a node runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeStatus {
    /// Running.
    Up,
    /// Killed: its tasks and volatile state are gone until it restarts.
    Crashed,
    /// Not scheduled until resumed; its state is kept.
    Paused,
    /// Killed for good (a `node_loss` window with `forever`): it never restarts.
    Lost,
}

/// A fault point fired and failed the call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("fault injected at {point}")]
pub struct InjectedFault {
    /// Name of the fault point.
    pub point: String,
}

/// What a node's code is given: the world, and which node it is.
#[derive(Clone)]
pub struct NodeContext {
    sim: Sim,
    index: NodeIndex,
}

impl NodeContext {
    /// The context of node `index` in `sim`.
    pub fn new(sim: Sim, index: NodeIndex) -> Self {
        Self { sim, index }
    }

    /// The run's world.
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// This node's index.
    pub fn index(&self) -> NodeIndex {
        self.index
    }

    /// This node's name.
    pub fn name(&self) -> String {
        self.sim.node_name(self.index)
    }

    /// Milliseconds since the run began by this node's clock, which `clock_skew` windows move
    /// ahead and speed up or slow down. Leases and deadlines a node judges should use this.
    pub fn now_ms(&self) -> u64 {
        self.sim.local_now_us(self.index) / 1000
    }

    /// Sleeps `duration_ms` by this node's clock (a fast clock wakes early in true time).
    pub async fn sleep_ms(&self, duration_ms: u64) {
        madsim::time::sleep(self.sim.local_duration(self.index, duration_ms)).await;
    }

    /// Records a step of the system under test in the trace: text, or [`crate::LazyWords`]
    /// for a step frequent enough that its text should be made only if the event is kept.
    pub fn step(&self, detail: impl Into<Detail>) {
        self.sim.trace(self.index, EventKind::Step, detail);
    }

    /// A fault point: may crash this node right here (and never return), fail with an
    /// injected error, or pass. Every pass is counted.
    pub async fn fault_point(&self, name: &str) -> Result<(), InjectedFault> {
        match self.sim.pass_fault_point(self.index, name) {
            FaultPointAction::Pass => Ok(()),
            FaultPointAction::Fail => Err(InjectedFault { point: name.to_string() }),
            FaultPointAction::Crash { restart_after_ms } => {
                self.sim.crash_and_restart_later(self.index, restart_after_ms);
                // The kill takes effect at the next await: stop here so nothing leaks past it.
                std::future::pending::<()>().await;
                unreachable!("a crashed node's task is never polled again")
            }
        }
    }

    /// A delay point: the task may wait here, as a slow or descheduled task does. Every pass
    /// is counted.
    pub async fn delay_point(&self, name: &str) {
        if let Some(delay_ms) = self.sim.pass_delay_point(self.index, name) {
            madsim::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        }
    }
}
