//! What a system declares about itself for `list`, `hunt` and input checks: its bug switches and
//! its invariants.

use crate::outcome::ViolationClass;
use serde::Serialize;

/// One bug switch of a system under test: a real bug pattern the run can switch on (`--bug ID`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BugInfo {
    /// The stable ID, as `--bug` takes it.
    pub id: &'static str,
    /// The incident the bug comes from, in words, with its public source.
    pub incident: &'static str,
    /// What the faulty code does, in one line.
    pub story: &'static str,
    /// Invariants expected to catch it.
    pub invariants: &'static [&'static str],
    /// The scenario `hunt` runs it in.
    pub scenario: &'static str,
}

/// One invariant a system checks, as `list` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct InvariantInfo {
    /// Its name, as violations carry it.
    pub name: &'static str,
    /// When it is checked: safety throughout the run, convergence and liveness once it has quieted.
    pub kind: ViolationClass,
    /// What holds when it holds, in one line.
    pub summary: &'static str,
}

/// The invariants the harness itself reports, whatever the system: bounds, panics, determinism.
pub const HARNESS_INVARIANTS: &[InvariantInfo] = &[
    InvariantInfo {
        name: "events_max",
        kind: ViolationClass::Liveness,
        summary: "the run produced no more trace events than its events_max bound",
    },
    InvariantInfo {
        name: "sim_ms_max",
        kind: ViolationClass::Liveness,
        summary: "the run ended within its simulated-time bound (chaos + heal + quiet_ms_max)",
    },
    InvariantInfo {
        name: "deadlock",
        kind: ViolationClass::Liveness,
        summary: "some task could still make progress until the run ended",
    },
    InvariantInfo { name: "panic", kind: ViolationClass::Panic, summary: "no code inside the run panicked" },
    InvariantInfo {
        name: "deterministic-replay",
        kind: ViolationClass::Safety,
        summary:
            "a run repeated in the same process gives the same trace hash and violations (a sample of campaign runs)",
    },
];
