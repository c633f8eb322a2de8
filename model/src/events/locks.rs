//! Row locks of the consumer's store, held by transactions until they end, with a deadlock
//! detector: a lock request that would close a cycle of waits aborts its transaction (the victim).

use crate::ids::{ItemId, TenantId};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// A transaction, as the lock table knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TransactionId(pub u64);

/// A lockable row: an item's row or a tenant's usage row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RowKey {
    /// The `items` table's row of an item.
    Item(ItemId),
    /// The `usage` table's row of a tenant.
    Usage(TenantId),
}

impl fmt::Display for RowKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowKey::Item(item) => write!(formatter, "items[{item}]"),
            RowKey::Usage(tenant) => write!(formatter, "usage[{tenant}]"),
        }
    }
}

/// Why a lock was not granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockError {
    /// Granting the wait would close a cycle: the evidence names it.
    Deadlock(String),
}

#[derive(Default)]
struct Table {
    holders: BTreeMap<RowKey, TransactionId>,
    waiters: BTreeMap<RowKey, VecDeque<(TransactionId, oneshot::Sender<()>)>>,
    waiting_on: BTreeMap<TransactionId, RowKey>,
}

impl Table {
    /// The cycle `transaction` would close by waiting for `row`, if any, as evidence.
    fn cycle(&self, transaction: TransactionId, row: RowKey) -> Option<String> {
        let mut path = vec![format!("{transaction:?} waits for {row}")];
        let mut current = row;
        for _ in 0..=self.waiting_on.len() {
            let holder = *self.holders.get(&current)?;
            path.push(format!("held by {holder:?}"));
            if holder == transaction {
                return Some(path.join(", "));
            }
            current = *self.waiting_on.get(&holder)?;
            path.push(format!("which waits for {current}"));
        }
        None
    }
}

/// The lock table of one consumer incarnation; cheap to clone.
#[derive(Clone, Default)]
pub struct Locks {
    table: Arc<Mutex<Table>>,
}

impl Locks {
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes `row` for `transaction`, waiting while another holds it; refuses a wait that closes
    /// a cycle.
    pub async fn lock(&self, transaction: TransactionId, row: RowKey) -> Result<(), LockError> {
        let granted = {
            let mut table = self.table();
            match table.holders.get(&row) {
                None => {
                    table.holders.insert(row, transaction);
                    return Ok(());
                }
                Some(holder) if *holder == transaction => return Ok(()),
                Some(_) => {
                    if let Some(cycle) = table.cycle(transaction, row) {
                        return Err(LockError::Deadlock(cycle));
                    }
                    let (sender, receiver) = oneshot::channel();
                    table.waiters.entry(row).or_default().push_back((transaction, sender));
                    table.waiting_on.insert(transaction, row);
                    receiver
                }
            }
        };
        // The releasing transaction hands the row over before it wakes the waiter.
        let _ = granted.await;
        Ok(())
    }

    /// Releases every row `transaction` holds, handing each to its first waiter.
    pub fn release(&self, transaction: TransactionId) {
        let mut table = self.table();
        let held: Vec<RowKey> =
            table.holders.iter().filter(|(_, holder)| **holder == transaction).map(|(row, _)| *row).collect();
        for row in held {
            table.holders.remove(&row);
            while let Some((next, sender)) = table.waiters.get_mut(&row).and_then(VecDeque::pop_front) {
                table.waiting_on.remove(&next);
                if sender.send(()).is_ok() {
                    table.holders.insert(row, next);
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_that_closes_a_cycle_is_refused_and_names_it() {
        let locks = Locks::default();
        let (first, second) = (TransactionId(1), TransactionId(2));
        let (item, usage) = (RowKey::Item(ItemId(1)), RowKey::Usage(TenantId(1)));
        let runtime = madsim::runtime::Runtime::new();
        runtime.block_on(async move {
            locks.lock(first, item).await.unwrap();
            locks.lock(second, usage).await.unwrap();
            let waiting = locks.clone();
            let handle = madsim::task::spawn(async move { waiting.lock(first, usage).await });
            madsim::time::sleep(madsim::time::Duration::from_millis(1)).await;
            let refused = locks.lock(second, item).await;
            let Err(LockError::Deadlock(cycle)) = refused else { panic!("{refused:?}") };
            assert_eq!(cycle, "TransactionId(2) waits for items[item-1], held by TransactionId(1), which waits for usage[tenant-1], held by TransactionId(2)");
            locks.release(second);
            assert_eq!(handle.await.unwrap(), Ok(()));
        });
    }
}
