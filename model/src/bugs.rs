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
/// A vnode receiving a handoff replaces its record with the handed-off one instead of merging.
pub const HANDOFF_OVERWRITES: &str = "handoff-overwrites";

/// Force destroy of a machine on an unreachable host marks it destroyed and frees its address at once.
pub const DESTROY_FORGETS_UNREACHABLE: &str = "destroy-forgets-unreachable";
/// A rolling deploy waits for every machine, a dead host's too.
pub const DEPLOY_BLOCKED_BY_DEAD_HOST: &str = "deploy-blocked-by-dead-host";

/// A handler applies a repeated event again (and fails on a repeated delete).
pub const EVENT_NOT_IDEMPOTENT: &str = "event-not-idempotent";
/// A deletion that overtakes its item's creation is dropped.
pub const DELETE_BEFORE_CREATE_GHOST: &str = "delete-before-create-ghost";
/// Two transactions lock the same two rows in opposite orders.
pub const LOCK_ORDER_INVERTED: &str = "lock-order-inverted";
/// The collector reads its cursor from a cache the cursor update does not refresh.
pub const STALE_CURSOR_CACHE: &str = "stale-cursor-cache";
/// Every cache entry lives exactly the same TTL.
pub const TTL_WITHOUT_JITTER: &str = "ttl-without-jitter";
/// One first-in, first-out queue for all tenants.
pub const UNFAIR_QUEUE: &str = "unfair-queue";

/// The incident behind the event-pipeline bugs, in words.
const INCIDENT_EVENTS: &str = "an event-driven backend under a whale's load: deadlocks, duplicated and \
     reordered events, a ghost entry, a stale cursor, a thundering herd and starved small tenants \
     (\"The Hidden Bugs of Distributed Systems\", a blog post, November 2024)";

/// The incident behind the dead-host bugs, in words.
const INCIDENT_DEAD_HOSTS: &str = "machines stranded on dead and unreachable hosts: destroys and deploys that \
     could not finish, and machines that came back \"undead\" after a host returned (Fly.io, \"Minimizing \
     Impact of Dead Hosts: New Features and Recovery Techniques\", Fly.io community)";

/// The incident behind the handoff bug, in words.
const INCIDENT_HANDOFF: &str = "VMs that lost their package and organization after a whole-network outage: \
     a vnode taking in a handoff overwrote its record instead of merging it (Project FiFo's sniffle \
     on riak_core, \"Postmortem of an interesting bug\")";

/// Every bug switch the model implements: the control plane's, the inventory's, the machine
/// platform's, the event pipeline's.
pub const CATALOG: &[BugInfo] = &[
    CONTROL_PLANE[0],
    CONTROL_PLANE[1],
    CONTROL_PLANE[2],
    CONTROL_PLANE[3],
    CONTROL_PLANE[4],
    INVENTORY[0],
    MACHINES[0],
    MACHINES[1],
    EVENTS[0],
    EVENTS[1],
    EVENTS[2],
    EVENTS[3],
    EVENTS[4],
    EVENTS[5],
];

/// The bug switches of the control plane.
pub const CONTROL_PLANE: &[BugInfo] = &[
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

/// The bug switches of the replicated inventory.
pub const INVENTORY: &[BugInfo] = &[BugInfo {
    id: HANDOFF_OVERWRITES,
    incident: INCIDENT_HANDOFF,
    story: "a vnode taking in a handoff replaces its record with the handed-off one; after a whole-network outage a registration that landed on three fallbacks wipes the fields only the API wrote",
    invariants: &["no-lost-fields"],
    scenario: "partition-heal",
}];

/// The catalog entry of `id`, if the model implements it.
pub fn find(id: &str) -> Option<&'static BugInfo> {
    CATALOG.iter().find(|bug| bug.id == id)
}

/// The bug switches of the machine platform.
pub const MACHINES: &[BugInfo] = &[
    BugInfo {
        id: DESTROY_FORGETS_UNREACHABLE,
        incident: INCIDENT_DEAD_HOSTS,
        story: "force destroy of a machine on an unreachable host marks it destroyed and frees its address at once; the host returns with the machine still running, its address handed out again",
        invariants: &["no-undead", "unique-ip"],
        scenario: "dead-host",
    },
    BugInfo {
        id: DEPLOY_BLOCKED_BY_DEAD_HOST,
        incident: INCIDENT_DEAD_HOSTS,
        story: "a rolling deploy waits for every machine, including those on a dead host, and never finishes",
        invariants: &["deploys-finish"],
        scenario: "dead-host",
    },
];

/// The bug switches of the event pipeline.
pub const EVENTS: &[BugInfo] = &[
    BugInfo {
        id: EVENT_NOT_IDEMPOTENT,
        incident: INCIDENT_EVENTS,
        story: "the handler applies a repeated `created` again (double counts) and fails on a repeated `deleted`",
        invariants: &["projection-consistent"],
        scenario: "events",
    },
    BugInfo {
        id: DELETE_BEFORE_CREATE_GHOST,
        incident: INCIDENT_EVENTS,
        story: "a `deleted` that overtakes its `created` finds nothing and is dropped; the late `created` makes a ghost entry",
        invariants: &["projection-consistent"],
        scenario: "events",
    },
    BugInfo {
        id: LOCK_ORDER_INVERTED,
        incident: INCIDENT_EVENTS,
        story: "a handler updates the item row and the usage row at once, so two transactions lock them in opposite orders and deadlock",
        invariants: &["no-deadlock"],
        scenario: "events",
    },
    BugInfo {
        id: STALE_CURSOR_CACHE,
        incident: INCIDENT_EVENTS,
        story: "the collector reads its cursor from a cache that the cursor update does not refresh: it re-reads one page until the entry expires",
        invariants: &["projection-fresh", "projection-consistent"],
        scenario: "events",
    },
    BugInfo {
        id: TTL_WITHOUT_JITTER,
        incident: INCIDENT_EVENTS,
        story: "every cache entry lives exactly the TTL, so items cached together expire together and are refetched in one burst",
        invariants: &["backend-rate"],
        scenario: "events",
    },
    BugInfo {
        id: UNFAIR_QUEUE,
        incident: INCIDENT_EVENTS,
        story: "one first-in, first-out queue for all tenants: a whale's burst makes small tenants wait behind it",
        invariants: &["tenant-wait"],
        scenario: "events",
    },
];
