//! The tenant-facing client: submits jobs, retrying with the same job id until the store
//! confirms or the attempts run out (then the submission's outcome stays unknown).

use crate::calls::store_plain;
use crate::ids::JobId;
use crate::message::ModelRpc;
use crate::store::{JobKind, Transaction};
use crate::workload::Operation;
use fleetsim_sim::{hash_of, HistoryType, LazyWords, NodeContext, NodeIndex};
use std::fmt::Write;

/// The step "JOB submitted (KIND) on attempt N: ok", rendered only if the event is kept.
fn submitted_words(job: JobId, kind: JobKind, attempt: u32) -> LazyWords {
    LazyWords::new(hash_of(&("submitted", job, &kind, attempt)), move |text| {
        let _ = write!(text, "{job} submitted ({kind}) on attempt {attempt}: ok");
    })
}

/// Submission attempts before the client gives up (outcome unknown).
pub const SUBMIT_ATTEMPTS_MAX: u32 = 20;
/// Pause between two submission attempts.
pub const SUBMIT_RETRY_MS: u64 = 100;

/// Submits the job behind `operation` to the store.
pub async fn submit(node: NodeContext, rpc: ModelRpc, store_node: NodeIndex, operation: Operation) {
    let (job, kind) = operation.job();
    let submission = node.sim().invoke(node.index(), format!("submit {job} ({kind})"));
    for attempt in 1..=SUBMIT_ATTEMPTS_MAX {
        if store_plain(&rpc, store_node, Transaction::SubmitJob { job, kind }).await.is_ok() {
            node.step(submitted_words(job, kind, attempt));
            node.sim().complete(submission, HistoryType::Ok, node.index(), format!("{job} submitted"));
            return;
        }
        node.sleep_ms(SUBMIT_RETRY_MS).await;
    }
    node.step(format!("{job} submission outcome unknown after {SUBMIT_ATTEMPTS_MAX} attempts"));
    node.sim().complete(submission, HistoryType::Info, node.index(), format!("{job} outcome unknown"));
}
