//! fleetsim-scenarios: named compositions of topology, workload, faults and invariants.

#[cfg(not(madsim))]
compile_error!("fleetsim-scenarios runs only in simulation mode: build with `--cfg madsim` (the repository's .cargo/config.toml sets it; a RUSTFLAGS variable replaces it, so add `--cfg madsim` to RUSTFLAGS when you set one)");

pub mod control_plane_scenarios;
pub mod dead_host;
pub mod events;
pub mod partition_heal;
pub mod profile;
pub mod registry;
pub mod workload;

pub use registry::{registry, run_scenario, PROGRAM};
