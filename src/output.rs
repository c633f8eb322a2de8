//! What commands print: standard output that ends quietly when its reader goes away (`| head`),
//! and remembers any other write error so that the command line reports it once.
//!
//! Rust programs ignore `SIGPIPE`, so a write to a closed pipe fails with `BrokenPipe` instead of
//! ending the process; `println!` turns that failure into a panic. Commands print through
//! [`line`] instead: after a closed pipe it prints nothing more and the command ends with its own
//! exit code, as the conventional quiet end of a pipeline.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Set once standard output can take no more lines (its reader went away, or a write failed).
static CLOSED: AtomicBool = AtomicBool::new(false);
/// The first write error other than a closed pipe.
static FAILURE: Mutex<Option<String>> = Mutex::new(None);

/// Prints one line on standard output; once its reader has gone away, prints nothing.
pub fn line(text: std::fmt::Arguments) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(text).and_then(|()| stdout.write_all(b"\n"));
    if let Err(error) = written {
        CLOSED.store(true, Ordering::Relaxed);
        if error.kind() != std::io::ErrorKind::BrokenPipe {
            let mut failure = FAILURE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            failure.get_or_insert_with(|| format!("cannot write standard output: {error}"));
        }
    }
}

/// Prints one line on standard error, ignoring a standard error that is gone (nothing is left to
/// tell).
pub fn error_line(text: std::fmt::Arguments) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_fmt(text).and_then(|()| stderr.write_all(b"\n"));
}

/// Whether standard output takes no more lines: long listings stop early.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// Ends one command's output: flushes it and returns the write error to report, if any (a
/// closed pipe is none), ready for the next command.
pub fn finish() -> Option<String> {
    if !closed() {
        let flushed = std::io::stdout().lock().flush();
        if let Err(error) = flushed.map_err(|error| (error.kind(), error)) {
            if error.0 != std::io::ErrorKind::BrokenPipe {
                return Some(format!("cannot write standard output: {}", error.1));
            }
        }
    }
    CLOSED.store(false, Ordering::Relaxed);
    FAILURE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
}
