//! Coordinating one request on a store node: a quorum write to the preference list (sloppy: with
//! fallbacks for unreachable owners), a quorum read that repairs the replicas that differ, and an
//! agent's registration of its VMs.

use super::fan_out::fan_out;
use super::protocol::{Entries, Purpose, StoreReply, StoreRequest};
use super::record::Record;
use super::ring::{preference_list, Target};
use super::store_node::Running;
use crate::ids::VmId;
use fleetsim_sim::{BoxFuture, NodeIndex};

/// Coordinates a quorum write of `update` to `vm`: `Written` once W replicas merged it.
pub async fn put(running: &Running, vm: VmId, update: Record, purpose: Purpose) -> StoreReply {
    let targets = preference_list(vm, &running.reachable());
    let sim = running.node.sim();
    let all_fallbacks = targets.len() == 3 && targets.iter().all(Target::is_fallback);
    sim.sometimes("a registration landed on three fallbacks", purpose == Purpose::Registration && all_fallbacks);
    sim.sometimes("an API write landed on three fallbacks", purpose == Purpose::Api && all_fallbacks);
    let write_quorum = running.store.settings.write_quorum;
    if targets.len() < write_quorum {
        return StoreReply::Unavailable;
    }
    let writes: Vec<BoxFuture<bool>> =
        targets.iter().map(|target| replicate(running.clone(), *target, vm, update.clone())).collect();
    let mut answers = fan_out(writes);
    let mut acknowledged = 0;
    while acknowledged < write_quorum {
        match answers.recv().await {
            Some((_, true)) => acknowledged += 1,
            Some((_, false)) => {}
            None => break,
        }
    }
    if acknowledged < write_quorum || running.node.fault_point("inventory.put.before_reply").await.is_err() {
        return StoreReply::Unavailable;
    }
    StoreReply::Written
}

/// One replica write: local when this node hosts the target, else a call.
fn replicate(running: Running, target: Target, vm: VmId, update: Record) -> BoxFuture<bool> {
    Box::pin(async move {
        if target.node == running.store.position {
            running.merge_local(target.vnode, vm, &update).await;
            return true;
        }
        let request = StoreRequest::Replicate { vnode: target.vnode, vm, update };
        let timeout_ms = running.store.settings.replica_timeout_ms;
        running.peers.call(running.store_index(target.node), request, timeout_ms).await == Ok(StoreReply::Written)
    })
}

/// One replica read: local when this node hosts the target, else a call; `None` if no answer.
fn fetch(running: Running, target: Target, vm: VmId) -> BoxFuture<Option<Option<Record>>> {
    Box::pin(async move {
        if target.node == running.store.position {
            return Some(running.store.vnodes.read(|vnodes| vnodes.get(target.vnode, vm).cloned()));
        }
        let request = StoreRequest::Fetch { vnode: target.vnode, vm };
        let timeout_ms = running.store.settings.replica_timeout_ms;
        match running.peers.call(running.store_index(target.node), request, timeout_ms).await {
            Ok(StoreReply::Value(value)) => Some(value),
            _ => None,
        }
    })
}

/// Coordinates a quorum read of `vm`: the merge of every answer, once R replicas answered; every
/// replica that answered something else is repaired with the merge.
pub async fn get(running: &Running, vm: VmId) -> StoreReply {
    let targets = preference_list(vm, &running.reachable());
    let reads: Vec<BoxFuture<Option<Option<Record>>>> =
        targets.iter().map(|target| fetch(running.clone(), *target, vm)).collect();
    let mut answers = fan_out(reads);
    let mut held: Vec<(Target, Option<Record>)> = Vec::new();
    while let Some((position, answer)) = answers.recv().await {
        if let Some(value) = answer {
            held.push((targets[position], value));
        }
    }
    if held.len() < running.store.settings.read_quorum {
        return StoreReply::Unavailable;
    }
    let merged = held.iter().filter_map(|(_, value)| value.as_ref()).fold(None, |merged: Option<Record>, value| {
        Some(merged.map_or_else(|| value.clone(), |merged| merged.merged(value)))
    });
    if let Some(merged) = &merged {
        repair(running, vm, merged, &held);
    }
    StoreReply::Value(merged)
}

/// Read repair: sends `merged` to every replica whose answer differed, without waiting.
fn repair(running: &Running, vm: VmId, merged: &Record, held: &[(Target, Option<Record>)]) {
    let stale: Vec<Target> =
        held.iter().filter(|(_, value)| value.as_ref() != Some(merged)).map(|(target, _)| *target).collect();
    running.node.sim().sometimes("a read repaired a replica", !stale.is_empty());
    if stale.is_empty() {
        return;
    }
    running.store.watch.read_repaired(vm, running.node.now_ms());
    for target in stale {
        madsim::task::spawn(replicate(running.clone(), target, vm, merged.clone()));
    }
}

/// An agent registers its VMs with this node: one quorum write per VM, creating the record where
/// a replica holds none and merging into it where one does. The VMs a quorum acknowledged.
pub async fn register(running: &Running, agent: NodeIndex, host: &str, vms: Entries) -> StoreReply {
    let sim = running.node.sim();
    running.node.step(format!("{} registers {} VMs of {host}", sim.node_name(agent), vms.0.len()));
    let mut acknowledged = Vec::new();
    for (vm, record) in vms.0 {
        if put(running, vm, record, super::protocol::Purpose::Registration).await == StoreReply::Written {
            acknowledged.push(vm);
        }
    }
    StoreReply::Registered(acknowledged)
}
