//! The fixed model is clean: a sweep of seeds of every scenario finds no violation.
//! `FLEETSIM_SEEDS=N` runs N seeds per scenario (nightly); failures print their replay line.

mod support;

#[test]
fn smoke_seeds_find_no_violation_in_the_fixed_model() {
    let outcomes: Vec<_> = (1..=support::seed_count(300)).map(|seed| support::run("smoke", seed)).collect();
    support::assert_all_pass(&outcomes);
    let faulted = outcomes.iter().filter(|outcome| !outcome.faults.is_empty()).count();
    assert!(faulted * 10 >= outcomes.len() * 9, "only {faulted} of {} runs injected any fault", outcomes.len());
}
