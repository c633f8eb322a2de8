//! What a campaign runs: scenarios, seeds, bugs, strategy and shard, and the run of each position.

use crate::fuzz::shard::Shard;
use crate::fuzz::tally::SEED_BUCKETS_MAX;
use fleetsim_sim::{FaultStrategy, RunConfig};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// A campaign: every selected scenario at every seed of `start..start + seeds`, sliced by shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSpec {
    /// Scenarios run at every seed, in this order.
    pub scenarios: Vec<String>,
    /// Seeds of the whole campaign (all shards).
    pub seeds: u64,
    /// First seed.
    pub start: u64,
    /// Catalog bugs switched on in every run.
    pub bugs: Vec<String>,
    /// How plans choose their faults.
    pub strategy: FaultStrategy,
    /// The slice this process runs.
    pub shard: Shard,
}

impl CampaignSpec {
    /// Checks that the campaign can be numbered: at least one seed and one scenario, every
    /// position and seed within 64 bits (nothing wraps round), and a shard that holds seeds.
    pub fn check(&self) -> Result<(), String> {
        if self.seeds == 0 || self.scenarios.is_empty() {
            return Err("a campaign needs at least one seed (--seeds) and one scenario".to_string());
        }
        let width = self.scenarios.len() as u64;
        if self.seeds.checked_mul(width).is_none() {
            return Err(format!(
                "--seeds {} of {width} scenarios is more runs than a campaign can number ({} at most)",
                self.seeds,
                u64::MAX
            ));
        }
        if self.start.checked_add(self.seeds - 1).is_none() {
            return Err(format!(
                "--start {:#x} with --seeds {} runs past the last seed {:#x}: seeds would wrap round to 0",
                self.start,
                self.seeds,
                u64::MAX
            ));
        }
        if self.shard.seed_offsets(self.seeds).is_empty() {
            return Err(format!(
                "shard {} of a campaign of {} seeds holds no seed: split it in at most {} shards",
                self.shard, self.seeds, self.seeds
            ));
        }
        Ok(())
    }

    /// Campaign positions this shard runs: position `p` is seed `start + p / S` of scenario `p % S`.
    pub fn items(&self) -> Range<u64> {
        let offsets = self.shard.seed_offsets(self.seeds);
        let width = self.scenarios.len() as u64;
        offsets.start * width..offsets.end * width
    }

    /// The run at campaign position `item`.
    pub fn run_config(&self, item: u64) -> RunConfig {
        let width = self.scenarios.len() as u64;
        let scenario = &self.scenarios[(item % width) as usize];
        // Checked when the campaign is made: `start + seeds - 1` fits, so no seed wraps.
        let mut config = RunConfig::new(scenario, self.start.wrapping_add(item / width));
        config.bugs = self.bugs.iter().cloned().collect();
        config.strategy = self.strategy;
        config.tail_only_on_failure = true;
        config
    }

    /// Whether campaign position `item` is the run of `scenario` at `seed`.
    pub fn identifies(&self, item: u64, scenario: &str, seed: u64) -> bool {
        let config = self.run_config(item);
        config.scenario == scenario && config.seed == seed
    }

    /// Slices of the seed range the campaign's totals count runs in: one per seed, at most
    /// `SEED_BUCKETS_MAX`.
    pub fn seed_buckets(&self) -> u64 {
        self.seeds.clamp(1, SEED_BUCKETS_MAX)
    }

    /// The slice of the seed range that campaign position `item` falls in: equal slices of
    /// the whole campaign's seeds, the same in every shard.
    pub fn seed_bucket(&self, item: u64) -> usize {
        let offset = item / self.scenarios.len().max(1) as u64;
        (u128::from(offset) * u128::from(self.seed_buckets()) / u128::from(self.seeds.max(1))) as usize
    }

    /// The first seed of slice `bucket`.
    pub fn seed_bucket_start(&self, bucket: u64) -> u64 {
        let offset = (u128::from(bucket) * u128::from(self.seeds)).div_ceil(u128::from(self.seed_buckets()));
        self.start.saturating_add(offset as u64)
    }

    /// The same campaign without its shard (to compare shards of one campaign).
    pub fn unsharded(&self) -> Self {
        Self { shard: Shard::WHOLE, ..self.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scenarios `a` and `b` at seeds 100 to 104, sliced by `shard`.
    fn two_scenarios(shard: Shard) -> CampaignSpec {
        CampaignSpec {
            scenarios: vec!["a".into(), "b".into()],
            seeds: 5,
            start: 100,
            bugs: vec![],
            strategy: FaultStrategy::Swarm,
            shard,
        }
    }

    #[test]
    fn positions_interleave_scenarios_and_shards_split_by_seed() {
        let spec = two_scenarios(Shard { index: 1, count: 2 });
        assert_eq!(spec.items(), 4..10);
        let config = spec.run_config(5);
        assert_eq!((config.scenario.as_str(), config.seed), ("b", 102));
        assert_eq!(spec.unsharded().items(), 0..10);
    }

    #[test]
    fn a_campaign_that_would_wrap_overflow_or_leave_its_shard_empty_is_refused() {
        let spec = two_scenarios(Shard::WHOLE);
        assert_eq!(spec.check(), Ok(()));
        let last = CampaignSpec { seeds: 1, start: u64::MAX, ..spec.clone() };
        assert_eq!(last.check(), Ok(()), "the last seed alone fits");
        let refused = [
            ("more runs than positions", CampaignSpec { seeds: u64::MAX, start: 0, ..spec.clone() }),
            ("seeds past u64::MAX", CampaignSpec { seeds: 2, start: u64::MAX, ..spec.clone() }),
            ("an empty shard", CampaignSpec { seeds: 1, shard: Shard { index: 2, count: 10 }, ..spec.clone() }),
            ("no seed", CampaignSpec { seeds: 0, ..spec.clone() }),
        ];
        for (what, spec) in refused {
            assert!(spec.check().is_err(), "{what} is accepted");
        }
    }
}
