//! fleetsim's command line as a library: every command (`list`, `run`, `fuzz`, `replay`, `hunt`,
//! `merge`, `shrink`) over any [`Registry`] of scenarios, with the same flags, outputs, exit codes
//! and report format as the stock `fleetsim` binary, which is [`main_with`] called on the
//! built-in registry.
//!
//! A team testing its own control plane implements [`fleetsim_sim::Scenario`] for it, registers
//! it, and its binary is a few lines:
//!
//! ```no_run
//! # struct Transfers;
//! # impl fleetsim_sim::Scenario for Transfers {
//! #     type Operation = u32;
//! #     type System = System;
//! #     fn name(&self) -> &'static str { "transfers" }
//! #     fn summary(&self) -> &'static str { "" }
//! #     fn default_limits(&self) -> fleetsim_sim::Limits { Default::default() }
//! #     fn fault_profile(&self) -> fleetsim_sim::FaultProfile { unimplemented!() }
//! #     fn generate_workload(&self, _: &mut fleetsim_sim::StreamRng, _: &fleetsim_sim::Limits)
//! #         -> Vec<fleetsim_sim::WorkloadStep<u32>> { Vec::new() }
//! #     fn boot(&self, _: &fleetsim_sim::Sim) -> System { System }
//! # }
//! # struct System;
//! # impl fleetsim_sim::System for System {
//! #     type Operation = u32;
//! #     fn client(&self) -> fleetsim_sim::NodeIndex { fleetsim_sim::NodeIndex(0) }
//! #     fn issue(&self, _: u32) -> fleetsim_sim::BoxFuture<()> { Box::pin(async {}) }
//! #     fn settled(&self) -> bool { true }
//! # }
//! use std::process::ExitCode;
//!
//! fn main() -> ExitCode {
//!     fleetsim::main_with(fleetsim::Registry::new("transfer-sim").with(Transfers))
//! }
//! ```
//!
//! Tests can drive the same machinery without a process: [`fuzz::campaign::run_guarded`] runs one
//! configuration, [`fuzz::campaign::run_campaign`] a campaign, [`replay::differences`] compares a
//! report with its re-run, and [`report::failure::FailureReport`] reads and writes reports.
//! See `docs/your-own-system.md` in the repository for the whole walk-through.

#[cfg(not(madsim))]
compile_error!("fleetsim runs only in simulation mode: build with `--cfg madsim` (the repository's .cargo/config.toml sets it; a RUSTFLAGS variable replaces it, so add `--cfg madsim` to RUSTFLAGS when you set one)");

/// Prints a formatted line on standard output, quietly nothing once its reader has gone away
/// (see [`output::line`]).
macro_rules! outln {
    ($($argument:tt)*) => {
        $crate::output::line(format_args!($($argument)*))
    };
}

/// Prints a formatted line on standard error, never panicking (see [`output::error_line`]).
macro_rules! errln {
    ($($argument:tt)*) => {
        $crate::output::error_line(format_args!($($argument)*))
    };
}

pub mod build_info;
pub mod cli;
pub mod files;
pub mod fuzz;
pub mod hunt;
pub mod list;
pub mod lock;
pub mod merge;
pub mod output;
pub mod panics;
pub mod replay;
pub mod report;
pub mod run;
pub mod shrink;
pub mod trace_filter;

pub use fleetsim_sim::{Registry, RegistryError};

use clap::{CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::process::ExitCode;

/// Exit code of a clean run or command.
pub const EXIT_PASS: u8 = 0;
/// Exit code when a violation was found.
pub const EXIT_VIOLATION: u8 = 1;
/// Exit code for bad input: unknown scenario or bug, malformed seed, unreadable file.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code when a replay does not reproduce its report.
pub const EXIT_DIVERGED: u8 = replay::EXIT_DIVERGED;

/// The whole command line over `registry`, reading the process's arguments: what a binary's
/// `main` returns. Logs go to standard error, filtered by `RUST_LOG`.
pub fn main_with(registry: Registry) -> ExitCode {
    main_with_arguments(registry, std::env::args_os())
}

/// [`main_with`] on explicit arguments (the first one is the program's name, as in `argv`).
pub fn main_with_arguments(registry: Registry, arguments: impl IntoIterator<Item = OsString>) -> ExitCode {
    init_logging();
    let program = registry.program();
    if let Err(error) = registry.check() {
        errln!("{program}: the scenario registry is inconsistent: {error}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let command = cli::Cli::command().name(program).bin_name(program);
    let parsed = command.try_get_matches_from(arguments).and_then(|matches| cli::Cli::from_arg_matches(&matches));
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { EXIT_BAD_INPUT } else { EXIT_PASS });
        }
    };
    let code = match execute(&parsed.command, &registry) {
        Ok(code) => code,
        Err(error) => {
            errln!("{program}: {error}");
            EXIT_BAD_INPUT
        }
    };
    // A closed pipe ends the output quietly with the command's code; another write error is lost
    // output, reported once.
    match output::finish() {
        Some(failure) => {
            errln!("{program}: {failure}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        None => ExitCode::from(code),
    }
}

/// Runs one parsed command over `registry`: its exit code, or the one-line message of bad input.
pub fn execute(command: &cli::Command, registry: &Registry) -> Result<u8, String> {
    match command {
        cli::Command::List(arguments) => list::list(arguments, registry),
        cli::Command::Run(arguments) => run::run(arguments, registry),
        cli::Command::Fuzz(arguments) => fuzz::fuzz(arguments, registry),
        cli::Command::Replay(arguments) => replay::replay(arguments, registry),
        cli::Command::Hunt(arguments) => hunt::hunt(arguments, registry),
        cli::Command::Merge(arguments) => merge::merge(arguments, registry),
        cli::Command::Shrink(arguments) => shrink::shrink(arguments, registry),
    }
}

/// Logs go to standard error through `tracing`, filtered by `RUST_LOG`; a second call (a program
/// that runs the command line twice) keeps the first subscriber.
fn init_logging() {
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = logging_subscriber(tracing_subscriber::EnvFilter::try_from_default_env().ok()).try_init();
}

/// The subscriber for a `RUST_LOG` filter, if one is set. Without one, only warnings are shown and
/// no span is kept: madsim opens a span for every task and enters it on every poll, and keeping
/// those costs a campaign about a fifth of its instructions.
fn logging_subscriber(
    filter_from_environment: Option<tracing_subscriber::EnvFilter>,
) -> Box<dyn tracing::Subscriber + Send + Sync> {
    use tracing_subscriber::fmt::layer;
    use tracing_subscriber::layer::SubscriberExt;
    // Colour only on a terminal: a log piped to a file or a CI console holds no escape codes.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    match filter_from_environment {
        Some(filter) => {
            let output = layer().with_writer(std::io::stderr).with_ansi(colour);
            Box::new(tracing_subscriber::registry().with(filter).with(output))
        }
        None => {
            let events_only = tracing_subscriber::filter::filter_fn(|metadata| !metadata.is_span());
            let filter = tracing_subscriber::EnvFilter::new("warn,madsim=error");
            let output = layer().with_writer(std::io::stderr).with_ansi(colour);
            Box::new(tracing_subscriber::registry().with(filter).with(events_only).with(output))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::logging_subscriber;
    use tracing_subscriber::EnvFilter;

    #[test]
    fn without_rust_log_spans_are_dropped_and_warnings_kept() {
        tracing::subscriber::with_default(logging_subscriber(None), || {
            let task = tracing::error_span!("task");
            assert!(task.is_disabled() && tracing::enabled!(tracing::Level::WARN));
            assert!(!tracing::enabled!(tracing::Level::INFO));
        });
    }

    #[test]
    fn rust_log_keeps_spans_for_context() {
        tracing::subscriber::with_default(logging_subscriber(Some(EnvFilter::new("info"))), || {
            let task = tracing::error_span!("task");
            assert!(!task.is_disabled() && tracing::enabled!(tracing::Level::INFO));
        });
    }
}
