//! Where the model's nodes are: the store, the workers, the hosts and the client.

use crate::ids::HostId;
use fleetsim_sim::NodeIndex;

/// The node indexes of one booted control plane.
#[derive(Clone, Debug)]
pub struct Topology {
    /// The data store.
    pub store: NodeIndex,
    /// Control-plane workers.
    pub workers: Vec<NodeIndex>,
    /// Hypervisor agents, by host id.
    pub hosts: Vec<NodeIndex>,
    /// The tenant-facing client that submits jobs.
    pub client: NodeIndex,
}

impl Topology {
    /// The agent node of `host`.
    pub fn host(&self, host: HostId) -> NodeIndex {
        self.hosts[host.0 as usize]
    }
}
