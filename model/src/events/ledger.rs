//! The god's view of the pipeline's timing, as the invariants read it: when each event was
//! emitted and first handled, and the worst of each measured wait and rate with what it was.
//! Every observation is also a run measurement (`Sim::measure`), so a campaign reports each
//! distribution's p99 and maximum beside the bound an invariant judges it by. It lives outside
//! every node; all its times are true simulated milliseconds.

use super::event::Event;
use crate::ids::EventId;
use fleetsim_sim::Sim;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// From an event's emission to its first handling (`projection-fresh`).
pub const LAG: &str = "lag_ms";
/// A small tenant's event in the queue, less the time the consumer was down (`tenant-wait`).
pub const SMALL_WAIT: &str = "small_tenant_wait_ms";
/// A transaction's wait for a row lock, less the time the consumer was down (`no-deadlock`).
pub const LOCK_WAIT: &str = "lock_wait_ms";
/// The item API's refetches of expired entries in the trailing window, over the whole run.
pub const FETCHES_PER_WINDOW: &str = "refetches_per_window";
/// The most refetches in any window of the steady state after the heal (`backend-rate`).
pub const STEADY_FETCHES_PER_WINDOW: &str = "steady_refetches_per_window";

/// The worst value of a measurement, and what it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Worst {
    /// The value.
    pub value: u64,
    /// What it was (which event, which rows), for the evidence.
    pub what: String,
}

#[derive(Debug, Default)]
struct Records {
    emitted: BTreeMap<EventId, (Event, u64)>,
    handled: BTreeMap<EventId, u64>,
    worst: BTreeMap<&'static str, Worst>,
    deadlocks: Vec<String>,
    refetches: Vec<u64>,
}

/// Most refetch times one run keeps; past it the list stops growing.
pub const REFETCHES_MAX: usize = 50_000;

/// The ledger of one run; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    records: Arc<Mutex<Records>>,
}

impl Ledger {
    fn records(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `event` was emitted at `at_ms`.
    pub fn emitted(&self, event: &Event, at_ms: u64) {
        self.records().emitted.insert(event.id, (*event, at_ms));
    }

    /// Every emitted event and when, in emission order.
    pub fn emissions(&self) -> Vec<(Event, u64)> {
        self.records().emitted.values().copied().collect()
    }

    /// Whether `holds` holds of every emitted event (read in place, not copied).
    pub fn all_emitted(&self, holds: impl Fn(&Event) -> bool) -> bool {
        self.records().emitted.values().all(|(event, _)| holds(event))
    }

    /// `event` was handled at `at_ms`; its first handling measures its lag.
    pub fn handled(&self, sim: &Sim, event: &Event, at_ms: u64) {
        let emitted_ms = {
            let mut records = self.records();
            if records.handled.contains_key(&event.id) {
                return;
            }
            records.handled.insert(event.id, at_ms);
            records.emitted.get(&event.id).map(|(_, emitted_ms)| *emitted_ms)
        };
        if let Some(emitted_ms) = emitted_ms {
            let lag_ms = at_ms.saturating_sub(emitted_ms);
            self.observe(sim, LAG, lag_ms, || format!("{event:?}, emitted at {emitted_ms} ms, handled at {at_ms} ms"));
        }
    }

    /// Records one value of `measurement` (as a run measurement too), keeping the worst.
    pub fn observe(&self, sim: &Sim, measurement: &'static str, value: u64, what: impl FnOnce() -> String) {
        sim.measure(measurement, value);
        let mut records = self.records();
        let worse = records.worst.get(measurement).is_none_or(|worst| value > worst.value);
        if worse {
            records.worst.insert(measurement, Worst { value, what: what() });
        }
    }

    /// The worst value of `measurement` so far.
    pub fn worst(&self, measurement: &str) -> Option<Worst> {
        self.records().worst.get(measurement).cloned()
    }

    /// The item API refetched an expired entry at `at_ms`.
    pub fn refetched(&self, at_ms: u64) {
        let mut records = self.records();
        if records.refetches.len() < REFETCHES_MAX {
            records.refetches.push(at_ms);
        }
    }

    /// The most refetches in any window of `window_ms` that starts at `from_ms` or later, and the
    /// window's end.
    pub fn busiest_window(&self, from_ms: u64, window_ms: u64) -> Option<(u64, u64)> {
        let records = self.records();
        let times: Vec<u64> = records.refetches.iter().copied().filter(|at_ms| *at_ms >= from_ms).collect();
        let mut busiest: Option<(u64, u64)> = None;
        let mut start = 0;
        for (end, at_ms) in times.iter().enumerate() {
            while times[start] + window_ms <= *at_ms {
                start += 1;
            }
            let count = (end - start + 1) as u64;
            if busiest.is_none_or(|(most, _)| count > most) {
                busiest = Some((count, *at_ms));
            }
        }
        busiest
    }

    /// The store's deadlock detector aborted a transaction: `cycle` names the waits.
    pub fn deadlock(&self, cycle: String) {
        self.records().deadlocks.push(cycle);
    }

    /// The first deadlock the detector found, if any.
    pub fn first_deadlock(&self) -> Option<String> {
        self.records().deadlocks.first().cloned()
    }
}
