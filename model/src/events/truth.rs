//! The source's durable state: every item as the control plane knows it (the truth the
//! projection must come to equal), and the outbox of events not yet acknowledged by the stream.

use super::event::{Action, Event};
use crate::ids::{EventId, ItemId, TenantId};
use std::collections::BTreeMap;

/// One item as the source knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrueItem {
    /// Its tenant.
    pub tenant: TenantId,
    /// Its version (one per event).
    pub version: u32,
    /// Its size.
    pub units: u32,
    /// Whether it exists (a deleted item is kept, as its last event says).
    pub live: bool,
}

/// The source's disk.
#[derive(Clone, Debug, Default)]
pub struct Truth {
    /// Every item ever created.
    pub items: BTreeMap<ItemId, TrueItem>,
    /// Events emitted and not yet acknowledged by the stream.
    pub outbox: BTreeMap<EventId, Event>,
    /// The last event number handed out.
    pub last_event: u64,
    /// The last item number handed out.
    pub last_item: u32,
}

impl Truth {
    /// Records `action` on `item` with `units`: a new version, and its event in the outbox.
    pub fn emit(&mut self, tenant: TenantId, item: ItemId, action: Action, units: u32) -> Event {
        let entry = self.items.entry(item).or_insert(TrueItem { tenant, version: 0, units, live: true });
        entry.version += 1;
        entry.units = units;
        entry.live = action != Action::Deleted;
        self.last_event += 1;
        let event = Event { id: EventId(self.last_event), tenant, item, action, version: entry.version, units };
        self.outbox.insert(event.id, event);
        event
    }

    /// A new item's identifier.
    pub fn new_item(&mut self) -> ItemId {
        self.last_item += 1;
        ItemId(self.last_item)
    }

    /// The tenant's live items, in identifier order.
    pub fn live_items(&self, tenant: TenantId) -> Vec<ItemId> {
        let live = self.items.iter().filter(|(_, item)| item.tenant == tenant && item.live);
        live.map(|(id, _)| *id).collect()
    }
}
