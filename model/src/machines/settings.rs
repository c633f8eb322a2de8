//! The machine platform's shape and timing.

/// Sizes and the periods and bounds of every background activity, in simulated milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MachinesSettings {
    /// Hosts machines run on.
    pub hosts: u32,
    /// How often the control plane sends each host a heartbeat (a status poll it must answer).
    pub heartbeat_interval_ms: u64,
    /// How long one heartbeat, or any other call to a host, may take before it counts as missed.
    pub host_call_timeout_ms: u64,
    /// A host that answered no heartbeat for this long counts as unreachable.
    pub unreachable_after_ms: u64,
    /// A destroy of a machine on a host unreachable for less than this is refused: the loss is
    /// too recent to tell a dead host from a slow one.
    pub recent_loss_ms: u64,
    /// How long a machine destroyed through the API may run on a reachable host after its host
    /// returned (the write-up's "up to a minute of undead activity", scaled to the run).
    pub undead_grace_ms: u64,
    /// How often the control plane snapshots every volume on a reachable host.
    pub snapshot_interval_ms: u64,
    /// Snapshots kept per volume (the oldest are dropped).
    pub snapshots_kept: usize,
    /// Update attempts per machine before a deploy fails naming the machine.
    pub deploy_attempts_max: u32,
    /// The pause between two attempts of a deploy step.
    pub deploy_retry_ms: u64,
    /// How often a host's running machines do work: workers take a message from the queue,
    /// machines with a volume write to it.
    pub work_interval_ms: u64,
    /// Addresses in the private network's pool.
    pub ip_pool_size: u32,
    /// Most machines the platform keeps records of; creates past it are refused.
    pub machines_max: usize,
}

impl Default for MachinesSettings {
    fn default() -> Self {
        Self {
            hosts: 5,
            heartbeat_interval_ms: 500,
            host_call_timeout_ms: 300,
            unreachable_after_ms: 1_500,
            recent_loss_ms: 2_000,
            undead_grace_ms: 8_000,
            snapshot_interval_ms: 1_000,
            snapshots_kept: 3,
            deploy_attempts_max: 5,
            deploy_retry_ms: 300,
            work_interval_ms: 400,
            ip_pool_size: 64,
            machines_max: 256,
        }
    }
}
