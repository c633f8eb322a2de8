//! fleetsim patch (see PATCHES.md at the crate's root): the simulator's internal maps keyed by
//! node ids, addresses and sockets hash with a fixed-key multiply-rotate hasher instead of SipHash.
//! These maps are only looked up, never iterated, so their hasher cannot change behaviour; SipHash's
//! resistance to chosen keys buys nothing inside one simulation.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A hash map with the fixed-key hasher.
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FixedHasher>>;
/// A hash set with the fixed-key hasher.
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<FixedHasher>>;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// The multiply-rotate hasher of rustc's `FxHasher`, eight bytes at a time.
#[derive(Default, Clone, Copy)]
pub(crate) struct FixedHasher {
    hash: u64,
}

impl FixedHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FixedHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut tail = [0u8; 8];
            tail[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(tail));
        }
    }

    #[inline]
    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_u16(&mut self, value: u16) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}
