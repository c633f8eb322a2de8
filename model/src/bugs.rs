//! The catalog of real bugs the model can switch on at run time (`--bug ID`).
//! The default model is the fixed one; each switch sits at the one decision point its
//! incident write-up describes, with the catalog ID beside it.

use serde::Serialize;

/// One catalog bug as `fleetsim list` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BugInfo {
    /// The stable catalog ID.
    pub id: &'static str,
    /// The incident write-up it comes from.
    pub seed_file: &'static str,
    /// What the faulty code does, in one line.
    pub story: &'static str,
    /// Invariants expected to catch it.
    pub invariants: &'static [&'static str],
    /// The scenario that hunts it by default.
    pub scenario: &'static str,
}

/// Every bug switch the model implements.
pub const CATALOG: &[BugInfo] = &[];

/// The catalog entry of `id`, if the model implements it.
pub fn find(id: &str) -> Option<&'static BugInfo> {
    CATALOG.iter().find(|bug| bug.id == id)
}
