//! The event stream: an append-only log read page by page through a cursor. It keeps what it is
//! given in arrival order, duplicates included, as a webhook store or a broker topic does.

use super::event::Event;
use super::protocol::{StreamReply, StreamRequest, StreamRpc};
use super::settings::EventsSettings;
use fleetsim_sim::{BoxFuture, Disk, Handler, NodeIndex, Sim};
use std::sync::Arc;

/// Adds the stream, with its log on `log`, to `sim`.
pub fn boot(sim: &Sim, log: Disk<Vec<Event>>, settings: EventsSettings) -> NodeIndex {
    sim.add_node("stream", move |node| {
        let log = log.clone();
        async move {
            let context = node.clone();
            let handler: Handler<StreamRequest, StreamReply> = Arc::new(move |_, request| {
                let (log, node) = (log.clone(), context.clone());
                Box::pin(async move {
                    match request {
                        StreamRequest::Publish(event) => {
                            if log.read(Vec::len) >= settings.log_max {
                                return StreamReply::Full;
                            }
                            log.commit(&node, |log| log.push(event));
                            log.sync(&node).await;
                            StreamReply::Appended
                        }
                        StreamRequest::Fetch { from, limit } => log.read(|log| {
                            let start = (from as usize).min(log.len());
                            let events: Vec<Event> = log[start..].iter().take(limit).copied().collect();
                            StreamReply::Page { next: (start + events.len()) as u64, events }
                        }),
                    }
                }) as BoxFuture<StreamReply>
            });
            let _endpoint = StreamRpc::bind(&node, Some(handler)).await;
            std::future::pending::<()>().await;
        }
    })
}
