//! Durable state: owned by the world, outside a node's tasks, so it survives a crash. Under the
//! storage faults, a write is durable only once synced (a crash loses the writes not synced yet,
//! the last one possibly torn), and reads the node marks as possibly stale may see an old
//! snapshot, as from a lagging replica or a cache.

use crate::node::{NodeContext, NodeIndex};
use crate::world::{DiskEvent, Sim};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Most snapshots a disk keeps for possibly stale reads.
pub const STALE_SNAPSHOTS_MAX: usize = 64;
/// Shortest simulated time between two snapshots kept for possibly stale reads.
pub const STALE_SNAPSHOT_INTERVAL_MS_MIN: u64 = 25;

/// What a crash cost a disk: the writes it had not synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// Writes made since the last sync, all lost.
    pub writes_lost: u64,
    /// Whether the last of them was torn: its checksum failed and recovery discarded it.
    pub torn_write_discarded: bool,
}

struct Journal<T> {
    /// The state as last synced, while writes made since are not (none: everything is synced).
    synced: Option<T>,
    /// Writes made since the last sync.
    unsynced_writes: u64,
    /// Writes ever made.
    writes: u64,
    /// Snapshots for possibly stale reads, oldest first, with the true time they were taken.
    snapshots: VecDeque<(u64, T)>,
    /// The node that writes the disk, known from its first commit.
    owner: Option<NodeIndex>,
    /// What the last crash cost.
    recovery: Option<Recovery>,
}

struct Cell<T> {
    value: Mutex<T>,
    journal: Mutex<Journal<T>>,
    commits: AtomicU64,
}

/// A node's durable state. Outside `disk` windows every write is synced when it returns; inside
/// them a write is durable once a later [`Disk::sync`] returns, so a node that acknowledges a
/// write must sync it first. What is not written (in-flight requests, caches) lives in the
/// node's tasks and is lost at every crash.
pub struct Disk<T> {
    cell: Arc<Cell<T>>,
}

impl<T> Clone for Disk<T> {
    fn clone(&self) -> Self {
        Self { cell: self.cell.clone() }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<T> Disk<T> {
    /// A disk holding `value`.
    pub fn new(value: T) -> Self {
        let journal =
            Journal { synced: None, unsynced_writes: 0, writes: 0, snapshots: VecDeque::new(), owner: None, recovery: None };
        let cell = Cell { value: Mutex::new(value), journal: Mutex::new(journal), commits: AtomicU64::new(0) };
        Self { cell: Arc::new(cell) }
    }

    /// Reads the state as the node sees it: every write, synced or not.
    pub fn read<R>(&self, read: impl FnOnce(&T) -> R) -> R {
        read(&lock(&self.cell.value))
    }

    /// Reads the state a crash would leave: every synced write. The god's view that invariants
    /// judge, so that a lost unsynced write never looks like state going back.
    pub fn read_durable<R>(&self, read: impl FnOnce(&T) -> R) -> R {
        let value = lock(&self.cell.value);
        let journal = lock(&self.cell.journal);
        match &journal.synced {
            Some(synced) => read(synced),
            None => read(&value),
        }
    }

    /// Commits so far, syncs that made writes durable included: a checker that saw this count
    /// before has seen the state it stands for, and may skip work until it moves.
    pub fn commits(&self) -> u64 {
        self.cell.commits.load(Ordering::Relaxed)
    }

    /// What the node's last crash cost this disk, if it lost anything.
    pub fn recovery(&self) -> Option<Recovery> {
        lock(&self.cell.journal).recovery
    }
}

impl<T: Clone + Send + 'static> Disk<T> {
    /// Writes the state atomically, then lets the safety invariants look at the change. Inside a
    /// `disk` window the write is not durable until a [`Disk::sync`] started after it returns.
    pub fn commit<R>(&self, context: &NodeContext, write: impl FnOnce(&mut T) -> R) -> R {
        let (sim, index) = (context.sim(), context.index());
        let storage = sim.storage_of(index);
        let (delayed_sync, stale_age_ms_max) = (storage.sync_ms_max > 0, storage.stale_age_ms_max);
        let result = {
            let mut value = lock(&self.cell.value);
            let mut journal = lock(&self.cell.journal);
            if journal.owner.is_none() {
                journal.owner = Some(index);
                self.follow_disk_events(sim, index);
            }
            if delayed_sync && journal.synced.is_none() {
                journal.synced = Some(value.clone());
            }
            let result = write(&mut value);
            journal.writes += 1;
            if delayed_sync {
                journal.unsynced_writes += 1;
            } else {
                (journal.synced, journal.unsynced_writes) = (None, 0);
            }
            match stale_age_ms_max {
                Some(age_ms_max) => journal.keep_snapshot(sim.now_ms(), age_ms_max, &value),
                None => journal.snapshots.clear(),
            }
            result
        };
        self.cell.commits.fetch_add(1, Ordering::Relaxed);
        sim.state_changed();
        result
    }

    /// Makes every write made before it durable (writes made while it runs wait for the next).
    /// Instant outside `disk` windows; inside them it takes a simulated while, and a crash
    /// meanwhile loses the writes. After a `disk` window the node crashes in its next sync that
    /// has writes to make durable, and this never returns.
    pub async fn sync(&self, context: &NodeContext) {
        let (sim, index) = (context.sim(), context.index());
        if lock(&self.cell.journal).synced.is_none() {
            return;
        }
        if sim.crash_if_armed(index) {
            // The kill takes effect at the next await: stop here so nothing runs past it.
            std::future::pending::<()>().await;
        }
        let delay_ms = sim.sync_delay_ms(index);
        let (covered, snapshot) = {
            let value = lock(&self.cell.value);
            let journal = lock(&self.cell.journal);
            (journal.writes, (delay_ms > 0).then(|| value.clone()))
        };
        if delay_ms > 0 {
            madsim::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        }
        let synced = {
            let _value = lock(&self.cell.value);
            let mut journal = lock(&self.cell.journal);
            let Some(_) = journal.synced else { return };
            let written_since = journal.writes - covered;
            if written_since > journal.unsynced_writes {
                return; // an earlier sync already covered more
            }
            journal.unsynced_writes = written_since;
            journal.synced = if written_since == 0 { None } else { snapshot };
            true
        };
        if synced {
            self.cell.commits.fetch_add(1, Ordering::Relaxed);
            sim.state_changed();
        }
    }

    /// Reads the state for a read the node marks as possibly stale: inside a `stale_read` window
    /// it may see a snapshot up to the window's age old, as a lagging replica or a cache would.
    pub fn read_possibly_stale<R>(&self, context: &NodeContext, read: impl FnOnce(&T) -> R) -> R {
        let sim = context.sim();
        let Some(age_ms_max) = sim.stale_age_ms_max(context.index()) else {
            return self.read(read);
        };
        let oldest_ms = sim.now_ms().saturating_sub(age_ms_max);
        let journal = lock(&self.cell.journal);
        let eligible: Vec<&T> =
            journal.snapshots.iter().filter(|(at_ms, _)| *at_ms >= oldest_ms).map(|(_, value)| value).collect();
        let choice = sim.pick_snapshot(eligible.len() + 1);
        match eligible.get(choice) {
            Some(snapshot) => {
                sim.count_effect("stale_read: reads served from an old snapshot", 1);
                read(snapshot)
            }
            None => {
                drop(journal);
                self.read(read)
            }
        }
    }

    fn follow_disk_events(&self, sim: &Sim, index: NodeIndex) {
        let cell = Arc::downgrade(&self.cell);
        sim.on_disk_event(
            index,
            Arc::new(move |sim: &Sim, event: DiskEvent| {
                let Some(cell) = cell.upgrade() else { return };
                match event {
                    DiskEvent::Crash => forget_unsynced(&cell, sim, index),
                    DiskEvent::Heal => write_back(&cell, sim),
                }
            }),
        );
    }
}

/// The heal: what was not synced is written back, as an operating system's page cache would.
fn write_back<T>(cell: &Cell<T>, sim: &Sim) {
    let written_back = {
        let _value = lock(&cell.value);
        let mut journal = lock(&cell.journal);
        journal.unsynced_writes = 0;
        journal.synced.take().is_some()
    };
    if written_back {
        cell.commits.fetch_add(1, Ordering::Relaxed);
        sim.state_changed();
    }
}

/// A crash: the writes not synced are gone, and the snapshots of a cache with them.
fn forget_unsynced<T>(cell: &Cell<T>, sim: &Sim, index: NodeIndex) {
    let mut value = lock(&cell.value);
    let mut journal = lock(&cell.journal);
    journal.snapshots.clear();
    let Some(synced) = journal.synced.take() else { return };
    *value = synced;
    let writes_lost = std::mem::take(&mut journal.unsynced_writes);
    drop((value, journal));
    let torn_write_discarded = sim.writes_lost(index, writes_lost);
    lock(&cell.journal).recovery = Some(Recovery { writes_lost, torn_write_discarded });
}

impl<T: Clone> Journal<T> {
    /// Keeps a snapshot of `value` if the last one is old enough, and forgets those too old.
    fn keep_snapshot(&mut self, now_ms: u64, age_ms_max: u64, value: &T) {
        let interval_ms = STALE_SNAPSHOT_INTERVAL_MS_MIN.max(age_ms_max / STALE_SNAPSHOTS_MAX as u64);
        while self.snapshots.front().is_some_and(|(at_ms, _)| at_ms + age_ms_max < now_ms) {
            self.snapshots.pop_front();
        }
        if self.snapshots.back().is_none_or(|(at_ms, _)| at_ms + interval_ms <= now_ms) {
            if self.snapshots.len() == STALE_SNAPSHOTS_MAX {
                self.snapshots.pop_front();
            }
            self.snapshots.push_back((now_ms, value.clone()));
        }
    }
}
