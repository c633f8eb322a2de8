//! The consumer's store: the tenant dashboard's projection (items and usage per tenant), the
//! queue of events waiting for a handler, and the collector's cursor. The handler's rules, with
//! the two catalog bugs of seed 004 that live in them, are here.

use super::event::{Action, Event};
use crate::bugs::{DELETE_BEFORE_CREATE_GHOST, EVENT_NOT_IDEMPOTENT};
use crate::ids::{EventId, ItemId, TenantId};
use std::collections::BTreeMap;

/// One item of the projection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// Its tenant.
    pub tenant: TenantId,
    /// The version of the newest event applied (or of the deletion it remembers).
    pub version: u32,
    /// Its size.
    pub units: u32,
    /// Whether it is on the dashboard; a deleted row is a tombstone.
    pub live: bool,
}

/// A tenant's totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Usage {
    /// Live items.
    pub items: i64,
    /// Their units.
    pub units: i64,
}

/// An event waiting in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queued {
    /// The event.
    pub event: Event,
    /// Its position in arrival order (the queue's key).
    pub position: u64,
}

/// The consumer's disk.
#[derive(Clone, Debug, Default)]
pub struct Projection {
    /// Items by identifier.
    pub rows: BTreeMap<ItemId, Row>,
    /// Totals by tenant.
    pub usage: BTreeMap<TenantId, Usage>,
    /// Events waiting, by arrival position.
    pub queue: BTreeMap<u64, Queued>,
    /// The next arrival position.
    pub next_position: u64,
    /// The collector's position in the stream.
    pub cursor: u64,
}

/// What a handler did with an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// It changed the projection.
    Changed,
    /// It was already applied, or a newer event was: nothing to do.
    Stale,
    /// A deletion of an item not yet seen: remembered as a tombstone.
    Tombstone,
    /// Refused: the handler raised an error.
    Error(&'static str),
}

/// Which switches of seed 004's handler are on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HandlerBugs {
    /// `event-not-idempotent`.
    pub not_idempotent: bool,
    /// `delete-before-create-ghost`.
    pub ghost: bool,
}

impl HandlerBugs {
    /// The switches a run has on.
    pub fn of(sim: &fleetsim_sim::Sim) -> Self {
        Self { not_idempotent: sim.bug(EVENT_NOT_IDEMPOTENT), ghost: sim.bug(DELETE_BEFORE_CREATE_GHOST) }
    }
}

impl Projection {
    /// Adds `events` to the queue.
    pub fn enqueue(&mut self, events: &[Event]) {
        for event in events {
            let position = self.next_position;
            self.next_position += 1;
            self.queue.insert(position, Queued { event: *event, position });
        }
    }

    fn count(&mut self, tenant: TenantId, items: i64, units: i64) {
        let usage = self.usage.entry(tenant).or_default();
        usage.items += items;
        usage.units += units;
    }

    /// Applies `event` and takes it off the queue at `position`, in one write.
    pub fn apply(&mut self, position: u64, event: &Event, bugs: HandlerBugs) -> Applied {
        self.queue.remove(&position);
        let row = self.rows.get(&event.item).copied();
        let live = |units| Row { tenant: event.tenant, version: event.version, units, live: true };
        match (event.action, row) {
            (Action::Created, Some(_)) if bugs.not_idempotent => {
                // event-not-idempotent: a repeated `created` is applied again.
                self.rows.insert(event.item, live(event.units));
                self.count(event.tenant, 1, i64::from(event.units));
                Applied::Changed
            }
            (Action::Deleted, Some(row)) if bugs.not_idempotent && !row.live => {
                // event-not-idempotent: a repeated `deleted` finds nothing to delete and fails.
                Applied::Error("can't delete the item because it was not found")
            }
            // Fixed: an event no newer than what the row holds was applied already, or was
            // overtaken by a newer one (a tombstone included).
            (_, Some(row)) if row.version >= event.version => Applied::Stale,
            (Action::Deleted, None) if bugs.ghost => {
                // delete-before-create-ghost: a deletion of an item not yet seen is dropped.
                Applied::Error("can't delete the item because it was not found")
            }
            (Action::Deleted, None) => {
                // Fixed: the early deletion is kept as a tombstone; the late creation sees it.
                self.rows.insert(event.item, Row { live: false, ..live(event.units) });
                Applied::Tombstone
            }
            (Action::Deleted, Some(row)) => {
                self.rows.insert(event.item, Row { live: false, ..live(event.units) });
                if row.live {
                    self.count(event.tenant, -1, -i64::from(row.units));
                }
                Applied::Changed
            }
            (Action::Created | Action::Updated, Some(row)) => {
                self.rows.insert(event.item, Row { live: row.live, ..live(event.units) });
                if row.live {
                    self.count(event.tenant, 0, i64::from(event.units) - i64::from(row.units));
                }
                Applied::Changed
            }
            (Action::Created | Action::Updated, None) => {
                self.rows.insert(event.item, live(event.units));
                self.count(event.tenant, 1, i64::from(event.units));
                Applied::Changed
            }
        }
    }

    /// Whether the event at `position` is still queued (a crash may have taken it back).
    pub fn queued(&self, position: u64) -> bool {
        self.queue.contains_key(&position)
    }

    /// Whether `event` is reflected here: its item's row holds its version or a later one.
    pub fn reflects(&self, event: &Event) -> bool {
        self.rows.get(&event.item).is_some_and(|row| row.version >= event.version)
    }

    /// The live items on the dashboard.
    pub fn live_items(&self) -> Vec<ItemId> {
        self.rows.iter().filter(|(_, row)| row.live).map(|(id, _)| *id).collect()
    }

    /// Events waiting, by identifier (duplicates counted once).
    pub fn waiting(&self) -> Vec<EventId> {
        self.queue.values().map(|queued| queued.event.id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: u64, action: Action, version: u32, units: u32) -> Event {
        Event { id: EventId(id), tenant: TenantId(1), item: ItemId(7), action, version, units }
    }

    fn apply_all(events: &[Event], bugs: HandlerBugs) -> Projection {
        let mut projection = Projection::default();
        projection.enqueue(events);
        let queued: Vec<Queued> = projection.queue.values().copied().collect();
        for entry in queued {
            projection.apply(entry.position, &entry.event, bugs);
        }
        projection
    }

    #[test]
    fn repeated_and_overtaken_events_leave_the_projection_as_in_order_delivery_does() {
        let created = event(1, Action::Created, 1, 2);
        let updated = event(2, Action::Updated, 2, 5);
        let deleted = event(3, Action::Deleted, 3, 5);
        let in_order = apply_all(&[created, updated], HandlerBugs::default());
        let shuffled = apply_all(&[updated, created, updated, created], HandlerBugs::default());
        assert_eq!((in_order.rows.clone(), in_order.usage.clone()), (shuffled.rows, shuffled.usage));
        assert_eq!(in_order.usage[&TenantId(1)], Usage { items: 1, units: 5 });
        let ghost_free = apply_all(&[deleted, created, updated], HandlerBugs::default());
        assert_eq!((ghost_free.live_items(), ghost_free.usage.get(&TenantId(1)).copied()), (vec![], None));
        assert!(ghost_free.queue.is_empty());
    }

    #[test]
    fn each_switch_breaks_exactly_its_own_case() {
        let created = event(1, Action::Created, 1, 2);
        let deleted = event(2, Action::Deleted, 2, 2);
        let doubled = apply_all(&[created, created], HandlerBugs { not_idempotent: true, ghost: false });
        assert_eq!(doubled.usage[&TenantId(1)], Usage { items: 2, units: 4 });
        let ghost = apply_all(&[deleted, created], HandlerBugs { not_idempotent: false, ghost: true });
        assert_eq!(ghost.live_items(), vec![ItemId(7)]);
        let fixed = apply_all(&[deleted, created, created], HandlerBugs::default());
        assert!(fixed.live_items().is_empty());
    }
}
