//! Seeds: parsing, and the independent random streams a run's seed derives.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator behind every stream: ChaCha with 8 rounds.
pub type StreamRng = ChaCha8Rng;

/// One independent random stream of a run; adding draws to one never shifts another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stream {
    /// Workload operations of the plan.
    Workload = 1,
    /// Fault windows of the plan.
    Nemesis = 2,
    /// Decisions the model makes at run time (timeouts, backoff, choice of host).
    Model = 3,
    /// Per-message decisions of the simulated network (loss, delay, duplication).
    Network = 4,
    /// Fault point enablement and firing.
    FaultPoints = 5,
    /// The madsim runtime's own seed (task scheduling order, base latency).
    Runtime = 6,
    /// Fault windows of the kinds that outlive timeouts and leases.
    Outliving = 7,
    /// Per-operation decisions of storage faults (sync latency, torn writes, stale snapshots).
    Storage = 8,
}

/// The SplitMix64 finalizer: a bijective 64-bit mix.
pub fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The 64-bit seed of one stream of a run.
pub fn stream_seed(seed: u64, stream: Stream) -> u64 {
    mix(seed ^ mix(stream as u64))
}

/// A fresh generator for one stream of a run.
pub fn stream_rng(seed: u64, stream: Stream) -> StreamRng {
    StreamRng::seed_from_u64(stream_seed(seed, stream))
}

/// A stable 64-bit hash of a name (FNV-1a), for order-independent per-name decisions.
pub fn name_hash(name: &str) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in name.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A seed that is neither decimal nor `0x` hexadecimal, or out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed seed '{text}': expected a decimal or 0x-hexadecimal number below 2^64")]
pub struct SeedError {
    /// The text that was given.
    pub text: String,
}

/// Parses a seed in decimal (`42`) or hexadecimal (`0x2a`).
pub fn parse_seed(text: &str) -> Result<u64, SeedError> {
    let trimmed = text.trim();
    let parsed = match trimmed.strip_prefix("0x").or_else(|| trimmed.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => trimmed.parse::<u64>(),
    };
    parsed.map_err(|_| SeedError { text: text.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn seeds_parse_in_decimal_and_hex_and_reject_the_rest() {
        assert_eq!(parse_seed("42"), Ok(42));
        assert_eq!(parse_seed("0x2a"), Ok(42));
        assert_eq!(parse_seed("0XFFFFFFFFFFFFFFFF"), Ok(u64::MAX));
        assert!(parse_seed("").is_err());
        assert!(parse_seed("-1").is_err());
        assert!(parse_seed("0x").is_err());
        assert!(parse_seed("12abc").is_err());
        assert!(parse_seed("18446744073709551616").is_err());
    }

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a = stream_rng(7, Stream::Workload).next_u64();
        let b = stream_rng(7, Stream::Nemesis).next_u64();
        let a_again = stream_rng(7, Stream::Workload).next_u64();
        assert_eq!(a, a_again);
        assert_ne!(a, b);
        assert_ne!(stream_seed(7, Stream::Workload), stream_seed(8, Stream::Workload));
    }
}
