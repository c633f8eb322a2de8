//! Durable state: owned by the world, outside a node's tasks, so it survives a crash.

use crate::node::NodeContext;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

struct Cell<T> {
    value: Mutex<T>,
    commits: AtomicU64,
}

/// A node's durable state. Every write is synced when it returns: nothing written is lost
/// by a crash; what is not written (in-flight requests, caches) lives in the node's tasks.
pub struct Disk<T> {
    cell: Arc<Cell<T>>,
}

impl<T> Clone for Disk<T> {
    fn clone(&self) -> Self {
        Self { cell: self.cell.clone() }
    }
}

impl<T> Disk<T> {
    /// A disk holding `value`.
    pub fn new(value: T) -> Self {
        Self { cell: Arc::new(Cell { value: Mutex::new(value), commits: AtomicU64::new(0) }) }
    }

    fn lock(&self) -> MutexGuard<'_, T> {
        self.cell.value.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads the state (the god's view of checkers uses this too).
    pub fn read<R>(&self, read: impl FnOnce(&T) -> R) -> R {
        read(&self.lock())
    }

    /// Writes the state atomically, then lets the safety invariants look at the change.
    pub fn commit<R>(&self, context: &NodeContext, write: impl FnOnce(&mut T) -> R) -> R {
        let result = write(&mut self.lock());
        self.cell.commits.fetch_add(1, Ordering::Relaxed);
        context.sim().state_changed();
        result
    }

    /// Commits so far: a checker that saw this count before has seen the state it stands for,
    /// and may skip work until it moves.
    pub fn commits(&self) -> u64 {
        self.cell.commits.load(Ordering::Relaxed)
    }
}
