//! What tenants do to their items, as the plan stores it.

use crate::ids::TenantId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One tenant operation, sent to the source.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum EventsOperation {
    /// Create an item.
    Create {
        /// The tenant.
        tenant: TenantId,
        /// Its size.
        units: u32,
    },
    /// Resize one of the tenant's live items.
    Update {
        /// The tenant.
        tenant: TenantId,
        /// Which live item, by position (wrapping round).
        pick: u32,
        /// Its new size.
        units: u32,
    },
    /// Delete one of the tenant's live items.
    Delete {
        /// The tenant.
        tenant: TenantId,
        /// Which live item, by position (wrapping round).
        pick: u32,
    },
    /// Create an item and delete it at once.
    Flash {
        /// The tenant.
        tenant: TenantId,
        /// Its size.
        units: u32,
    },
    /// A whale's scale-up: many items created at once.
    Burst {
        /// The tenant.
        tenant: TenantId,
        /// How many items.
        creates: u32,
    },
}

/// How the trace and the pages tell an operation: `tenant-1 scales up by 200 items at once`.
impl fmt::Display for EventsOperation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventsOperation::Create { tenant, units } => write!(formatter, "{tenant} creates an item of {units} units"),
            EventsOperation::Update { tenant, pick, units } => {
                write!(formatter, "{tenant} resizes item #{pick} to {units} units")
            }
            EventsOperation::Delete { tenant, pick } => write!(formatter, "{tenant} deletes item #{pick}"),
            EventsOperation::Flash { tenant, units } => {
                write!(formatter, "{tenant} creates and deletes an item of {units} units")
            }
            EventsOperation::Burst { tenant, creates } => {
                write!(formatter, "{tenant} scales up by {creates} items at once")
            }
        }
    }
}
