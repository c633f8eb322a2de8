//! Identifiers of the model's objects.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        identifier!($(#[$doc])* $name, $prefix, u32);
    };
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $number:ty) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub $number);

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, concat!($prefix, "{}"), self.0)
            }
        }

        /// The same human name as `Display`, so messages in traces read `vm-4`, as the steps do.
        impl fmt::Debug for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, formatter)
            }
        }
    };
}

identifier!(
    /// A virtual machine, as tenants name it.
    VmId,
    "vm-"
);
identifier!(
    /// A job in the store's job table.
    JobId,
    "job-"
);
identifier!(
    /// An instance that is started and stopped (each start runs in a new VMM).
    InstanceId,
    "instance-"
);
identifier!(
    /// One VMM: the process an instance runs in on one host, for one start.
    VmmId,
    "vmm-"
);
identifier!(
    /// A tenant project; projects belong to silos, silos to the fleet.
    ProjectId,
    "project-"
);

identifier!(
    /// A machine of the machine platform (seed 003), as its API names it.
    MachineId,
    "m-"
);
identifier!(
    /// A host of the machine platform; its node has the same name.
    HostId,
    "host-"
);
identifier!(
    /// A volume, tied to the host it was created on.
    VolumeId,
    "vol-"
);
identifier!(
    /// A snapshot of a volume, kept off the volume's host.
    SnapshotId,
    "vs-"
);
identifier!(
    /// A rolling deploy of one app.
    DeployId,
    "deploy-"
);

identifier!(
    /// A tenant of the event pipeline (seed 004).
    TenantId,
    "tenant-"
);
identifier!(
    /// An item (a VM) whose lifecycle events the pipeline carries.
    ItemId,
    "item-"
);

identifier!(
    /// One lifecycle event, numbered in the order its source emitted it.
    EventId,
    "event-",
    u64
);

/// An address of the IP pool: `10.0.0.<n>`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ip(pub u8);

impl fmt::Display for Ip {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "10.0.0.{}", self.0)
    }
}

/// The dotted address, as `Display` prints it.
impl fmt::Debug for Ip {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, formatter)
    }
}
