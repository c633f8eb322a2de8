//! The god's view of the incident's window, for `sometimes` properties: when a key first landed
//! on a fallback, and when read repair and anti-entropy last touched it. Nothing in the system
//! reads it.

use crate::ids::VmId;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug, Default)]
struct Marks {
    on_fallback_since_ms: BTreeMap<VmId, u64>,
    read_repaired_ms: BTreeMap<VmId, u64>,
    exchanged_ms: BTreeMap<VmId, u64>,
}

/// What a handoff found of its key's recent past.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandoffPast {
    /// No read repair touched the key since it landed on a fallback.
    pub before_read_repair: bool,
    /// Anti-entropy had not compared the key since it landed on a fallback.
    pub before_anti_entropy: bool,
}

/// Marks of one run; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Watch {
    marks: Arc<Mutex<Marks>>,
}

impl Watch {
    fn marks(&self) -> MutexGuard<'_, Marks> {
        self.marks.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A fallback took a write of `vm`.
    pub fn on_fallback(&self, vm: VmId, at_ms: u64) {
        self.marks().on_fallback_since_ms.entry(vm).or_insert(at_ms);
    }

    /// A read repaired a replica of `vm`.
    pub fn read_repaired(&self, vm: VmId, at_ms: u64) {
        self.marks().read_repaired_ms.insert(vm, at_ms);
    }

    /// Anti-entropy compared `vm`.
    pub fn exchanged(&self, vm: VmId, at_ms: u64) {
        self.marks().exchanged_ms.insert(vm, at_ms);
    }

    /// A handoff of `vm` reached its owner: what happened to the key since it landed on a
    /// fallback. The key's fallback mark ends here.
    pub fn handed_off(&self, vm: VmId) -> HandoffPast {
        let mut marks = self.marks();
        let since_ms = marks.on_fallback_since_ms.remove(&vm).unwrap_or(0);
        let untouched = |at_ms: Option<&u64>| at_ms.is_none_or(|at_ms| *at_ms < since_ms);
        HandoffPast {
            before_read_repair: untouched(marks.read_repaired_ms.get(&vm)),
            before_anti_entropy: untouched(marks.exchanged_ms.get(&vm)),
        }
    }
}
