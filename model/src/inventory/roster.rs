//! Who is who in one run: the store nodes, the agents and the API client, by node index.

use fleetsim_sim::NodeIndex;

/// The nodes of one inventory run, known to every node before any of them starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roster {
    /// The store nodes, by ring position.
    pub stores: Vec<NodeIndex>,
    /// The hypervisor agents, by host.
    pub agents: Vec<NodeIndex>,
    /// The control plane's API client.
    pub api: NodeIndex,
}

impl Roster {
    /// The roster of nodes added in this order from `first` on: stores, agents, the API client.
    pub fn from_first(first: u32, stores: usize, agents: usize) -> Self {
        let index = |offset: usize| NodeIndex(first + offset as u32);
        Self {
            stores: (0..stores).map(index).collect(),
            agents: (stores..stores + agents).map(index).collect(),
            api: index(stores + agents),
        }
    }

    /// The ring position of store node `index`, if it is one.
    pub fn store_position(&self, index: NodeIndex) -> Option<usize> {
        self.stores.iter().position(|store| *store == index)
    }
}
