//! What the control plane's safety invariants keep between checks, updated from the change logs
//! of the tables they read ([`fleetsim_sim::Table`]): each check looks at what the writes since the
//! previous check touched, so its cost follows the work, not the size of the state. When a log no
//! longer reaches back to the previous check, a follower reads its table whole once.

use crate::host::HostData;
use crate::ids::{InstanceId, Ip, VmId};
use crate::names::is_clone_snapshot;
use crate::store::StoreData;
use fleetsim_sim::Disk;
use std::collections::{BTreeMap, BTreeSet};

/// Which addresses which holders hold, both ways.
#[derive(Debug)]
struct AddressIndex<H> {
    address_of: BTreeMap<H, Ip>,
    holders: BTreeMap<Ip, BTreeSet<H>>,
}

impl<H> Default for AddressIndex<H> {
    fn default() -> Self {
        Self { address_of: BTreeMap::new(), holders: BTreeMap::new() }
    }
}

impl<H: Ord + Copy> AddressIndex<H> {
    /// `holder` now holds `address` (or none); returns the address it holds, if any.
    fn set(&mut self, holder: H, address: Option<Ip>) -> Option<Ip> {
        if let Some(previous) = self.address_of.remove(&holder) {
            let holders = self.holders.get_mut(&previous).expect("indexed both ways");
            holders.remove(&holder);
            if holders.is_empty() {
                self.holders.remove(&previous);
            }
        }
        let address = address?;
        self.address_of.insert(holder, address);
        self.holders.entry(address).or_default().insert(holder);
        Some(address)
    }

    /// Forgets every holder in `range`.
    fn clear(&mut self, range: std::ops::RangeInclusive<H>) {
        let holders: Vec<H> = self.address_of.range(range).map(|(holder, _)| *holder).collect();
        for holder in holders {
            self.set(holder, None);
        }
    }

    /// Among `addresses`, the clash whose second holder comes first: the address, its first two
    /// holders.
    fn first_clash(&self, addresses: &BTreeSet<Ip>) -> Option<(Ip, H, H)> {
        addresses
            .iter()
            .filter_map(|address| {
                let mut holders = self.holders.get(address)?.iter();
                let (first, second) = (*holders.next()?, *holders.next()?);
                Some((*address, first, second))
            })
            .min_by_key(|(_, _, second)| *second)
    }
}

/// Follows one change log: the keys touched since the last read, or `None` to read everything.
fn follow<'log, K>(changes: &'log fleetsim_sim::Changes<K>, position: &mut Option<u64>) -> Option<Vec<&'log K>> {
    changes.follow(position).map(Iterator::collect)
}

/// `unique-ip`'s view: who answers at each address on every host, and which rows hold each address.
#[derive(Default)]
pub struct AddressOwners {
    host_positions: Vec<(u64, Option<u64>)>,
    answering: AddressIndex<(usize, VmId)>,
    store_position: (Option<u64>, Option<u64>),
    rows: AddressIndex<VmId>,
}

impl AddressOwners {
    /// Reads what changed and names the first clash it made, in the words of `unique-ip`.
    pub fn check(&mut self, store: &Disk<StoreData>, hosts: &[Disk<HostData>]) -> Result<(), String> {
        self.host_positions.resize(hosts.len(), (u64::MAX, None));
        let mut touched = BTreeSet::new();
        for (position, host) in hosts.iter().enumerate() {
            let (commits, log) = &mut self.host_positions[position];
            if host.commits() == *commits {
                continue;
            }
            *commits = host.commits();
            let answering = &mut self.answering;
            host.read_durable(|data| match follow(data.vms.changes(), log) {
                Some(vms) => {
                    let addresses = vms
                        .into_iter()
                        .filter_map(|vm| answering.set((position, *vm), data.vms.get(vm).map(|physical| physical.ip)));
                    touched.extend(addresses);
                }
                None => {
                    answering.clear((position, VmId(0))..=(position, VmId(u32::MAX)));
                    touched.extend(
                        data.vms
                            .values()
                            .filter_map(|physical| answering.set((position, physical.vm), Some(physical.ip))),
                    );
                }
            });
        }
        if let Some((ip, (other_host, other), (host, vm))) = self.answering.first_clash(&touched) {
            return Err(format!("{ip} answers for {other} on host-{other_host} and for {vm} on host-{host}"));
        }
        let (commits, log) = &mut self.store_position;
        if commits.replace(store.commits()) == Some(store.commits()) {
            return Ok(());
        }
        let rows = &mut self.rows;
        let touched: BTreeSet<Ip> = store.read_durable(|data| match follow(data.vms.rows.changes(), log) {
            Some(vms) => {
                vms.into_iter().filter_map(|vm| rows.set(*vm, data.vms.rows.get(vm).and_then(|row| row.ip))).collect()
            }
            None => {
                *rows = AddressIndex::default();
                data.vms.rows.values().filter_map(|row| rows.set(row.vm, row.ip)).collect()
            }
        });
        match self.rows.first_clash(&touched) {
            Some((ip, other, vm)) => Err(format!("{ip} is allocated to rows {other} and {vm}")),
            None => Ok(()),
        }
    }
}

/// `resources-owned`'s view: which addresses each VM is allocated, as last read.
#[derive(Default)]
pub struct Ownership {
    store_commits: Option<u64>,
    positions: [Option<u64>; 4],
    /// Each allocated address's VM, and each VM's addresses (a broken store may give it several).
    owner: BTreeMap<Ip, VmId>,
    owned: BTreeMap<VmId, BTreeSet<Ip>>,
}

impl Ownership {
    /// Reads what changed and names the first resource it left without its owner, in the words of
    /// `resources-owned`.
    pub fn check(&mut self, store: &Disk<StoreData>) -> Result<(), String> {
        if self.store_commits.replace(store.commits()) == Some(store.commits()) {
            return Ok(());
        }
        store.read_durable(|data| {
            let [mut allocations, mut rows, mut resources, mut instances] = self.positions;
            let addresses = self.addresses_to_check(data, &mut allocations, &mut rows);
            let charges = follow(data.provisioning.resources.changes(), &mut resources);
            let charged: BTreeSet<InstanceId> = match (charges, follow(data.instances.rows.changes(), &mut instances)) {
                (Some(charges), Some(rows)) => charges.into_iter().chain(rows).copied().collect(),
                _ => data.provisioning.resources.keys().copied().collect(),
            };
            self.positions = [allocations, rows, resources, instances];
            for ip in &addresses {
                let Some(vm) = data.vms.ip_allocations.get(ip) else { continue };
                if data.vms.rows.get(vm).and_then(|row| row.ip) != Some(*ip) {
                    return Err(format!("{ip} is allocated to {vm}, whose row does not hold it"));
                }
            }
            for instance in &charged {
                let Some(charge) = data.provisioning.resources.get(instance) else { continue };
                let Some(row) = data.instances.rows.get(instance) else {
                    return Err(format!("{instance} is charged but has no row"));
                };
                if charge.generation != row.generation || row.vmm.is_none() {
                    return Err(format!(
                        "{instance} is charged at generation {} but is at generation {} with VMM {:?}",
                        charge.generation, row.generation, row.vmm
                    ));
                }
            }
            Ok(())
        })
    }

    /// The addresses whose allocation, or whose VM's row, changed since the last read.
    fn addresses_to_check(
        &mut self,
        data: &StoreData,
        allocations: &mut Option<u64>,
        rows: &mut Option<u64>,
    ) -> BTreeSet<Ip> {
        let moved = follow(data.vms.ip_allocations.changes(), allocations);
        let changed_rows = follow(data.vms.rows.changes(), rows);
        let (Some(moved), Some(changed_rows)) = (moved, changed_rows) else {
            (self.owner, self.owned) = (BTreeMap::new(), BTreeMap::new());
            for (ip, vm) in &data.vms.ip_allocations {
                self.allocate(*ip, Some(*vm));
            }
            return data.vms.ip_allocations.keys().copied().collect();
        };
        let mut addresses: BTreeSet<Ip> = moved.iter().map(|ip| **ip).collect();
        for ip in moved {
            self.allocate(*ip, data.vms.ip_allocations.get(ip).copied());
        }
        let owned = changed_rows.into_iter().filter_map(|vm| self.owned.get(vm)).flatten().copied();
        addresses.extend(owned);
        addresses
    }

    /// Address `ip` is now allocated to `vm` (or to none).
    fn allocate(&mut self, ip: Ip, vm: Option<VmId>) {
        if let Some(previous) = self.owner.remove(&ip) {
            let owned = self.owned.get_mut(&previous).expect("indexed both ways");
            owned.remove(&ip);
            if owned.is_empty() {
                self.owned.remove(&previous);
            }
        }
        if let Some(vm) = vm {
            self.owner.insert(ip, vm);
            self.owned.entry(vm).or_default().insert(ip);
        }
    }
}

/// `no-leaked-snapshot`'s view: every temporary clone snapshot on every host.
#[derive(Default)]
pub struct CloneSnapshots {
    host_positions: Vec<(u64, Option<u64>)>,
    store_commits: Option<u64>,
    present: BTreeSet<(usize, VmId, String)>,
}

impl CloneSnapshots {
    /// Reads what changed and names the first clone snapshot that outlived its clone job, in the
    /// words of `no-leaked-snapshot`.
    pub fn check(&mut self, store: &Disk<StoreData>, hosts: &[Disk<HostData>]) -> Result<(), String> {
        let mut moved = self.store_commits.replace(store.commits()) != Some(store.commits());
        self.host_positions.resize(hosts.len(), (u64::MAX, None));
        for (position, host) in hosts.iter().enumerate() {
            let (commits, log) = &mut self.host_positions[position];
            if host.commits() == *commits {
                continue;
            }
            *commits = host.commits();
            moved = true;
            let present = &mut self.present;
            host.read_durable(|data| {
                let sources: Vec<VmId> = match follow(data.snapshots.changes(), log) {
                    Some(sources) => sources.into_iter().copied().collect(),
                    None => {
                        present.retain(|(host, _, _)| *host != position);
                        data.snapshots.keys().copied().collect()
                    }
                };
                for source in sources {
                    present.retain(|(host, vm, _)| (*host, *vm) != (position, source));
                    let names = data.snapshots.get(&source).into_iter().flatten();
                    present.extend(
                        names.filter(|name| is_clone_snapshot(name)).map(|name| (position, source, name.clone())),
                    );
                }
            });
        }
        if !moved {
            return Ok(());
        }
        store.read_durable(|data| {
            if let Some(found) = data.discrepancies.iter().find(|found| found.kind == "leaked-snapshot") {
                return Err(format!(
                    "the reconciler removed a leaked snapshot at {}ms: {}",
                    found.at_ms, found.evidence
                ));
            }
            match self.present.iter().find(|(_, _, name)| !data.jobs.clone_active_for_snapshot(name)) {
                Some((position, source, name)) => {
                    let job = name.trim_start_matches(crate::names::CLONE_SNAPSHOT_PREFIX);
                    Err(format!("{name} of {source} on host-{position} outlived its clone job job-{job}"))
                }
                None => Ok(()),
            }
        })
    }
}
