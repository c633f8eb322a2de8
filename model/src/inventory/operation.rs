//! The workload's operations: what the control plane's API does to the inventory.

use crate::ids::VmId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One API operation, issued from the API client node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum InventoryOperation {
    /// Writes the fields the hypervisor never knows: the VM's package and organization.
    Assign {
        /// The VM.
        vm: VmId,
        /// The package number (`package-N`).
        package: u32,
        /// The organization number (`org-N`).
        organization: u32,
    },
    /// Reads the VM's record (a quorum read, with read repair).
    Read {
        /// The VM.
        vm: VmId,
    },
}

/// `assign vm-4 package-2, org-1`, `read vm-4`.
impl fmt::Display for InventoryOperation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InventoryOperation::Assign { vm, package, organization } => {
                write!(formatter, "assign {vm} package-{package}, org-{organization}")
            }
            InventoryOperation::Read { vm } => write!(formatter, "read {vm}"),
        }
    }
}
