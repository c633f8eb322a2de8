//! Hinted handoff: a fallback sends what it holds of a partition to the partition's owner once
//! the owner is reachable again, and forgets it when the owner has taken it in.

use super::protocol::{Entries, StoreReply, StoreRequest};
use super::ring::owner;
use super::store_node::Running;
use crate::bugs::HANDOFF_OVERWRITES;
use rand::Rng;
use std::collections::BTreeMap;

/// How long a handoff may take before the fallback tries again later.
const HANDOFF_TIMEOUT_MS: u64 = 300;

/// Looks for fallback data to hand off once per interval. A fallback whose owner is reachable
/// draws a wait; it hands off, one partition at a time, once the wait is over and the owner is
/// still reachable (a wait ends when the owner is unreachable again).
pub async fn run(running: Running) {
    let settings = running.store.settings;
    let mut ready_at_ms: BTreeMap<u32, u64> = BTreeMap::new();
    loop {
        running.node.sleep_ms(settings.handoff_interval_ms).await;
        let (me, now_ms, reachable) = (running.store.position, running.node.now_ms(), running.reachable());
        let fallbacks: Vec<u32> = running.store.vnodes.read(|vnodes| vnodes.fallback_partitions(me));
        ready_at_ms.retain(|vnode, _| fallbacks.contains(vnode) && reachable[owner(*vnode)]);
        for vnode in fallbacks.into_iter().filter(|vnode| reachable[owner(*vnode)]) {
            let delay_ms = || {
                let range =
                    settings.handoff_delay_ms_min..=settings.handoff_delay_ms_max.max(settings.handoff_delay_ms_min);
                running.node.sim().model_rng(|rng| rng.gen_range(range))
            };
            let ready_ms = *ready_at_ms.entry(vnode).or_insert_with(|| now_ms + delay_ms());
            if ready_ms <= now_ms {
                ready_at_ms.remove(&vnode);
                hand_off(&running, vnode).await;
            }
        }
    }
}

async fn hand_off(running: &Running, vnode: u32) {
    let entries = running.store.vnodes.read(|vnodes| vnodes.entries(vnode));
    let to = owner(vnode);
    running.node.step(format!("hands off vnode {vnode} ({} keys) to store-{to}", entries.len()));
    let request = StoreRequest::Handoff { vnode, entries: Entries(entries.clone()) };
    let answer = running.peers.call(running.store_index(to), request, HANDOFF_TIMEOUT_MS).await;
    if answer != Ok(StoreReply::HandedOff) || running.node.fault_point("inventory.handoff.before_forget").await.is_err()
    {
        return;
    }
    running.store.vnodes.commit(&running.node, |vnodes| {
        for (vm, sent) in &entries {
            vnodes.forget_if_unchanged(vnode, *vm, sent);
        }
    });
    running.store.vnodes.sync(&running.node).await;
}

/// The owner of `vnode` takes in a handoff, key by key.
pub async fn receive(running: &Running, vnode: u32, entries: Entries) -> StoreReply {
    let (sim, store) = (running.node.sim(), &running.store);
    let overwrite = sim.bug(HANDOFF_OVERWRITES);
    for (vm, incoming) in &entries.0 {
        let applied = store.vnodes.commit(&running.node, |vnodes| vnodes.take_handoff(vnode, *vm, incoming, overwrite));
        let past = store.watch.handed_off(*vm);
        sim.sometimes("a handoff arrived at a vnode holding fields the handed-off record lacks", applied.held_more);
        sim.sometimes(
            "a handoff reached a key no read repair had touched since it landed on a fallback",
            past.before_read_repair,
        );
        sim.sometimes(
            "a handoff reached a key anti-entropy had not compared since it landed on a fallback",
            past.before_anti_entropy,
        );
    }
    store.vnodes.sync(&running.node).await;
    StoreReply::HandedOff
}
