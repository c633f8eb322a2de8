//! Panics inside simulated runs are findings, not crashes: the run's outcome records them as
//! violations. A process-wide panic hook keeps them off standard error (no message, no
//! backtrace, whatever `RUST_BACKTRACE` says) and remembers each one's message and location, so
//! the outcome and its report can say where the panic happened. Panics anywhere else still go
//! to the hook that was installed before.

use std::cell::{Cell, RefCell};
use std::sync::Once;

/// Most panics remembered per run: a runtime torn down mid-flight may panic again while its tasks
/// drop, and only the first few say anything.
const PANICS_KEPT_MAX: usize = 8;

/// A panic caught inside a run: its message and where in the source it was raised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaughtPanic {
    /// The panic's message.
    pub message: String,
    /// `file:line:column` of the panic.
    pub location: String,
}

thread_local! {
    static INSIDE_RUN: Cell<bool> = const { Cell::new(false) };
    static CAUGHT: RefCell<Vec<CaughtPanic>> = const { RefCell::new(Vec::new()) };
}

static INSTALL: Once = Once::new();

/// Installs the hook (once per process): quiet inside [`inside_run`], the previous hook outside.
pub fn install() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !INSIDE_RUN.with(Cell::get) {
                return previous(info);
            }
            let payload = info.payload();
            let text = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            let message = text.unwrap_or("panic with a non-text payload").to_string();
            let location = info.location().map(|at| format!("{}:{}:{}", at.file(), at.line(), at.column()));
            CAUGHT.with_borrow_mut(|caught| {
                if caught.len() < PANICS_KEPT_MAX {
                    caught.push(CaughtPanic { message, location: location.unwrap_or_default() });
                }
            });
        }));
    });
}

/// Runs `run` (one simulated run, which catches its own panics) with panics on this thread kept
/// quiet; returns its result and the panics it raised, in order.
pub fn inside_run<T>(run: impl FnOnce() -> T) -> (T, Vec<CaughtPanic>) {
    install();
    let was_inside = INSIDE_RUN.replace(true);
    let outer = CAUGHT.take();
    let result = run();
    let caught = CAUGHT.replace(outer);
    INSIDE_RUN.set(was_inside);
    (result, caught)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_inside_a_run_are_remembered_with_their_location() {
        let (result, caught) = inside_run(|| std::panic::catch_unwind(|| panic!("lost entry {}", 7)));
        assert!(result.is_err());
        assert_eq!(caught.len(), 1);
        assert_eq!(caught[0].message, "lost entry 7");
        assert!(caught[0].location.starts_with("src/panics.rs:"), "{:?}", caught[0]);
        let (inner, outer) = inside_run(|| inside_run(|| std::panic::catch_unwind(|| panic!("inner"))).1);
        assert_eq!((inner.len(), outer), (1, Vec::new()), "a nested run keeps its own panics");
    }
}
