//! The VM table and the IP allocations (IPAM): an address belongs to one VM at most.

use crate::ids::{Ip, VmId};
use fleetsim_sim::Table;
use serde::{Deserialize, Serialize};

/// Where a VM is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VmState {
    /// The row exists; the VM may not run yet.
    Creating,
    /// The VM was created on its host.
    Running,
}

/// A row of the VM table.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VmRow {
    /// The VM.
    pub vm: VmId,
    /// The host it runs on (index).
    pub host: u32,
    /// Its address, once allocated.
    pub ip: Option<Ip>,
    /// Its state.
    pub state: VmState,
}

/// Why a VM or IPAM transaction did nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VmError {
    /// The row does not exist.
    NotFound,
    /// The address is not allocated to that VM.
    AlreadyFree,
    /// No address is left in the pool.
    PoolExhausted,
}

/// The VM table and the IP pool.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vms {
    /// The IP pool, in allocation order.
    pub ip_pool: Vec<Ip>,
    /// VMs by id.
    pub rows: Table<VmId, VmRow>,
    /// IP allocations: each address belongs to at most one VM (the unique constraint).
    pub ip_allocations: Table<Ip, VmId>,
}

impl Vms {
    /// A VM table with an IP pool of `ip_pool_size` addresses.
    pub fn with_pool(ip_pool_size: u8) -> Self {
        Self { ip_pool: (1..=ip_pool_size).map(|octet| Ip(100 + octet)).collect(), ..Self::default() }
    }

    /// Inserts a row unless it exists; returns the row.
    pub fn insert(&mut self, vm: VmId, host: u32) -> VmRow {
        match self.rows.get(&vm) {
            Some(row) => row.clone(),
            None => {
                let row = VmRow { vm, host, ip: None, state: VmState::Creating };
                self.rows.insert(vm, row.clone());
                row
            }
        }
    }

    /// Allocates the lowest free address to `vm`, or returns the one it has.
    pub fn allocate_ip(&mut self, vm: VmId) -> Result<Ip, VmError> {
        let row = self.rows.get_mut(&vm).ok_or(VmError::NotFound)?;
        if let Some(ip) = row.ip {
            return Ok(ip);
        }
        let ip = self
            .ip_pool
            .iter()
            .copied()
            .find(|ip| !self.ip_allocations.contains_key(ip))
            .ok_or(VmError::PoolExhausted)?;
        self.ip_allocations.insert(ip, vm);
        row.ip = Some(ip);
        Ok(ip)
    }

    /// Releases `ip` if it is allocated to `vm`.
    pub fn release_ip(&mut self, ip: crate::ids::Ip, vm: VmId) -> Result<(), VmError> {
        if self.ip_allocations.get(&ip) != Some(&vm) {
            return Err(VmError::AlreadyFree);
        }
        self.ip_allocations.remove(&ip);
        if let Some(row) = self.rows.get_mut(&vm) {
            row.ip = None;
        }
        Ok(())
    }

    /// Marks a VM as running on its host.
    pub fn mark_running(&mut self, vm: VmId) -> Result<(), VmError> {
        self.rows.get_mut(&vm).ok_or(VmError::NotFound)?.state = VmState::Running;
        Ok(())
    }

    /// Deletes a row, and gives back the address it holds in the same transaction: a row never
    /// leaves its address allocated to nobody. (A duplicated `AllocateIp` that lands after the
    /// create saga gave up for lack of addresses would otherwise leak one on the row's delete.)
    pub fn delete(&mut self, vm: VmId) -> Result<(), VmError> {
        let row = self.rows.remove(&vm).ok_or(VmError::NotFound)?;
        if let Some(ip) = row.ip.filter(|ip| self.ip_allocations.get(ip) == Some(&vm)) {
            self.ip_allocations.remove(&ip);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleting_a_row_gives_its_address_back_and_leaves_other_addresses_alone() {
        let mut vms = Vms::with_pool(2);
        vms.insert(VmId(1), 0);
        vms.insert(VmId(2), 0);
        let (first, second) = (vms.allocate_ip(VmId(1)).unwrap(), vms.allocate_ip(VmId(2)).unwrap());
        assert_eq!(vms.delete(VmId(1)), Ok(()));
        assert_eq!((vms.ip_allocations.get(&first), vms.ip_allocations.get(&second)), (None, Some(&VmId(2))));
        assert_eq!((vms.delete(VmId(1)), vms.rows.len()), (Err(VmError::NotFound), 1));
    }
}
