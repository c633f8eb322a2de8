//! The item API the consumer's cache stands in front of: it answers an item's details and counts,
//! in the ledger, every refetch of an entry the cache let expire, and the busiest window so far.

use super::ledger::{self, Ledger};
use super::protocol::{ItemDetails, ItemRequest, ItemRpc};
use super::settings::EventsSettings;
use fleetsim_sim::{BoxFuture, Handler, NodeIndex, Sim};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Adds the item API to `sim`.
pub fn boot(sim: &Sim, ledger: Ledger, settings: EventsSettings) -> NodeIndex {
    sim.add_node("items", move |node| {
        let ledger = ledger.clone();
        async move {
            let recent: Arc<Mutex<VecDeque<u64>>> = Arc::default();
            let context = node.clone();
            let handler: Handler<ItemRequest, ItemDetails> = Arc::new(move |_, request: ItemRequest| {
                if request.refetch {
                    let sim = context.sim();
                    let now_ms = sim.now_ms();
                    let count = {
                        let mut recent = recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                        recent.push_back(now_ms);
                        while recent.front().is_some_and(|at_ms| *at_ms + settings.fetch_window_ms <= now_ms) {
                            recent.pop_front();
                        }
                        recent.len() as u64
                    };
                    let what = || {
                        format!(
                            "{count} refetches of expired items in the {} ms to {now_ms} ms",
                            settings.fetch_window_ms
                        )
                    };
                    ledger.observe(sim, ledger::FETCHES_PER_WINDOW, count, what);
                    ledger.refetched(now_ms);
                }
                let details = ItemDetails { item: request.item, name: format!("vm {}", request.item.0) };
                Box::pin(async move { details }) as BoxFuture<ItemDetails>
            });
            let _endpoint = ItemRpc::bind(&node, Some(handler)).await;
            std::future::pending::<()>().await;
        }
    })
}
