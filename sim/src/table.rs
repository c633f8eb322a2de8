//! A table of durable state that logs the keys its writes touch: reads go straight to the map,
//! writes only through methods that record their key, so an invariant that follows the log misses
//! no write, however the system under test is written.

use crate::changes::Changes;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;

/// An ordered map whose every write is recorded in [`Table::changes`]. It reads as a `BTreeMap`
/// (it dereferences to one); writing needs its own methods, each of which touches the key it may
/// change (a `get_mut` that changes nothing still counts). Two tables are equal, print and
/// serialize as their maps.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
#[serde(bound(serialize = "K: Serialize + Ord, V: Serialize", deserialize = "K: Deserialize<'de> + Ord, V: Deserialize<'de>"))]
pub struct Table<K, V> {
    map: BTreeMap<K, V>,
    #[serde(skip)]
    changes: Changes<K>,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Self { map: BTreeMap::new(), changes: Changes::default() }
    }
}

impl<K: PartialEq, V: PartialEq> PartialEq for Table<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl<K: Eq, V: Eq> Eq for Table<K, V> {}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Table<K, V> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.map.fmt(formatter)
    }
}

impl<K, V> Deref for Table<K, V> {
    type Target = BTreeMap<K, V>;

    fn deref(&self) -> &BTreeMap<K, V> {
        &self.map
    }
}

impl<K: Ord + Clone, V> Table<K, V> {
    /// The keys this table's writes touched, for a checker that follows them.
    pub fn changes(&self) -> &Changes<K> {
        &self.changes
    }

    /// Inserts or replaces the value at `key`; returns the old one.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.changes.touch(key.clone());
        self.map.insert(key, value)
    }

    /// Removes the value at `key`, if any (touching it only then).
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let removed = self.map.remove(key)?;
        self.changes.touch(key.clone());
        Some(removed)
    }

    /// The value at `key` to change, if any (touching it only then).
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let value = self.map.get_mut(key)?;
        self.changes.touch(key.clone());
        Some(value)
    }

    /// The value at `key` to change, made by `make` first if there is none.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        self.changes.touch(key.clone());
        self.map.entry(key).or_insert_with(make)
    }

    /// Removes every entry (touching every key).
    pub fn clear(&mut self) {
        for key in self.map.keys() {
            self.changes.touch(key.clone());
        }
        self.map.clear();
    }

    /// Every value to change, in key order (touching every key).
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        for key in self.map.keys() {
            self.changes.touch(key.clone());
        }
        self.map.values_mut()
    }
}

impl<'table, K, V> IntoIterator for &'table Table<K, V> {
    type Item = (&'table K, &'table V);
    type IntoIter = std::collections::btree_map::Iter<'table, K, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}

impl<K: Ord + Clone, V> FromIterator<(K, V)> for Table<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        Self { map: entries.into_iter().collect(), changes: Changes::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_write_touches_its_key_and_reads_touch_nothing() {
        let mut table: Table<u32, &str> = Table::default();
        table.insert(1, "a");
        table.insert(2, "b");
        assert_eq!((table.get(&1), table.len(), table.changes().position()), (Some(&"a"), 2, 2));
        *table.get_mut(&2).expect("present") = "c";
        assert!(table.get_mut(&9).is_none() && table.remove(&9).is_none(), "absent keys");
        table.remove(&1);
        *table.get_or_insert_with(3, || "d") = "e";
        let touched: Vec<u32> = table.changes().since(2).expect("kept").copied().collect();
        assert_eq!(touched, vec![2, 1, 3]);
        table.values_mut().for_each(|value| *value = "f");
        assert_eq!(table.changes().position(), 7, "values_mut touches both keys");
        let mut emptied = table.clone();
        emptied.clear();
        assert_eq!((emptied.len(), emptied.changes().position()), (0, 9), "clear touches both keys");
        let copy: Table<u32, &str> = table.iter().map(|(key, value)| (*key, *value)).collect();
        assert_eq!((copy == table, format!("{copy:?}")), (true, "{2: \"f\", 3: \"f\"}".to_string()));
    }
}
