//! What a campaign runs: scenarios, seeds, bugs, strategy and shard, and the run of each position.

use crate::fuzz::shard::Shard;
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
        let mut config = RunConfig::new(scenario, self.start.wrapping_add(item / width));
        config.bugs = self.bugs.iter().cloned().collect();
        config.strategy = self.strategy;
        config
    }

    /// Whether campaign position `item` is the run of `scenario` at `seed`.
    pub fn identifies(&self, item: u64, scenario: &str, seed: u64) -> bool {
        let config = self.run_config(item);
        config.scenario == scenario && config.seed == seed
    }

    /// The same campaign without its shard (to compare shards of one campaign).
    pub fn unsharded(&self) -> Self {
        Self { shard: Shard::WHOLE, ..self.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_interleave_scenarios_and_shards_split_by_seed() {
        let spec = CampaignSpec {
            scenarios: vec!["a".into(), "b".into()],
            seeds: 5,
            start: 100,
            bugs: vec![],
            strategy: FaultStrategy::Swarm,
            shard: Shard { index: 1, count: 2 },
        };
        assert_eq!(spec.items(), 4..10);
        let config = spec.run_config(5);
        assert_eq!((config.scenario.as_str(), config.seed), ("b", 102));
        assert_eq!(spec.unsharded().items(), 0..10);
    }
}
