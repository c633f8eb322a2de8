//! The scenario interface: what a composition of topology, workload, faults and invariants
//! provides to the run driver, and its object-safe face for registries.

use crate::catalog::{BugInfo, InvariantInfo};
use crate::config::{Limits, RunConfig};
use crate::nemesis::FaultProfile;
use crate::node::NodeIndex;
use crate::outcome::Outcome;
use crate::plan::WorkloadStep;
use crate::rpc::BoxFuture;
use crate::runner::RunError;
use crate::seed::StreamRng;
use crate::world::Sim;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

/// A named scenario: topology, workload generator, admitted faults and invariants.
///
/// Implement it for a system of your own, register it in a [`Registry`](crate::Registry), and the
/// whole command line serves it. Every method but [`Scenario::boot`] is also called outside a run
/// (by `list`, input checks and plan generation), so they must not touch a runtime.
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
    /// Which faults the scenario admits, on which nodes. Every node it names must be booted.
    fn fault_profile(&self) -> FaultProfile;
    /// The workload of one seed, ordered by time, within the chaos phase.
    fn generate_workload(&self, rng: &mut StreamRng, limits: &Limits) -> Vec<WorkloadStep<Self::Operation>>;
    /// The bug switches the scenario's system implements; a run asking for another is refused.
    fn bugs(&self) -> Vec<BugInfo> {
        Vec::new()
    }
    /// Every invariant the scenario's system registers at boot; a run that registers one not
    /// listed here is refused, so `list` is always complete.
    fn invariants(&self) -> Vec<InvariantInfo> {
        Vec::new()
    }
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
    type Operation: Debug;

    /// The node workload operations are issued from.
    fn client(&self) -> NodeIndex;
    /// How the trace and the failure page tell `operation` ("create vm-9 on host-1"); its
    /// `Debug` text unless the system says it better.
    fn describe(&self, operation: &Self::Operation) -> String {
        format!("{operation:?}")
    }
    /// Issues one operation; the future runs on the client node.
    fn issue(&self, operation: Self::Operation) -> BoxFuture<()>;
    /// Whether the system has nothing left to do (the quiet phase may end early).
    fn settled(&self) -> bool;
}

/// Any [`Scenario`] behind a pointer: what registries and the command line need of it. Every
/// `Scenario` implements it; implement `Scenario`, not this.
pub trait AnyScenario: Send + Sync + 'static {
    /// The scenario's name on the command line.
    fn name(&self) -> &'static str;
    /// What the scenario exercises, in one line.
    fn summary(&self) -> &'static str;
    /// The scenario's bounds when a run gives none.
    fn default_limits(&self) -> Limits;
    /// Which faults the scenario admits, on which nodes.
    fn fault_profile(&self) -> FaultProfile;
    /// The bug switches the scenario's system implements.
    fn bugs(&self) -> Vec<BugInfo>;
    /// Every invariant the scenario's system registers.
    fn invariants(&self) -> Vec<InvariantInfo>;
    /// `sometimes` properties the scenario's runs are expected to reach.
    fn sometimes_catalog(&self) -> Vec<String>;
    /// Fault points the scenario's runs are expected to pass.
    fn fault_point_catalog(&self) -> Vec<String>;
    /// Runs one seed to its outcome, after checking that `config` fits this scenario.
    fn run(&self, config: &RunConfig) -> Result<Outcome, RunError>;
}

impl<S: Scenario> AnyScenario for S {
    fn name(&self) -> &'static str {
        Scenario::name(self)
    }

    fn summary(&self) -> &'static str {
        Scenario::summary(self)
    }

    fn default_limits(&self) -> Limits {
        Scenario::default_limits(self)
    }

    fn fault_profile(&self) -> FaultProfile {
        Scenario::fault_profile(self)
    }

    fn bugs(&self) -> Vec<BugInfo> {
        Scenario::bugs(self)
    }

    fn invariants(&self) -> Vec<InvariantInfo> {
        Scenario::invariants(self)
    }

    fn sometimes_catalog(&self) -> Vec<String> {
        Scenario::sometimes_catalog(self)
    }

    fn fault_point_catalog(&self) -> Vec<String> {
        Scenario::fault_point_catalog(self)
    }

    fn run(&self, config: &RunConfig) -> Result<Outcome, RunError> {
        crate::runner::run(self, config)
    }
}
