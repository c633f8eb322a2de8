//! The failure report: one JSON file with everything needed to replay a failed run anywhere.

use crate::build_info::BuildInfo;
use fleetsim_sim::{Event, FaultStrategy, FaultWindow, HistoryEntry, Limits, Outcome, Registry, RunConfig, Violation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The report format this fleetsim writes and reads.
pub const FORMAT_VERSION: u64 = 1;

/// What makes two failures the same one: scenario, bugs switched on, first violated invariant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Signature {
    /// The scenario that failed.
    pub scenario: String,
    /// Catalog bugs switched on (empty: the fixed model).
    pub bugs: Vec<String>,
    /// The first invariant the run violated.
    pub invariant: String,
}

impl Signature {
    /// The signature of a failed outcome; `None` when it passed.
    pub fn of(outcome: &Outcome) -> Option<Self> {
        let violation = outcome.first_violation()?;
        Some(Self {
            scenario: outcome.scenario.clone(),
            bugs: outcome.bugs.clone(),
            invariant: violation.invariant.clone(),
        })
    }

    /// A file name stem unique to the signature: `scenario--invariant--bugs`.
    pub fn file_stem(&self) -> String {
        let bugs = if self.bugs.is_empty() { "fixed".to_string() } else { self.bugs.join("+") };
        let stem = format!("{}--{}--{}", self.scenario, self.invariant, bugs);
        stem.chars()
            .map(
                |character| {
                    if character.is_ascii_alphanumeric() || "-+_.".contains(character) {
                        character
                    } else {
                        '_'
                    }
                },
            )
            .collect()
    }
}

/// One failed run, replayable from this file alone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailureReport {
    /// Version of this format ([`FORMAT_VERSION`]).
    pub format_version: u64,
    /// The fleetsim build that found the failure.
    pub fleetsim: BuildInfo,
    /// Scenario, bugs and first violated invariant.
    pub signature: Signature,
    /// Scenario of the run.
    pub scenario: String,
    /// Seed of the run.
    pub seed: u64,
    /// The seed in hexadecimal, as the command line accepts it.
    pub seed_hex: String,
    /// Catalog bugs switched on.
    pub bugs: Vec<String>,
    /// Fault strategy the plan was generated with.
    pub strategy: FaultStrategy,
    /// Bounds of the run.
    pub limits: Limits,
    /// The explicit plan (workload, fault windows, fault points) that replays the run.
    pub plan: serde_json::Value,
    /// Every violation, in detection order, with its evidence.
    pub violations: Vec<Violation>,
    /// The nemesis's fault windows, from the plan.
    pub fault_windows: Vec<FaultWindow>,
    /// Faults injected, per kind.
    pub faults: BTreeMap<String, u64>,
    /// What the faults did, per effect.
    #[serde(default)]
    pub fault_effects: BTreeMap<String, u64>,
    /// Hash over the whole trace; a replay must reproduce it.
    pub trace_hash: String,
    /// Trace events of the run.
    pub events: u64,
    /// Simulated milliseconds of the run.
    pub sim_ms: u64,
    /// The last events of the trace, oldest first.
    pub trace_tail: Vec<Event>,
    /// Every operation the system was asked to do and how it ended (invoke, ok, fail, info).
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// The command that replays this report and checks it reproduces.
    pub replay: String,
    /// The command that reruns the seed (regenerating the plan) from the command line.
    pub rerun: String,
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file could not be read.
    #[error("cannot read report {path}: {source}")]
    Unreadable {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not JSON: truncated or corrupt.
    #[error("report {path} is corrupt or truncated: {source}")]
    Corrupt {
        /// The file.
        path: String,
        /// What did not parse.
        source: serde_json::Error,
    },
    /// The file names a format this fleetsim does not read.
    #[error("report {path} has unknown format version {found} (this fleetsim reads {FORMAT_VERSION})")]
    UnknownVersion {
        /// The file.
        path: String,
        /// The version it names.
        found: String,
    },
    /// The scenario it names is not registered in this program.
    #[error("report {path} names unknown scenario '{scenario}' (known: {known})")]
    UnknownScenario {
        /// The file.
        path: String,
        /// The scenario named.
        scenario: String,
        /// The scenarios known.
        known: String,
    },
    /// A bug it names does not exist in this fleetsim.
    #[error("report {path} names unknown bug '{bug}'")]
    UnknownBug {
        /// The file.
        path: String,
        /// The bug named.
        bug: String,
    },
}

impl FailureReport {
    /// The report of a failed outcome, generated with `strategy`, to be written at `path`; its
    /// commands name `program`.
    pub fn from_outcome(program: &str, outcome: &Outcome, strategy: FaultStrategy, path: &Path) -> Self {
        let signature = Signature::of(outcome).unwrap_or_else(|| Signature {
            scenario: outcome.scenario.clone(),
            bugs: outcome.bugs.clone(),
            invariant: "none".to_string(),
        });
        let fault_windows = outcome.plan.get("faults").and_then(|faults| serde_json::from_value(faults.clone()).ok());
        Self {
            format_version: FORMAT_VERSION,
            fleetsim: BuildInfo::current(),
            signature,
            scenario: outcome.scenario.clone(),
            seed: outcome.seed,
            seed_hex: format!("{:#x}", outcome.seed),
            bugs: outcome.bugs.clone(),
            strategy,
            limits: outcome.limits.clone(),
            plan: outcome.plan.clone(),
            violations: outcome.violations.clone(),
            fault_windows: fault_windows.unwrap_or_default(),
            faults: outcome.faults.clone(),
            fault_effects: outcome.fault_effects.clone(),
            trace_hash: outcome.trace_hash.clone(),
            events: outcome.events,
            sim_ms: outcome.sim_ms,
            trace_tail: outcome.trace_tail.clone(),
            history: outcome.history.clone(),
            replay: format!("{program} replay {}", path.display()),
            rerun: rerun_command(program, outcome, strategy),
        }
    }

    /// The run configuration that replays this report exactly (explicit plan and limits).
    pub fn run_config(&self, keep_full_trace: bool) -> RunConfig {
        RunConfig {
            scenario: self.scenario.clone(),
            seed: self.seed,
            bugs: self.bugs.iter().cloned().collect(),
            plan: (!self.plan.is_null()).then(|| self.plan.clone()),
            limits: Some(self.limits.clone()),
            strategy: self.strategy,
            keep_full_trace,
            tail_only_on_failure: false,
        }
    }

    /// Names of the violated invariants, in detection order.
    pub fn invariants(&self) -> Vec<String> {
        self.violations.iter().map(|violation| violation.invariant.clone()).collect()
    }

    /// Reads and validates a report: JSON, format version, a scenario of `registry` and bugs
    /// that scenario implements.
    pub fn load(path: &Path, registry: &Registry) -> Result<Self, ReportError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| ReportError::Unreadable { path: shown.clone(), source })?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| ReportError::Corrupt { path: shown.clone(), source })?;
        match value.get("format_version").and_then(serde_json::Value::as_u64) {
            Some(FORMAT_VERSION) => {}
            other => {
                let found = other.map(|version| version.to_string()).unwrap_or_else(|| "(missing)".to_string());
                return Err(ReportError::UnknownVersion { path: shown, found });
            }
        }
        let report: Self =
            serde_json::from_value(value).map_err(|source| ReportError::Corrupt { path: shown.clone(), source })?;
        let Ok(scenario) = registry.scenario(&report.scenario) else {
            let known = registry.scenario_names().join(", ");
            return Err(ReportError::UnknownScenario { path: shown, scenario: report.scenario, known });
        };
        let implemented = scenario.bugs();
        if let Some(bug) = report.bugs.iter().find(|bug| !implemented.iter().any(|known| known.id == bug.as_str())) {
            return Err(ReportError::UnknownBug { path: shown, bug: bug.clone() });
        }
        Ok(report)
    }

    /// Writes the report atomically as pretty JSON.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).expect("a report serializes");
        crate::files::write_atomically(path, text.as_bytes())
    }
}

/// The `run` line of `program` that reruns an outcome's seed.
pub fn rerun_command(program: &str, outcome: &Outcome, strategy: FaultStrategy) -> String {
    let bugs: String = outcome.bugs.iter().map(|bug| format!(" --bug {bug}")).collect();
    let strategy =
        if strategy == FaultStrategy::default() { String::new() } else { format!(" --strategy {}", strategy.name()) };
    format!("{program} run --scenario {} --seed {:#x}{bugs}{strategy}", outcome.scenario, outcome.seed)
}
