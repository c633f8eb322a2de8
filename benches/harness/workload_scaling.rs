//! How a run's cost grows with its work: the `control-plane` scenario at 1, 2, 4 and 8 times its
//! workload (operations, workers, hosts, addresses and instances multiplied; faults and time
//! windows the same), CPU time per trace event at each size.

use crate::measure::Throughput;
use fleetsim_scenarios::control_plane_scenarios::CONTROL_PLANE;
use fleetsim_sim::RunConfig;

/// The workload sizes measured, as multiples of the scenario's own.
pub const FACTORS: [u32; 4] = [1, 2, 4, 8];

/// Whether `factor` is measured: all of them, or the one `FLEETSIM_BENCH_WORKLOAD_FACTOR` names
/// (one size alone, for a profiler).
pub fn selected(factor: u32) -> bool {
    match std::env::var("FLEETSIM_BENCH_WORKLOAD_FACTOR") {
        Ok(text) => {
            let chosen: u32 = text
                .parse()
                .unwrap_or_else(|_| panic!("FLEETSIM_BENCH_WORKLOAD_FACTOR must be one of {FACTORS:?}, got '{text}'"));
            assert!(
                FACTORS.contains(&chosen),
                "FLEETSIM_BENCH_WORKLOAD_FACTOR must be one of {FACTORS:?}, got {chosen}"
            );
            factor == chosen
        }
        Err(_) => true,
    }
}

/// Totals over a batch of seeds at one size.
#[derive(Debug, Default, Clone, Copy)]
pub struct Batch {
    /// Seeds run.
    pub seeds: u64,
    /// Trace events over all of them.
    pub events: u64,
    /// Messages delivered over all of them.
    pub messages_delivered: u64,
    /// Runs that reported a violation (a scaled plan may outgrow a bound; counted, not hidden).
    pub failed: u64,
}

/// Runs seeds `first..first + count` of `control-plane` at `factor` times its workload, one after
/// the other on this thread; returns the batch and its timing, counted in trace events.
#[inline(never)] // a profiler collects it by name
pub fn run_seeds(factor: u32, first: u64, count: u64) -> (Batch, Throughput) {
    let scenario = CONTROL_PLANE.scaled(factor);
    let mut batch = Batch::default();
    let throughput = Throughput::measure(|| {
        for seed in first..first + count {
            let outcome = fleetsim_sim::run(&scenario, &RunConfig::new("control-plane", seed))
                .expect("a scaled control-plane plan runs");
            batch.seeds += 1;
            batch.events += outcome.events;
            batch.messages_delivered += outcome.messages_delivered;
            batch.failed += u64::from(!outcome.passed());
        }
        batch.events
    });
    (batch, throughput)
}
