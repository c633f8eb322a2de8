//! Where every node of the machine platform is.

use crate::ids::HostId;
use fleetsim_sim::NodeIndex;

/// The node indices of one run, in boot order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roster {
    /// The control plane: the machine API, host health, deploys and snapshots.
    pub control: NodeIndex,
    /// The proxy in front of the apps.
    pub proxy: NodeIndex,
    /// The queue worker machines take messages from.
    pub queue: NodeIndex,
    /// The tenants' client, where workload operations run.
    pub tenant: NodeIndex,
    /// The hosts, by host number.
    pub hosts: Vec<NodeIndex>,
}

impl Roster {
    /// The roster of a run that boots, from node `first` on, the control plane, the proxy, the
    /// queue, the tenant and `hosts` hosts.
    pub fn from_first(first: u32, hosts: u32) -> Self {
        Self {
            control: NodeIndex(first),
            proxy: NodeIndex(first + 1),
            queue: NodeIndex(first + 2),
            tenant: NodeIndex(first + 3),
            hosts: (0..hosts).map(|host| NodeIndex(first + 4 + host)).collect(),
        }
    }

    /// Host `host`'s node.
    pub fn host(&self, host: HostId) -> NodeIndex {
        self.hosts[host.0 as usize]
    }
}
