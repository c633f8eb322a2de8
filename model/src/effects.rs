//! What a finished job leaves behind, and the check that it lasts: `effects-persist`. Every job
//! the store finished `Done` has durable effects (a created VM runs with its address, a deleted
//! one is gone everywhere, a kept snapshot exists, a started instance runs charged in its VMM, a
//! stopped one has neither), and each must hold at every state change until a later job that may
//! undo it has been claimed. Written once over every job kind, not one rule per bug.

use crate::host::HostData;
use crate::ids::{InstanceId, JobId, VmId};
use crate::job_log::JobLog;
use crate::names::kept_snapshot;
use crate::store::{InstanceState, JobKind, JobState, StoreData, VmState};
use fleetsim_sim::{Disk, Invariant};
use std::sync::Mutex;

/// One durable effect of a finished job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The VM runs on `host` with its address allocated to it.
    VmRunning {
        /// The VM.
        vm: VmId,
        /// The host it must run on (none: wherever its row says).
        host: Option<u32>,
    },
    /// The VM has no row, no address and runs on no host.
    VmGone(VmId),
    /// The kept snapshot `name` of the VM exists on the VM's host.
    SnapshotKept {
        /// The VM.
        vm: VmId,
        /// The snapshot's name.
        name: String,
    },
    /// The instance runs in its current VMM, on that VMM's host, and is charged.
    InstanceRunning(InstanceId),
    /// The instance has no VMM anywhere and no charge.
    InstanceStopped(InstanceId),
}

/// The effects of job `job` of `kind` once it finished `Done`.
pub fn effects_of(job: JobId, kind: JobKind) -> Vec<Effect> {
    match kind {
        JobKind::CreateVm { vm, host } => vec![Effect::VmRunning { vm, host: Some(host) }],
        JobKind::DeleteVm { vm } => vec![Effect::VmGone(vm)],
        JobKind::CloneVm { target, .. } => vec![Effect::VmRunning { vm: target, host: None }],
        JobKind::SnapshotVm { vm } => vec![Effect::SnapshotKept { vm, name: kept_snapshot(job) }],
        JobKind::StartInstance { instance } => vec![Effect::InstanceRunning(instance)],
        JobKind::StopInstance { instance } => vec![Effect::InstanceStopped(instance)],
    }
}

impl Effect {
    /// Whether a job of `kind` may undo this effect.
    pub fn undone_by(&self, kind: &JobKind) -> bool {
        match (self, *kind) {
            (Effect::VmRunning { vm, .. } | Effect::SnapshotKept { vm, .. }, JobKind::DeleteVm { vm: deleted }) => {
                *vm == deleted
            }
            (Effect::VmGone(vm), JobKind::CreateVm { vm: created, .. }) => *vm == created,
            (Effect::VmGone(vm), JobKind::CloneVm { target, .. }) => *vm == target,
            (
                Effect::InstanceRunning(instance) | Effect::InstanceStopped(instance),
                JobKind::StartInstance { instance: other } | JobKind::StopInstance { instance: other },
            ) => *instance == other,
            _ => false,
        }
    }

    /// `Ok` when the effect holds in the store and on the hosts, else what is missing.
    pub fn holds(&self, store: &StoreData, hosts: &[Disk<HostData>]) -> Result<(), String> {
        match self {
            Effect::VmRunning { vm, host } => vm_running(store, hosts, *vm, *host),
            Effect::VmGone(vm) => vm_gone(store, hosts, *vm),
            Effect::SnapshotKept { vm, name } => {
                let Some(row) = store.vms.rows.get(vm) else { return Ok(()) };
                let kept = hosts[row.host as usize]
                    .read_durable(|host| host.snapshots.get(vm).is_some_and(|names| names.contains(name)));
                if kept {
                    Ok(())
                } else {
                    Err(format!("{name} of {vm} is missing on host-{}", row.host))
                }
            }
            Effect::InstanceRunning(instance) => instance_running(store, hosts, *instance),
            Effect::InstanceStopped(instance) => instance_stopped(store, hosts, *instance),
        }
    }
}

fn vm_running(store: &StoreData, hosts: &[Disk<HostData>], vm: VmId, host: Option<u32>) -> Result<(), String> {
    let row = store.vms.rows.get(&vm).ok_or_else(|| format!("{vm} has no row"))?;
    let ip = row.ip.ok_or_else(|| format!("{vm} has no address"))?;
    if row.state != VmState::Running || host.is_some_and(|host| host != row.host) {
        return Err(format!("{vm}'s row says {:?} on host-{}", row.state, row.host));
    }
    if store.vms.ip_allocations.get(&ip) != Some(&vm) {
        return Err(format!("{ip} of {vm} is not allocated to it"));
    }
    match hosts[row.host as usize].read_durable(|host| host.vms.get(&vm).map(|physical| physical.ip)) {
        Some(running) if running == ip => Ok(()),
        Some(running) => Err(format!("{vm} runs on host-{} at {running}, its row says {ip}", row.host)),
        None => Err(format!("{vm} does not run on host-{}", row.host)),
    }
}

fn vm_gone(store: &StoreData, hosts: &[Disk<HostData>], vm: VmId) -> Result<(), String> {
    if store.vms.rows.contains_key(&vm) {
        return Err(format!("{vm} still has a row"));
    }
    if let Some((ip, _)) = store.vms.ip_allocations.iter().find(|(_, owner)| **owner == vm) {
        return Err(format!("{ip} is still allocated to {vm}"));
    }
    match hosts.iter().position(|host| host.read_durable(|host| host.vms.contains_key(&vm))) {
        Some(position) => Err(format!("{vm} still runs on host-{position}")),
        None => Ok(()),
    }
}

fn instance_running(store: &StoreData, hosts: &[Disk<HostData>], instance: InstanceId) -> Result<(), String> {
    let row = store.instances.rows.get(&instance).ok_or_else(|| format!("{instance} has no row"))?;
    let (vmm, host) = row.vmm.ok_or_else(|| format!("{instance} has no VMM"))?;
    if row.state != InstanceState::Running {
        return Err(format!("{instance} is {:?} in {vmm}", row.state));
    }
    if !store.provisioning.resources.contains_key(&instance) {
        return Err(format!("{instance} runs in {vmm} uncharged"));
    }
    if hosts[host as usize]
        .read_durable(|host| host.vmms.get(&vmm).is_some_and(|physical| physical.instance == instance))
    {
        Ok(())
    } else {
        Err(format!("{vmm} of {instance} is not on host-{host}"))
    }
}

fn instance_stopped(store: &StoreData, hosts: &[Disk<HostData>], instance: InstanceId) -> Result<(), String> {
    if let Some((vmm, _)) = store.instances.rows.get(&instance).and_then(|row| row.vmm) {
        return Err(format!("{instance} still has {vmm}"));
    }
    if store.provisioning.resources.contains_key(&instance) {
        return Err(format!("{instance} is still charged"));
    }
    for (position, host) in hosts.iter().enumerate() {
        let left = host.read_durable(|host| {
            host.vmms.iter().find(|(_, physical)| physical.instance == instance).map(|(vmm, _)| *vmm)
        });
        if let Some(vmm) = left {
            return Err(format!("{vmm} of {instance} is still on host-{position}"));
        }
    }
    Ok(())
}

/// The lasting effects, and the job log version they were derived at.
type Derived = (u64, Vec<(JobId, Effect)>);

/// `effects-persist`: every effect of every job finished `Done` holds until a later claimed job
/// may undo it.
pub fn effects_persist(store: Disk<StoreData>, hosts: Vec<Disk<HostData>>, log: JobLog) -> Invariant {
    // The lasting effects change only when the job log does: they are derived again only then.
    let derived: Mutex<Option<Derived>> = Mutex::new(None);
    // Nothing to look at again while neither the log nor a disk moved since the last check.
    let checked: Mutex<Option<Vec<u64>>> = Mutex::new(None);
    Invariant::always("effects-persist", move || {
        let versions: Vec<u64> =
            [log.version(), store.commits()].into_iter().chain(hosts.iter().map(Disk::commits)).collect();
        let mut checked = checked.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if checked.as_ref() == Some(&versions) {
            return Ok(());
        }
        *checked = Some(versions);
        let mut derived = derived.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let version = log.version();
        if derived.as_ref().is_none_or(|(seen, _)| *seen != version) {
            *derived = Some((version, lasting_effects(&log)));
        }
        let lasting = &derived.as_ref().expect("derived just above").1;
        if lasting.is_empty() {
            return Ok(());
        }
        store.read_durable(|data| {
            for (job, effect) in lasting {
                effect.holds(data, &hosts).map_err(|missing| format!("{job} finished Done, but {missing}"))?;
            }
            Ok(())
        })
    })
}

/// The effects of finished jobs that no later claimed job may have undone.
fn lasting_effects(log: &JobLog) -> Vec<(JobId, Effect)> {
    log.read(|jobs| {
        let mut lasting = Vec::new();
        for (job, record) in jobs {
            let Some((JobState::Done, finished_at)) = record.finished else { continue };
            for effect in effects_of(*job, record.kind) {
                let undone = jobs.iter().any(|(other, later)| {
                    other != job && later.claimed_at.is_some_and(|at| at > finished_at) && effect.undone_by(&later.kind)
                });
                if !undone {
                    lasting.push((*job, effect));
                }
            }
        }
        lasting
    })
}
