//! Workload generators shared by the control-plane scenarios. Each returns operations
//! ordered by time within the chaos phase; job ids follow that order.

use fleetsim_model::ids::{InstanceId, JobId, VmId};
use fleetsim_model::Operation;
use fleetsim_sim::{StreamRng, WorkloadStep};
use rand::Rng;

/// A workload under construction: operations at times, numbered at the end.
#[derive(Default)]
pub struct Workload {
    steps: Vec<WorkloadStep<Operation>>,
    vm_last: u32,
}

impl Workload {
    /// Adds `operation` at `at_ms`.
    pub fn push(&mut self, at_ms: u64, operation: Operation) {
        self.steps.push(WorkloadStep { at_ms, operation });
    }

    /// A fresh VM id.
    pub fn new_vm(&mut self) -> VmId {
        self.vm_last += 1;
        VmId(self.vm_last)
    }

    /// The operations ordered by time, with job ids 1, 2, ... in that order.
    pub fn finish(mut self) -> Vec<WorkloadStep<Operation>> {
        self.steps.sort_by_key(|step| step.at_ms);
        for (position, step) in self.steps.iter_mut().enumerate() {
            step.operation = step.operation.with_job(JobId(position as u32 + 1));
        }
        self.steps
    }
}

const UNNUMBERED: JobId = JobId(0);

/// Creates `vms` VMs at random times over the first two thirds of `window_ms` and deletes
/// `delete_percent` of them later (sometimes right after, so a delete races the create).
pub fn create_delete(
    rng: &mut StreamRng,
    workload: &mut Workload,
    vms: u32,
    hosts: u32,
    delete_percent: u32,
    window_ms: u64,
) {
    for _ in 0..vms {
        let vm = workload.new_vm();
        let created_ms = rng.gen_range(0..window_ms * 2 / 3);
        let host = rng.gen_range(0..hosts);
        workload.push(created_ms, Operation::CreateVm { job: UNNUMBERED, vm, host });
        if rng.gen_range(0..100) < delete_percent {
            let deleted_ms = rng.gen_range(created_ms..window_ms);
            workload.push(deleted_ms, Operation::DeleteVm { job: UNNUMBERED, vm });
        }
    }
}

/// A clone storm: `sources` VMs created first, then bursts of clones of them (several of one
/// source at nearly the same time), a few kept snapshots, and some clones deleted again.
pub fn clone_storm(
    rng: &mut StreamRng,
    workload: &mut Workload,
    sources: u32,
    clones: u32,
    hosts: u32,
    window_ms: u64,
) {
    let mut source_vms = Vec::new();
    for _ in 0..sources {
        let vm = workload.new_vm();
        workload.push(
            rng.gen_range(0..window_ms / 10),
            Operation::CreateVm { job: UNNUMBERED, vm, host: rng.gen_range(0..hosts) },
        );
        source_vms.push(vm);
    }
    let mut issued = 0;
    while issued < clones {
        let source = source_vms[rng.gen_range(0..source_vms.len())];
        let burst_ms = rng.gen_range(window_ms / 10..window_ms * 3 / 4);
        for _ in 0..rng.gen_range(2..=5u32).min(clones - issued) {
            let target = workload.new_vm();
            workload.push(burst_ms + rng.gen_range(0..20), Operation::CloneVm { job: UNNUMBERED, source, target });
            if rng.gen_range(0..100) < 30 {
                workload.push(rng.gen_range(burst_ms..window_ms), Operation::DeleteVm { job: UNNUMBERED, vm: target });
            }
            issued += 1;
        }
        for _ in 0..rng.gen_range(1..=2) {
            workload.push(burst_ms + rng.gen_range(0..50), Operation::SnapshotVm { job: UNNUMBERED, vm: source });
        }
    }
}

/// Starts and stops `instances` instances in random order, with bursts where a start and a
/// stop of one instance race.
pub fn start_stop(rng: &mut StreamRng, workload: &mut Workload, instances: u32, operations: u32, window_ms: u64) {
    for _ in 0..operations {
        let instance = InstanceId(rng.gen_range(1..=instances));
        let at_ms = rng.gen_range(0..window_ms);
        let operation = if rng.gen_bool(0.6) {
            Operation::StartInstance { job: UNNUMBERED, instance }
        } else {
            Operation::StopInstance { job: UNNUMBERED, instance }
        };
        workload.push(at_ms, operation);
        if rng.gen_range(0..100) < 25 {
            let racing = match operation {
                Operation::StartInstance { .. } => Operation::StopInstance { job: UNNUMBERED, instance },
                _ => Operation::StartInstance { job: UNNUMBERED, instance },
            };
            workload.push(at_ms + rng.gen_range(0..30), racing);
        }
    }
}
