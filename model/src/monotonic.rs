//! `monotonic-state`: durable state never goes backwards. A terminal job state never reverts and
//! no job row disappears; attempts, fencing tokens, instance generations and id counters never
//! decrease; hosts never forget a tombstone or lower a fence. Checked at every state change
//! against what the previous check saw: the store's part when the store moved, a host's part when
//! that host moved, updated in place.

use crate::host::HostData;
use crate::ids::{InstanceId, JobId};
use crate::store::{InstanceRow, JobRow, JobState, StoreData};
use fleetsim_sim::{Disk, Invariant};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// What the store looked like at the previous check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct SeenStore {
    /// Per job: its state if terminal, its attempt and its fencing token.
    jobs: BTreeMap<JobId, (Option<JobState>, u32, u64)>,
    fence_last: u64,
    vmm_last: u32,
    generations: BTreeMap<InstanceId, u64>,
}

/// What one host looked like at the previous check: its tombstone counts and fences.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct SeenHost {
    destroyed_vms: usize,
    destroyed_vmms: usize,
    fences: BTreeMap<InstanceId, u64>,
}

/// Compares job `job`'s row with what was seen of it, then remembers it.
fn advance_job(seen: &mut (Option<JobState>, u32, u64), job: JobId, row: &JobRow) -> Option<String> {
    let (terminal, attempt, fence) = seen;
    let now_terminal = row.state.is_terminal().then_some(row.state);
    if terminal.is_some() && now_terminal != *terminal {
        return Some(format!("{job} was {terminal:?} and is now {now_terminal:?}"));
    }
    if row.attempt < *attempt || row.fence < *fence {
        return Some(format!(
            "{job} went from attempt {attempt}, fence {fence} to attempt {}, fence {}",
            row.attempt, row.fence
        ));
    }
    (*terminal, *attempt, *fence) = (now_terminal, row.attempt, row.fence);
    None
}

/// Compares the store's id counters with what was seen, then remembers them.
fn advance_counters(seen: &mut SeenStore, store: &StoreData) -> Option<String> {
    if store.jobs.fence_last < seen.fence_last || store.instances.vmm_last < seen.vmm_last {
        return Some(format!(
            "counters went back: last fence {} -> {}, last VMM {} -> {}",
            seen.fence_last, store.jobs.fence_last, seen.vmm_last, store.instances.vmm_last
        ));
    }
    (seen.fence_last, seen.vmm_last) = (store.jobs.fence_last, store.instances.vmm_last);
    None
}

/// Compares instance `instance`'s generation with what was seen, then remembers it.
fn advance_generation(seen: &mut SeenStore, instance: InstanceId, row: &InstanceRow) -> Option<String> {
    let generation = seen.generations.entry(instance).or_insert(row.generation);
    if row.generation < *generation {
        return Some(format!("{instance} went back from generation {generation} to {}", row.generation));
    }
    *generation = row.generation;
    None
}

/// Compares the whole `store` with what was seen, then remembers it; names what went back, if
/// anything.
fn advance_store(seen: &mut SeenStore, store: &StoreData) -> Option<String> {
    for (job, seen_job) in seen.jobs.iter_mut() {
        let Some(row) = store.jobs.rows.get(job) else {
            return Some(format!("{job} disappeared from the job table"));
        };
        if let Some(found) = advance_job(seen_job, *job, row) {
            return Some(found);
        }
    }
    if store.jobs.rows.len() != seen.jobs.len() {
        for (job, row) in &store.jobs.rows {
            let terminal = row.state.is_terminal().then_some(row.state);
            seen.jobs.entry(*job).or_insert((terminal, row.attempt, row.fence));
        }
    }
    if let Some(found) = advance_counters(seen, store) {
        return Some(found);
    }
    for (instance, row) in &store.instances.rows {
        if let Some(found) = advance_generation(seen, *instance, row) {
            return Some(found);
        }
    }
    if store.instances.rows.len() < seen.generations.len() {
        return Some("an instance row disappeared".to_string());
    }
    None
}

/// The same comparison, over only the job and instance rows the store's change logs name since
/// `positions` (the whole store when they no longer reach back, or when a table has fewer rows than
/// were seen); moves `positions` to the logs' ends.
fn advance_store_changed(
    seen: &mut SeenStore,
    positions: &mut Option<(u64, u64)>,
    store: &StoreData,
) -> Option<String> {
    let changed = positions.and_then(|(jobs, instances)| {
        Some((store.jobs.rows.changes().since(jobs)?, store.instances.rows.changes().since(instances)?))
    });
    let shrunk = store.jobs.rows.len() < seen.jobs.len() || store.instances.rows.len() < seen.generations.len();
    *positions = Some((store.jobs.rows.changes().position(), store.instances.rows.changes().position()));
    let Some((jobs, instances)) = changed.filter(|_| !shrunk) else {
        return advance_store(seen, store);
    };
    for job in jobs {
        let Some(row) = store.jobs.rows.get(job) else {
            if seen.jobs.contains_key(job) {
                return Some(format!("{job} disappeared from the job table"));
            }
            continue;
        };
        let terminal = row.state.is_terminal().then_some(row.state);
        let seen_job = seen.jobs.entry(*job).or_insert((terminal, row.attempt, row.fence));
        if let Some(found) = advance_job(seen_job, *job, row) {
            return Some(found);
        }
    }
    if let Some(found) = advance_counters(seen, store) {
        return Some(found);
    }
    for instance in instances {
        if let Some(row) = store.instances.rows.get(instance) {
            if let Some(found) = advance_generation(seen, *instance, row) {
                return Some(found);
            }
        }
    }
    None
}

/// Compares host `position` with what was seen, then remembers it.
fn advance_host(seen: &mut SeenHost, position: usize, host: &HostData) -> Option<String> {
    let (vms, vmms) = (host.destroyed_vms.len(), host.destroyed_vmms.len());
    if vms < seen.destroyed_vms || vmms < seen.destroyed_vmms {
        return Some(format!(
            "host-{position} forgot tombstones: VMs {} -> {vms}, VMMs {} -> {vmms}",
            seen.destroyed_vms, seen.destroyed_vmms
        ));
    }
    (seen.destroyed_vms, seen.destroyed_vmms) = (vms, vmms);
    for (instance, fence) in seen.fences.iter_mut() {
        match host.instance_fences.get(instance) {
            Some(now) if now >= fence => *fence = *now,
            _ => return Some(format!("host-{position} lowered the fence of {instance} below {fence}")),
        }
    }
    if host.instance_fences.len() != seen.fences.len() {
        seen.fences.clone_from(&host.instance_fences);
    }
    None
}

/// What every check remembers: the commit counts it saw and the state they stand for.
#[derive(Default)]
struct Seen {
    /// Per disk (the store, then each host), its commit count at the previous check; `u64::MAX`
    /// before the first.
    commits: Vec<u64>,
    store: SeenStore,
    /// The store's change log positions read: the job table, the instance table.
    store_positions: Option<(u64, u64)>,
    hosts: Vec<SeenHost>,
}

/// `monotonic-state`, checked at every state change.
pub fn monotonic_state(store: Disk<StoreData>, hosts: Vec<Disk<HostData>>) -> Invariant {
    let seen = Mutex::new(Seen { hosts: vec![SeenHost::default(); hosts.len()], ..Seen::default() });
    Invariant::always("monotonic-state", move || {
        let mut seen = seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let seen = &mut *seen;
        seen.commits.resize(1 + hosts.len(), u64::MAX);
        // Whether the disk at `position` (0 the store, then the hosts) committed since the last check.
        let mut moved =
            |position: usize, commits: u64| std::mem::replace(&mut seen.commits[position], commits) != commits;
        if moved(0, store.commits()) {
            let positions = &mut seen.store_positions;
            if let Some(found) = store.read_durable(|data| advance_store_changed(&mut seen.store, positions, data)) {
                return Err(found);
            }
        }
        for (position, host) in hosts.iter().enumerate() {
            if !moved(1 + position, host.commits()) {
                continue;
            }
            if let Some(found) = host.read_durable(|data| advance_host(&mut seen.hosts[position], position, data)) {
                return Err(found);
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{JobId, ProjectId};
    use crate::store::{JobKind, Usage};

    fn store() -> StoreData {
        let mut store = StoreData::new(4, &[(InstanceId(1), ProjectId(0), Usage { cpus: 1, ram_gib: 2 })]);
        store.jobs.submit(JobId(1), JobKind::StopInstance { instance: InstanceId(1) });
        let claimed = store.jobs.claim(fleetsim_sim::NodeIndex(1), 0, 100, true).expect("a pending job");
        assert!(store.jobs.finish(claimed.job, claimed.attempt, JobState::Done, 0));
        store
    }

    #[test]
    fn every_kind_of_going_back_in_the_store_is_named_and_going_forward_is_not() {
        let mut seen = SeenStore::default();
        assert_eq!(advance_store(&mut seen, &store()), None);
        let mut forward = store();
        forward.jobs.submit(JobId(2), JobKind::StopInstance { instance: InstanceId(1) });
        forward.instances.rows.get_mut(&InstanceId(1)).unwrap().generation += 1;
        assert_eq!(advance_store(&mut seen.clone(), &forward), None);
        type Breakage = fn(&mut StoreData);
        let breakages: [(&str, Breakage); 5] = [
            ("reverted", |data| data.jobs.rows.get_mut(&JobId(1)).unwrap().state = JobState::Pending),
            ("fewer attempts", |data| data.jobs.rows.get_mut(&JobId(1)).unwrap().attempt = 0),
            ("lost job", |data| {
                data.jobs.rows.remove(&JobId(1));
            }),
            ("fence back", |data| data.jobs.fence_last = 0),
            ("generation back", |data| data.instances.rows.get_mut(&InstanceId(1)).unwrap().generation = 0),
        ];
        for (case, breakage) in breakages {
            let mut broken = store();
            breakage(&mut broken);
            assert!(advance_store(&mut seen.clone(), &broken).is_some(), "{case} must be caught");
        }
        // The incremental check, which reads only the rows the tables' change logs name, catches
        // each of them too, and lets going forward pass.
        for (case, breakage) in breakages {
            let (mut seen, mut positions, base) = (SeenStore::default(), None, store());
            assert_eq!(advance_store_changed(&mut seen, &mut positions, &base), None);
            let mut forward = base.clone();
            forward.jobs.submit(JobId(2), JobKind::StopInstance { instance: InstanceId(1) });
            forward.instances.rows.get_mut(&InstanceId(1)).unwrap().generation += 1;
            assert_eq!(advance_store_changed(&mut seen.clone(), &mut positions.clone(), &forward), None, "{case}");
            let mut broken = base;
            breakage(&mut broken);
            assert!(advance_store_changed(&mut seen, &mut positions, &broken).is_some(), "{case} must be caught");
        }
    }

    #[test]
    fn a_host_that_forgets_a_tombstone_or_lowers_a_fence_is_named() {
        let mut host = HostData::default();
        host.destroyed_vms.insert(crate::ids::VmId(1));
        host.instance_fences.insert(InstanceId(1), 5);
        let mut seen = SeenHost::default();
        assert_eq!(advance_host(&mut seen, 0, &host), None);
        let mut forgot = host.clone();
        forgot.destroyed_vms.clear();
        assert!(advance_host(&mut seen.clone(), 0, &forgot).is_some());
        let mut lowered = host.clone();
        lowered.instance_fences.insert(InstanceId(1), 4);
        assert!(advance_host(&mut seen.clone(), 0, &lowered).is_some());
        let mut raised = host;
        raised.instance_fences.insert(InstanceId(1), 6);
        assert_eq!(advance_host(&mut seen, 0, &raised), None);
    }
}
