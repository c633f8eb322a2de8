//! Names derived from ids, shared by the sagas, the hosts and the checkers.

use crate::ids::JobId;

/// The prefix of every temporary clone snapshot.
pub const CLONE_SNAPSHOT_PREFIX: &str = "clone-";

/// The temporary snapshot a clone job makes: derived from the job id, so every attempt of
/// the job uses the same name.
pub fn clone_snapshot(job: JobId) -> String {
    format!("{CLONE_SNAPSHOT_PREFIX}{}", job.0)
}

/// The job whose temporary clone snapshot is called `name`: the inverse of [`clone_snapshot`],
/// `None` for any name it does not make (other prefixes, leading zeros, signs).
pub fn clone_snapshot_job(name: &str) -> Option<JobId> {
    let digits = name.strip_prefix(CLONE_SNAPSHOT_PREFIX)?;
    let canonical = digits.bytes().all(|byte| byte.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0'));
    canonical.then(|| digits.parse().ok().map(JobId)).flatten()
}

/// The kept snapshot a snapshot job makes.
pub fn kept_snapshot(job: JobId) -> String {
    format!("snap-{}", job.0)
}

/// Whether `name` is a temporary clone snapshot.
pub fn is_clone_snapshot(name: &str) -> bool {
    name.starts_with(CLONE_SNAPSHOT_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_snapshot_name_gives_back_exactly_its_job() {
        for job in [0, 1, 7, 10, 12_345, u32::MAX] {
            assert_eq!(clone_snapshot_job(&clone_snapshot(JobId(job))), Some(JobId(job)));
        }
        for name in ["clone-", "clone-07", "clone-+7", "clone-7a", "clone--7", "snap-7", "clone-4294967296"] {
            assert_eq!(clone_snapshot_job(name), None, "{name}");
        }
    }
}
