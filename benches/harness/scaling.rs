//! Campaign throughput with one job and with two: `fleetsim fuzz` as a user runs it, one process a
//! campaign, the two job counts alternating in short campaigns so that the machine's drift falls on
//! both alike.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The fleetsim binary cargo built for this benchmark.
const FLEETSIM: &str = env!("CARGO_BIN_EXE_fleetsim");

/// One campaign of one round.
#[derive(Debug, Clone, Copy)]
pub struct Campaign {
    /// Runs per wall second of the campaign, as its `summary.json` reports (`seeds_per_sec`:
    /// process start and summary writing excluded).
    pub runs_per_wall_second: f64,
    /// Runs per CPU second of the campaign process, all its threads together.
    pub runs_per_cpu_second: f64,
}

/// The two campaigns of one round.
#[derive(Debug, Clone, Copy)]
pub struct Round {
    /// `--jobs 1`.
    pub one_job: Campaign,
    /// `--jobs 2`.
    pub two_jobs: Campaign,
}

/// Runs round `round` (numbered from 1): `fleetsim fuzz --seeds seeds` with one job and with two,
/// one job first in odd rounds and two jobs first in even ones.
pub fn run_round(round: u64, seeds: u64, folder: &Path) -> Round {
    if round % 2 == 1 {
        let one_job = run_campaign(1, seeds, folder);
        Round { one_job, two_jobs: run_campaign(2, seeds, folder) }
    } else {
        let two_jobs = run_campaign(2, seeds, folder);
        Round { one_job: run_campaign(1, seeds, folder), two_jobs }
    }
}

/// A fresh folder for the campaigns' outputs, under the system's temporary folder.
pub fn scratch_folder() -> PathBuf {
    std::env::temp_dir().join(format!("fleetsim-bench-scaling-{}", std::process::id()))
}

fn run_campaign(jobs: u64, seeds: u64, folder: &Path) -> Campaign {
    remove_folder(folder);
    let cpu_before = children_cpu_seconds();
    let status = Command::new(FLEETSIM)
        .args(["fuzz", "--jobs", &jobs.to_string(), "--seeds", &seeds.to_string(), "--out"])
        .arg(folder)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|error| panic!("cannot start {FLEETSIM}: {error}"));
    let cpu_seconds = children_cpu_seconds() - cpu_before;
    assert!(status.success(), "fleetsim fuzz --jobs {jobs} --seeds {seeds} exited with {status}");
    let summary = read_summary(folder);
    let runs = summary["runs_executed"].as_u64().expect("summary.json has runs_executed");
    let runs_per_wall_second = summary["seeds_per_sec"].as_f64().expect("summary.json has seeds_per_sec");
    assert!(runs > 0 && cpu_seconds > 0.0, "a campaign runs and takes CPU time: {runs} runs, {cpu_seconds} s");
    Campaign { runs_per_wall_second, runs_per_cpu_second: runs as f64 / cpu_seconds }
}

fn read_summary(folder: &Path) -> serde_json::Value {
    let path = folder.join("summary.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()))
}

/// Removes a campaign folder if it exists.
pub fn remove_folder(folder: &Path) {
    match std::fs::remove_dir_all(folder) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => panic!("cannot remove {}: {error}", folder.display()),
    }
}

/// User and system CPU seconds of every child process this process has waited for.
fn children_cpu_seconds() -> f64 {
    // SAFETY: an all-zero rusage is a valid value, and getrusage only writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage for the duration of the call.
    let status = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(status, 0, "the children's resource usage is readable");
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
