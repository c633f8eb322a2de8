//! The committed regression reports replay exactly (same violations, same trace hash), and
//! every scenario passes a fixed range of seeds with the fixed model. `FLEETSIM_SEEDS=N` widens
//! the range; a failure prints the seed and the command that replays it.

mod support;

use std::path::PathBuf;
use std::process::Command;

/// Seeds per scenario by default: a few seconds in all.
const SEEDS_DEFAULT: u64 = 100;

fn regression_reports() -> Vec<PathBuf> {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut reports: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    reports.sort();
    reports
}

#[test]
fn committed_regression_reports_replay_exactly() {
    let reports = regression_reports();
    assert!(!reports.is_empty(), "tests/regressions holds no report");
    for report in reports {
        let output = Command::new(env!("CARGO_BIN_EXE_fleetsim")).arg("replay").arg(&report).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{} no longer reproduces: {}{}\n  replay: cargo run --release -- replay {}\n  if the model changed on purpose, refresh the reports: \
             cargo run --release -- hunt --out tests/regressions, then shrink each one",
            report.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            report.display()
        );
    }
}

#[test]
fn every_scenario_passes_a_fixed_seed_range() {
    let scenarios = fleetsim_scenarios::registry().scenario_names();
    assert!(!scenarios.is_empty());
    for scenario in scenarios {
        let outcomes: Vec<_> =
            (1..=support::seed_count(SEEDS_DEFAULT)).map(|seed| support::run(scenario, seed)).collect();
        support::assert_all_pass(&outcomes);
    }
}
