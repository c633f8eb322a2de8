//! The consumer's cache in front of the item API: an entry lives for the TTL, less a random share
//! of it (the fix), or for exactly the TTL (`ttl-without-jitter`), so entries filled together
//! expire together.

use crate::ids::ItemId;
use std::collections::BTreeMap;

/// One cached item: its display name and when it expires, by the consumer's clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The item's display name.
    pub name: String,
    /// When it expires.
    pub expires_ms: u64,
}

/// What a lookup found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A live entry.
    Hit(String),
    /// An entry that expired (a refetch), with the name it held.
    Expired(String),
    /// Never cached: a first fetch.
    Missing,
}

/// The cache of one consumer incarnation.
#[derive(Clone, Debug, Default)]
pub struct ItemCache {
    entries: BTreeMap<ItemId, Entry>,
}

impl ItemCache {
    /// Looks `item` up at `now_ms`.
    pub fn get(&self, item: ItemId, now_ms: u64) -> Lookup {
        match self.entries.get(&item) {
            Some(entry) if now_ms < entry.expires_ms => Lookup::Hit(entry.name.clone()),
            Some(entry) => Lookup::Expired(entry.name.clone()),
            None => Lookup::Missing,
        }
    }

    /// Caches `name` for `item` from `now_ms` for `ttl_ms`, less `jitter_ms`.
    pub fn set(&mut self, item: ItemId, name: String, now_ms: u64, ttl_ms: u64, jitter_ms: u64) {
        self.entries.insert(item, Entry { name, expires_ms: now_ms + ttl_ms - jitter_ms.min(ttl_ms / 2) });
    }
}

/// How much earlier than the TTL an entry filled now expires: a random share of up to half the
/// TTL (`draw` gives a number below its argument), or nothing with `ttl-without-jitter`.
pub fn jitter_ms(ttl_ms: u64, without_jitter: bool, draw: impl FnOnce(u64) -> u64) -> u64 {
    if without_jitter {
        // ttl-without-jitter: every entry lives exactly the TTL.
        return 0;
    }
    // Fixed: up to half the TTL earlier, drawn per entry.
    draw(ttl_ms / 2 + 1)
}
