//! The history: every operation a system was asked to do and how it ended, as Jepsen records
//! them. An operation is invoked, then completes `ok`, `fail` (it did not happen) or `info` (its
//! outcome is unknown: it may or may not have happened). Checkers judge what the system
//! acknowledged from it, beside the god's view of its state; reports carry it.

use serde::{Deserialize, Serialize};

/// Most history entries one run keeps; past it further operations are counted, not kept.
pub const HISTORY_ENTRIES_MAX: usize = 4_096;

/// What one history entry says about its operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistoryType {
    /// The operation was asked for.
    Invoke,
    /// It happened, and the system said so.
    Ok,
    /// It did not happen, and the system said so.
    Fail,
    /// Its outcome is unknown: it may or may not have happened.
    Info,
}

/// The id tying an operation's invocation to its completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OperationId(pub u64);

/// One line of the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Position in the history, from 0.
    pub index: u64,
    /// The operation it belongs to.
    pub operation: OperationId,
    /// Invoked, or how it completed.
    #[serde(rename = "type")]
    pub kind: HistoryType,
    /// The node that invoked it (the process, in Jepsen's words).
    pub process: String,
    /// Simulated milliseconds since the run began.
    pub at_ms: u64,
    /// What the operation is (on `invoke`) or what it returned (on completion).
    pub detail: String,
}

/// The history of one run, bounded.
#[derive(Clone, Debug, Default)]
pub(crate) struct History {
    entries: Vec<HistoryEntry>,
    next_index: u64,
    next_operation: u64,
}

impl History {
    /// Records an invocation; returns the operation's id.
    pub(crate) fn invoke(&mut self, process: String, at_ms: u64, detail: String) -> OperationId {
        let operation = OperationId(self.next_operation);
        self.next_operation += 1;
        self.push(operation, HistoryType::Invoke, process, at_ms, detail);
        operation
    }

    /// Records the completion of `operation`.
    pub(crate) fn complete(&mut self, operation: OperationId, kind: HistoryType, process: String, at_ms: u64, detail: String) {
        debug_assert!(kind != HistoryType::Invoke, "a completion is ok, fail or info");
        self.push(operation, kind, process, at_ms, detail);
    }

    fn push(&mut self, operation: OperationId, kind: HistoryType, process: String, at_ms: u64, detail: String) {
        let index = self.next_index;
        self.next_index += 1;
        if self.entries.len() < HISTORY_ENTRIES_MAX {
            self.entries.push(HistoryEntry { index, operation, kind, process, at_ms, detail });
        }
    }

    /// Every kept entry, in order.
    pub(crate) fn entries(&self) -> &[HistoryEntry] {
        &self.entries
    }

}
