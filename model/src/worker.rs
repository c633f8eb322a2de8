//! A control-plane worker: claims jobs from the store under a lease, runs their sagas,
//! and records the result; a job whose worker died is claimed again when its lease ends.

use crate::calls::store_plain;
use crate::sagas::{run_job, SagaContext};
use crate::store::{Claim, JobRow, JobState, StoreReply, Transaction};
use fleetsim_sim::{hash_of, LazyWords};
use std::borrow::Cow;
use std::fmt::Write;

/// How long a claim lasts before another worker may take the job. Longer than the longest
/// pause the nemesis injects, so only a crashed worker loses its jobs.
pub const LEASE_MS: u64 = 2_000;
/// Pause between claims when no job is runnable.
pub const IDLE_POLL_MS: u64 = 20;
/// Attempts before a job is given up as failed.
pub const ATTEMPTS_MAX: u32 = 40;
/// Backoff before the first retry; it doubles per attempt.
pub const RETRY_BACKOFF_MS_MIN: u64 = 20;
/// Longest backoff between two attempts.
pub const RETRY_BACKOFF_MS_MAX: u64 = 1_000;

/// The step "claims JOB (KIND) attempt N", rendered only if the event is kept.
fn claims_words(job: &JobRow) -> LazyWords {
    let (id, kind, attempt) = (job.job, job.kind, job.attempt);
    LazyWords::new(hash_of(&("claims", id, &kind, attempt)), move |text| {
        let _ = write!(text, "claims {id} ({kind}) attempt {attempt}");
    })
}

/// The step "JOB attempt N ends STATE[: why]", rendered only if the event is kept.
fn ends_words(job: &JobRow, state: JobState, why: Cow<'static, str>) -> LazyWords {
    let (id, attempt) = (job.job, job.attempt);
    LazyWords::new(hash_of(&("ends", id, attempt, state, &*why)), move |text| {
        let _ = write!(text, "{id} attempt {attempt} ends {state}{why}");
    })
}

/// The worker's main loop; runs until the node crashes.
pub async fn run_worker(saga: SagaContext) {
    loop {
        let claim = Transaction::ClaimJob { lease_ms: LEASE_MS };
        match store_plain(&saga.rpc, saga.topology.store, claim).await {
            Ok(StoreReply::Claimed(Some(job))) => run_claimed(&saga, job).await,
            _ => saga.node.sleep_ms(IDLE_POLL_MS).await,
        }
    }
}

async fn run_claimed(worker: &SagaContext, job: JobRow) {
    worker.node.step(claims_words(&job));
    let saga =
        SagaContext { claim: Some(Claim { job: job.job, attempt: job.attempt, fence: job.fence }), ..worker.clone() };
    let result = run_job(&saga, job.kind).await;
    let state = match &result {
        Ok(true) => JobState::Done,
        Ok(false) => JobState::Failed,
        Err(_) if job.attempt >= ATTEMPTS_MAX => JobState::Failed,
        Err(_) => JobState::Pending,
    };
    let why = match &result {
        Ok(true) => Cow::Borrowed(""),
        Ok(false) => Cow::Borrowed(": refused for good"),
        Err(error) => Cow::Owned(format!(": {error}")),
    };
    worker.node.step(ends_words(&job, state, why));
    let retry_after_ms = RETRY_BACKOFF_MS_MAX.min(RETRY_BACKOFF_MS_MIN << job.attempt.min(8));
    // A lost finish is an unknown outcome: the lease ends and the job is claimed again.
    let _ = saga.store(Transaction::FinishJob { state, retry_after_ms }).await;
}
