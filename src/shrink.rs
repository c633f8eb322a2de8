//! `fleetsim shrink FILE`: the smallest plan that still fails the report's first invariant.
//!
//! Removes chunks of workload steps, then of fault windows (halving the chunk size down to one
//! entry, as delta debugging does), then disables fault points that fired, keeping each change
//! only when the run still fails first with the same invariant. Bounded by `ATTEMPTS_MAX` runs.

use crate::cli::ShrinkArguments;
use crate::fuzz::campaign::{run_checked, run_guarded};
use crate::replay::EXIT_DIVERGED;
use crate::report::failure::FailureReport;
use crate::EXIT_PASS;
use fleetsim_sim::{Outcome, Registry};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Most runs one shrink tries.
pub const ATTEMPTS_MAX: u64 = 500;

/// Plan arrays shrinking removes entries from, in order.
const SHRINKABLE: [&str; 2] = ["workload", "faults"];

struct Shrinker<'registry> {
    registry: &'registry Registry,
    report: FailureReport,
    invariant: String,
    attempts: u64,
}

impl Shrinker<'_> {
    /// Whether `plan` still fails first with the target invariant (counts one attempt).
    fn still_fails(&mut self, plan: &Value) -> Option<Outcome> {
        self.attempts += 1;
        let mut config = self.report.run_config(false);
        config.plan = Some(plan.clone());
        let outcome = run_guarded(self.registry, &config);
        let first = outcome.first_violation().map(|violation| violation.invariant.as_str());
        (first == Some(self.invariant.as_str())).then_some(outcome)
    }

    /// Removes chunks of `plan[key]`, halving the chunk size, while the failure persists.
    fn shrink_array(&mut self, plan: &mut Value, key: &str) {
        let length = |plan: &Value| plan.get(key).and_then(Value::as_array).map_or(0, Vec::len);
        let mut chunk = length(plan).div_ceil(2);
        while chunk >= 1 {
            let mut start = 0;
            while start < length(plan) && self.attempts < ATTEMPTS_MAX {
                let mut candidate = plan.clone();
                let entries = candidate[key].as_array_mut().expect("checked to be an array");
                entries.drain(start..(start + chunk).min(entries.len()));
                if self.still_fails(&candidate).is_some() {
                    *plan = candidate;
                } else {
                    start += chunk;
                }
            }
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
    }

    /// Disables, one by one, the fault points that fired, while the failure persists.
    fn disable_fault_points(&mut self, plan: &mut Value, fired: &[String]) {
        for name in fired {
            if self.attempts >= ATTEMPTS_MAX {
                return;
            }
            let mut candidate = plan.clone();
            let Some(disabled) = candidate.pointer_mut("/fault_points/disabled").and_then(Value::as_array_mut) else {
                return;
            };
            disabled.push(Value::String(name.clone()));
            if self.still_fails(&candidate).is_some() {
                *plan = candidate;
            }
        }
    }
}

/// Shrinks a report on `registry`; exit 0 with the minimal report written, 3 if the report does
/// not reproduce.
pub fn shrink(arguments: &ShrinkArguments, registry: &Registry) -> Result<u8, String> {
    let path = Path::new(&arguments.file);
    let report = FailureReport::load(path, registry).map_err(|error| error.to_string())?;
    let out = arguments.out.clone().map(PathBuf::from).unwrap_or_else(|| path.with_extension("min.json"));
    let invariant = report.signature.invariant.clone();
    let mut plan = report.plan.clone();
    if !plan.is_object() {
        return Err(format!("report {} carries no explicit plan to shrink", path.display()));
    }
    let original = run_checked(registry, &report.run_config(false))
        .map_err(|error| format!("report {} cannot be replayed: {error}", path.display()))?;
    if original.first_violation().map(|violation| violation.invariant.as_str()) != Some(invariant.as_str()) {
        outln!("diverged: {} no longer fails first with {invariant}; nothing to shrink", path.display());
        return Ok(EXIT_DIVERGED);
    }
    let mut shrinker = Shrinker { registry, report, invariant, attempts: 1 };
    let sizes_before = sizes(&plan);
    for key in SHRINKABLE {
        shrinker.shrink_array(&mut plan, key);
    }
    let fired: Vec<String> = original
        .coverage
        .fault_points
        .iter()
        .filter(|(_, count)| count.fires > 0)
        .map(|(name, _)| name.clone())
        .collect();
    shrinker.disable_fault_points(&mut plan, &fired);
    let minimal =
        shrinker.still_fails(&plan).ok_or("the shrunk plan stopped failing on its last run (non-determinism?)")?;
    let minimal_report = FailureReport::from_outcome(registry.program(), &minimal, shrinker.report.strategy, &out);
    minimal_report.write(&out).map_err(|error| format!("cannot write {}: {error}", out.display()))?;
    let sizes_after = sizes(&plan);
    outln!(
        "shrunk {} in {} runs{}: workload {} -> {}, fault windows {} -> {}; still violates {}\n  {} replay {}",
        path.display(),
        shrinker.attempts,
        if shrinker.attempts >= ATTEMPTS_MAX { " (attempt bound hit)" } else { "" },
        sizes_before.0,
        sizes_after.0,
        sizes_before.1,
        sizes_after.1,
        shrinker.invariant,
        registry.program(),
        out.display()
    );
    Ok(EXIT_PASS)
}

fn sizes(plan: &Value) -> (usize, usize) {
    let length = |key: &str| plan.get(key).and_then(Value::as_array).map_or(0, Vec::len);
    (length(SHRINKABLE[0]), length(SHRINKABLE[1]))
}
