//! The scenario interface: what a composition of topology, workload, faults and
//! invariants provides to the run driver.

use crate::config::Limits;
use crate::nemesis::FaultProfile;
use crate::node::NodeIndex;
use crate::plan::WorkloadStep;
use crate::rpc::BoxFuture;
use crate::seed::StreamRng;
use crate::world::Sim;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

/// A named scenario: topology, workload generator, admitted faults and invariants.
pub trait Scenario: Send + Sync + 'static {
    /// One workload operation, as the plan stores it.
    type Operation: Serialize + DeserializeOwned + Clone + Debug + Send + Sync + 'static;
    /// The system under test, as booted for one run.
    type System: System<Operation = Self::Operation>;

    /// The scenario's name on the command line.
    fn name(&self) -> &'static str;
    /// What the scenario exercises, in one line.
    fn summary(&self) -> &'static str;
    /// The scenario's bounds when a run gives none.
    fn default_limits(&self) -> Limits;
    /// Which faults the scenario admits, on which nodes.
    fn fault_profile(&self) -> FaultProfile;
    /// The workload of one seed, ordered by time, within the chaos phase.
    fn generate_workload(&self, rng: &mut StreamRng, limits: &Limits) -> Vec<WorkloadStep<Self::Operation>>;
    /// `sometimes` properties the scenario's runs are expected to reach.
    fn sometimes_catalog(&self) -> Vec<String> {
        Vec::new()
    }
    /// Fault points the scenario's runs are expected to pass; one never passed is reported.
    fn fault_point_catalog(&self) -> Vec<String> {
        Vec::new()
    }
    /// Creates the nodes and registers the invariants of one run.
    fn boot(&self, sim: &Sim) -> Self::System;
}

/// The system under test of one run, as the driver sees it.
pub trait System: Send + Sync + 'static {
    /// One workload operation.
    type Operation;

    /// The node workload operations are issued from.
    fn client(&self) -> NodeIndex;
    /// Issues one operation; the future runs on the client node.
    fn issue(&self, operation: Self::Operation) -> BoxFuture<()>;
    /// Whether the system has nothing left to do (the quiet phase may end early).
    fn settled(&self) -> bool;
}
