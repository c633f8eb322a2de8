//! Names derived from ids, shared by the sagas, the hosts and the checkers.

use crate::ids::JobId;

/// The prefix of every temporary clone snapshot.
pub const CLONE_SNAPSHOT_PREFIX: &str = "clone-";

/// The temporary snapshot a clone job makes: derived from the job id, so every attempt of
/// the job uses the same name.
pub fn clone_snapshot(job: JobId) -> String {
    format!("{CLONE_SNAPSHOT_PREFIX}{}", job.0)
}

/// The kept snapshot a snapshot job makes.
pub fn kept_snapshot(job: JobId) -> String {
    format!("snap-{}", job.0)
}

/// Whether `name` is a temporary clone snapshot.
pub fn is_clone_snapshot(name: &str) -> bool {
    name.starts_with(CLONE_SNAPSHOT_PREFIX)
}
