//! The `fleetsim` command: list, run, fuzz, replay, hunt, merge and shrink. Exit codes are part
//! of the contract: 0 pass, 1 violation, 2 bad input, 3 a replay that diverged.

mod build_info;
mod cli;
mod files;
mod fuzz;
mod hunt;
mod list;
mod merge;
mod replay;
mod report;
mod run;
mod shrink;
mod trace_filter;

use clap::Parser;
use std::process::ExitCode;

/// Exit code of a clean run or command.
pub const EXIT_PASS: u8 = 0;
/// Exit code when a violation was found.
pub const EXIT_VIOLATION: u8 = 1;
/// Exit code for bad input: unknown scenario or bug, malformed seed, unreadable file.
pub const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    init_logging();
    let command = cli::Cli::parse();
    let result = match command.command {
        cli::Command::List(arguments) => list::list(&arguments),
        cli::Command::Run(arguments) => run::run(&arguments),
        cli::Command::Fuzz(arguments) => fuzz::fuzz(&arguments),
        cli::Command::Replay(arguments) => replay::replay(&arguments),
        cli::Command::Hunt(arguments) => hunt::hunt(&arguments),
        cli::Command::Merge(arguments) => merge::merge(&arguments),
        cli::Command::Shrink(arguments) => shrink::shrink(&arguments),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("fleetsim: {error}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

/// Logs go to standard error through `tracing`, filtered by `RUST_LOG`.
fn init_logging() {
    use tracing_subscriber::util::SubscriberInitExt;
    logging_subscriber(tracing_subscriber::EnvFilter::try_from_default_env().ok()).init();
}

/// The subscriber for a `RUST_LOG` filter, if one is set. Without one, only warnings are shown and
/// no span is kept: madsim opens a span for every task and enters it on every poll, and keeping
/// those costs a campaign about a fifth of its instructions.
fn logging_subscriber(
    filter_from_environment: Option<tracing_subscriber::EnvFilter>,
) -> Box<dyn tracing::Subscriber + Send + Sync> {
    use tracing_subscriber::fmt::layer;
    use tracing_subscriber::layer::SubscriberExt;
    match filter_from_environment {
        Some(filter) => {
            Box::new(tracing_subscriber::registry().with(filter).with(layer().with_writer(std::io::stderr)))
        }
        None => {
            let events_only = tracing_subscriber::filter::filter_fn(|metadata| !metadata.is_span());
            let filter = tracing_subscriber::EnvFilter::new("warn,madsim=error");
            let output = layer().with_writer(std::io::stderr);
            Box::new(tracing_subscriber::registry().with(filter).with(events_only).with(output))
        }
    }
}

/// mimalloc: each run allocates and frees many small objects, and campaign threads allocate at once.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
