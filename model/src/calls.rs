//! Typed calls from control-plane code to the store and the agents, with the one error
//! type every saga step returns.

use crate::host::{HostError, HostReply, HostRequest};
use crate::message::{ModelRpc, Reply, Request};
use crate::store::{Claim, StoreError, StoreReply, StoreRequest, Transaction};
use fleetsim_sim::{InjectedFault, NodeIndex};

/// Longest wait for one reply.
pub const CALL_TIMEOUT_MS: u64 = 250;

/// Why a step did not complete. A timeout leaves its effect unknown.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// No reply in time: the call may or may not have taken effect.
    #[error("no reply in time")]
    Timeout,
    /// The store refused.
    #[error("{0}")]
    Store(StoreError),
    /// An agent refused.
    #[error("{0}")]
    Host(HostError),
    /// A fault point failed the step.
    #[error("fault point {0} failed it")]
    Injected(String),
    /// A reply of the wrong kind (a bug in the model).
    #[error("a reply of the wrong kind")]
    Protocol,
}

impl From<InjectedFault> for StepError {
    fn from(fault: InjectedFault) -> Self {
        StepError::Injected(fault.point)
    }
}

/// Runs one store transaction under `claim` (or none).
pub async fn store(
    rpc: &ModelRpc,
    store: NodeIndex,
    claim: Option<Claim>,
    transaction: Transaction,
) -> Result<StoreReply, StepError> {
    match rpc.call(store, Request::Store(StoreRequest { claim, transaction }), CALL_TIMEOUT_MS).await {
        Ok(Reply::Store(StoreReply::Refused(error))) => Err(StepError::Store(error)),
        Ok(Reply::Store(reply)) => Ok(reply),
        Ok(_) => Err(StepError::Protocol),
        Err(_) => Err(StepError::Timeout),
    }
}

/// Runs one store transaction outside any job.
pub async fn store_plain(
    rpc: &ModelRpc,
    store_node: NodeIndex,
    transaction: Transaction,
) -> Result<StoreReply, StepError> {
    store(rpc, store_node, None, transaction).await
}

/// Runs one agent request.
pub async fn host(rpc: &ModelRpc, host: NodeIndex, request: HostRequest) -> Result<HostReply, StepError> {
    match rpc.call(host, Request::Host(request), CALL_TIMEOUT_MS).await {
        Ok(Reply::Host(HostReply::Refused(error))) => Err(StepError::Host(error)),
        Ok(Reply::Host(reply)) => Ok(reply),
        Ok(_) => Err(StepError::Protocol),
        Err(_) => Err(StepError::Timeout),
    }
}

/// Treats "already done" as success: the heart of an idempotent step.
pub fn already_done<T>(result: Result<T, StepError>, done: StepError) -> Result<(), StepError> {
    match result {
        Ok(_) => Ok(()),
        Err(error) if error == done => Ok(()),
        Err(error) => Err(error),
    }
}
