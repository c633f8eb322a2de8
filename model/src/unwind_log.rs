//! What a saga claims when it unwinds, and the check that the claim is true: `clean-unwind`.
//! A start saga that reports itself unwound promises the clean slate it started from (as
//! omicron's saga tests demand of every unwind): the instance's VMM cleared, its charge at that
//! generation released, the VMM unregistered on its host. A later attempt may adopt whatever an
//! unwind left behind, so the end state cannot tell; the claim is judged the moment it is made.

use crate::host::HostData;
use crate::ids::{InstanceId, VmmId};
use crate::store::StoreData;
use fleetsim_sim::{Disk, Invariant, Sim};
use std::sync::{Arc, Mutex, MutexGuard};

/// One unwind a saga reported as complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unwound {
    /// The instance the start was for.
    pub instance: InstanceId,
    /// The VMM the start had set up.
    pub vmm: VmmId,
    /// The host the VMM was registered on.
    pub host: u32,
    /// The generation the start ran under.
    pub generation: u64,
}

/// The unwinds of one run, shared by the workers (who report them) and the checker; it lives
/// outside every node, so a crash loses none of it.
#[derive(Clone, Debug, Default)]
pub struct UnwindLog {
    entries: Arc<Mutex<Vec<Unwound>>>,
}

impl UnwindLog {
    fn lock(&self) -> MutexGuard<'_, Vec<Unwound>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records that a saga finished unwinding `unwound`, and has the safety invariants judge
    /// the claim at once, before any later step can change what it undid.
    pub fn record(&self, sim: &Sim, unwound: Unwound) {
        self.lock().push(unwound);
        sim.state_changed();
    }

    /// The unwinds recorded from position `from` on.
    fn since(&self, from: usize) -> Vec<Unwound> {
        self.lock().get(from..).map(<[Unwound]>::to_vec).unwrap_or_default()
    }
}

/// `clean-unwind`: every unwind a saga reported left no VMM in the instance's row, no charge at
/// its generation and nothing registered on its host.
pub fn clean_unwind(store: Disk<StoreData>, hosts: Vec<Disk<HostData>>, log: UnwindLog) -> Invariant {
    let judged: Mutex<usize> = Mutex::new(0);
    Invariant::always("clean-unwind", move || {
        let mut judged = judged.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let claims = log.since(*judged);
        *judged += claims.len();
        for unwound in claims {
            left_behind(&store, &hosts, unwound).map_err(|left| {
                format!(
                    "the start of {} at generation {} reported itself unwound, but {left}",
                    unwound.instance, unwound.generation
                )
            })?;
        }
        Ok(())
    })
}

/// `Ok` when nothing of `unwound` is left, else what is.
fn left_behind(store: &Disk<StoreData>, hosts: &[Disk<HostData>], unwound: Unwound) -> Result<(), String> {
    store.read_durable(|data| hosts[unwound.host as usize].read_durable(|host| left_in(data, host, unwound)))
}

/// What of `unwound` is left in the store's tables `data` and on its host `host`.
fn left_in(data: &StoreData, host: &HostData, unwound: Unwound) -> Result<(), String> {
    let Unwound { instance, vmm, host: host_index, generation } = unwound;
    if data.instances.rows.get(&instance).and_then(|row| row.vmm).is_some_and(|(current, _)| current == vmm) {
        return Err(format!("its row still names {vmm}"));
    }
    if data.provisioning.resources.get(&instance).is_some_and(|charge| charge.generation == generation) {
        return Err(format!("{instance} is still charged at generation {generation}"));
    }
    if host.vmms.contains_key(&vmm) {
        return Err(format!("{vmm} is still registered on host-{host_index}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{PhysicalVmm, VmmState};
    use crate::ids::ProjectId;
    use crate::store::{ResourceRow, Usage};

    const UNWOUND: Unwound = Unwound { instance: InstanceId(1), vmm: VmmId(7), host: 1, generation: 3 };

    /// The tables and the host as a start at generation 3 leaves them before its unwind.
    fn started() -> (StoreData, HostData) {
        let usage = Usage { cpus: 1, ram_gib: 2 };
        let mut data = StoreData::new(4, &[(InstanceId(1), ProjectId(0), usage)]);
        let row = data.instances.rows.get_mut(&InstanceId(1)).expect("instance-1 exists");
        (row.vmm, row.generation) = (Some((VmmId(7), 1)), 3);
        let charge = ResourceRow { instance: InstanceId(1), project: ProjectId(0), usage, generation: 3 };
        data.provisioning.resources.insert(InstanceId(1), charge);
        let mut host = HostData::default();
        host.vmms.insert(VmmId(7), PhysicalVmm { instance: InstanceId(1), generation: 3, state: VmmState::Running });
        (data, host)
    }

    #[test]
    fn an_unwind_is_clean_only_with_its_vmm_cleared_its_charge_released_and_its_host_empty() {
        let (mut data, mut host) = started();
        assert_eq!(left_in(&data, &host, UNWOUND), Err("its row still names vmm-7".to_string()));
        data.instances.rows.get_mut(&InstanceId(1)).expect("exists").vmm = None;
        assert_eq!(left_in(&data, &host, UNWOUND), Err("instance-1 is still charged at generation 3".to_string()));
        data.provisioning.resources.clear();
        assert_eq!(left_in(&data, &host, UNWOUND), Err("vmm-7 is still registered on host-1".to_string()));
        host.vmms.clear();
        assert_eq!(left_in(&data, &host, UNWOUND), Ok(()));
        let (mut later, _) = started();
        later.instances.rows.get_mut(&InstanceId(1)).expect("exists").vmm = Some((VmmId(8), 0));
        later.provisioning.resources.get_mut(&InstanceId(1)).expect("charged").generation = 4;
        assert_eq!(
            left_in(&later, &HostData::default(), UNWOUND),
            Ok(()),
            "a later start's VMM and charge are its own"
        );
    }
}
