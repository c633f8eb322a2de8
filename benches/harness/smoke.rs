//! The `smoke` scenario's seed rate: the fixed model, generated plans, the default strategy.

use fleetsim_sim::{Outcome, RunConfig};

/// Totals over a batch of smoke seeds.
#[derive(Debug, Default, Clone, Copy)]
pub struct Batch {
    /// Seeds run.
    pub seeds: u64,
    /// Messages the RPC layer delivered over all of them.
    pub messages_delivered: u64,
}

/// Runs smoke seeds `first..first + count` one after the other on this thread; every one must pass.
pub fn run_seeds(first: u64, count: u64) -> Batch {
    let mut batch = Batch::default();
    for seed in first..first + count {
        let outcome: Outcome =
            fleetsim_scenarios::run_scenario(&RunConfig::new("smoke", seed)).expect("smoke is a known scenario");
        assert!(outcome.passed(), "smoke seed {seed:#x} failed: {:?}", outcome.violations);
        batch.seeds += 1;
        batch.messages_delivered += outcome.messages_delivered;
    }
    batch
}
