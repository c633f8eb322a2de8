//! What a finished job leaves behind, and the check that it lasts: `effects-persist`. Every job
//! the store finished `Done` has durable effects (a created VM runs with its address, a deleted
//! one is gone everywhere, a kept snapshot exists, a started instance runs charged in its VMM, a
//! stopped one has neither), and each must hold at every state change until a later job that may
//! undo it has been claimed. Written once over every job kind, not one rule per bug.

use crate::host::HostData;
use crate::ids::Ip;
use crate::ids::{InstanceId, JobId, VmId, VmmId};
use crate::job_log::JobLog;
use crate::names::kept_snapshot;
use crate::store::{InstanceState, JobKind, JobState, LockKey, StoreData, VmState};
use fleetsim_sim::{Changes, Disk, Invariant};
use std::collections::{BTreeMap, BTreeSet};
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

/// A lasting effect: the job that finished `Done`, the effect, and where in the job log it finished.
struct Lasting {
    job: JobId,
    effect: Effect,
    finished_at: u64,
}

/// The object an effect is about: the key writes touch and jobs lock.
fn object_of(effect: &Effect) -> LockKey {
    match effect {
        Effect::VmRunning { vm, .. } | Effect::VmGone(vm) | Effect::SnapshotKept { vm, .. } => LockKey::Vm(*vm),
        Effect::InstanceRunning(instance) | Effect::InstanceStopped(instance) => LockKey::Instance(*instance),
    }
}

/// Which objects a check must look at again.
enum Dirty {
    /// Everything: a change log no longer reaches back to the last check.
    Everything,
    /// These objects.
    Objects(BTreeSet<LockKey>),
}

impl Dirty {
    fn add(&mut self, object: LockKey) {
        if let Dirty::Objects(objects) = self {
            objects.insert(object);
        }
    }

    /// Adds the objects a change log names after `*position`, or everything when it does not
    /// reach back that far; moves `*position` to the log's end.
    fn follow<K>(&mut self, changes: &Changes<K>, position: &mut Option<u64>, object: impl Fn(&K) -> LockKey) {
        match changes.follow(position) {
            Some(keys) => keys.map(object).for_each(|object| self.add(object)),
            None => *self = Dirty::Everything,
        }
    }
}

/// What `effects-persist` keeps between checks, all of it derived from what changed since the
/// previous check: the job log's changes, and the store's and hosts' change logs.
#[derive(Default)]
struct Tracker {
    /// Job log changes read so far.
    log_position: usize,
    /// Per job, the claim position last read.
    claims_seen: BTreeMap<JobId, u64>,
    /// Jobs whose `Done` was read.
    done_seen: BTreeSet<JobId>,
    /// Per object, the jobs claimed on it, with their latest claim position and kind.
    claims: BTreeMap<LockKey, BTreeMap<JobId, (u64, JobKind)>>,
    /// Per object, the lasting effects on it, in the order their jobs finished.
    lasting: BTreeMap<LockKey, Vec<Lasting>>,
    /// The store's commit count when last read.
    store_commits: Option<u64>,
    /// Change log positions read: VM rows, address allocations, instance rows, resource rows.
    store_positions: [Option<u64>; 4],
    /// Each allocated address's VM, as last read: a moved allocation touches both VMs' effects.
    allocation_owners: BTreeMap<Ip, VmId>,
    /// Per host, its commit count and its tables' change log positions (VMs, snapshots, VMMs)
    /// when last read.
    host_positions: Vec<(u64, [Option<u64>; 3])>,
    /// The instance of every VMM read on a host.
    vmm_instances: BTreeMap<VmmId, InstanceId>,
}

impl Tracker {
    /// Reads the job log's changes: a claim may end effects, a `Done` begins them.
    fn follow_log(&mut self, log: &JobLog, dirty: &mut Dirty) {
        let position = self.log_position;
        self.log_position = log.changes_since(position, |job, record| {
            if let Some(claimed_at) = record.claimed_at.filter(|at| self.claims_seen.get(&job) != Some(at)) {
                self.claims_seen.insert(job, claimed_at);
                self.claimed(job, record.kind, claimed_at);
            }
            if let Some((JobState::Done, finished_at)) = record.finished {
                if self.done_seen.insert(job) {
                    self.done(job, record.kind, finished_at, dirty);
                }
            }
        });
    }

    /// A job was claimed at `claimed_at`: the effects it may undo that finished before stop lasting.
    fn claimed(&mut self, job: JobId, kind: JobKind, claimed_at: u64) {
        for object in kind.lock_keys() {
            self.claims.entry(object).or_default().insert(job, (claimed_at, kind));
            if let Some(effects) = self.lasting.get_mut(&object) {
                effects.retain(|lasting| {
                    lasting.job == job || claimed_at <= lasting.finished_at || !lasting.effect.undone_by(&kind)
                });
            }
        }
    }

    /// A job finished `Done` at `finished_at`: its effects last unless a job claimed later may undo them.
    fn done(&mut self, job: JobId, kind: JobKind, finished_at: u64, dirty: &mut Dirty) {
        for effect in effects_of(job, kind) {
            let object = object_of(&effect);
            let undone = self.claims.get(&object).is_some_and(|claims| {
                claims.iter().any(|(other, (claimed_at, other_kind))| {
                    *other != job && *claimed_at > finished_at && effect.undone_by(other_kind)
                })
            });
            if !undone {
                self.lasting.entry(object).or_default().push(Lasting { job, effect, finished_at });
                dirty.add(object);
            }
        }
    }

    /// Reads what the store and the hosts changed since the last check.
    fn follow_disks(&mut self, store: &Disk<StoreData>, hosts: &[Disk<HostData>], dirty: &mut Dirty) {
        if self.store_commits.replace(store.commits()) != Some(store.commits()) {
            self.follow_store(store, dirty);
        }
        self.follow_hosts(hosts, dirty);
    }

    fn follow_store(&mut self, store: &Disk<StoreData>, dirty: &mut Dirty) {
        store.read_durable(|data| {
            let [vms, allocations, instances, resources] = &mut self.store_positions;
            dirty.follow(data.vms.rows.changes(), vms, |vm| LockKey::Vm(*vm));
            dirty.follow(data.instances.rows.changes(), instances, |instance| LockKey::Instance(*instance));
            dirty.follow(data.provisioning.resources.changes(), resources, |instance| LockKey::Instance(*instance));
            let owners = &mut self.allocation_owners;
            match data.vms.ip_allocations.changes().follow(allocations) {
                Some(addresses) => {
                    for ip in addresses {
                        let owner = data.vms.ip_allocations.get(ip).copied();
                        let previous = match owner {
                            Some(vm) => owners.insert(*ip, vm),
                            None => owners.remove(ip),
                        };
                        previous.into_iter().chain(owner).for_each(|vm| dirty.add(LockKey::Vm(vm)));
                    }
                }
                None => {
                    *owners = data.vms.ip_allocations.iter().map(|(ip, vm)| (*ip, *vm)).collect();
                    *dirty = Dirty::Everything;
                }
            }
        });
    }

    fn follow_hosts(&mut self, hosts: &[Disk<HostData>], dirty: &mut Dirty) {
        self.host_positions.resize(hosts.len(), (u64::MAX, [None; 3]));
        let vmm_instances = &mut self.vmm_instances;
        for (host, (commits, [vms, snapshots, vmms])) in hosts.iter().zip(&mut self.host_positions) {
            if host.commits() == *commits {
                continue;
            }
            *commits = host.commits();
            host.read_durable(|data| {
                dirty.follow(data.vms.changes(), vms, |vm| LockKey::Vm(*vm));
                dirty.follow(data.snapshots.changes(), snapshots, |vm| LockKey::Vm(*vm));
                // A VMM serves one instance for its whole life: remembered when first read, so that
                // its removal still names the instance.
                match data.vmms.changes().follow(vmms) {
                    Some(touched) => {
                        for vmm in touched {
                            if let Some(physical) = data.vmms.get(vmm) {
                                vmm_instances.insert(*vmm, physical.instance);
                            }
                            if let Some(instance) = vmm_instances.get(vmm) {
                                dirty.add(LockKey::Instance(*instance));
                            }
                        }
                    }
                    None => {
                        vmm_instances.extend(data.vmms.iter().map(|(vmm, physical)| (*vmm, physical.instance)));
                        *dirty = Dirty::Everything;
                    }
                }
            });
        }
    }

    /// The first (by job) lasting effect among the dirty objects that no longer holds.
    fn broken(&self, dirty: &Dirty, store: &StoreData, hosts: &[Disk<HostData>]) -> Option<(JobId, String)> {
        let effects: Box<dyn Iterator<Item = &Lasting>> = match dirty {
            Dirty::Everything => Box::new(self.lasting.values().flatten()),
            Dirty::Objects(objects) => Box::new(objects.iter().filter_map(|object| self.lasting.get(object)).flatten()),
        };
        effects
            .filter_map(|lasting| lasting.effect.holds(store, hosts).err().map(|missing| (lasting.job, missing)))
            .min_by_key(|(job, _)| *job)
    }
}

/// `effects-persist`: every effect of every job finished `Done` holds until a later claimed job
/// may undo it. Each check reads only what changed: the job log's new entries, and the objects the
/// store's and hosts' writes touched since the previous check; a commit that touched nothing costs
/// a few counter reads.
pub fn effects_persist(store: Disk<StoreData>, hosts: Vec<Disk<HostData>>, log: JobLog) -> Invariant {
    let tracker = Mutex::new(Tracker::default());
    Invariant::always("effects-persist", move || {
        let mut tracker = tracker.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut dirty = Dirty::Objects(BTreeSet::new());
        tracker.follow_log(&log, &mut dirty);
        tracker.follow_disks(&store, &hosts, &mut dirty);
        if matches!(&dirty, Dirty::Objects(objects) if objects.is_empty()) {
            return Ok(());
        }
        match store.read_durable(|data| tracker.broken(&dirty, data, &hosts)) {
            Some((job, missing)) => Err(format!("{job} finished Done, but {missing}")),
            None => Ok(()),
        }
    })
}
