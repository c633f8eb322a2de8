//! Workload operations: what tenants ask of the control plane.

use crate::ids::{InstanceId, JobId, VmId};
use crate::store::JobKind;
use serde::{Deserialize, Serialize};

/// One tenant request; each becomes a job with a client-chosen id (so a retried
/// submission is idempotent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// Create `vm` on `host`.
    CreateVm {
        /// The job's id.
        job: JobId,
        /// The new VM.
        vm: VmId,
        /// Where it runs (host index).
        host: u32,
    },
    /// Delete `vm`.
    DeleteVm {
        /// The job's id.
        job: JobId,
        /// The VM.
        vm: VmId,
    },
    /// Clone `source` into a new VM `target`.
    CloneVm {
        /// The job's id.
        job: JobId,
        /// The VM cloned from.
        source: VmId,
        /// The new VM.
        target: VmId,
    },
    /// Take a kept snapshot of `vm`.
    SnapshotVm {
        /// The job's id.
        job: JobId,
        /// The VM.
        vm: VmId,
    },
    /// Start `instance`.
    StartInstance {
        /// The job's id.
        job: JobId,
        /// The instance.
        instance: InstanceId,
    },
    /// Stop `instance`.
    StopInstance {
        /// The job's id.
        job: JobId,
        /// The instance.
        instance: InstanceId,
    },
}

/// `job-3: create vm-9 on host-1`.
impl std::fmt::Display for Operation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (job, kind) = self.job();
        write!(formatter, "{job}: {kind}")
    }
}

impl Operation {
    /// The job the operation submits.
    pub fn job(&self) -> (JobId, JobKind) {
        match *self {
            Operation::CreateVm { job, vm, host } => (job, JobKind::CreateVm { vm, host }),
            Operation::DeleteVm { job, vm } => (job, JobKind::DeleteVm { vm }),
            Operation::CloneVm { job, source, target } => (job, JobKind::CloneVm { source, target }),
            Operation::SnapshotVm { job, vm } => (job, JobKind::SnapshotVm { vm }),
            Operation::StartInstance { job, instance } => (job, JobKind::StartInstance { instance }),
            Operation::StopInstance { job, instance } => (job, JobKind::StopInstance { instance }),
        }
    }

    /// The same operation with another job id.
    pub fn with_job(mut self, id: JobId) -> Self {
        match &mut self {
            Operation::CreateVm { job, .. }
            | Operation::DeleteVm { job, .. }
            | Operation::CloneVm { job, .. }
            | Operation::SnapshotVm { job, .. }
            | Operation::StartInstance { job, .. }
            | Operation::StopInstance { job, .. } => *job = id,
        }
        self
    }
}
