//! The consistent-hashing ring: partitions (vnodes) claimed round-robin by the store nodes, the
//! key's home partition, and the preference list a coordinator writes to, with fallbacks for the
//! primaries it cannot reach (sloppy quorum, as riak_core's `get_apl_ann`).

use crate::ids::VmId;
use serde::{Deserialize, Serialize};

/// Store nodes in the ring.
pub const STORE_NODES: usize = 7;
/// Partitions (vnodes) in the ring: a multiple of the node count, so any three consecutive
/// partitions belong to three different nodes.
pub const PARTITIONS: u32 = 28;
/// Replicas of every key (N).
pub const REPLICAS: u32 = 3;

/// The node (its position among the store nodes) that owns partition `vnode`.
pub fn owner(vnode: u32) -> usize {
    vnode as usize % STORE_NODES
}

/// The partition a key hashes to: its first replica (splitmix64 of the id, stable everywhere).
pub fn home(vm: VmId) -> u32 {
    let mut mixed = u64::from(vm.0).wrapping_add(0x9e37_79b9_7f4a_7c15);
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((mixed ^ (mixed >> 31)) % u64::from(PARTITIONS)) as u32
}

/// The partitions that hold a key's replicas: its home and the next `REPLICAS - 1`.
pub fn primaries(vm: VmId) -> impl Iterator<Item = u32> {
    let first = home(vm);
    (0..REPLICAS).map(move |offset| (first + offset) % PARTITIONS)
}

/// Whether partition `vnode` holds replicas of keys whose home is `first`.
pub fn replicates(vnode: u32, first: u32) -> bool {
    (vnode + PARTITIONS - first) % PARTITIONS < REPLICAS
}

/// One replica a coordinator writes to or reads from: a partition, and the node that hosts it for
/// this request (its owner, or a fallback standing in for an unreachable owner).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The partition.
    pub vnode: u32,
    /// The store node (its position) that hosts it.
    pub node: usize,
}

impl Target {
    /// Whether a node other than the owner hosts the partition (a fallback vnode, to be handed
    /// off when the owner is reachable again).
    pub fn is_fallback(&self) -> bool {
        owner(self.vnode) != self.node
    }
}

/// The preference list of `vm` for a coordinator that believes the nodes in `reachable` are up:
/// each primary whose owner is reachable, and for each other one the next partition along the
/// ring whose owner is reachable, hosting the primary's partition as a fallback. Shorter than
/// `REPLICAS` only when the ring holds too few reachable partitions.
pub fn preference_list(vm: VmId, reachable: &[bool; STORE_NODES]) -> Vec<Target> {
    let first = home(vm);
    let mut fallbacks =
        (REPLICAS..PARTITIONS).map(|offset| (first + offset) % PARTITIONS).filter(|vnode| reachable[owner(*vnode)]);
    primaries(vm)
        .filter_map(|vnode| match reachable[owner(vnode)] {
            true => Some(Target { vnode, node: owner(vnode) }),
            false => fallbacks.next().map(|stand_in| Target { vnode, node: owner(stand_in) }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_every_node_up_the_list_is_the_three_primaries_on_three_nodes() {
        for number in 0..64 {
            let vm = VmId(number);
            let list = preference_list(vm, &[true; STORE_NODES]);
            let nodes: std::collections::BTreeSet<usize> = list.iter().map(|target| target.node).collect();
            assert_eq!((list.len(), nodes.len()), (3, 3), "{vm}: {list:?}");
            assert!(list.iter().all(|target| !target.is_fallback() && replicates(target.vnode, home(vm))));
        }
        let homes: std::collections::BTreeSet<u32> = (0..64).map(|number| home(VmId(number))).collect();
        assert!(homes.len() > 20, "keys spread over the ring: {homes:?}");
    }

    #[test]
    fn a_node_cut_off_from_everyone_takes_all_three_replicas_as_fallbacks_unless_it_is_a_primary() {
        let vm = VmId(5);
        let primary_nodes: Vec<usize> = primaries(vm).map(owner).collect();
        let alone = (0..STORE_NODES).find(|node| !primary_nodes.contains(node)).unwrap();
        let mut reachable = [false; STORE_NODES];
        reachable[alone] = true;
        let list = preference_list(vm, &reachable);
        assert_eq!(list.len(), 3);
        assert!(list.iter().all(|target| target.node == alone && target.is_fallback()), "{list:?}");
        let vnodes: Vec<u32> = list.iter().map(|target| target.vnode).collect();
        assert_eq!(vnodes, primaries(vm).collect::<Vec<_>>(), "fallbacks stand in for the primaries");
        let mut as_primary = [false; STORE_NODES];
        as_primary[primary_nodes[1]] = true;
        let list = preference_list(vm, &as_primary);
        assert_eq!(list.iter().filter(|target| !target.is_fallback()).count(), 1, "{list:?}");
    }
}
