//! An outside system tested with fleetsim: money moves between two banks through a coordinator
//! that runs each transfer as a saga (debit, then credit, or a refund when the credit is
//! refused). It depends only on fleetsim's public interface, as a team's own crate would:
//! [`scenario::Transfers`] implements `fleetsim_sim::Scenario`, [`registry`] registers it, and
//! `src/main.rs` hands the registry to `fleetsim::main_with`.
//!
//! Two bug switches: `credit-not-idempotent` (a bank applies a retried credit again) and
//! `restart-forgets-debit` (a restarted coordinator drops a transfer whose debit may have landed).

#[cfg(not(madsim))]
compile_error!("the transfer example runs only in simulation mode: build with `--cfg madsim`");

pub mod bank;
pub mod coordinator;
pub mod invariants;
pub mod protocol;
pub mod scenario;

/// A bank applies a retried or duplicated credit a second time.
pub const CREDIT_NOT_IDEMPOTENT: &str = "credit-not-idempotent";
/// A restarted coordinator marks unfinished transfers rejected without checking their debit.
pub const RESTART_FORGETS_DEBIT: &str = "restart-forgets-debit";

/// The program's scenarios, as its binary serves them.
pub fn registry() -> fleetsim::Registry {
    fleetsim::Registry::new("transfer-sim").with(scenario::Transfers)
}
