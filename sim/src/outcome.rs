//! What a run reports: verdict, violations, trace hash, counts and coverage.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Pass or fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No invariant was violated and no bound was hit.
    Pass,
    /// At least one violation.
    Fail,
}

/// The class of a violation, which decides how a campaign groups it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ViolationClass {
    /// An `always` property was false during the run.
    Safety,
    /// An `eventually` property was false after heal and the quiet period.
    Convergence,
    /// A bound (events, simulated time) was hit.
    Liveness,
    /// Code inside the run panicked.
    Panic,
}

/// One violated invariant, with its evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Name of the invariant (or bound, or `panic`).
    pub invariant: String,
    /// Class of the violation.
    pub class: ViolationClass,
    /// Simulated milliseconds at which it was detected.
    pub at_ms: u64,
    /// Evidence naming the objects involved.
    pub message: String,
}

/// How often one fault point was passed and fired.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultPointCount {
    /// Passes over the point.
    pub hits: u64,
    /// Passes on which it fired.
    pub fires: u64,
}

/// Which windows the run reached: fault points and `sometimes` properties; and what the model
/// measured (`Sim::measure`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Every fault point passed, by name.
    pub fault_points: BTreeMap<String, FaultPointCount>,
    /// Every cataloged `sometimes` property with how often it held (zero: never reached).
    pub sometimes: BTreeMap<String, u64>,
    /// Every distribution the model measured, by name (with its unit, as `undead_ms`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub measurements: BTreeMap<String, crate::measurement::Measurement>,
}

/// The result of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Scenario that ran.
    pub scenario: String,
    /// Seed of the run.
    pub seed: u64,
    /// Catalog bugs that were switched on.
    pub bugs: Vec<String>,
    /// Pass or fail.
    pub outcome: Verdict,
    /// Violations in the order they were detected.
    pub violations: Vec<Violation>,
    /// 64-bit hash over the ordered trace, as 16 hex digits.
    pub trace_hash: String,
    /// Trace events the run produced.
    pub events: u64,
    /// Messages delivered by the RPC layer: requests, and replies a caller still waited for.
    #[serde(default)]
    pub messages_delivered: u64,
    /// Simulated milliseconds the run lasted.
    pub sim_ms: u64,
    /// Wall-clock milliseconds the run took (not part of the trace).
    pub wall_ms: u64,
    /// Faults injected, counted per kind.
    pub faults: BTreeMap<String, u64>,
    /// What the faults did, counted per effect: messages held back, unsynced writes lost, torn
    /// writes discarded, reads served from an old snapshot.
    #[serde(default)]
    pub fault_effects: BTreeMap<String, u64>,
    /// Fault points and `sometimes` properties reached.
    pub coverage: Coverage,
    /// The plan that ran, so the run can be replayed from it alone.
    pub plan: serde_json::Value,
    /// The bounds the run ran under (the scenario's defaults unless the config gave some).
    #[serde(default)]
    pub limits: crate::config::Limits,
    /// The last trace events, oldest first (every event when the run kept the full trace).
    pub trace_tail: Vec<crate::trace::Event>,
    /// Every operation the system was asked to do and how it ended (at most
    /// `HISTORY_ENTRIES_MAX` entries).
    #[serde(default)]
    pub history: Vec<crate::history::HistoryEntry>,
}

impl Outcome {
    /// True when no violation was found.
    pub fn passed(&self) -> bool {
        self.outcome == Verdict::Pass
    }

    /// The first violation, which names the failure.
    pub fn first_violation(&self) -> Option<&Violation> {
        self.violations.first()
    }
}
