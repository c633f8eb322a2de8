//! A registry: the scenarios one program serves, with their bug catalogs and invariants. The
//! command line, campaigns, replay and hunt look everything up here, so a system registered
//! from outside fleetsim is served exactly like the built-in ones.

use crate::catalog::{BugInfo, InvariantInfo, HARNESS_INVARIANTS};
use crate::config::RunConfig;
use crate::outcome::Outcome;
use crate::runner::RunError;
use crate::scenario::{AnyScenario, Scenario};

/// What is wrong with a registry; a program whose registry is inconsistent refuses to start.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The registry holds no scenario.
    #[error("the registry holds no scenario")]
    Empty,
    /// Two scenarios share a name.
    #[error("two scenarios are named '{name}'")]
    DuplicateScenario {
        /// The shared name.
        name: String,
    },
    /// One bug ID is declared with different details by two scenarios.
    #[error("bug '{id}' is declared differently by scenarios '{first}' and '{second}'")]
    ConflictingBug {
        /// The bug ID.
        id: String,
        /// The first scenario declaring it.
        first: String,
        /// The other one.
        second: String,
    },
    /// A bug's home scenario is not registered, or does not implement the bug.
    #[error("bug '{id}' names home scenario '{scenario}', which is not registered or does not list the bug")]
    BugWithoutHome {
        /// The bug ID.
        id: String,
        /// The home scenario it names.
        scenario: String,
    },
    /// A bug expects an invariant that no scenario declares.
    #[error("bug '{id}' expects invariant '{invariant}', which no scenario declares")]
    UnknownExpectedInvariant {
        /// The bug ID.
        id: String,
        /// The invariant it names.
        invariant: String,
    },
}

/// The scenarios one program serves, in registration order.
pub struct Registry {
    program: &'static str,
    scenarios: Vec<Box<dyn AnyScenario>>,
}

impl Registry {
    /// An empty registry for the program named `program` (the name printed in replay commands).
    pub fn new(program: &'static str) -> Self {
        Self { program, scenarios: Vec::new() }
    }

    /// The same registry with one more scenario.
    pub fn with(mut self, scenario: impl Scenario) -> Self {
        self.scenarios.push(Box::new(scenario));
        self
    }

    /// The program's name, as replay commands print it.
    pub fn program(&self) -> &'static str {
        self.program
    }

    /// Every scenario, in registration order.
    pub fn scenarios(&self) -> impl Iterator<Item = &dyn AnyScenario> {
        self.scenarios.iter().map(|scenario| scenario.as_ref())
    }

    /// Every scenario name, in registration order.
    pub fn scenario_names(&self) -> Vec<&'static str> {
        self.scenarios().map(|scenario| scenario.name()).collect()
    }

    /// The scenario named `name`, or an error listing the known ones.
    pub fn scenario(&self, name: &str) -> Result<&dyn AnyScenario, RunError> {
        self.scenarios().find(|scenario| scenario.name() == name).ok_or_else(|| RunError::UnknownScenario {
            name: name.to_string(),
            known: self.scenario_names().join(", "),
        })
    }

    /// Every bug of every scenario, once each, in the order scenarios declare them.
    pub fn bugs(&self) -> Vec<BugInfo> {
        let mut bugs: Vec<BugInfo> = Vec::new();
        for bug in self.scenarios().flat_map(|scenario| scenario.bugs()) {
            if !bugs.iter().any(|known| known.id == bug.id) {
                bugs.push(bug);
            }
        }
        bugs
    }

    /// The bug with that ID, or an error listing the known ones.
    pub fn bug(&self, id: &str) -> Result<BugInfo, RunError> {
        let bugs = self.bugs();
        bugs.iter().find(|bug| bug.id == id).copied().ok_or_else(|| RunError::UnknownBug {
            bug: id.to_string(),
            scope: "this program".to_string(),
            known: known_list(bugs.iter().map(|bug| bug.id)),
        })
    }

    /// Every invariant of every scenario, then the harness's own, once each.
    pub fn invariants(&self) -> Vec<InvariantInfo> {
        let mut invariants: Vec<InvariantInfo> = Vec::new();
        let declared = self.scenarios().flat_map(|scenario| scenario.invariants());
        for invariant in declared.chain(HARNESS_INVARIANTS.iter().copied()) {
            if !invariants.iter().any(|known| known.name == invariant.name) {
                invariants.push(invariant);
            }
        }
        invariants
    }

    /// Runs `config` on the scenario it names.
    pub fn run(&self, config: &RunConfig) -> Result<Outcome, RunError> {
        self.scenario(&config.scenario)?.run(config)
    }

    /// Checks that the registry is consistent: scenario names unique, each bug declared alike
    /// everywhere, at home in a scenario that implements it, expecting declared invariants.
    pub fn check(&self) -> Result<(), RegistryError> {
        if self.scenarios.is_empty() {
            return Err(RegistryError::Empty);
        }
        let names = self.scenario_names();
        if let Some(name) = names.iter().enumerate().find_map(|(at, name)| names[..at].contains(name).then_some(name)) {
            return Err(RegistryError::DuplicateScenario { name: name.to_string() });
        }
        let mut seen: Vec<(BugInfo, &'static str)> = Vec::new();
        for scenario in self.scenarios() {
            for bug in scenario.bugs() {
                match seen.iter().find(|(known, _)| known.id == bug.id) {
                    Some((known, first)) if *known != bug => {
                        return Err(RegistryError::ConflictingBug {
                            id: bug.id.to_string(),
                            first: first.to_string(),
                            second: scenario.name().to_string(),
                        })
                    }
                    Some(_) => {}
                    None => seen.push((bug, scenario.name())),
                }
            }
        }
        let invariants = self.invariants();
        for (bug, _) in &seen {
            let home = self.scenarios().find(|scenario| scenario.name() == bug.scenario);
            if !home.is_some_and(|home| home.bugs().iter().any(|implemented| implemented.id == bug.id)) {
                return Err(RegistryError::BugWithoutHome {
                    id: bug.id.to_string(),
                    scenario: bug.scenario.to_string(),
                });
            }
            if let Some(invariant) =
                bug.invariants.iter().find(|name| !invariants.iter().any(|known| known.name == **name))
            {
                return Err(RegistryError::UnknownExpectedInvariant {
                    id: bug.id.to_string(),
                    invariant: invariant.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// `a, b, c`, or `none`.
pub(crate) fn known_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}
