//! What every control-plane scenario shares: its fault profile and bounds.

use fleetsim_model::ControlPlaneConfig;
use fleetsim_sim::{FaultKind, FaultProfile, Limits};

/// Every node of a control plane booted from `config`, in boot order, without the client.
pub fn nodes(config: &ControlPlaneConfig) -> Vec<String> {
    let mut nodes = vec!["store".to_string()];
    nodes.extend((0..config.hosts).map(|position| format!("agent-{position}")));
    nodes.extend((1..=config.workers).map(|number| format!("worker-{number}")));
    if config.reconciler {
        nodes.push("reconciler".to_string());
    }
    nodes
}

/// Every fault kind, on every node but the client (which only takes part in partitions); the
/// workers hold the job leases, and the store's disk takes the storage faults.
pub fn fault_profile(config: &ControlPlaneConfig) -> FaultProfile {
    let crashable = nodes(config);
    let mut networked = crashable.clone();
    networked.push("client".to_string());
    let workers = (1..=config.workers).map(|number| format!("worker-{number}")).collect();
    FaultProfile::new(&FaultKind::ALL, crashable, networked)
        .with_leases(workers, fleetsim_model::worker::LEASE_MS)
        .with_storage(vec!["store".to_string()])
}

/// The bounds of a control-plane scenario with a chaos phase of `chaos_ms`.
pub fn limits(chaos_ms: u64) -> Limits {
    Limits { chaos_ms, heal_ms: 200, quiet_ms_max: 30_000, settle_poll_ms: 100, ..Limits::default() }
}

/// Every fault point of the named sagas.
pub fn fault_points(sagas: &[&str]) -> Vec<String> {
    points_of(fleetsim_model::sagas::FAULT_POINTS, sagas)
}

/// Every delay point the named sagas' runs pass.
pub fn delay_points(sagas: &[&str]) -> Vec<String> {
    points_of(fleetsim_model::sagas::DELAY_POINTS, sagas)
}

fn points_of(catalog: &[(&str, &[&str])], sagas: &[&str]) -> Vec<String> {
    let cataloged = catalog.iter().filter(|(saga, _)| sagas.contains(saga));
    cataloged.flat_map(|(_, points)| points.iter().map(|point| point.to_string())).collect()
}

/// The `sometimes` properties for crashes at every fault point of the named sagas.
pub fn crash_points(sagas: &[&str]) -> Vec<String> {
    fault_points(sagas).into_iter().map(|point| format!("crash at {point}")).collect()
}
