//! The inventory's shape and timing.

/// Sizes, quorums and the periods of every background activity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InventorySettings {
    /// Hypervisor hosts, one agent each.
    pub hosts: u32,
    /// VMs on each host.
    pub vms_per_host: u32,
    /// Replicas that must answer a read (R).
    pub read_quorum: usize,
    /// Replicas that must acknowledge a write (W).
    pub write_quorum: usize,
    /// How often, on average, a store node pings each peer to learn whether it is up (each peer
    /// on its own schedule, so a node sees its peers return one by one).
    pub ping_interval_ms: u64,
    /// Pings in a row a peer must miss before it counts as down (one answer brings it back up).
    pub down_after_misses: u32,
    /// How often a store node announces itself to the agents (sniffle's mDNS broadcast).
    pub announce_interval_ms: u64,
    /// How often an agent checks that its coordinator still answers.
    pub heartbeat_interval_ms: u64,
    /// How often a store node looks for fallback data whose owner is reachable again.
    pub handoff_interval_ms: u64,
    /// Shortest wait, after a fallback's owner is seen again, before the fallback hands off (as
    /// riak_core's vnode inactivity timeout); each fallback draws its own wait.
    pub handoff_delay_ms_min: u64,
    /// Longest such wait.
    pub handoff_delay_ms_max: u64,
    /// How often a store node runs one anti-entropy exchange (for one of its partitions in turn).
    pub exchange_interval_ms: u64,
    /// Longest wait between two state updates of an agent.
    pub update_interval_ms_max: u64,
    /// How long a replica write, read or handoff may take before it counts as lost.
    pub replica_timeout_ms: u64,
}

impl Default for InventorySettings {
    fn default() -> Self {
        Self {
            hosts: 6,
            vms_per_host: 3,
            read_quorum: 2,
            write_quorum: 2,
            ping_interval_ms: 500,
            down_after_misses: 2,
            announce_interval_ms: 1_000,
            heartbeat_interval_ms: 1_000,
            handoff_interval_ms: 250,
            handoff_delay_ms_min: 500,
            handoff_delay_ms_max: 3_000,
            exchange_interval_ms: 1_500,
            update_interval_ms_max: 3_000,
            replica_timeout_ms: 150,
        }
    }
}
