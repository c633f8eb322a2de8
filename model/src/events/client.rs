//! The tenants' client: it sends each workload operation to the source and records it in the
//! run's history.

use super::operation::EventsOperation;
use super::protocol::{SourceReply, SourceRpc};
use fleetsim_sim::{BoxFuture, HistoryType, NodeContext, NodeIndex, Sim};

/// How long a tenant waits for the source.
const CALL_TIMEOUT_MS: u64 = 1_000;

/// Issues `operation` from node `tenants` to the source at `source`.
pub fn issue(sim: Sim, tenants: NodeIndex, source: NodeIndex, operation: EventsOperation) -> BoxFuture<()> {
    let node = NodeContext::new(sim, tenants);
    Box::pin(async move {
        let history = node.sim().invoke(node.index(), operation.to_string());
        let rpc = SourceRpc::bind_client(&node).await;
        let (kind, detail) = match rpc.call(source, operation, CALL_TIMEOUT_MS).await {
            Ok(SourceReply::Emitted { first, count }) => (HistoryType::Ok, format!("{count} events from {first}")),
            Ok(SourceReply::Nothing) => (HistoryType::Ok, "nothing to change".to_string()),
            Err(_) => (HistoryType::Info, "the source did not answer".to_string()),
        };
        node.sim().complete(history, kind, node.index(), detail);
    })
}
