//! Which waiting event a free worker takes next: per-tenant round-robin (the fix), or one queue
//! for everyone (`unfair-queue`).

use super::projection::Queued;
use crate::ids::TenantId;
use std::collections::{BTreeMap, BTreeSet};

/// The next event to handle among `queue`'s entries not in `taken`, after a worker last served
/// `last` (the tenant), and the tenant it belongs to.
pub fn pick(
    queue: &BTreeMap<u64, Queued>,
    taken: &BTreeSet<u64>,
    last: Option<TenantId>,
    unfair: bool,
) -> Option<Queued> {
    let mut waiting = queue.values().filter(|queued| !taken.contains(&queued.position));
    if unfair {
        // unfair-queue: one first-in, first-out queue for all tenants.
        return waiting.next().copied();
    }
    // Fixed: each tenant in turn, the oldest of its events first: the lowest tenant after `last`
    // that has an event waiting, else the lowest of all (the first entry seen of a tenant, in
    // arrival order, is its oldest).
    let (mut after, mut lowest): (Option<Queued>, Option<Queued>) = (None, None);
    for queued in waiting {
        let tenant = queued.event.tenant;
        if lowest.is_none_or(|best| tenant < best.event.tenant) {
            lowest = Some(*queued);
        }
        if last.is_none_or(|last| tenant > last) && after.is_none_or(|best| tenant < best.event.tenant) {
            after = Some(*queued);
        }
    }
    after.or(lowest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::event::{Action, Event};
    use crate::ids::{EventId, ItemId};

    #[test]
    fn fair_picking_serves_a_small_tenant_next_however_long_a_whales_backlog() {
        let mut queue = BTreeMap::new();
        for position in 0..100u64 {
            let tenant = TenantId(if position == 99 { 3 } else { 1 });
            let event =
                Event { id: EventId(position), tenant, item: ItemId(1), action: Action::Updated, version: 2, units: 1 };
            queue.insert(position, Queued { event, position });
        }
        let none = BTreeSet::new();
        assert_eq!(pick(&queue, &none, Some(TenantId(1)), false).map(|queued| queued.position), Some(99));
        assert_eq!(pick(&queue, &none, Some(TenantId(3)), false).map(|queued| queued.position), Some(0));
        assert_eq!(pick(&queue, &none, Some(TenantId(1)), true).map(|queued| queued.position), Some(0));
        assert_eq!(
            pick(&queue, &BTreeSet::from([99]), Some(TenantId(1)), false).map(|queued| queued.position),
            Some(0)
        );
    }
}
