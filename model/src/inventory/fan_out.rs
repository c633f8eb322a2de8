//! Calls to several replicas at once: each runs as its own task on the calling node (it dies with
//! the node), and the answers arrive in the order they come.

use std::future::Future;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// Starts every future in `calls` now; the receiver yields `(position, answer)` as each ends.
pub fn fan_out<T, F>(calls: Vec<F>) -> UnboundedReceiver<(usize, T)>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let (sender, receiver) = unbounded_channel();
    for (position, call) in calls.into_iter().enumerate() {
        let sender = sender.clone();
        madsim::task::spawn(async move {
            let _ = sender.send((position, call.await));
        });
    }
    receiver
}
