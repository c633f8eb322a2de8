//! The catalog of real bugs the model can switch on at run time (`--bug ID`).
//! The default model is the fixed one; each switch sits at the one decision point its
//! incident write-up describes, with the catalog ID beside it.

pub use fleetsim_sim::BugInfo;

/// The incident behind the delete and clone bugs, in words.
const INCIDENT_DELETE_AND_CLONE: &str = "two VMs answering on one IP address and clone snapshots that leaked: \
     delete and clone jobs that worked only when no step failed (Marvin Strauch, \"The machine that \
     shouldn't exist\", DEV Community)";
/// The incident behind the counter bug, in words.
const INCIDENT_COUNTER_UNDERFLOW: &str = "virtual provisioning counters that underflowed: a race between an \
     instance start saga, its unwind and a stale VMM report (Oxide Computer's omicron, a GitHub issue)";

/// DeleteVM releases the IP and deletes the row before destroying the VM.
pub const IP_RELEASED_BEFORE_DESTROY: &str = "ip-released-before-destroy";
/// A retried DeleteVM treats "not found" / "already free" as an error.
pub const DELETE_NOT_IDEMPOTENT: &str = "delete-not-idempotent";

/// CloneVM creates `clone-<job>` without removing a leftover; cleanup only deferred.
pub const CLONE_SNAPSHOT_NOT_IDEMPOTENT: &str = "clone-snapshot-not-idempotent";
/// Clone jobs of one source run concurrently.
pub const CLONE_UNSERIALIZED: &str = "clone-unserialized";
/// Collection counters are decremented even when the generation check keeps the row.
pub const UNCONDITIONAL_COUNTER_DELETE: &str = "unconditional-counter-delete";

/// Every bug switch the model implements.
pub const CATALOG: &[BugInfo] = &[
    BugInfo {
        id: IP_RELEASED_BEFORE_DESTROY,
        incident: INCIDENT_DELETE_AND_CLONE,
        story: "DeleteVM releases the IP, deletes the row, then destroys; a crash in between orphans a running VM whose IP is handed out again",
        invariants: &["unique-ip", "no-orphan-vm", "effects-persist"],
        scenario: "delete",
    },
    BugInfo {
        id: DELETE_NOT_IDEMPOTENT,
        incident: INCIDENT_DELETE_AND_CLONE,
        story: "a retried delete treats 'not found' (VM or IP already gone) as an error, so it retries until it gives up",
        invariants: &["jobs-terminate", "no-orphan-vm"],
        scenario: "delete",
    },
    BugInfo {
        id: CLONE_SNAPSHOT_NOT_IDEMPOTENT,
        incident: INCIDENT_DELETE_AND_CLONE,
        story: "clone creates snapshot clone-<job> without removing a leftover and cleans up only in a deferred step; after one crash every retry fails 'already exists'",
        invariants: &["no-leaked-snapshot", "jobs-terminate"],
        scenario: "clone",
    },
    BugInfo {
        id: CLONE_UNSERIALIZED,
        incident: INCIDENT_DELETE_AND_CLONE,
        story: "clone jobs of one source run at once; the hypervisor's per-source lock refuses their deferred, best-effort snapshot cleanups, and snapshots leak",
        invariants: &["no-leaked-snapshot", "jobs-terminate"],
        scenario: "clone",
    },
    BugInfo {
        id: UNCONDITIONAL_COUNTER_DELETE,
        incident: INCIDENT_COUNTER_UNDERFLOW,
        story: "a stale 'destroyed' report from an old VMM monitor subtracts the provisioning counters although the generation check keeps the resource row",
        invariants: &["non-negative-counters", "counters-conserve"],
        scenario: "start-stop",
    },
];

/// The catalog entry of `id`, if the model implements it.
pub fn find(id: &str) -> Option<&'static BugInfo> {
    CATALOG.iter().find(|bug| bug.id == id)
}
