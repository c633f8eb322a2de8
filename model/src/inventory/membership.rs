//! Membership: a store node pings its peers to learn which are up (as distributed Erlang's
//! connections do), and announces itself to the agents (as sniffle's mDNS broadcasts do).

use super::protocol::{Announcement, StoreReply, StoreRequest};
use super::ring::STORE_NODES;
use super::store_node::Running;
use rand::Rng;

/// How long a ping may take before its peer counts as down.
const PING_TIMEOUT_MS: u64 = 150;
/// How long an announcement may take (nobody waits for its answer).
const ANNOUNCE_TIMEOUT_MS: u64 = 100;

/// Pings every peer on a schedule of its own, from the node's start on.
pub async fn run(running: Running) {
    let me = running.store.position;
    for peer in (0..STORE_NODES).filter(|peer| *peer != me) {
        madsim::task::spawn(watch_peer(running.clone(), peer));
    }
}

/// Pings `peer` every half to one and a half intervals: an answer makes it up, and
/// `down_after_misses` silences in a row make it down (as a dropped connection would).
async fn watch_peer(running: Running, peer: usize) {
    let settings = running.store.settings;
    let interval_ms = settings.ping_interval_ms.max(2);
    let mut misses = 0;
    loop {
        let to = running.store_index(peer);
        let answered = running.peers.call(to, StoreRequest::Ping, PING_TIMEOUT_MS).await == Ok(StoreReply::Pong);
        misses = if answered { 0 } else { misses + 1 };
        let mut reachable = running.reachable();
        let up = answered || (reachable[peer] && misses < settings.down_after_misses);
        if reachable[peer] != up {
            running.node.step(format!("sees store-{peer} {}", if up { "up" } else { "down" }));
            reachable[peer] = up;
            running.set_reachable(reachable);
        }
        let wait_ms = running.node.sim().model_rng(|rng| rng.gen_range(interval_ms / 2..=interval_ms * 3 / 2));
        running.node.sleep_ms(wait_ms).await;
    }
}

/// Announces the node to every agent once per interval, from a phase of its own.
pub async fn announce(running: Running) {
    let interval_ms = running.store.settings.announce_interval_ms;
    let phase_ms = running.node.sim().model_rng(|rng| rng.gen_range(0..interval_ms.max(1)));
    running.node.sleep_ms(phase_ms).await;
    loop {
        for agent in running.store.roster.agents.iter().copied() {
            let rpc = running.announcer.clone();
            madsim::task::spawn(async move {
                let _ = rpc.call(agent, Announcement, ANNOUNCE_TIMEOUT_MS).await;
            });
        }
        running.node.sleep_ms(interval_ms).await;
    }
}
