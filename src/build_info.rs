//! Which fleetsim produced a report: version and git commit.

use serde::{Deserialize, Serialize};

/// The fleetsim build that wrote a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfo {
    /// The package version.
    pub version: String,
    /// The git commit it was built from, or "unknown".
    pub commit: String,
}

impl BuildInfo {
    /// The running binary's build.
    pub fn current() -> Self {
        Self { version: env!("CARGO_PKG_VERSION").to_string(), commit: env!("FLEETSIM_GIT_COMMIT").to_string() }
    }
}
