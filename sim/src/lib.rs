//! fleetsim-sim: the deterministic harness. It runs any system of nodes inside one seeded,
//! single-threaded madsim runtime, injects faults, checks properties and reports outcomes.
//! It knows nothing about VMs.
//!
//! A system under test is a set of nodes ([`Sim::add_node`]) whose durable state lives in
//! [`Disk`]s (it survives a crash; everything else dies with the node), talking through [`Rpc`]
//! (where the nemesis drops, delays, duplicates and partitions messages), with invariants
//! ([`Invariant::always`], [`Invariant::eventually`], [`Invariant::finishes`]) over the god's
//! view. A [`Scenario`] boots it and generates its workload; [`run`] plays one seed; a
//! [`Registry`] hands scenarios to the `fleetsim` command-line library.
//!
//! A counter whose increments must all land, checked by one seed:
//!
//! ```
//! use fleetsim_sim::*;
//! use std::sync::Arc;
//!
//! struct Counter;
//!
//! struct CounterSystem { sim: Sim, server: NodeIndex, client: NodeIndex, count: Disk<u64> }
//!
//! impl Scenario for Counter {
//!     type Operation = u64;
//!     type System = CounterSystem;
//!     fn name(&self) -> &'static str { "counter" }
//!     fn summary(&self) -> &'static str { "a client increments a durable counter" }
//!     fn default_limits(&self) -> Limits { Limits { chaos_ms: 500, quiet_ms_max: 1_000, ..Limits::default() } }
//!     fn fault_profile(&self) -> FaultProfile {
//!         let nodes = vec!["server".to_string(), "client".to_string()];
//!         FaultProfile::new(&[FaultKind::Crash, FaultKind::Duplicate], nodes[..1].to_vec(), nodes)
//!     }
//!     fn generate_workload(&self, _: &mut StreamRng, _: &Limits) -> Vec<WorkloadStep<u64>> {
//!         (1..=5).map(|id| WorkloadStep { at_ms: id * 50, operation: id }).collect()
//!     }
//!     fn invariants(&self) -> Vec<InvariantInfo> {
//!         vec![InvariantInfo { name: "at-most-five", kind: ViolationClass::Safety, summary: "count <= 5" }]
//!     }
//!     fn boot(&self, sim: &Sim) -> CounterSystem {
//!         let count = Disk::new(0u64);
//!         let seen = Disk::new(std::collections::BTreeSet::new());
//!         let (disk, applied) = (count.clone(), seen.clone());
//!         let server = sim.add_node("server", move |node| {
//!             let (disk, applied) = (disk.clone(), applied.clone());
//!             async move {
//!                 let context = node.clone();
//!                 // Idempotent by operation id, so a duplicated request counts once.
//!                 let handler: Handler<u64, ()> = Arc::new(move |_, id| {
//!                     if applied.commit(&context, |seen| seen.insert(id)) {
//!                         disk.commit(&context, |count| *count += 1);
//!                     }
//!                     Box::pin(async {})
//!                 });
//!                 let _rpc = Rpc::bind(&node, Some(handler)).await;
//!                 std::future::pending::<()>().await;
//!             }
//!         });
//!         let client = sim.add_node("client", |_| async {});
//!         let checked = count.clone();
//!         sim.register_invariant(Invariant::always("at-most-five", move || {
//!             checked.read(|count| if *count <= 5 { Ok(()) } else { Err(format!("count is {count}")) })
//!         }));
//!         CounterSystem { sim: sim.clone(), server, client, count }
//!     }
//! }
//!
//! impl System for CounterSystem {
//!     type Operation = u64;
//!     fn client(&self) -> NodeIndex { self.client }
//!     fn issue(&self, id: u64) -> BoxFuture<()> {
//!         let (node, server) = (NodeContext::new(self.sim.clone(), self.client), self.server);
//!         Box::pin(async move {
//!             let rpc = Rpc::<u64, ()>::bind_client(&node).await;
//!             while rpc.call(server, id, 100).await.is_err() {}
//!         })
//!     }
//!     fn settled(&self) -> bool { self.count.read(|count| *count == 5) }
//! }
//!
//! let outcome = run(&Counter, &RunConfig::new("counter", 42)).unwrap();
//! assert!(outcome.passed(), "{:?}", outcome.violations);
//! let again = run(&Counter, &RunConfig::new("counter", 42)).unwrap();
//! assert_eq!(outcome.trace_hash, again.trace_hash);
//! ```

#[cfg(not(madsim))]
compile_error!("fleetsim-sim runs only in simulation mode: build with `--cfg madsim` (the repository's .cargo/config.toml sets it; a RUSTFLAGS variable replaces it, so add `--cfg madsim` to RUSTFLAGS when you set one)");

// Without the cfg the crate is only the error above, so a build says what is wrong in one line
// instead of a wall of madsim's errors.
#[cfg(madsim)]
macro_rules! simulation_only {
    ($($item:item)*) => { $( $item )* };
}
#[cfg(not(madsim))]
macro_rules! simulation_only {
    ($($item:item)*) => {};
}

simulation_only! {
    pub mod catalog;
    pub mod changes;
    pub mod config;
    pub mod disk;
    pub mod fault_point;
    pub mod history;
    pub mod measurement;
    pub mod nemesis;
    pub mod network;
    pub mod node;
    pub mod outcome;
    pub mod plan;
    pub mod property;
    pub mod registry;
    pub mod rpc;
    pub mod runner;
    pub mod scenario;
    pub mod seed;
    pub mod table;
    pub mod trace;
    pub mod world;

    pub use catalog::{BugInfo, InvariantInfo, HARNESS_INVARIANTS};
    pub use changes::{Changes, CHANGES_KEPT_MAX};
    pub use config::{FaultStrategy, Limits, RunConfig};
    pub use disk::{Disk, Recovery};
    pub use nemesis::{Fault, FaultKind, FaultProfile, FaultWindow};
    pub use node::{InjectedFault, NodeContext, NodeIndex, NodeStatus};
    pub use outcome::{Coverage, Outcome, Verdict, Violation, ViolationClass};
    pub use plan::{FaultPointPlan, Plan, WorkloadStep};
    pub use measurement::Measurement;
    pub use history::{HistoryEntry, HistoryType, OperationId, HISTORY_ENTRIES_MAX};
    pub use property::Invariant;
    pub use registry::{Registry, RegistryError};
    pub use rpc::{BoxFuture, Handler, Rpc, RpcError};
    pub use runner::{divergence, generate_plan, run, RunError, DETERMINISM_INVARIANT};
    pub use scenario::{AnyScenario, Scenario, System};
    pub use seed::{parse_seed, StreamRng};
    pub use table::Table;
    pub use trace::{hash_of, Detail, Event, EventKind, LazyWords, TraceHasher};
    pub use world::Sim;
}
