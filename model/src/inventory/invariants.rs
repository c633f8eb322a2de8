//! The inventory's invariants: judged from the write history and every store node's disk, once
//! the run has healed and quieted (handoffs and anti-entropy done).

use super::record::Record;
use super::ring::{owner, primaries};
use super::vnodes::Vnodes;
use super::write_log::WriteLog;
use crate::ids::VmId;
use fleetsim_sim::{Disk, Invariant, InvariantInfo, ViolationClass};
use std::collections::BTreeSet;

/// Every invariant the inventory registers at boot, as `list` shows it.
pub const CATALOG: &[InvariantInfo] = &[
    InvariantInfo {
        name: "no-lost-fields",
        kind: ViolationClass::Convergence,
        summary: "every field a quorum acknowledged is, on every replica of its VM, that write or a later one",
    },
    InvariantInfo {
        name: "replicas-converge",
        kind: ViolationClass::Convergence,
        summary: "after the quiet period every VM's replicas are equal and no fallback still holds data",
    },
];

/// `no-lost-fields`: each acknowledged field, on each primary replica, holds the acknowledged
/// register or one with a later stamp.
pub fn no_lost_fields(log: WriteLog, stores: Vec<Disk<Vnodes>>) -> Invariant {
    Invariant::eventually("no-lost-fields", move || {
        let (acknowledged, dropped) = log.acknowledged_fields();
        for write in &acknowledged {
            for vnode in primaries(write.vm) {
                let node = owner(vnode);
                let held = stores[node].read_durable(|vnodes| vnodes.get(vnode, write.vm).cloned());
                let register = held.as_ref().and_then(|record| record.get(write.field));
                let what = match (register, &held) {
                    (Some(register), _) if register.stamp >= write.register.stamp => continue,
                    (Some(register), _) => {
                        format!("it holds an older write, {} stamped {}", register.value, register.stamp)
                    }
                    (None, Some(record)) => format!("the field is missing from {record:?}"),
                    (None, None) => "it holds no copy of the VM".to_string(),
                };
                return Err(format!(
                    "{}'s {} = {} (stamp {}, acknowledged to {} at {} ms) is lost on store-{node}'s vnode {vnode}: {what}",
                    write.vm,
                    write.field.name(),
                    write.register.value,
                    write.register.stamp,
                    write.writer,
                    write.at_ms
                ));
            }
        }
        match dropped {
            0 => Ok(()),
            dropped => Err(format!("{dropped} acknowledged fields past the log's bound were not judged")),
        }
    })
}

/// `replicas-converge`: see [`converged`].
pub fn replicas_converge(stores: Vec<Disk<Vnodes>>) -> Invariant {
    Invariant::eventually("replicas-converge", move || converged(&stores))
}

/// Whether every VM's primary replicas are equal and no fallback holds data; evidence if not.
pub fn converged(stores: &[Disk<Vnodes>]) -> Result<(), String> {
    let mut keys: BTreeSet<VmId> = BTreeSet::new();
    for (node, store) in stores.iter().enumerate() {
        store.read_durable(|vnodes| -> Result<(), String> {
            for (vnode, held) in vnodes.partitions() {
                if owner(vnode) != node && !held.is_empty() {
                    let names: Vec<String> = held.keys().map(VmId::to_string).collect();
                    return Err(format!("store-{node} still holds vnode {vnode} as a fallback ({})", names.join(", ")));
                }
                keys.extend(held.keys().copied());
            }
            Ok(())
        })?;
    }
    for vm in keys {
        let copies: Vec<(u32, Option<Record>)> = primaries(vm)
            .map(|vnode| (vnode, stores[owner(vnode)].read_durable(|vnodes| vnodes.get(vnode, vm).cloned())))
            .collect();
        if copies.iter().any(|(_, copy)| *copy != copies[0].1) {
            let described: Vec<String> =
                copies.iter().map(|(vnode, copy)| format!("store-{} vnode {vnode}: {copy:?}", owner(*vnode))).collect();
            return Err(format!("{vm}'s replicas differ: {}", described.join("; ")));
        }
    }
    Ok(())
}
