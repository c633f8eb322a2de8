//! fleetsim-sim: the deterministic harness. It runs any system of nodes inside one seeded,
//! single-threaded madsim runtime, injects faults, checks properties and reports outcomes.
//! It knows nothing about VMs.

#[cfg(not(madsim))]
compile_error!("fleetsim-sim runs only in simulation mode: build with `--cfg madsim` (the repository's .cargo/config.toml sets it)");

pub mod catalog;
pub mod config;
pub mod disk;
pub mod fault_point;
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
pub mod trace;
pub mod world;

pub use catalog::{BugInfo, InvariantInfo, HARNESS_INVARIANTS};
pub use config::{FaultStrategy, Limits, RunConfig};
pub use disk::Disk;
pub use nemesis::{Fault, FaultKind, FaultProfile, FaultWindow};
pub use node::{InjectedFault, NodeContext, NodeIndex, NodeStatus};
pub use outcome::{Coverage, Outcome, Verdict, Violation, ViolationClass};
pub use plan::{FaultPointPlan, Plan, WorkloadStep};
pub use property::Invariant;
pub use registry::{Registry, RegistryError};
pub use rpc::{BoxFuture, Handler, Rpc, RpcError};
pub use runner::{generate_plan, run, RunError};
pub use scenario::{AnyScenario, Scenario, System};
pub use seed::{parse_seed, StreamRng};
pub use trace::{Event, EventKind};
pub use world::Sim;
