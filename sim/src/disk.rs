//! Durable state: owned by the world, outside a node's tasks, so it survives a crash.

use crate::node::NodeContext;
use std::sync::{Arc, Mutex, MutexGuard};

/// A node's durable state. Every write is synced when it returns: nothing written is lost
/// by a crash; what is not written (in-flight requests, caches) lives in the node's tasks.
pub struct Disk<T> {
    cell: Arc<Mutex<T>>,
}

impl<T> Clone for Disk<T> {
    fn clone(&self) -> Self {
        Self { cell: self.cell.clone() }
    }
}

impl<T> Disk<T> {
    /// A disk holding `value`.
    pub fn new(value: T) -> Self {
        Self { cell: Arc::new(Mutex::new(value)) }
    }

    fn lock(&self) -> MutexGuard<'_, T> {
        self.cell.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads the state (the god's view of checkers uses this too).
    pub fn read<R>(&self, read: impl FnOnce(&T) -> R) -> R {
        read(&self.lock())
    }

    /// Writes the state atomically, then lets the safety invariants look at the change.
    pub fn commit<R>(&self, context: &NodeContext, write: impl FnOnce(&mut T) -> R) -> R {
        let result = write(&mut self.lock());
        context.sim().state_changed();
        result
    }
}
