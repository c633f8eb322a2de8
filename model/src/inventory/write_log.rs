//! The inventory's history of writes, as `no-lost-fields` reads it: every field a quorum
//! acknowledged, with the register it wrote. It lives outside every node (a crash loses none of
//! it) and mirrors each write into the run's history (`Sim::invoke`, `Sim::complete`), so reports
//! carry what the system acknowledged.

use super::record::{Field, Record, Register};
use crate::ids::VmId;
use fleetsim_sim::{HistoryType, NodeContext, OperationId};
use std::sync::{Arc, Mutex, MutexGuard};

/// Most acknowledged fields one run keeps; past it the log stops growing (and says so).
pub const ACKNOWLEDGED_FIELDS_MAX: usize = 8_192;

/// One field a quorum acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcknowledgedField {
    /// The key.
    pub vm: VmId,
    /// The field.
    pub field: Field,
    /// What the write put there.
    pub register: Register,
    /// The node the acknowledgment reached.
    pub writer: String,
    /// Simulated milliseconds of the acknowledgment.
    pub at_ms: u64,
}

#[derive(Debug, Default)]
struct Log {
    fields: Vec<AcknowledgedField>,
    dropped: u64,
}

/// The write history of one run; cheap to clone, shared by writers and checkers.
#[derive(Clone, Debug, Default)]
pub struct WriteLog {
    log: Arc<Mutex<Log>>,
}

impl WriteLog {
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records that `node` asks for `update` to `vm`.
    pub fn invoke(&self, node: &NodeContext, vm: VmId, update: &Record) -> OperationId {
        node.sim().invoke(node.index(), format!("write {vm} {update:?}"))
    }

    /// Records that a quorum acknowledged `update` to `vm`, as `node` was told.
    pub fn acknowledged(&self, node: &NodeContext, operation: OperationId, vm: VmId, update: &Record) {
        let (writer, at_ms) = (node.name(), node.sim().now_ms());
        {
            let mut log = self.log();
            for (field, register) in update.fields() {
                if log.fields.len() >= ACKNOWLEDGED_FIELDS_MAX {
                    log.dropped += 1;
                    continue;
                }
                let register = register.clone();
                log.fields.push(AcknowledgedField { vm, field, register, writer: writer.clone(), at_ms });
            }
        }
        node.sim().complete(operation, HistoryType::Ok, node.index(), "acknowledged");
    }

    /// Records that `node` does not know whether the write landed (`why`).
    pub fn unknown(&self, node: &NodeContext, operation: OperationId, why: &str) {
        node.sim().complete(operation, HistoryType::Info, node.index(), why);
    }

    /// Every acknowledged field, in acknowledgment order, and how many were not kept.
    pub fn acknowledged_fields(&self) -> (Vec<AcknowledgedField>, u64) {
        let log = self.log();
        (log.fields.clone(), log.dropped)
    }
}
