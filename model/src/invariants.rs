//! The model's invariants over the god's view: the store's tables and every host.

use crate::host::HostData;
use crate::ids::{HostId, Ip, VmId};
use crate::store::{StoreData, VmState};
use fleetsim_sim::{Disk, Invariant};
use std::collections::BTreeMap;

/// `unique-ip`: no two VMs running on any host share an address, and no address is
/// allocated to two rows.
pub fn unique_ip(store: Disk<StoreData>, hosts: Vec<Disk<HostData>>) -> Invariant {
    Invariant::always("unique-ip", move || {
        let mut running: BTreeMap<Ip, (VmId, HostId)> = BTreeMap::new();
        for (position, host) in hosts.iter().enumerate() {
            let host_id = HostId(position as u32);
            let clash = host.read(|data| {
                data.vms.values().find_map(|physical| {
                    let previous = running.insert(physical.ip, (physical.vm, host_id))?;
                    Some(format!(
                        "{} answers for {} on {} and for {} on {}",
                        physical.ip, previous.0, previous.1, physical.vm, host_id
                    ))
                })
            });
            if let Some(evidence) = clash {
                return Err(evidence);
            }
        }
        store.read(|data| {
            let mut owners: BTreeMap<Ip, VmId> = BTreeMap::new();
            for row in data.vms.values() {
                if let Some(ip) = row.ip {
                    if let Some(other) = owners.insert(ip, row.vm) {
                        return Err(format!("{ip} is allocated to rows {other} and {}", row.vm));
                    }
                }
            }
            Ok(())
        })
    })
}

/// `no-orphan-vm`: every VM running on a host has a row naming that host, and every
/// row that says running has its VM.
pub fn no_orphan_vm(store: Disk<StoreData>, hosts: Vec<Disk<HostData>>) -> Invariant {
    Invariant::eventually("no-orphan-vm", move || {
        let rows = store.read(|data| data.vms.clone());
        for (position, host) in hosts.iter().enumerate() {
            let host_id = HostId(position as u32);
            let orphan = host.read(|data| {
                data.vms.values().find(|physical| rows.get(&physical.vm).is_none_or(|row| row.host != host_id)).copied()
            });
            if let Some(physical) = orphan {
                return Err(format!("{} runs on {host_id} at {} with no row in the store", physical.vm, physical.ip));
            }
        }
        for row in rows.values().filter(|row| row.state == VmState::Running) {
            if !hosts[row.host.0 as usize].read(|data| data.vms.contains_key(&row.vm)) {
                return Err(format!("row {} says running on {} but the host has no such VM", row.vm, row.host));
            }
        }
        Ok(())
    })
}

/// `jobs-terminate`: every job the store accepted is done or failed by the end of the
/// quiet period (a submission whose outcome stayed unknown counts only if it landed).
pub fn jobs_terminate(store: Disk<StoreData>) -> Invariant {
    Invariant::finishes("jobs-terminate", move || {
        store.read(|data| match data.jobs.values().find(|row| !row.state.is_terminal()) {
            Some(row) => {
                Err(format!("{} ({:?}) is still {:?} after {} attempts", row.job, row.kind, row.state, row.attempt))
            }
            None => Ok(()),
        })
    })
}
