//! Every request and reply that crosses the simulated network between model nodes.

use crate::host::{HostReply, HostRequest};
use crate::store::{StoreReply, StoreRequest};

/// A request to a store or to a hypervisor agent.
#[derive(Clone, Debug, Hash)]
pub enum Request {
    /// To the data store.
    Store(StoreRequest),
    /// To a hypervisor agent.
    Host(HostRequest),
}

/// A reply from a store or a hypervisor agent.
#[derive(Clone, Debug, Hash)]
pub enum Reply {
    /// From the data store.
    Store(StoreReply),
    /// From a hypervisor agent.
    Host(HostReply),
    /// The node does not serve that kind of request.
    Unsupported,
}

/// The model's RPC endpoint type.
pub type ModelRpc = fleetsim_sim::Rpc<Request, Reply>;
