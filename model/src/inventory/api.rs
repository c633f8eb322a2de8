//! The control plane's API client: it writes the fields only the control plane knows and reads
//! records, through whichever store node it reaches, as a load balancer in front of the ring does.

use super::operation::InventoryOperation;
use super::protocol::{Purpose, StoreReply, StoreRequest, StoreRpc};
use super::record::{Field, Record, Stamp};
use super::roster::Roster;
use super::write_log::WriteLog;
use fleetsim_sim::{BoxFuture, HistoryType, NodeContext, Sim};
use madsim::time::{sleep, Duration};
use rand::Rng;
use std::sync::Arc;

/// Store nodes tried per operation before its outcome is left unknown.
pub const ATTEMPTS_MAX: u32 = 3;
/// How long one attempt may take.
const ATTEMPT_TIMEOUT_MS: u64 = 1_000;
/// The pause between two attempts.
const RETRY_PAUSE_MS: u64 = 200;

/// Issues `operation` from the API client node.
pub fn issue(sim: Sim, roster: Arc<Roster>, log: WriteLog, operation: InventoryOperation) -> BoxFuture<()> {
    let node = NodeContext::new(sim, roster.api);
    Box::pin(async move {
        let rpc = StoreRpc::bind_client(&node).await;
        match operation {
            InventoryOperation::Assign { vm, package, organization } => {
                let stamp = Stamp { at_ms: node.now_ms(), writer: node.index().0, write: node.sim().next_call_id() };
                let fields = [
                    (Field::Package, format!("package-{package}")),
                    (Field::Organization, format!("org-{organization}")),
                ];
                let update = Record::written(stamp, &fields);
                let operation = log.invoke(&node, vm, &update);
                let request = StoreRequest::Put { vm, update: update.clone(), purpose: Purpose::Api };
                match attempt(&node, &rpc, &roster, request).await {
                    Some(StoreReply::Written) => log.acknowledged(&node, operation, vm, &update),
                    _ => log.unknown(&node, operation, "no store node acknowledged it"),
                }
            }
            InventoryOperation::Read { vm } => {
                let operation = node.sim().invoke(node.index(), format!("read {vm}"));
                match attempt(&node, &rpc, &roster, StoreRequest::Get { vm }).await {
                    Some(StoreReply::Value(value)) => {
                        node.sim().complete(operation, HistoryType::Ok, node.index(), format!("{value:?}"))
                    }
                    _ => node.sim().complete(operation, HistoryType::Fail, node.index(), "no store node answered"),
                }
            }
        }
    })
}

/// Sends `request` to random store nodes until one answers with something other than
/// `Unavailable`, at most `ATTEMPTS_MAX` times.
async fn attempt(node: &NodeContext, rpc: &StoreRpc, roster: &Roster, request: StoreRequest) -> Option<StoreReply> {
    for _ in 0..ATTEMPTS_MAX {
        let pick = node.sim().model_rng(|rng| rng.gen_range(0..roster.stores.len()));
        match rpc.call(roster.stores[pick], request.clone(), ATTEMPT_TIMEOUT_MS).await {
            Ok(StoreReply::Unavailable) | Err(_) => sleep(Duration::from_millis(RETRY_PAUSE_MS)).await,
            Ok(reply) => return Some(reply),
        }
    }
    None
}
