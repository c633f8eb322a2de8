//! Measurements: distributions a model records during a run (`Sim::measure`) in its own units
//! (simulated milliseconds, counts), kept as mergeable histograms so a campaign reports the
//! maximum and the quantiles over every run, as the bounds of time-based invariants need.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Values below this are counted exactly; above it, in buckets about 3% wide.
const EXACT_BELOW: u64 = 64;
/// Sub-buckets per power of two above `EXACT_BELOW`.
const SUB_BUCKETS: u64 = 32;

/// The smallest value of the bucket `value` falls in.
fn bucket_floor(value: u64) -> u64 {
    if value < EXACT_BELOW {
        return value;
    }
    let shift = 63 - u64::from(value.leading_zeros()) - SUB_BUCKETS.trailing_zeros() as u64;
    (value >> shift) << shift
}

/// The largest value of the bucket whose smallest value is `floor`.
fn bucket_ceiling(floor: u64) -> u64 {
    if floor < EXACT_BELOW {
        return floor;
    }
    let shift = 63 - u64::from(floor.leading_zeros()) - SUB_BUCKETS.trailing_zeros() as u64;
    floor.saturating_add((1 << shift) - 1)
}

/// One measured distribution.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measurement {
    /// Values recorded.
    pub count: u64,
    /// The smallest value.
    pub min: u64,
    /// The largest value (exact).
    pub max: u64,
    /// The sum of the values (saturating).
    pub sum: u64,
    /// How many values fell in each bucket, by the bucket's smallest value.
    pub buckets: BTreeMap<u64, u64>,
}

impl Measurement {
    /// Adds one value.
    pub fn record(&mut self, value: u64) {
        self.min = if self.count == 0 { value } else { self.min.min(value) };
        self.max = self.max.max(value);
        self.count += 1;
        self.sum = self.sum.saturating_add(value);
        *self.buckets.entry(bucket_floor(value)).or_default() += 1;
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Measurement) {
        if other.count == 0 {
            return;
        }
        self.min = if self.count == 0 { other.min } else { self.min.min(other.min) };
        self.max = self.max.max(other.max);
        self.count += other.count;
        self.sum = self.sum.saturating_add(other.sum);
        for (floor, count) in &other.buckets {
            *self.buckets.entry(*floor).or_default() += count;
        }
    }

    /// An upper bound of the `quantile` (0 to 1) within about 3%: the largest value of the bucket
    /// it falls in, never above `max`. Zero when nothing was recorded.
    pub fn quantile(&self, quantile: f64) -> u64 {
        let rank = ((self.count as f64) * quantile.clamp(0.0, 1.0)).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (floor, count) in &self.buckets {
            seen += count;
            if seen >= rank {
                return bucket_ceiling(*floor).min(self.max);
            }
        }
        self.max
    }

    /// `count 357, p50 12, p99 388, max 412`.
    pub fn describe(&self) -> String {
        format!("count {}, p50 {}, p99 {}, max {}", self.count, self.quantile(0.5), self.quantile(0.99), self.max)
    }
}

/// Adds every measurement of `from` into `into`.
pub fn merge_all(into: &mut BTreeMap<String, Measurement>, from: &BTreeMap<String, Measurement>) {
    for (name, measurement) in from {
        into.entry(name.clone()).or_default().merge(measurement);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn small_values_are_exact_and_quantiles_follow_ranks() {
        let mut measurement = Measurement::default();
        for value in 1..=50 {
            measurement.record(value);
        }
        assert_eq!((measurement.count, measurement.min, measurement.max, measurement.sum), (50, 1, 50, 1275));
        assert_eq!((measurement.quantile(0.5), measurement.quantile(0.99), measurement.quantile(1.0)), (25, 50, 50));
        assert_eq!(Measurement::default().quantile(0.99), 0);
    }

    proptest! {
        #[test]
        fn a_quantile_bounds_the_true_one_within_three_percent_and_merging_equals_recording_all(
            left in proptest::collection::vec(0u64..10_000_000, 1..200),
            right in proptest::collection::vec(0u64..10_000_000, 0..200),
            quantile in 0.0f64..=1.0,
        ) {
            let (mut merged, mut other, mut all) = (Measurement::default(), Measurement::default(), Measurement::default());
            left.iter().for_each(|value| merged.record(*value));
            right.iter().for_each(|value| other.record(*value));
            left.iter().chain(&right).for_each(|value| all.record(*value));
            merged.merge(&other);
            prop_assert_eq!(&merged, &all);
            let mut sorted: Vec<u64> = left.iter().chain(&right).copied().collect();
            sorted.sort_unstable();
            let rank = ((sorted.len() as f64 * quantile).ceil().max(1.0) as usize).min(sorted.len());
            let truth = sorted[rank - 1];
            let bound = all.quantile(quantile);
            prop_assert!(bound >= truth && bound <= truth + truth / 32 + 1, "{} for {}", bound, truth);
        }
    }
}
