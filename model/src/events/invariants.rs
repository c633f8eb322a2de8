//! The event pipeline's invariants: the projection against the source's truth once the run has
//! quieted, and the timing the ledger measured against the scenario's bounds, which every
//! violation prints.

use super::ledger::{self, Ledger};
use super::projection::{Projection, Usage};
use super::settings::EventsSettings;
use super::truth::Truth;
use crate::ids::TenantId;
use fleetsim_sim::{Disk, Invariant, InvariantInfo, Sim, ViolationClass};
use std::collections::BTreeMap;

/// Every invariant the pipeline registers at boot, as `list` shows it.
pub const CATALOG: &[InvariantInfo] = &[
    InvariantInfo {
        name: "projection-consistent",
        kind: ViolationClass::Convergence,
        summary: "after the quiet period the dashboard equals the source: no ghost item, none missing, no double count",
    },
    InvariantInfo {
        name: "projection-fresh",
        kind: ViolationClass::Liveness,
        summary: "every emitted event is reflected in the dashboard's store, each handled within the lag bound of its emission",
    },
    InvariantInfo {
        name: "no-deadlock",
        kind: ViolationClass::Safety,
        summary: "the store's deadlock detector never fires and no transaction waits for a row lock past its bound",
    },
    InvariantInfo {
        name: "backend-rate",
        kind: ViolationClass::Convergence,
        summary: "in the steady state after the heal, the item API's refetches of expired entries in any window stay under the bound",
    },
    InvariantInfo {
        name: "tenant-wait",
        kind: ViolationClass::Safety,
        summary: "no small tenant's event waits in the queue past the bound while the consumer runs",
    },
];

/// `projection-consistent`: see [`CATALOG`].
pub fn projection_consistent(truth: Disk<Truth>, projection: Disk<Projection>) -> Invariant {
    Invariant::eventually("projection-consistent", move || {
        let truth = truth.read_durable(Truth::clone);
        let projection = projection.read_durable(Projection::clone);
        for (item, expected) in &truth.items {
            let row = projection.rows.get(item).filter(|row| row.live);
            match (expected.live, row) {
                (false, Some(row)) => {
                    return Err(format!(
                        "ghost: {item} of {} is on the dashboard ({} units, v{}) but was deleted at v{}",
                        expected.tenant, row.units, row.version, expected.version
                    ))
                }
                (true, None) => {
                    return Err(format!(
                        "missing: {item} of {} (v{}, {} units) is not on the dashboard",
                        expected.tenant, expected.version, expected.units
                    ))
                }
                (true, Some(row)) if row.units != expected.units => {
                    return Err(format!(
                        "{item} of {} shows {} units (v{}), the source holds {} (v{})",
                        expected.tenant, row.units, row.version, expected.units, expected.version
                    ))
                }
                _ => {}
            }
        }
        if let Some((item, row)) =
            projection.rows.iter().find(|(item, row)| row.live && !truth.items.contains_key(item))
        {
            return Err(format!("ghost: {item} of {} is on the dashboard, the source never had it", row.tenant));
        }
        let mut expected: BTreeMap<TenantId, Usage> = BTreeMap::new();
        for item in truth.items.values().filter(|item| item.live) {
            let usage = expected.entry(item.tenant).or_default();
            usage.items += 1;
            usage.units += i64::from(item.units);
        }
        let tenants =
            expected.keys().chain(projection.usage.keys()).copied().collect::<std::collections::BTreeSet<_>>();
        for tenant in tenants {
            let (want, have) = (
                expected.get(&tenant).copied().unwrap_or_default(),
                projection.usage.get(&tenant).copied().unwrap_or_default(),
            );
            if want != have {
                return Err(format!(
                    "{tenant}'s usage shows {} items and {} units, its live items are {} with {} units",
                    have.items, have.units, want.items, want.units
                ));
            }
        }
        Ok(())
    })
}

/// `projection-fresh`: see [`CATALOG`]. An event counts as handled once the consumer's durable
/// store reflects it (its item's row holds its version or a later one), whether or not the
/// handler lived to report it; the lag is measured when a handler reports it.
pub fn projection_fresh(ledger: Ledger, projection: Disk<Projection>, settings: EventsSettings) -> Invariant {
    Invariant::finishes("projection-fresh", move || {
        if let Some(worst) = ledger.worst(ledger::LAG).filter(|worst| worst.value > settings.lag_ms_max) {
            return Err(format!("lag {} ms, past the {} ms bound: {}", worst.value, settings.lag_ms_max, worst.what));
        }
        let projection = projection.read_durable(Projection::clone);
        let unhandled: Vec<String> = ledger
            .emissions()
            .iter()
            .filter(|(event, _)| !projection.reflects(event))
            .take(5)
            .map(|(event, at_ms)| format!("{event:?} (emitted at {at_ms} ms)"))
            .collect();
        if !unhandled.is_empty() {
            return Err(format!("events the store does not reflect after the quiet period: {}", unhandled.join("; ")));
        }
        Ok(())
    })
}

/// `no-deadlock`: see [`CATALOG`].
pub fn no_deadlock(ledger: Ledger, settings: EventsSettings) -> Invariant {
    Invariant::always("no-deadlock", move || {
        if let Some(cycle) = ledger.first_deadlock() {
            return Err(cycle);
        }
        match ledger.worst(ledger::LOCK_WAIT) {
            Some(worst) if worst.value > settings.lock_wait_ms_max => {
                Err(format!("{}, past the {} ms bound", worst.what, settings.lock_wait_ms_max))
            }
            _ => Ok(()),
        }
    })
}

/// `backend-rate`: see [`CATALOG`]. Judged over the steady state, from `steady_from_ms` (one TTL
/// after the heal) on: any cache refills in a burst after an outage, and jitter spreads the
/// expiries out within one TTL; entries without jitter expire together forever.
pub fn backend_rate(sim: Sim, ledger: Ledger, settings: EventsSettings, steady_from_ms: u64) -> Invariant {
    Invariant::eventually("backend-rate", move || {
        let Some((most, end_ms)) = ledger.busiest_window(steady_from_ms, settings.fetch_window_ms) else {
            return Ok(());
        };
        sim.measure(ledger::STEADY_FETCHES_PER_WINDOW, most);
        if most > settings.fetches_per_window_max {
            return Err(format!(
                "{most} refetches of expired items in the {} ms to {end_ms} ms, in the steady state from {steady_from_ms} ms, past the bound of {}",
                settings.fetch_window_ms, settings.fetches_per_window_max
            ));
        }
        Ok(())
    })
}

/// `tenant-wait`: see [`CATALOG`].
pub fn tenant_wait(ledger: Ledger, settings: EventsSettings) -> Invariant {
    Invariant::always("tenant-wait", move || match ledger.worst(ledger::SMALL_WAIT) {
        Some(worst) if worst.value > settings.small_wait_ms_max => {
            Err(format!("{}, past the {} ms bound", worst.what, settings.small_wait_ms_max))
        }
        _ => Ok(()),
    })
}
