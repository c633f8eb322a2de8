//! The queue worker machines take messages from. It hands out one message per request and does
//! not know which machines were destroyed: an undead worker gets work like any other, as the
//! write-up warns.

use super::protocol::{EdgeReply, EdgeRequest, EdgeRpc};
use fleetsim_sim::{BoxFuture, Handler, NodeIndex, Sim};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Adds the queue to `sim`.
pub fn boot(sim: &Sim) -> NodeIndex {
    sim.add_node("queue", |node| async move {
        let handed_out = Arc::new(AtomicU64::new(0));
        let handler: Handler<EdgeRequest, EdgeReply> = Arc::new(move |_, request| {
            let reply = match request {
                EdgeRequest::Take { .. } => EdgeReply::Message(handed_out.fetch_add(1, Ordering::Relaxed) + 1),
                EdgeRequest::Request { .. } => EdgeReply::Failed("the queue serves no requests".to_string()),
            };
            Box::pin(async move { reply }) as BoxFuture<EdgeReply>
        });
        let _endpoint = EdgeRpc::bind(&node, Some(handler)).await;
        std::future::pending::<()>().await;
    })
}
