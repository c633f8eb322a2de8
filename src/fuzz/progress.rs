//! Campaign progress on standard error: one rewritten line on a terminal, periodic lines in logs.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Interval between updates on a terminal.
const TERMINAL_INTERVAL: Duration = Duration::from_millis(250);
/// Interval between lines when standard error is a log, not a terminal.
const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The numbers a progress line shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Runs finished, including those restored from a checkpoint.
    pub runs: u64,
    /// Runs the campaign (this shard) holds in all.
    pub runs_planned: u64,
    /// Runs finished by this process.
    pub runs_executed: u64,
    /// Failed runs.
    pub failures: u64,
    /// Distinct failures.
    pub distinct: u64,
}

/// Prints progress at a pace suited to where standard error goes.
#[derive(Debug)]
pub struct Progress {
    started: Instant,
    last_printed: Option<Instant>,
    terminal: bool,
}

impl Progress {
    /// Progress for a campaign that starts now.
    pub fn start() -> Self {
        Self { started: Instant::now(), last_printed: None, terminal: std::io::stderr().is_terminal() }
    }

    /// How long the caller may sleep between two calls to [`Progress::tick`].
    pub fn interval(&self) -> Duration {
        TERMINAL_INTERVAL
    }

    /// Prints an update if one is due.
    pub fn tick(&mut self, snapshot: Snapshot) {
        let due = if self.terminal { TERMINAL_INTERVAL } else { LOG_INTERVAL };
        if self.last_printed.is_some_and(|printed| printed.elapsed() < due) {
            return;
        }
        self.last_printed = Some(Instant::now());
        self.print(snapshot, false);
    }

    /// Prints the last update.
    pub fn finish(&mut self, snapshot: Snapshot) {
        self.print(snapshot, true);
    }

    fn print(&self, snapshot: Snapshot, last: bool) {
        let line = render(snapshot, self.started.elapsed());
        let mut stderr = std::io::stderr().lock();
        let _ = if self.terminal {
            write!(stderr, "\r\x1b[2K{line}{}", if last { "\n" } else { "" })
        } else {
            writeln!(stderr, "{line}")
        };
        let _ = stderr.flush();
    }
}

/// One progress line: runs, failures, rate, elapsed and remaining time.
pub fn render(snapshot: Snapshot, elapsed: Duration) -> String {
    let rate = snapshot.runs_executed as f64 / elapsed.as_secs_f64().max(1e-3);
    let remaining = snapshot.runs_planned.saturating_sub(snapshot.runs);
    let eta = if rate > 0.0 { format_duration(Duration::from_secs_f64(remaining as f64 / rate)) } else { "-".into() };
    let percent = (snapshot.runs * 100).checked_div(snapshot.runs_planned).unwrap_or(100);
    format!(
        "fuzz: {}/{} runs ({percent}%)  {} failures ({} distinct)  {rate:.0} seeds/s  elapsed {}  eta {eta}",
        snapshot.runs,
        snapshot.runs_planned,
        snapshot.failures,
        snapshot.distinct,
        format_duration(elapsed)
    )
}

/// A duration as `1h02m03s`, `2m03s` or `3s`.
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match (seconds / 3600, seconds / 60 % 60, seconds % 60) {
        (0, 0, second) => format!("{second}s"),
        (0, minute, second) => format!("{minute}m{second:02}s"),
        (hour, minute, second) => format!("{hour}h{minute:02}m{second:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_line_shows_runs_failures_rate_and_eta() {
        let snapshot = Snapshot { runs: 500, runs_planned: 1000, runs_executed: 400, failures: 3, distinct: 1 };
        let line = render(snapshot, Duration::from_secs(2));
        assert_eq!(line, "fuzz: 500/1000 runs (50%)  3 failures (1 distinct)  200 seeds/s  elapsed 2s  eta 2s");
        assert_eq!(format_duration(Duration::from_secs(3723)), "1h02m03s");
    }
}
