//! Fault points: named places in model code where a run may crash the node or fail the call.

use crate::outcome::FaultPointCount;
use crate::plan::FaultPointPlan;
use crate::seed::{mix, name_hash, StreamRng};
use rand::Rng;
use std::collections::BTreeMap;

/// What a pass over a fault point does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultPointAction {
    /// Nothing: carry on.
    Pass,
    /// Crash the node here; it restarts after `restart_after_ms`.
    Crash {
        /// Simulated delay before the restart.
        restart_after_ms: u64,
    },
    /// Fail the call here with an injected error.
    Fail,
}

/// Every fault point of a run: the plan, the random stream, and the counts.
#[derive(Debug)]
pub struct FaultPoints {
    seed: u64,
    plan: FaultPointPlan,
    rng: StreamRng,
    active: bool,
    fires: u64,
    counts: BTreeMap<String, FaultPointCount>,
}

impl FaultPoints {
    /// The fault points of a run of `seed` following `plan`.
    pub fn new(seed: u64, plan: FaultPointPlan, rng: StreamRng) -> Self {
        Self { seed, plan, rng, active: true, fires: 0, counts: BTreeMap::new() }
    }

    /// The same, with every cataloged point counted from zero, so one never passed shows.
    pub fn with_catalog(mut self, names: &[String]) -> Self {
        self.counts.extend(names.iter().map(|name| (name.clone(), FaultPointCount::default())));
        self
    }

    /// Whether `name` may fire in this run: decided from the seed and the name alone,
    /// so the order in which points are reached does not change it (first stage).
    pub fn enabled(&self, name: &str) -> bool {
        let draw = mix(self.seed ^ name_hash(name)) % 100;
        let aimed = self.plan.only.is_empty() || self.plan.only.contains(name);
        let spent = self.plan.fires_max > 0 && self.fires >= self.plan.fires_max;
        self.active
            && aimed
            && !spent
            && !self.plan.disabled.contains(name)
            && draw < u64::from(self.plan.enable_percent)
    }

    /// Counts a pass over `name` and decides whether it fires (second stage).
    pub fn pass(&mut self, name: &str) -> FaultPointAction {
        let enabled = self.enabled(name);
        let count = self.counts.entry(name.to_string()).or_default();
        count.hits += 1;
        let spent = self.plan.fires_per_point_max > 0 && count.fires >= self.plan.fires_per_point_max;
        if !enabled || spent || self.rng.gen_range(0..100u8) >= self.plan.fire_percent {
            return FaultPointAction::Pass;
        }
        count.fires += 1;
        self.fires += 1;
        if self.rng.gen_range(0..100u8) < self.plan.crash_percent {
            let restart_after_ms = self.rng.gen_range(1..=self.plan.restart_delay_ms_max.max(1));
            FaultPointAction::Crash { restart_after_ms }
        } else {
            FaultPointAction::Fail
        }
    }

    /// Counts a pass over delay point `name`; when it fires, the simulated milliseconds the
    /// task waits there. Delay points never fail or crash, so they are not bounded per point.
    pub fn pass_delay(&mut self, name: &str) -> Option<u64> {
        let aimed = self.plan.only.is_empty() || self.plan.only.contains(name);
        let armed = self.active && aimed && self.plan.delay_percent > 0 && !self.plan.disabled.contains(name);
        let fires = armed && self.rng.gen_range(0..100u8) < self.plan.delay_percent;
        let delay_ms = fires.then(|| self.rng.gen_range(1..=self.plan.delay_ms_max.max(1)));
        let count = self.counts.entry(name.to_string()).or_default();
        count.hits += 1;
        count.fires += u64::from(fires);
        delay_ms
    }

    /// Stops every point from firing (the heal phase); passes are still counted.
    pub fn deactivate(&mut self) {
        self.active = false;
    }

    /// Passes and firings per point.
    pub fn counts(&self) -> &BTreeMap<String, FaultPointCount> {
        &self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{stream_rng, Stream};

    fn plan(enable_percent: u8, fire_percent: u8) -> FaultPointPlan {
        FaultPointPlan {
            enable_percent,
            fire_percent,
            crash_percent: 50,
            restart_delay_ms_max: 100,
            ..FaultPointPlan::off()
        }
    }

    #[test]
    fn enablement_is_per_name_and_firing_per_pass() {
        let names: Vec<String> = (0..200).map(|index| format!("saga.step{index}")).collect();
        let points = FaultPoints::new(9, plan(25, 100), stream_rng(9, Stream::FaultPoints));
        let enabled = names.iter().filter(|name| points.enabled(name)).count();
        assert!((25..80).contains(&enabled), "{enabled} of 200 enabled at 25%");
        let mut points = FaultPoints::new(9, plan(100, 25), stream_rng(9, Stream::FaultPoints));
        let fired = (0..1000).filter(|_| points.pass("x") != FaultPointAction::Pass).count();
        assert!((180..320).contains(&fired), "{fired} of 1000 fired at 25%");
        assert_eq!(points.counts()["x"], FaultPointCount { hits: 1000, fires: fired as u64 });
    }

    #[test]
    fn only_aims_at_named_points_and_fires_max_bounds_the_run() {
        let mut aimed = plan(100, 100);
        aimed.only.insert("x".into());
        aimed.fires_max = 2;
        let mut points = FaultPoints::new(1, aimed, stream_rng(1, Stream::FaultPoints));
        assert_eq!(points.pass("y"), FaultPointAction::Pass);
        let fired = (0..10).filter(|_| points.pass("x") != FaultPointAction::Pass).count();
        assert_eq!((fired, points.counts()["x"].fires, points.counts()["y"].fires), (2, 2, 0));
    }

    #[test]
    fn fires_per_point_max_bounds_each_point_and_not_the_run() {
        let mut once = plan(100, 100);
        once.fires_per_point_max = 1;
        let mut points = FaultPoints::new(1, once, stream_rng(1, Stream::FaultPoints));
        let fired = |points: &mut FaultPoints, name: &str| {
            (0..10).filter(|_| points.pass(name) != FaultPointAction::Pass).count()
        };
        assert_eq!((fired(&mut points, "x"), fired(&mut points, "y"), fired(&mut points, "x")), (1, 1, 0));
        assert_eq!((points.counts()["x"].hits, points.counts()["x"].fires), (20, 1));
    }

    #[test]
    fn delay_points_wait_at_their_rate_within_the_bound_and_only_when_armed() {
        let mut delays = plan(100, 100);
        (delays.delay_percent, delays.delay_ms_max) = (50, 300);
        delays.disabled.insert("off".into());
        let mut points = FaultPoints::new(3, delays, stream_rng(3, Stream::FaultPoints));
        let waits: Vec<u64> = (0..1000).filter_map(|_| points.pass_delay("slow")).collect();
        assert!((400..600).contains(&waits.len()), "{} of 1000 passes waited at 50%", waits.len());
        assert!(waits.iter().all(|wait| (1..=300).contains(wait)) && waits.iter().any(|wait| *wait > 150));
        assert_eq!(points.counts()["slow"], FaultPointCount { hits: 1000, fires: waits.len() as u64 });
        assert!((0..100).all(|_| points.pass_delay("off").is_none()));
        points.deactivate();
        assert!((0..100).all(|_| points.pass_delay("slow").is_none()));
        let mut quiet = FaultPoints::new(3, plan(100, 100), stream_rng(3, Stream::FaultPoints));
        assert!((0..100).all(|_| quiet.pass_delay("slow").is_none()));
        assert_eq!(quiet.counts()["slow"], FaultPointCount { hits: 100, fires: 0 });
    }

    #[test]
    fn disabled_and_deactivated_points_never_fire_but_still_count() {
        let mut disabled = plan(100, 100);
        disabled.disabled.insert("x".into());
        let mut points = FaultPoints::new(1, disabled, stream_rng(1, Stream::FaultPoints));
        assert!((0..100).all(|_| points.pass("x") == FaultPointAction::Pass));
        assert!(points.pass("y") != FaultPointAction::Pass);
        points.deactivate();
        assert!((0..100).all(|_| points.pass("y") == FaultPointAction::Pass));
        assert_eq!(points.counts()["y"].hits, 101);
    }
}
