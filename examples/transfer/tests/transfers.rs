//! The transfer system through the library: the fixed system is clean over a seed range, each
//! bug switch is caught within a bound, and a seed's explicit story fails exactly as it should.

use fleetsim_example_transfer::{registry, CREDIT_NOT_IDEMPOTENT, RESTART_FORGETS_DEBIT};
use fleetsim_sim::RunConfig;

/// Seeds swept by default; `FLEETSIM_SEEDS` sets more (nightly).
const SEEDS_DEFAULT: u64 = 500;
/// Most seeds a bug may take to its first detection (measured: 1 and 12 from seed 1).
const DETECTION_SEEDS_MAX: u64 = 100;

fn seed_count() -> u64 {
    std::env::var("FLEETSIM_SEEDS").ok().and_then(|text| text.parse().ok()).unwrap_or(SEEDS_DEFAULT)
}

#[test]
fn the_fixed_system_is_clean_over_a_seed_range() {
    let registry = registry();
    let failures: Vec<String> = (1..=seed_count())
        .map(|seed| registry.run(&RunConfig::new("transfers", seed)).expect("a valid run"))
        .filter(|outcome| !outcome.passed())
        .map(|outcome| format!("seed {:#x}: {:?}", outcome.seed, outcome.violations))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn each_bug_is_caught_by_its_expected_invariant_within_the_bound() {
    let registry = registry();
    for (bug, invariant) in [(CREDIT_NOT_IDEMPOTENT, "money-conserved"), (RESTART_FORGETS_DEBIT, "transfers-settle")] {
        let found = (1..=DETECTION_SEEDS_MAX)
            .map(|seed| registry.run(&RunConfig::new("transfers", seed).with_bug(bug)).expect("a valid run"))
            .find(|outcome| !outcome.passed())
            .unwrap_or_else(|| panic!("{bug} not caught in {DETECTION_SEEDS_MAX} seeds"));
        let first = found.first_violation().expect("a failed run has a violation");
        assert_eq!(first.invariant, invariant, "{bug} at seed {:#x}: {}", found.seed, first.message);
    }
}
