//! The history checkers fire when the model is broken on purpose: a saboteur node corrupts
//! durable state once a job has finished, the way a buggy step or a lost write would, and the
//! invariant that owns that damage must name it at the next state change. The history itself is
//! recorded Jepsen's way: every job invoked once, completed at most once, after its invocation.

use fleetsim_model::host::{HostData, PhysicalVm};
use fleetsim_model::ids::{InstanceId, Ip, JobId, VmId};
use fleetsim_model::store::{ClaimedWrite, JobState, StoreData, VmRow, VmState};
use fleetsim_model::unwind_log::Unwound;
use fleetsim_model::{ControlPlane, ControlPlaneConfig, Operation};
use fleetsim_sim::{
    run, Disk, FaultProfile, FaultStrategy, HistoryType, InvariantInfo, Limits, NodeContext, Outcome, RunConfig,
    Scenario, Sim, StreamRng, WorkloadStep,
};
use std::collections::BTreeMap;

const CONFIG: ControlPlaneConfig =
    ControlPlaneConfig { workers: 1, hosts: 2, ip_pool_size: 4, instances: 1, projects: 1, reconciler: false };

/// A corruption of durable state, applied once at `SABOTAGE_AT_MS`.
type Corruption = fn(&Disk<StoreData>, &[Disk<HostData>], &NodeContext);

/// When the saboteur strikes: long after the workload's jobs finished.
const SABOTAGE_AT_MS: u64 = 2_500;

struct Saboteur {
    corruption: Option<Corruption>,
    /// Whether the control plane runs its reconciler.
    reconciler: bool,
    /// When the saboteur strikes.
    sabotage_at_ms: u64,
    /// Whether the saboteur also claims an unwind of instance-1 that nobody made.
    false_unwind: bool,
}

impl Scenario for Saboteur {
    type Operation = Operation;
    type System = ControlPlane;

    fn name(&self) -> &'static str {
        "saboteur"
    }

    fn summary(&self) -> &'static str {
        "a control plane whose durable state one node corrupts on purpose"
    }

    fn default_limits(&self) -> Limits {
        Limits { chaos_ms: 3_000, heal_ms: 100, quiet_ms_max: 5_000, ..Limits::default() }
    }

    fn fault_profile(&self) -> FaultProfile {
        FaultProfile::default()
    }

    fn generate_workload(&self, _rng: &mut StreamRng, _limits: &Limits) -> Vec<WorkloadStep<Operation>> {
        let (vm, instance) = (VmId(1), InstanceId(1));
        let operations = [
            (10, Operation::CreateVm { job: JobId(1), vm, host: 0 }),
            (400, Operation::SnapshotVm { job: JobId(2), vm }),
            (800, Operation::StartInstance { job: JobId(3), instance }),
        ];
        operations.into_iter().map(|(at_ms, operation)| WorkloadStep { at_ms, operation }).collect()
    }

    fn invariants(&self) -> Vec<InvariantInfo> {
        fleetsim_model::invariants::CATALOG.to_vec()
    }

    fn boot(&self, sim: &Sim) -> ControlPlane {
        let system = ControlPlane::boot(sim, ControlPlaneConfig { reconciler: self.reconciler, ..CONFIG });
        if let Some(corruption) = self.corruption {
            let (store, hosts) = (system.store().clone(), system.hosts().to_vec());
            let sabotage_at_ms = self.sabotage_at_ms;
            sim.add_node("saboteur", move |node| {
                let (store, hosts) = (store.clone(), hosts.clone());
                async move {
                    madsim::time::sleep(std::time::Duration::from_millis(sabotage_at_ms)).await;
                    corruption(&store, &hosts, &node);
                }
            });
        }
        if self.false_unwind {
            let (store, unwinds, sabotage_at_ms) =
                (system.store().clone(), system.unwinds().clone(), self.sabotage_at_ms);
            sim.add_node("false-unwinder", move |node| {
                let (store, unwinds) = (store.clone(), unwinds.clone());
                async move {
                    madsim::time::sleep(std::time::Duration::from_millis(sabotage_at_ms)).await;
                    let row = store.read_durable(|data| data.instances.rows[&InstanceId(1)].clone());
                    let (vmm, host) = row.vmm.expect("instance-1 was started");
                    let claim = Unwound { instance: InstanceId(1), vmm, host, generation: row.generation };
                    unwinds.record(node.sim(), claim);
                }
            });
        }
        system
    }
}

/// One run without faults: the workload alone, and the corruption if any.
fn run_saboteur(corruption: Option<Corruption>) -> Outcome {
    let config = RunConfig { strategy: FaultStrategy::None, ..RunConfig::new("saboteur", 1) };
    run(&Saboteur { corruption, reconciler: false, sabotage_at_ms: SABOTAGE_AT_MS, false_unwind: false }, &config)
        .expect("the saboteur's configuration fits")
}

/// Runs with `corruption` and returns the first violation's invariant and message.
fn first_violation(corruption: Corruption) -> (String, String) {
    let outcome = run_saboteur(Some(corruption));
    let violation = outcome.first_violation().unwrap_or_else(|| panic!("nothing fired: {:?}", outcome.history));
    assert!(violation.at_ms >= SABOTAGE_AT_MS, "fired before the sabotage: {violation:?}");
    (violation.invariant.clone(), violation.message.clone())
}

#[test]
fn without_sabotage_the_workload_finishes_clean_and_every_job_is_ok_in_the_history() {
    let outcome = run_saboteur(None);
    assert!(outcome.passed(), "{:?}", outcome.violations);
    let mut invoked: BTreeMap<u64, (usize, Vec<HistoryType>)> = BTreeMap::new();
    for (position, entry) in outcome.history.iter().enumerate() {
        let (at, completions) = invoked.entry(entry.operation.0).or_insert((position, Vec::new()));
        if entry.kind == HistoryType::Invoke {
            assert_eq!(*at, position, "an operation is invoked once: {entry:?}");
        } else {
            completions.push(entry.kind);
        }
    }
    let jobs_ok =
        outcome.history.iter().filter(|entry| entry.kind == HistoryType::Ok && entry.detail.ends_with(" done"));
    let submissions_ok = outcome.history.iter().filter(|entry| entry.detail.ends_with("submitted"));
    assert_eq!((jobs_ok.count(), submissions_ok.count()), (3, 3), "{:#?}", outcome.history);
    assert!(invoked.values().all(|(_, completions)| completions.len() == 1), "{invoked:?}");
}

#[test]
fn a_created_vm_that_vanishes_from_its_host_breaks_effects_persist() {
    let (invariant, message) = first_violation(|_, hosts, node| hosts[0].commit(node, |host| host.vms.clear()));
    assert_eq!(invariant, "effects-persist", "{message}");
    assert!(message.contains("job-1 finished Done") && message.contains("vm-1 does not run on host-0"), "{message}");
}

#[test]
fn a_kept_snapshot_that_vanishes_breaks_effects_persist() {
    let (invariant, message) = first_violation(|_, hosts, node| hosts[0].commit(node, |host| host.snapshots.clear()));
    assert_eq!(invariant, "effects-persist", "{message}");
    assert!(message.contains("snap-2 of vm-1 is missing"), "{message}");
}

#[test]
fn a_finished_job_that_reverts_breaks_monotonic_state() {
    let (invariant, message) = first_violation(|store, _, node| {
        store.commit(node, |data| data.jobs.rows.get_mut(&JobId(1)).expect("job-1 exists").state = JobState::Pending)
    });
    assert_eq!(invariant, "monotonic-state", "{message}");
    assert!(message.contains("job-1 was Some(Done)"), "{message}");
}

#[test]
fn a_generation_that_goes_back_breaks_monotonic_state() {
    let (invariant, message) = first_violation(|store, _, node| {
        store.commit(node, |data| data.instances.rows.get_mut(&InstanceId(1)).expect("exists").generation -= 1)
    });
    assert_eq!(invariant, "monotonic-state", "{message}");
    assert!(message.contains("instance-1 went back from generation"), "{message}");
}

#[test]
fn a_host_that_forgets_a_tombstone_breaks_monotonic_state() {
    // The second host records a destroyed VM, then forgets it: each commit is checked on its own.
    let (invariant, message) = first_violation(|_, hosts, node| {
        hosts[1].commit(node, |host| host.destroyed_vms.insert(VmId(99)));
        hosts[1].commit(node, |host| host.destroyed_vms.remove(&VmId(99)));
    });
    assert_eq!(invariant, "monotonic-state", "{message}");
    assert!(message.contains("host-1 forgot tombstones: VMs 1 -> 0"), "{message}");
}

#[test]
fn a_write_committed_under_a_stale_attempt_breaks_no_stale_write() {
    let (invariant, message) = first_violation(|store, _, node| {
        let stale = ClaimedWrite { job: JobId(1), attempt: 1, current_attempt: 2, running: true };
        store.commit(node, |data| data.claimed_write_last = Some(stale))
    });
    assert_eq!(invariant, "no-stale-write", "{message}");
    assert!(message.contains("job-1 committed under attempt 1 while the job was at attempt 2"), "{message}");
}

#[test]
fn an_address_held_by_no_row_breaks_resources_owned() {
    let (invariant, message) = first_violation(|store, _, node| {
        store.commit(node, |data| {
            data.vms.ip_allocations.insert(Ip(104), VmId(9));
        })
    });
    assert_eq!(invariant, "resources-owned", "{message}");
    assert!(message.contains("vm-9, whose row does not hold it"), "{message}");
}

#[test]
fn a_charge_under_an_old_generation_breaks_resources_owned() {
    let (invariant, message) = first_violation(|store, _, node| {
        store.commit(node, |data| data.provisioning.resources.values_mut().for_each(|charge| charge.generation = 1))
    });
    assert_eq!(invariant, "resources-owned", "{message}");
    assert!(message.contains("charged at generation 1"), "{message}");
}

#[test]
fn a_row_left_half_created_with_no_job_to_finish_it_breaks_no_orphan_vm() {
    let (invariant, message) = first_violation(|store, _, node| {
        let row = VmRow { vm: VmId(9), host: 1, ip: Some(Ip(104)), state: VmState::Creating };
        store.commit(node, |data| {
            data.vms.rows.insert(VmId(9), row);
            data.vms.ip_allocations.insert(Ip(104), VmId(9));
        })
    });
    assert_eq!(invariant, "no-orphan-vm", "{message}");
    assert!(message.contains("row vm-9 on host-1 holding 10.0.0.104 is still being created"), "{message}");
}

#[test]
fn the_reconciler_destroys_an_orphan_vm_and_no_orphan_vm_names_the_repair() {
    let orphan: Corruption = |_, hosts, node| {
        hosts[1].commit(node, |host| {
            host.vms.insert(VmId(9), PhysicalVm { vm: VmId(9), ip: Ip(109) });
        })
    };
    let config = RunConfig { strategy: FaultStrategy::None, ..RunConfig::new("saboteur", 1) };
    // Early enough for the reconciler's two rounds and its confirmation before the run ends.
    let early = Saboteur { corruption: Some(orphan), reconciler: true, sabotage_at_ms: 1_000, false_unwind: false };
    let outcome = run(&early, &config).expect("the saboteur's configuration fits");
    let violation = outcome.first_violation().unwrap_or_else(|| panic!("nothing fired: {:?}", outcome.violations));
    assert_eq!(violation.invariant, "no-orphan-vm", "{violation:?}");
    assert!(
        violation.message.contains("the reconciler destroyed an orphan"),
        "repaired, not merely seen: {violation:?}"
    );
    assert!(violation.message.contains("vm-9") && violation.message.contains("host-1"), "{violation:?}");
    let (without, message) = first_violation(orphan);
    assert_eq!(without, "no-orphan-vm");
    assert!(message.contains("vm-9 runs on host-1 at 10.0.0.109 with no row in the store"), "{message}");
}

#[test]
fn counters_that_vanish_while_an_instance_is_charged_break_counters_conserve() {
    let (invariant, message) =
        first_violation(|store, _, node| store.commit(node, |data| data.provisioning.collections.clear()));
    assert_eq!(invariant, "counters-conserve", "{message}");
    assert!(message.contains("fleet counts") && message.contains("but its resource rows sum to"), "{message}");
}

#[test]
fn an_unwind_claimed_while_the_instance_still_runs_breaks_clean_unwind() {
    let config = RunConfig { strategy: FaultStrategy::None, ..RunConfig::new("saboteur", 1) };
    let liar = Saboteur { corruption: None, reconciler: false, sabotage_at_ms: SABOTAGE_AT_MS, false_unwind: true };
    let outcome = run(&liar, &config).expect("the saboteur's configuration fits");
    let violation = outcome.first_violation().unwrap_or_else(|| panic!("nothing fired: {:?}", outcome.history));
    assert_eq!((violation.invariant.as_str(), violation.at_ms), ("clean-unwind", SABOTAGE_AT_MS), "{violation:?}");
    assert!(
        violation.message.contains("the start of instance-1")
            && violation.message.contains("reported itself unwound, but its row still names vmm-"),
        "{violation:?}"
    );
}
