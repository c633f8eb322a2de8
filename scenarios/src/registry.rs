//! Every scenario by name, and running one from a `RunConfig`.

use crate::control_plane_scenarios::ALL;
use fleetsim_sim::{run, Outcome, RunConfig, RunError, Scenario};

/// A scenario as `fleetsim list` shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ScenarioInfo {
    /// Its name.
    pub name: &'static str,
    /// What it exercises.
    pub summary: &'static str,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// No scenario has that name.
    #[error("unknown scenario '{name}' (known: {known})")]
    UnknownScenario {
        /// The name given.
        name: String,
        /// The names known.
        known: String,
    },
    /// The run's input does not fit the scenario.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Every scenario, in a stable order.
pub fn scenarios() -> Vec<ScenarioInfo> {
    ALL.iter().map(|scenario| ScenarioInfo { name: scenario.name(), summary: scenario.summary() }).collect()
}

/// Whether a scenario of that name exists.
pub fn exists(name: &str) -> bool {
    ALL.iter().any(|scenario| scenario.name() == name)
}

/// Runs `config` on the scenario it names.
pub fn run_scenario(config: &RunConfig) -> Result<Outcome, ScenarioError> {
    match ALL.iter().find(|scenario| scenario.name() == config.scenario) {
        Some(scenario) => Ok(run(*scenario, config)?),
        None => {
            let known = scenarios().iter().map(|scenario| scenario.name).collect::<Vec<_>>().join(", ");
            Err(ScenarioError::UnknownScenario { name: config.scenario.clone(), known })
        }
    }
}
