//! The built-in registry: every scenario of the systems in `fleetsim-model`, registered exactly as
//! an outside system registers its own.

use crate::control_plane_scenarios::ALL;
use crate::dead_host::DeadHost;
use crate::events::EventsScenario;
use crate::partition_heal::PartitionHeal;
use fleetsim_sim::{Outcome, Registry, RunConfig, RunError};

/// The program name the stock binary prints in replay commands.
pub const PROGRAM: &str = "fleetsim";

/// Every built-in scenario, in a stable order.
pub fn registry() -> Registry {
    ALL.into_iter()
        .fold(Registry::new(PROGRAM), |registry, scenario| registry.with(scenario))
        .with(PartitionHeal)
        .with(DeadHost)
        .with(EventsScenario)
}

/// Runs `config` on the built-in scenario it names.
pub fn run_scenario(config: &RunConfig) -> Result<Outcome, RunError> {
    registry().run(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_registry_is_consistent_and_lists_every_scenario() {
        let registry = registry();
        assert_eq!(registry.check(), Ok(()));
        assert_eq!(
            registry.scenario_names(),
            ["smoke", "delete", "clone", "start-stop", "control-plane", "partition-heal", "dead-host", "events"]
        );
        assert_eq!(registry.bugs().len(), fleetsim_model::bugs::CATALOG.len());
    }
}
