//! Workload generators shared by the control-plane scenarios.

use fleetsim_model::ids::{HostId, JobId, VmId};
use fleetsim_model::Operation;
use fleetsim_sim::{StreamRng, WorkloadStep};
use rand::Rng;

/// The shape of a create/delete workload.
#[derive(Clone, Copy, Debug)]
pub struct CreateDeleteShape {
    /// VMs created over the chaos phase.
    pub vms: u32,
    /// Hosts to place them on.
    pub hosts: u32,
    /// Percent of created VMs that are deleted again.
    pub delete_percent: u32,
}

/// Creates VMs at random times and deletes some of them later (sometimes very soon after,
/// so a delete races the create), all within the first `window_ms`.
pub fn create_delete(rng: &mut StreamRng, shape: CreateDeleteShape, window_ms: u64) -> Vec<WorkloadStep<Operation>> {
    let mut steps = Vec::new();
    let mut next_job = 1;
    for number in 1..=shape.vms {
        let vm = VmId(number);
        let created_ms = rng.gen_range(0..window_ms * 2 / 3);
        let host = HostId(rng.gen_range(0..shape.hosts));
        steps.push(WorkloadStep { at_ms: created_ms, operation: Operation::CreateVm { job: JobId(0), vm, host } });
        if rng.gen_range(0..100) < shape.delete_percent {
            let deleted_ms = rng.gen_range(created_ms..window_ms);
            steps.push(WorkloadStep { at_ms: deleted_ms, operation: Operation::DeleteVm { job: JobId(0), vm } });
        }
    }
    steps.sort_by_key(|step| step.at_ms);
    for step in &mut steps {
        match &mut step.operation {
            Operation::CreateVm { job, .. } | Operation::DeleteVm { job, .. } => *job = JobId(next_job),
        }
        next_job += 1;
    }
    steps
}
