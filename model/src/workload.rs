//! Workload operations: what tenants ask of the control plane.

use crate::ids::{HostId, JobId, VmId};
use serde::{Deserialize, Serialize};

/// One tenant request; each becomes a job with a client-chosen id (so a retried
/// submission is idempotent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// Create `vm` on `host`.
    CreateVm {
        /// The job's id.
        job: JobId,
        /// The new VM.
        vm: VmId,
        /// Where it runs.
        host: HostId,
    },
    /// Delete `vm`.
    DeleteVm {
        /// The job's id.
        job: JobId,
        /// The VM.
        vm: VmId,
    },
}
