//! What a run is asked to do: scenario, seed, bugs, plan, limits and fault strategy.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Every bound of a run, in simulated time or counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Length of the chaos phase: workload and nemesis together.
    pub chaos_ms: u64,
    /// Length of the heal phase: nodes restarted and resumed, links repaired.
    pub heal_ms: u64,
    /// Longest quiet phase before convergence and liveness checks run.
    pub quiet_ms_max: u64,
    /// How often the quiet phase asks whether the system has settled.
    pub settle_poll_ms: u64,
    /// Most trace events a run may produce; past it the run fails as a liveness violation.
    pub events_max: u64,
    /// How many of the last trace events are kept in memory (the hash covers all).
    pub trace_events_kept: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            chaos_ms: 5_000,
            heal_ms: 200,
            quiet_ms_max: 20_000,
            settle_poll_ms: 100,
            events_max: 200_000,
            trace_events_kept: 256,
        }
    }
}

impl Limits {
    /// Simulated time past which the runtime itself stops the run.
    pub fn sim_ms_max(&self) -> u64 {
        self.chaos_ms + self.heal_ms + self.quiet_ms_max + 1_000
    }
}

/// How a run chooses its faults when it generates its plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultStrategy {
    /// Workload only: no nemesis, no fault points.
    None,
    /// Every fault kind at fixed rates, no fault points.
    Uniform,
    /// A random subset of fault kinds with random intensities per seed, plus fault points.
    #[default]
    Swarm,
}

impl FaultStrategy {
    /// Every strategy, in a stable order.
    pub const ALL: [FaultStrategy; 3] = [FaultStrategy::None, FaultStrategy::Uniform, FaultStrategy::Swarm];

    /// The strategy's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            FaultStrategy::None => "none",
            FaultStrategy::Uniform => "uniform",
            FaultStrategy::Swarm => "swarm",
        }
    }

    /// The strategy with that name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|strategy| strategy.name() == name)
    }
}

/// One run: `(scenario, seed, bugs, plan)`, with its limits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Name of the scenario to run.
    pub scenario: String,
    /// The run's seed; every random choice derives from it.
    pub seed: u64,
    /// Catalog bugs switched on (IDs); empty is the fixed model.
    pub bugs: BTreeSet<String>,
    /// An explicit plan to run as is instead of generating one from the seed.
    pub plan: Option<serde_json::Value>,
    /// Bounds; the scenario's defaults when absent.
    pub limits: Option<Limits>,
    /// How faults are chosen when the plan is generated.
    pub strategy: FaultStrategy,
    /// Keep every trace event in memory (for printing the whole trace), not only the last ones.
    pub keep_full_trace: bool,
    /// Keep no trace events, for a caller that wants the tail of failures only and runs a failure
    /// again without the flag to get it (campaigns do: see `runner::run`); every outcome's
    /// `trace_tail` is then empty and the trace hash the same. Events nobody reads cost no words.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tail_only_on_failure: bool,
}

impl RunConfig {
    /// A run of `scenario` at `seed` with the fixed model and generated plan.
    pub fn new(scenario: &str, seed: u64) -> Self {
        Self { scenario: scenario.to_string(), seed, ..Self::default() }
    }

    /// The same run with one more catalog bug switched on.
    pub fn with_bug(mut self, bug: &str) -> Self {
        self.bugs.insert(bug.to_string());
        self
    }
}
