//! The reconciler (level-triggered, as a Kubernetes controller): every round it compares
//! every host's actual state with the store's desired state and repairs the difference:
//! it destroys orphan VMs and VMMs and removes orphaned temporary snapshots. A difference
//! counts only when two consecutive rounds see it (reads over the network are not atomic),
//! and every repair is recorded as a discrepancy: a correct control plane has none.

use crate::calls::{host, store_plain};
use crate::host::{HostInventory, HostReply, HostRequest};
use crate::message::ModelRpc;
use crate::names::is_clone_snapshot;
use crate::store::{Discrepancy, StoreInventory, StoreReply, Transaction};
use crate::topology::Topology;
use fleetsim_sim::NodeContext;
use std::collections::BTreeSet;

/// Pause between two rounds.
pub const ROUND_MS: u64 = 500;

/// One difference between a host and the store.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Difference {
    OrphanVm { host: u32, vm: crate::ids::VmId },
    OrphanVmm { host: u32, vmm: crate::ids::VmmId, instance: crate::ids::InstanceId },
    LeakedSnapshot { host: u32, source: crate::ids::VmId, name: String },
}

/// The reconciler's loop; runs until the node crashes. Its rounds read the store's view as it
/// may be served, possibly stale. Before it repairs a difference two rounds saw, it confirms it
/// fresh: every host, the store's latest view, then every host again, and only a difference both
/// host reads show against that view counts (a stale view misses rows made since, and a view
/// read between a host's teardown and the store's catching up shows a VMM about to vanish).
pub async fn run_reconciler(node: NodeContext, rpc: ModelRpc, topology: Topology) {
    let mut suspected: BTreeSet<Difference> = BTreeSet::new();
    loop {
        node.sleep_ms(ROUND_MS).await;
        let Some(found) = differences(&rpc, &topology).await else { continue };
        let seen_twice: BTreeSet<Difference> = found.intersection(&suspected).cloned().collect();
        suspected = found;
        if seen_twice.is_empty() {
            continue;
        }
        let Some(confirmed) = confirmed_differences(&rpc, &topology).await else { continue };
        for difference in seen_twice.intersection(&confirmed) {
            repair(&node, &rpc, &topology, difference).await;
        }
    }
}

/// Reads every host first, then the store as it may be served (a VM's row exists before the VM
/// does).
async fn differences(rpc: &ModelRpc, topology: &Topology) -> Option<BTreeSet<Difference>> {
    let inventories = read_hosts(rpc, topology).await?;
    let desired = read_store(rpc, topology, Transaction::Inventory).await?;
    Some(compare_all(&inventories, &desired))
}

/// The differences that every host shows both before and after the store's latest view.
async fn confirmed_differences(rpc: &ModelRpc, topology: &Topology) -> Option<BTreeSet<Difference>> {
    let before = read_hosts(rpc, topology).await?;
    let desired = read_store(rpc, topology, Transaction::InventoryLatest).await?;
    let after = read_hosts(rpc, topology).await?;
    let confirmed = compare_all(&before, &desired).intersection(&compare_all(&after, &desired)).cloned().collect();
    Some(confirmed)
}

async fn read_hosts(rpc: &ModelRpc, topology: &Topology) -> Option<Vec<HostInventory>> {
    let mut inventories = Vec::new();
    for node in &topology.hosts {
        let HostReply::Inventory(inventory) = host(rpc, *node, HostRequest::Inventory).await.ok()? else { return None };
        inventories.push(inventory);
    }
    Some(inventories)
}

async fn read_store(rpc: &ModelRpc, topology: &Topology, inventory: Transaction) -> Option<StoreInventory> {
    match store_plain(rpc, topology.store, inventory).await.ok()? {
        StoreReply::Inventory(desired) => Some(desired),
        _ => None,
    }
}

fn compare_all(inventories: &[HostInventory], desired: &StoreInventory) -> BTreeSet<Difference> {
    let mut found = BTreeSet::new();
    for (position, inventory) in inventories.iter().enumerate() {
        compare(position as u32, inventory, desired, &mut found);
    }
    found
}

fn compare(host: u32, actual: &HostInventory, desired: &StoreInventory, found: &mut BTreeSet<Difference>) {
    for physical in &actual.vms {
        if !desired.vms.iter().any(|row| row.vm == physical.vm && row.host == host) {
            found.insert(Difference::OrphanVm { host, vm: physical.vm });
        }
    }
    for (vmm, instance) in &actual.vmms {
        if !desired.vmms.contains(&(*instance, *vmm)) {
            found.insert(Difference::OrphanVmm { host, vmm: *vmm, instance: *instance });
        }
    }
    for (source, name) in actual.snapshots.iter().filter(|(_, name)| is_clone_snapshot(name)) {
        if !desired.live_clone_snapshots.contains(name) {
            found.insert(Difference::LeakedSnapshot { host, source: *source, name: name.clone() });
        }
    }
}

async fn repair(node: &NodeContext, rpc: &ModelRpc, topology: &Topology, difference: &Difference) {
    let (kind, evidence, request) = match difference {
        Difference::OrphanVm { host, vm } => (
            "orphan-vm",
            format!("{vm} runs on host-{host} with no row in the store"),
            (*host, HostRequest::DestroyVm(*vm)),
        ),
        Difference::OrphanVmm { host, vmm, instance } => (
            "orphan-vmm",
            format!("{vmm} of {instance} is on host-{host} but is not the instance's VMM"),
            (*host, HostRequest::EnsureUnregistered { instance: *instance, vmm: *vmm, fence: None }),
        ),
        Difference::LeakedSnapshot { host, source, name } => (
            "leaked-snapshot",
            format!("temporary snapshot {name} of {source} on host-{host} has no unfinished clone job"),
            (*host, HostRequest::DeleteSnapshot { source: *source, name: name.clone(), fence: None }),
        ),
    };
    if host(rpc, topology.hosts[request.0 as usize], request.1).await.is_err() {
        return;
    }
    node.step(format!("reconciler repaired {kind}: {evidence}"));
    let discrepancy = Discrepancy { at_ms: node.sim().now_ms(), kind: kind.to_string(), evidence };
    let _ = store_plain(rpc, topology.store, Transaction::RecordDiscrepancy(discrepancy)).await;
}
