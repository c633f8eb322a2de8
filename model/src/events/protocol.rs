//! The pipeline's messages: what the tenants ask the source, what the source publishes to the
//! stream, what the collector reads from it, and what the consumer asks the item API. A leaf
//! module: the nodes and their callers import it.

use super::event::Event;
use super::operation::EventsOperation;
use crate::ids::{EventId, ItemId};
use fleetsim_sim::Rpc;

/// The source's answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SourceReply {
    /// Done: the events it emitted, first and last.
    Emitted {
        /// The first event.
        first: EventId,
        /// How many.
        count: u32,
    },
    /// Nothing to change (the tenant has no live item).
    Nothing,
}

/// A request to the stream.
#[derive(Clone, Debug, Hash)]
pub enum StreamRequest {
    /// Append one event (at least once: a retry appends it again).
    Publish(Event),
    /// The events from position `from` on, at most `limit`.
    Fetch {
        /// The first position.
        from: u64,
        /// Most events.
        limit: usize,
    },
}

/// The stream's answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StreamReply {
    /// The event is in the log.
    Appended,
    /// The log is full.
    Full,
    /// A page, and the position after it.
    Page {
        /// The events.
        events: Vec<Event>,
        /// The cursor to read next.
        next: u64,
    },
}

/// A request to the item API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ItemRequest {
    /// The item.
    pub item: ItemId,
    /// Whether the consumer had it cached before (a refetch of an expired entry).
    pub refetch: bool,
}

/// The item API's answer: the item's display details.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ItemDetails {
    /// The item.
    pub item: ItemId,
    /// Its display name.
    pub name: String,
}

/// The source's endpoint: it takes the tenants' operations as they are.
pub type SourceRpc = Rpc<EventsOperation, SourceReply>;
/// The stream's endpoint.
pub type StreamRpc = Rpc<StreamRequest, StreamReply>;
/// The item API's endpoint.
pub type ItemRpc = Rpc<ItemRequest, ItemDetails>;
