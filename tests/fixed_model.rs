//! The fixed model is clean and the nemesis reaches every window: a sweep of seeds of every
//! scenario finds no violation, fires every fault point of the scenario's sagas and reaches
//! every cataloged `sometimes` property. `FLEETSIM_SEEDS=N` sweeps N seeds per scenario.

mod support;

use fleetsim_sim::{FaultStrategy, RunConfig};
use std::collections::BTreeMap;

/// Seeds per scenario in a default test run; large enough that every window is reached.
const SEEDS_DEFAULT: u64 = 300;

fn sweep(scenario: &str) {
    let seeds = support::seed_count(SEEDS_DEFAULT);
    let outcomes: Vec<_> = (1..=seeds).map(|seed| support::run(scenario, seed)).collect();
    support::assert_all_pass(&outcomes);
    let mut sometimes: BTreeMap<String, u64> = BTreeMap::new();
    let mut fires: BTreeMap<String, u64> = BTreeMap::new();
    for outcome in &outcomes {
        for (name, count) in &outcome.coverage.sometimes {
            *sometimes.entry(name.clone()).or_default() += count;
        }
        for (name, count) in &outcome.coverage.fault_points {
            *fires.entry(name.clone()).or_default() += count.fires;
        }
    }
    let never: Vec<&String> = sometimes.iter().filter(|(_, count)| **count == 0).map(|(name, _)| name).collect();
    assert!(never.is_empty(), "{scenario}: sometimes properties never reached in {seeds} seeds: {never:?}");
    let cold: Vec<&String> = fires.iter().filter(|(_, count)| **count == 0).map(|(name, _)| name).collect();
    assert!(cold.is_empty(), "{scenario}: cataloged fault points never fired in {seeds} seeds: {cold:?}");
    let faulted = outcomes.iter().filter(|outcome| !outcome.faults.is_empty()).count();
    assert!(faulted * 10 >= outcomes.len() * 9, "{scenario}: only {faulted} of {seeds} runs injected a fault");
}

#[test]
fn smoke_is_clean() {
    sweep("smoke");
}

#[test]
fn delete_is_clean_and_reaches_every_window() {
    sweep("delete");
}

#[test]
fn clone_is_clean_and_reaches_every_window() {
    sweep("clone");
}

#[test]
fn start_stop_is_clean_and_reaches_every_window() {
    sweep("start-stop");
}

#[test]
fn control_plane_is_clean_and_reaches_every_window() {
    sweep("control-plane");
}

#[test]
fn partition_heal_is_clean_and_reaches_every_window() {
    sweep("partition-heal");
}

#[test]
fn dead_host_is_clean_and_reaches_every_window() {
    sweep("dead-host");
}

#[test]
fn events_is_clean_and_reaches_every_window() {
    sweep("events");
}

#[test]
fn every_scenario_is_swept_here() {
    let names: Vec<&str> = fleetsim_scenarios::registry().scenario_names();
    assert_eq!(
        names,
        ["smoke", "delete", "clone", "start-stop", "control-plane", "partition-heal", "dead-host", "events"],
        "add a sweep for the new scenario"
    );
}

/// Seeds a campaign once found failing in the fixed model: a worker cut off mid-unwind
/// destroyed, on the host, the VMM that another worker had resumed the same start with. Hosts
/// now fence instance operations with the claim's token.
#[test]
fn seeds_a_campaign_found_stay_clean() {
    let found = [("start-stop", 0x138d), ("start-stop", 0x3d4a)];
    let outcomes: Vec<_> = found.iter().map(|(scenario, seed)| support::run(scenario, *seed)).collect();
    support::assert_all_pass(&outcomes);
}

/// Seeds where a fault exposed a weakness of the fixed model, fixed since; each must stay clean.
const ONCE_BROKEN: &[(&str, u64, &str)] = &[
    (
        "delete",
        0x170,
        "a duplicated AllocateIp landed after the create gave up for lack of addresses: the row's delete leaked the address (resources-owned)",
    ),
    (
        "start-stop",
        0x1c,
        "with syncs delayed, a claim acknowledged before an earlier finish looked older than it (effects-persist)",
    ),
    ("control-plane", 0x3, "the same, in the mixed scenario (effects-persist)"),
    (
        "events",
        0x17f0,
        "the consumer crashed in the sync of a handler's commit another sync had made durable: applied, never reported (projection-fresh)",
    ),
    ("delete", 0x68, "the same, for a delete (effects-persist)"),
    (
        "clone",
        0x8f,
        "a CreateSnapshot of an earlier attempt, held back for seconds, recreated the temporary snapshot after the job finished (no-leaked-snapshot)",
    ),
    ("control-plane", 0x194, "the same, in the mixed scenario (no-leaked-snapshot)"),
    (
        "clone",
        0xa66,
        "a held-back duplicate CreateSnapshot of the finishing attempt itself landed after its delete (no-leaked-snapshot)",
    ),
    (
        "start-stop",
        0x1233,
        "a Charge sent before a long pause landed after the unwind's release of the same generation (resources-owned)",
    ),
    (
        "control-plane",
        0x2ca,
        "with stale reads, the reconciler confirmed a VMM as an orphan between the host's teardown and the store's clear (no-orphan-vm)",
    ),
];

/// The same under the uniform strategy.
const ONCE_BROKEN_UNIFORM: &[(&str, u64, &str)] = &[
    (
        "control-plane",
        0x1314,
        "a worker cut off past its lease released the charge of an instance another job had started since (effects-persist)",
    ),
    (
        "dead-host",
        0xedd,
        "a crash lost the control plane's unsynced judgment that a host was back, while the checkers went by it (no-undead)",
    ),
    (
        "events",
        0x14a7,
        "a crash in the sync of a handler's commit that another sync had already made durable: the event was applied but never reported (projection-fresh)",
    ),
    (
        "events",
        0xcfe,
        "the source published a deletion its crash then lost, so a later update reused its version and was skipped (projection-consistent)",
    ),
];

#[test]
fn seeds_that_once_exposed_a_weakness_of_the_fixed_model_stay_clean() {
    for (scenario, seed, story) in ONCE_BROKEN {
        let outcome = support::run(scenario, *seed);
        assert!(outcome.passed(), "{scenario} seed {seed:#x} ({story}): {:?}", outcome.violations);
    }
    for (scenario, seed, story) in ONCE_BROKEN_UNIFORM {
        let config = RunConfig { strategy: FaultStrategy::Uniform, ..RunConfig::new(scenario, *seed) };
        let outcome = fleetsim_scenarios::run_scenario(&config).expect("a known scenario");
        assert!(outcome.passed(), "{scenario} seed {seed:#x} uniform ({story}): {:?}", outcome.violations);
    }
}
