//! A VM lifecycle event as the stream carries it: it holds the item's whole state at its version,
//! so a handler can tell a newer event from an older or repeated one.

use crate::ids::{EventId, ItemId, TenantId};
use std::fmt;

/// What happened to the item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// It was created.
    Created,
    /// Its size changed.
    Updated,
    /// It was deleted.
    Deleted,
}

/// One lifecycle event.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event {
    /// Its number, in the source's order of emission.
    pub id: EventId,
    /// The item's tenant.
    pub tenant: TenantId,
    /// The item.
    pub item: ItemId,
    /// What happened.
    pub action: Action,
    /// The item's version after it (1 for its creation).
    pub version: u32,
    /// The item's size after it (what the tenant is charged for).
    pub units: u32,
}

/// `event-7 item-3 updated v2 (4 units, tenant-1)`.
impl fmt::Debug for Event {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self.action {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Deleted => "deleted",
        };
        write!(
            formatter,
            "{} {} {action} v{} ({} units, {})",
            self.id, self.item, self.version, self.units, self.tenant
        )
    }
}
