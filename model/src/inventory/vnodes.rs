//! What one store node keeps on disk: its copy of each partition it hosts (owned ones, and
//! fallbacks standing in for unreachable owners), and the one decision point of
//! `handoff-overwrites`.

use super::record::Record;
use super::ring::{home, owner, replicates};
use crate::ids::VmId;
use std::collections::BTreeMap;

/// A store node's partitions: partition, key, record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vnodes {
    partitions: BTreeMap<u32, BTreeMap<VmId, Record>>,
}

/// How a handed-off record was taken in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandoffApplied {
    /// The receiving copy held something the handed-off one lacked.
    pub held_more: bool,
    /// The receiving copy changed.
    pub changed: bool,
}

impl Vnodes {
    /// This node's copy of `vm` in partition `vnode`.
    pub fn get(&self, vnode: u32, vm: VmId) -> Option<&Record> {
        self.partitions.get(&vnode).and_then(|keys| keys.get(&vm))
    }

    /// Merges `update` into the copy of `vm` in `vnode`; whether the copy changed.
    pub fn merge(&mut self, vnode: u32, vm: VmId, update: &Record) -> bool {
        assert!(
            replicates(vnode, home(vm)),
            "{vm} (home {}) written to vnode {vnode}, which does not replicate it",
            home(vm)
        );
        let keys = self.partitions.entry(vnode).or_default();
        match keys.get_mut(&vm) {
            Some(held) => held.merge(update),
            None => {
                keys.insert(vm, update.clone());
                true
            }
        }
    }

    /// Takes in a record handed off by a fallback of `vnode`.
    pub fn take_handoff(
        &mut self,
        vnode: u32,
        vm: VmId,
        incoming: &Record,
        handoff_overwrites: bool,
    ) -> HandoffApplied {
        let held_more = self.get(vnode, vm).is_some_and(|held| !incoming.covers(held));
        let changed = if handoff_overwrites {
            // handoff-overwrites: the receiving vnode assumes the handed-off data is newer than
            // its own and replaces it.
            let keys = self.partitions.entry(vnode).or_default();
            keys.insert(vm, incoming.clone()).as_ref() != Some(incoming)
        } else {
            // The fix: a handoff is merged exactly as a read repair is.
            self.merge(vnode, vm, incoming)
        };
        HandoffApplied { held_more, changed }
    }

    /// The partitions this node (at position `node`) hosts for unreachable owners, with data.
    pub fn fallback_partitions(&self, node: usize) -> Vec<u32> {
        self.partitions
            .iter()
            .filter(|(vnode, keys)| owner(**vnode) != node && !keys.is_empty())
            .map(|(vnode, _)| *vnode)
            .collect()
    }

    /// Every key and record of partition `vnode`.
    pub fn entries(&self, vnode: u32) -> Vec<(VmId, Record)> {
        let keys = self.partitions.get(&vnode);
        keys.into_iter().flatten().map(|(vm, record)| (*vm, record.clone())).collect()
    }

    /// Forgets the copy of `vm` in `vnode` if it still is `sent` (a write that arrived during
    /// the handoff stays for the next one); whether it was forgotten.
    pub fn forget_if_unchanged(&mut self, vnode: u32, vm: VmId, sent: &Record) -> bool {
        let Some(keys) = self.partitions.get_mut(&vnode) else { return false };
        if keys.get(&vm) != Some(sent) {
            return false;
        }
        keys.remove(&vm);
        if keys.is_empty() {
            self.partitions.remove(&vnode);
        }
        true
    }

    /// The digest of each key of `vnode` whose home partition is `first`.
    pub fn digests(&self, vnode: u32, first: u32) -> BTreeMap<VmId, u64> {
        let keys = self.partitions.get(&vnode).into_iter().flatten();
        keys.filter(|(vm, _)| home(**vm) == first).map(|(vm, record)| (*vm, record.digest())).collect()
    }

    /// Every partition with data, and its keys.
    pub fn partitions(&self) -> impl Iterator<Item = (u32, &BTreeMap<VmId, Record>)> {
        self.partitions.iter().map(|(vnode, keys)| (*vnode, keys))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::record::{Field, Stamp};

    fn record(at_ms: u64, fields: &[(Field, &str)]) -> Record {
        let owned: Vec<(Field, String)> = fields.iter().map(|(field, value)| (*field, value.to_string())).collect();
        Record::written(Stamp { at_ms, writer: 0, write: at_ms }, &owned)
    }

    #[test]
    fn a_handoff_merges_unless_the_switch_overwrites_and_then_the_fields_it_lacks_are_gone() {
        let vm = VmId(3);
        let vnode = home(vm);
        let full = record(10, &[(Field::Package, "package-1"), (Field::Hypervisor, "host-0")]);
        let registration = record(50, &[(Field::Hypervisor, "host-2")]);
        for overwrite in [false, true] {
            let mut vnodes = Vnodes::default();
            vnodes.merge(vnode, vm, &full);
            let applied = vnodes.take_handoff(vnode, vm, &registration, overwrite);
            assert_eq!(applied, HandoffApplied { held_more: true, changed: true });
            let kept = vnodes.get(vnode, vm).unwrap();
            assert_eq!(kept.get(Field::Hypervisor).unwrap().value, "host-2");
            assert_eq!(kept.get(Field::Package).is_some(), !overwrite, "overwrite {overwrite}: {kept:?}");
        }
    }

    #[test]
    fn a_fallback_forgets_only_what_it_handed_off_unchanged() {
        let (vm, sent) = (VmId(1), record(10, &[(Field::State, "running")]));
        let vnode = home(vm);
        let host = (owner(vnode) + 1) % crate::inventory::ring::STORE_NODES;
        let mut vnodes = Vnodes::default();
        vnodes.merge(vnode, vm, &sent);
        assert_eq!(vnodes.fallback_partitions(host), vec![vnode]);
        assert_eq!(vnodes.fallback_partitions(owner(vnode)), Vec::<u32>::new());
        vnodes.merge(vnode, vm, &record(20, &[(Field::State, "stopped")]));
        assert!(!vnodes.forget_if_unchanged(vnode, vm, &sent), "a write arrived during the handoff");
        let now = vnodes.get(vnode, vm).unwrap().clone();
        assert!(vnodes.forget_if_unchanged(vnode, vm, &now));
        assert!(vnodes.fallback_partitions(host).is_empty() && vnodes.get(vnode, vm).is_none());
    }
}
