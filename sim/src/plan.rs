//! The explicit plan of a run: workload operations and fault events, as data.

use crate::nemesis::FaultWindow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One workload operation and the simulated time it is issued at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadStep<Operation> {
    /// Simulated milliseconds since the run began.
    pub at_ms: u64,
    /// What the client asks of the system.
    pub operation: Operation,
}

/// How fault points behave in a run (two-stage activation, as FoundationDB's BUGGIFY).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultPointPlan {
    /// Chance, in percent, that a given point is enabled for the run (decided per name).
    pub enable_percent: u8,
    /// Chance, in percent, that an enabled point fires on one pass.
    pub fire_percent: u8,
    /// Of the firings, the percent that crash the node; the others fail the call.
    pub crash_percent: u8,
    /// Points that never fire in this run, whatever the draw (used by shrinking).
    pub disabled: BTreeSet<String>,
    /// When not empty, the only points that may fire (used to aim at one step).
    #[serde(default)]
    pub only: BTreeSet<String>,
    /// Longest simulated delay before a node crashed by a fault point is restarted.
    pub restart_delay_ms_max: u64,
    /// Most firings in the whole run (0: no bound); lets a test inject exactly one fault.
    #[serde(default)]
    pub fires_max: u64,
    /// Most firings of any one point in the run (0: no bound), so a point passed often still
    /// leaves the run room to go on after it fired.
    #[serde(default)]
    pub fires_per_point_max: u64,
    /// Chance, in percent, that a pass over a delay point makes the task wait there.
    #[serde(default)]
    pub delay_percent: u8,
    /// Longest simulated wait at a delay point.
    #[serde(default)]
    pub delay_ms_max: u64,
}

impl FaultPointPlan {
    /// No fault point ever fires.
    pub fn off() -> Self {
        Self {
            enable_percent: 0,
            fire_percent: 0,
            crash_percent: 0,
            disabled: BTreeSet::new(),
            only: BTreeSet::new(),
            restart_delay_ms_max: 0,
            fires_max: 0,
            fires_per_point_max: 0,
            delay_percent: 0,
            delay_ms_max: 0,
        }
    }
}

/// Everything a run does that is not decided by the system under test itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan<Operation> {
    /// Workload operations, ordered by time.
    pub workload: Vec<WorkloadStep<Operation>>,
    /// Nemesis fault windows, ordered by start time.
    pub faults: Vec<FaultWindow>,
    /// Fault point behaviour.
    pub fault_points: FaultPointPlan,
}
