//! Where the model's nodes are: the store, the workers, the hosts, the reconciler and the
//! client.

use fleetsim_sim::NodeIndex;

/// The node indexes of one booted control plane.
#[derive(Clone, Debug)]
pub struct Topology {
    /// The data store.
    pub store: NodeIndex,
    /// Control-plane workers.
    pub workers: Vec<NodeIndex>,
    /// Hypervisor agents, by host index.
    pub hosts: Vec<NodeIndex>,
    /// The tenant-facing client that submits jobs.
    pub client: NodeIndex,
}
