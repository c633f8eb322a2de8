//! fleetsim-model: the system under test, a VM control plane. A data store with atomic
//! transactions, hypervisor agents with durable physical state, control-plane workers
//! that run sagas from a job table, a reconciler, and the invariants over all of it.

#[cfg(not(madsim))]
compile_error!("fleetsim-model runs only in simulation mode: build with `--cfg madsim` (the repository's .cargo/config.toml sets it; a RUSTFLAGS variable replaces it, so add `--cfg madsim` to RUSTFLAGS when you set one)");

pub mod bugs;
pub mod calls;
pub mod client;
pub mod control_plane;
pub mod effects;
pub mod events;
pub mod followers;
pub mod host;
pub mod ids;
pub mod invariants;
pub mod inventory;
pub mod job_log;
pub mod machines;
pub mod message;
pub mod monotonic;
pub mod names;
pub mod reconciler;
pub mod sagas;
pub mod store;
pub mod topology;
pub mod unwind_log;
pub mod worker;
pub mod workload;

pub use control_plane::{ControlPlane, ControlPlaneConfig};
pub use workload::Operation;
