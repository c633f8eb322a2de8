//! The god's view of what the platform acknowledged and did, as the invariants read it: every
//! destroy a tenant was told was accepted, every host's return, every route the control plane
//! chose and every request a machine served, every configuration created and every `GetMachine`
//! answer. It lives outside every node (a crash
//! loses none of it); all its times are true simulated milliseconds.

use super::config::MachineConfig;
use super::protocol::MachineView;
use crate::ids::{HostId, MachineId};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Most entries one list of the ledger keeps; past it the list stops growing (and says so).
pub const ENTRIES_MAX: usize = 4_096;

/// A destroy a tenant was told was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcknowledgedDestroy {
    /// The machine's host.
    pub host: HostId,
    /// When the tenant was told.
    pub at_ms: u64,
}

/// A request a machine served, with the route that sent it there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Served {
    /// The machine.
    pub machine: MachineId,
    /// When the control plane chose the route.
    pub routed_at_ms: u64,
    /// When the machine served it.
    pub at_ms: u64,
}

/// A `GetMachine` answer a tenant received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigAnswer {
    /// The answer.
    pub view: MachineView,
    /// When it arrived.
    pub at_ms: u64,
}

#[derive(Debug, Default)]
struct Records {
    destroys: BTreeMap<MachineId, AcknowledgedDestroy>,
    reachable_since: BTreeMap<HostId, Option<u64>>,
    routes: BTreeMap<u64, (MachineId, u64)>,
    served: Vec<Served>,
    created: BTreeMap<MachineId, MachineConfig>,
    answers: Vec<ConfigAnswer>,
    dropped: u64,
}

/// The ledger of one run; cheap to clone, shared by the nodes and the checkers.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    records: Arc<Mutex<Records>>,
}

fn push<T>(list: &mut Vec<T>, dropped: &mut u64, entry: T) {
    if list.len() < ENTRIES_MAX {
        list.push(entry);
    } else {
        *dropped += 1;
    }
}

impl Ledger {
    fn records(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A tenant was told at `at_ms` that the destroy of `machine` (on `host`) was accepted.
    pub fn destroy_acknowledged(&self, machine: MachineId, host: HostId, at_ms: u64) {
        self.records().destroys.entry(machine).or_insert(AcknowledgedDestroy { host, at_ms });
    }

    /// Every acknowledged destroy.
    pub fn destroys(&self) -> BTreeMap<MachineId, AcknowledgedDestroy> {
        self.records().destroys.clone()
    }

    /// The acknowledged destroy of `machine`, if any.
    pub fn destroy_of(&self, machine: MachineId) -> Option<AcknowledgedDestroy> {
        self.records().destroys.get(&machine).copied()
    }

    /// The control plane judged `host` reachable again at `at_ms` (or unreachable: `None`).
    pub fn host_reachable(&self, host: HostId, since_ms: Option<u64>) {
        self.records().reachable_since.insert(host, since_ms);
    }

    /// Since when the control plane has judged `host` reachable, if it does (every host is at
    /// the start of a run).
    pub fn reachable_since(&self, host: HostId) -> Option<u64> {
        *self.records().reachable_since.get(&host).unwrap_or(&Some(0))
    }

    /// The control plane chose route `route` to `machine` at `at_ms`.
    pub fn routed(&self, route: u64, machine: MachineId, at_ms: u64) {
        let mut records = self.records();
        if records.routes.len() < ENTRIES_MAX {
            records.routes.insert(route, (machine, at_ms));
        } else {
            records.dropped += 1;
        }
    }

    /// `machine` served a request sent by `route` at `at_ms`.
    pub fn served(&self, machine: MachineId, route: u64, at_ms: u64) {
        let mut records = self.records();
        let routed_at_ms = records.routes.get(&route).map_or(at_ms, |(_, routed_at_ms)| *routed_at_ms);
        let Records { served, dropped, .. } = &mut *records;
        push(served, dropped, Served { machine, routed_at_ms, at_ms });
    }

    /// Every request served.
    pub fn served_requests(&self) -> Vec<Served> {
        self.records().served.clone()
    }

    /// `machine` was created with `config`.
    pub fn created(&self, machine: MachineId, config: MachineConfig) {
        self.records().created.insert(machine, config);
    }

    /// The configuration `machine` was created with.
    pub fn created_config(&self, machine: MachineId) -> Option<MachineConfig> {
        self.records().created.get(&machine).cloned()
    }

    /// A tenant received `view` at `at_ms`.
    pub fn answered(&self, view: MachineView, at_ms: u64) {
        let mut records = self.records();
        let Records { answers, dropped, .. } = &mut *records;
        push(answers, dropped, ConfigAnswer { view, at_ms });
    }

    /// Every `GetMachine` answer.
    pub fn answers(&self) -> Vec<ConfigAnswer> {
        self.records().answers.clone()
    }

    /// Entries not kept because a list was full.
    pub fn dropped(&self) -> u64 {
        self.records().dropped
    }
}
