//! Active anti-entropy: each store node in turn compares one of its partitions with the other
//! replicas of the keys whose home it is, by digests, and repairs every difference with the
//! merge (riak's AAE, with a digest list in place of a hash tree).

use super::protocol::{Entries, StoreReply, StoreRequest};
use super::record::Record;
use super::ring::{owner, PARTITIONS, REPLICAS};
use super::store_node::Running;
use crate::ids::VmId;
use rand::Rng;
use std::collections::BTreeMap;

/// How long an exchange may take before it is given up until the next turn.
const EXCHANGE_TIMEOUT_MS: u64 = 300;

/// Runs one exchange per interval, from a phase of its own, over the node's partitions in turn.
pub async fn run(running: Running) {
    let interval_ms = running.store.settings.exchange_interval_ms;
    let phase_ms = running.node.sim().model_rng(|rng| rng.gen_range(0..interval_ms.max(1)));
    running.node.sleep_ms(phase_ms).await;
    let owned: Vec<u32> = (0..PARTITIONS).filter(|vnode| owner(*vnode) == running.store.position).collect();
    for turn in 0.. {
        exchange(&running, owned[turn % owned.len()]).await;
        running.node.sleep_ms(interval_ms).await;
    }
}

/// Compares the keys whose home is `first` with their other replicas and repairs them all.
async fn exchange(running: &Running, first: u32) {
    let store = &running.store;
    let digests: Vec<(VmId, u64)> = store.vnodes.read(|vnodes| vnodes.digests(first, first)).into_iter().collect();
    let reachable = running.reachable();
    let mut merged: BTreeMap<VmId, Record> = BTreeMap::new();
    let mut to_repair: Vec<(u32, Vec<VmId>)> = Vec::new();
    for vnode in (1..REPLICAS).map(|offset| (first + offset) % PARTITIONS) {
        if !reachable[owner(vnode)] {
            continue;
        }
        let request = StoreRequest::Exchange { vnode, first, digests: digests.clone() };
        let answer = running.peers.call(running.store_index(owner(vnode)), request, EXCHANGE_TIMEOUT_MS).await;
        let Ok(StoreReply::Differences { entries, lacking }) = answer else { continue };
        let mut differing = lacking;
        for (vm, theirs) in entries.0 {
            differing.push(vm);
            let own = store.vnodes.read(|vnodes| vnodes.get(first, vm).cloned()).unwrap_or_default();
            merged.entry(vm).or_insert(own).merge(&theirs);
        }
        to_repair.push((vnode, differing));
    }
    let now_ms = running.node.now_ms();
    for (vm, _) in &digests {
        store.watch.exchanged(*vm, now_ms);
    }
    if to_repair.iter().all(|(_, keys)| keys.is_empty())
        || running.node.fault_point("inventory.exchange.before_repair").await.is_err()
    {
        return;
    }
    repair(running, first, &merged, &to_repair).await;
}

/// Writes the merge of every differing key to this node's partition and to each replica that
/// differed.
async fn repair(running: &Running, first: u32, merged: &BTreeMap<VmId, Record>, to_repair: &[(u32, Vec<VmId>)]) {
    let store = &running.store;
    running.node.sim().sometimes("anti-entropy repaired a replica", true);
    for (vm, record) in merged {
        store.watch.exchanged(*vm, running.node.now_ms());
        running.merge_local(first, *vm, record).await;
    }
    for (vnode, keys) in to_repair {
        for vm in keys {
            let record = match merged.get(vm) {
                Some(record) => record.clone(),
                None => store.vnodes.read(|vnodes| vnodes.get(first, *vm).cloned()).unwrap_or_default(),
            };
            let request = StoreRequest::Replicate { vnode: *vnode, vm: *vm, update: record };
            let timeout_ms = store.settings.replica_timeout_ms;
            let _ = running.peers.call(running.store_index(owner(*vnode)), request, timeout_ms).await;
        }
    }
}

/// A peer's side of an exchange: its records of `vnode` (keys whose home is `first`) that differ
/// from the digests sent, and the keys sent that it lacks.
pub fn answer(running: &Running, vnode: u32, first: u32, digests: &[(VmId, u64)]) -> StoreReply {
    let theirs: BTreeMap<VmId, u64> = digests.iter().copied().collect();
    running.store.vnodes.read(|vnodes| {
        let mine = vnodes.digests(vnode, first);
        let entries = mine
            .iter()
            .filter(|(vm, digest)| theirs.get(vm) != Some(digest))
            .filter_map(|(vm, _)| vnodes.get(vnode, *vm).map(|record| (*vm, record.clone())))
            .collect();
        let lacking = theirs.keys().filter(|vm| !mine.contains_key(vm)).copied().collect();
        StoreReply::Differences { entries: Entries(entries), lacking }
    })
}
