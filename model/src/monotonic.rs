//! `monotonic-state`: durable state never goes backwards. A terminal job state never reverts and
//! no job row disappears; attempts, fencing tokens, instance generations and id counters never
//! decrease; hosts never forget a tombstone or lower a fence. Checked at every state change
//! against what the previous check saw.

use crate::host::HostData;
use crate::ids::{InstanceId, JobId};
use crate::store::{JobState, StoreData};
use fleetsim_sim::{Disk, Invariant};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// What one check saw, for the next one to compare with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Seen {
    /// Per job: its state if terminal, its attempt and its fencing token.
    jobs: BTreeMap<JobId, (Option<JobState>, u32, u64)>,
    fence_last: u64,
    vmm_last: u32,
    generations: BTreeMap<InstanceId, u64>,
    /// Per host: tombstones of VMs and VMMs, and the highest fence per instance.
    hosts: Vec<(usize, usize, BTreeMap<InstanceId, u64>)>,
}

fn observe(store: &StoreData, hosts: &[Disk<HostData>]) -> Seen {
    let jobs = store.jobs.rows.iter().map(|(job, row)| {
        let terminal = row.state.is_terminal().then_some(row.state);
        (*job, (terminal, row.attempt, row.fence))
    });
    Seen {
        jobs: jobs.collect(),
        fence_last: store.jobs.fence_last,
        vmm_last: store.instances.vmm_last,
        generations: store.instances.rows.iter().map(|(instance, row)| (*instance, row.generation)).collect(),
        hosts: hosts
            .iter()
            .map(|host| {
                host.read(|data| (data.destroyed_vms.len(), data.destroyed_vmms.len(), data.instance_fences.clone()))
            })
            .collect(),
    }
}

/// What went backwards between `before` and `now`, if anything.
fn regression(before: &Seen, now: &Seen) -> Option<String> {
    for (job, (terminal, attempt, fence)) in &before.jobs {
        let Some((now_terminal, now_attempt, now_fence)) = now.jobs.get(job) else {
            return Some(format!("{job} disappeared from the job table"));
        };
        if terminal.is_some() && now_terminal != terminal {
            return Some(format!("{job} was {terminal:?} and is now {now_terminal:?}"));
        }
        if now_attempt < attempt || now_fence < fence {
            return Some(format!(
                "{job} went from attempt {attempt}, fence {fence} to attempt {now_attempt}, fence {now_fence}"
            ));
        }
    }
    if now.fence_last < before.fence_last || now.vmm_last < before.vmm_last {
        return Some(format!(
            "counters went back: last fence {} -> {}, last VMM {} -> {}",
            before.fence_last, now.fence_last, before.vmm_last, now.vmm_last
        ));
    }
    for (instance, generation) in &before.generations {
        if now.generations.get(instance).is_none_or(|now| now < generation) {
            return Some(format!(
                "{instance} went back from generation {generation} to {:?}",
                now.generations.get(instance)
            ));
        }
    }
    for (position, ((vms, vmms, fences), (now_vms, now_vmms, now_fences))) in
        before.hosts.iter().zip(&now.hosts).enumerate()
    {
        if now_vms < vms || now_vmms < vmms {
            return Some(format!(
                "host-{position} forgot tombstones: VMs {vms} -> {now_vms}, VMMs {vmms} -> {now_vmms}"
            ));
        }
        if let Some((instance, fence)) =
            fences.iter().find(|(instance, fence)| now_fences.get(instance).is_none_or(|now| now < fence))
        {
            return Some(format!("host-{position} lowered the fence of {instance} below {fence}"));
        }
    }
    None
}

/// `monotonic-state`, checked at every state change.
pub fn monotonic_state(store: Disk<StoreData>, hosts: Vec<Disk<HostData>>) -> Invariant {
    let seen: Mutex<Option<Seen>> = Mutex::new(None);
    Invariant::always("monotonic-state", move || {
        let now = store.read(|data| observe(data, &hosts));
        let mut seen = seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let found = seen.as_ref().and_then(|before| regression(before, &now));
        *seen = Some(now);
        found.map_or(Ok(()), Err)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_going_back_is_named_and_going_forward_is_not() {
        let before = Seen {
            jobs: [(JobId(1), (Some(JobState::Done), 2, 5))].into(),
            fence_last: 5,
            vmm_last: 3,
            generations: [(InstanceId(1), 4)].into(),
            hosts: vec![(1, 1, [(InstanceId(1), 5)].into())],
        };
        let forward = Seen { fence_last: 6, vmm_last: 4, ..before.clone() };
        assert_eq!(regression(&before, &forward), None);
        let reverted = Seen { jobs: [(JobId(1), (None, 2, 5))].into(), ..before.clone() };
        let fewer_attempts = Seen { jobs: [(JobId(1), (Some(JobState::Done), 1, 5))].into(), ..before.clone() };
        let lost_job = Seen { jobs: BTreeMap::new(), ..before.clone() };
        let fence_back = Seen { fence_last: 4, ..before.clone() };
        let generation_back = Seen { generations: [(InstanceId(1), 3)].into(), ..before.clone() };
        let tombstone_lost = Seen { hosts: vec![(0, 1, [(InstanceId(1), 5)].into())], ..before.clone() };
        let host_fence_back = Seen { hosts: vec![(1, 1, [(InstanceId(1), 4)].into())], ..before.clone() };
        for (case, now) in [
            ("reverted", reverted),
            ("fewer attempts", fewer_attempts),
            ("lost job", lost_job),
            ("fence back", fence_back),
            ("generation back", generation_back),
            ("tombstone lost", tombstone_lost),
            ("host fence back", host_fence_back),
        ] {
            assert!(regression(&before, &now).is_some(), "{case} must be caught");
        }
    }
}
