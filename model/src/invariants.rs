//! The model's invariants over the god's view: the store's tables and every host.

use crate::followers::{AddressOwners, CloneSnapshots, Ownership};
use crate::host::{HostData, VmmState};
use crate::store::{Collection, InstanceState, StoreData, Usage, VmState};
use fleetsim_sim::{Disk, Invariant, InvariantInfo, ViolationClass};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Every invariant the control plane registers at boot, as `list` shows it.
pub const CATALOG: &[InvariantInfo] = &[
    InvariantInfo {
        name: "unique-ip",
        kind: ViolationClass::Safety,
        summary: "no two VMs running on any host share an address; no address is allocated to two rows",
    },
    InvariantInfo {
        name: "non-negative-counters",
        kind: ViolationClass::Safety,
        summary: "no provisioning counter (fleet, silo, project; cpu, ram, disk) is ever below zero",
    },
    InvariantInfo {
        name: "no-orphan-vm",
        kind: ViolationClass::Convergence,
        summary: "every VM on a host has a row naming that host, every running row has its VM, no row is left half-created, every VMM is current; the reconciler destroyed none",
    },
    InvariantInfo {
        name: "no-leaked-snapshot",
        kind: ViolationClass::Safety,
        summary: "no temporary clone-* snapshot exists without an unfinished clone job; the reconciler removed none",
    },
    InvariantInfo {
        name: "counters-conserve",
        kind: ViolationClass::Convergence,
        summary: "every collection counter equals the sum of the live resource rows under it; an instance is charged exactly when it has a VMM",
    },
    InvariantInfo {
        name: "no-failed-undo",
        kind: ViolationClass::Convergence,
        summary: "no saga gave up on an undo step",
    },
    InvariantInfo {
        name: "jobs-terminate",
        kind: ViolationClass::Liveness,
        summary: "every job the store accepted is done or failed by the end of the quiet period",
    },
    InvariantInfo {
        name: "effects-persist",
        kind: ViolationClass::Safety,
        summary: "the effects of every job finished Done (a VM running at its address, a VM gone, a kept snapshot, an instance running charged or stopped) hold until a later job may undo them",
    },
    InvariantInfo {
        name: "monotonic-state",
        kind: ViolationClass::Safety,
        summary: "a terminal job state never reverts; attempts, fences, generations, id counters, tombstones and host fences never go back",
    },
    InvariantInfo {
        name: "no-stale-write",
        kind: ViolationClass::Safety,
        summary: "no write commits under a job attempt other than that job's current, running claim",
    },
    InvariantInfo {
        name: "resources-owned",
        kind: ViolationClass::Safety,
        summary: "every allocated address belongs to a VM row that names it; every charge was made under its instance's current generation and VMM",
    },
    InvariantInfo {
        name: "clean-unwind",
        kind: ViolationClass::Safety,
        summary: "a start saga that reports itself unwound left the slate it started from: its VMM cleared from the row, its charge released, nothing registered on the host",
    },
];

/// `unique-ip`: no two VMs running on any host share an address, and no address is
/// allocated to two rows.
pub fn unique_ip(store: Disk<StoreData>, hosts: Vec<Disk<HostData>>) -> Invariant {
    // Runs after every state change: reads only the VMs and rows written since the last check.
    let owners = Mutex::new(AddressOwners::default());
    Invariant::always("unique-ip", move || lock(&owners).check(&store, &hosts))
}

/// `no-orphan-vm`: every VM on a host has a row naming that host, every running row has its
/// VM, no row is left half-created without a job to finish it, every VMM is its instance's
/// current one, and the reconciler never had to destroy one.
pub fn no_orphan_vm(store: Disk<StoreData>, hosts: Vec<Disk<HostData>>) -> Invariant {
    Invariant::eventually("no-orphan-vm", move || {
        let data = store.read_durable(Clone::clone);
        if let Some(found) = data.discrepancies.iter().find(|found| found.kind.starts_with("orphan-")) {
            return Err(format!("the reconciler destroyed an orphan at {}ms: {}", found.at_ms, found.evidence));
        }
        for (position, host) in hosts.iter().enumerate() {
            let physical = host.read_durable(Clone::clone);
            for vm in physical.vms.values() {
                if data.vms.rows.get(&vm.vm).is_none_or(|row| row.host as usize != position) {
                    return Err(format!("{} runs on host-{position} at {} with no row in the store", vm.vm, vm.ip));
                }
            }
            for (vmm, physical_vmm) in &physical.vmms {
                let current = data.instances.rows.get(&physical_vmm.instance).and_then(|row| row.vmm);
                if current != Some((*vmm, position as u32)) {
                    return Err(format!("{vmm} of {} is on host-{position} but is not its VMM", physical_vmm.instance));
                }
            }
        }
        for row in data.vms.rows.values().filter(|row| row.state == VmState::Running) {
            if !hosts[row.host as usize].read_durable(|host| host.vms.contains_key(&row.vm)) {
                return Err(format!("row {} says running on host-{} but the host has no such VM", row.vm, row.host));
            }
        }
        // A failed or refused create or clone gives its row back: none is left half-created
        // once no unfinished job works on its VM.
        for row in data.vms.rows.values().filter(|row| row.state == VmState::Creating) {
            let worked_on = data.jobs.rows.values().any(|job| {
                !job.state.is_terminal() && job.kind.lock_keys().contains(&crate::store::LockKey::Vm(row.vm))
            });
            if !worked_on {
                let address = row.ip.map(|ip| format!(" holding {ip}")).unwrap_or_default();
                return Err(format!(
                    "row {} on host-{}{address} is still being created, but no job is left to finish it",
                    row.vm, row.host
                ));
            }
        }
        for row in data.instances.rows.values().filter(|row| row.state == InstanceState::Running) {
            let (vmm, host) = row.vmm.expect("a running instance has a VMM");
            let running = hosts[host as usize].read_durable(|data| data.vmms.get(&vmm).map(|physical| physical.state));
            if running != Some(VmmState::Running) {
                return Err(format!(
                    "{} says running in {vmm} on host-{host} but the host has {running:?}",
                    row.instance
                ));
            }
        }
        Ok(())
    })
}

/// `no-leaked-snapshot`: at no moment does a temporary `clone-*` snapshot exist without an unfinished clone
/// job, and the reconciler never had to remove one.
pub fn no_leaked_snapshot(store: Disk<StoreData>, hosts: Vec<Disk<HostData>>) -> Invariant {
    // Runs after every state change: follows the hosts' snapshot tables, and judges the clone
    // snapshots present (few, and temporary) whenever anything moved.
    let snapshots = Mutex::new(CloneSnapshots::default());
    Invariant::always("no-leaked-snapshot", move || lock(&snapshots).check(&store, &hosts))
}

/// `non-negative-counters`: no provisioning counter is ever below zero.
pub fn non_negative_counters(store: Disk<StoreData>) -> Invariant {
    Invariant::always("non-negative-counters", move || {
        store.read_durable(|data| {
            let negative = data.provisioning.collections.iter().find(|(_, usage)| usage.cpus < 0 || usage.ram_gib < 0);
            match negative {
                Some((collection, usage)) => {
                    Err(format!("{collection} is at {usage:?}; {}", history(data, *collection)))
                }
                None => Ok(()),
            }
        })
    })
}

fn history(data: &StoreData, collection: Collection) -> String {
    let project = match collection {
        Collection::Project(project) => Some(project),
        _ => data.provisioning.history.keys().next().copied(),
    };
    let changes = project.and_then(|project| data.provisioning.history.get(&project)).cloned().unwrap_or_default();
    let lines: Vec<String> = changes
        .iter()
        .map(|change| {
            format!("{}ms {} {:+} cpus -> {}", change.at_ms, change.instance, change.cpus, change.project_cpus_after)
        })
        .collect();
    format!("recent changes: [{}]", lines.join("; "))
}

/// `counters-conserve`: every collection counter equals the sum of the live resource rows
/// under it, and an instance is charged exactly when it has a VMM.
pub fn counters_conserve(store: Disk<StoreData>) -> Invariant {
    Invariant::eventually("counters-conserve", move || {
        store.read_durable(|data| {
            let mut expected: BTreeMap<Collection, Usage> = BTreeMap::new();
            for row in data.provisioning.resources.values() {
                let silo = crate::store::provisioning::silo_of(row.project);
                for collection in [Collection::Fleet, Collection::Silo(silo), Collection::Project(row.project)] {
                    let usage = expected.entry(collection).or_default();
                    usage.cpus += row.usage.cpus;
                    usage.ram_gib += row.usage.ram_gib;
                }
            }
            // Every collection either side names: a counter missing while rows are charged under
            // it is as wrong as one that counts too much.
            let collections: std::collections::BTreeSet<Collection> =
                expected.keys().chain(data.provisioning.collections.keys()).copied().collect();
            for collection in &collections {
                let usage = data.provisioning.collections.get(collection).copied().unwrap_or_default();
                let want = expected.get(collection).copied().unwrap_or_default();
                if usage != want {
                    return Err(format!(
                        "{collection} counts {usage:?} but its resource rows sum to {want:?}; {}",
                        history(data, *collection)
                    ));
                }
            }
            for row in data.instances.rows.values() {
                let charged = data.provisioning.resources.contains_key(&row.instance);
                if charged != (row.state == InstanceState::Running) {
                    return Err(format!(
                        "{} is {:?} (generation {}) but charged is {charged}",
                        row.instance, row.state, row.generation
                    ));
                }
            }
            Ok(())
        })
    })
}

/// `jobs-terminate`: every job the store accepted is done or failed by the end of the
/// quiet period (a submission whose outcome stayed unknown counts only if it landed).
pub fn jobs_terminate(store: Disk<StoreData>) -> Invariant {
    Invariant::finishes("jobs-terminate", move || {
        store.read_durable(|data| match data.jobs.rows.values().find(|row| !row.state.is_terminal()) {
            Some(row) => {
                Err(format!("{} ({}) is still {} after {} attempts", row.job, row.kind, row.state, row.attempt))
            }
            None => Ok(()),
        })
    })
}

/// `no-stale-write`: the last write committed under a claim named the job's current, running
/// attempt.
pub fn no_stale_write(store: Disk<StoreData>) -> Invariant {
    Invariant::always("no-stale-write", move || {
        store.read_durable(|data| match data.claimed_write_last {
            Some(write) if write.attempt != write.current_attempt || !write.running => Err(format!(
                "a write for {} committed under attempt {} while the job was at attempt {} ({})",
                write.job,
                write.attempt,
                write.current_attempt,
                if write.running { "running" } else { "not running" }
            )),
            _ => Ok(()),
        })
    })
}

/// `resources-owned`: every allocated address belongs to a row that names it; every charge
/// belongs to an instance whose current generation and VMM it was made under.
pub fn resources_owned(store: Disk<StoreData>) -> Invariant {
    // Runs after every state change: judges only the allocations, rows and charges written since.
    let ownership = Mutex::new(Ownership::default());
    Invariant::always("resources-owned", move || lock(&ownership).check(&store))
}

/// `no-failed-undo`: no saga gave up on an undo step.
pub fn no_failed_undo(store: Disk<StoreData>) -> Invariant {
    Invariant::eventually("no-failed-undo", move || {
        store.read_durable(|data| match data.undo_failures.first() {
            Some(failure) => Err(format!("{} gave up undoing '{}': {}", failure.job, failure.step, failure.error)),
            None => Ok(()),
        })
    })
}
