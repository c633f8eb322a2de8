//! Provisioning accounting (as in omicron's virtual provisioning tables): one resource row
//! per running instance, and counters per project, silo and fleet updated in the same
//! transaction as the row.

use crate::ids::{InstanceId, ProjectId};
use fleetsim_sim::Table;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A collection whose counters sum the resources under it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Collection {
    /// The whole fleet.
    Fleet,
    /// One silo.
    Silo(u32),
    /// One project.
    Project(ProjectId),
}

impl std::fmt::Display for Collection {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Collection::Fleet => write!(formatter, "fleet"),
            Collection::Silo(silo) => write!(formatter, "silo-{silo}"),
            Collection::Project(project) => write!(formatter, "{project}"),
        }
    }
}

/// What one running instance consumes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Usage {
    /// Virtual CPUs.
    pub cpus: i64,
    /// Memory in GiB.
    pub ram_gib: i64,
}

/// A resource row: an instance's charge, made under the instance generation it ran with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRow {
    /// The instance charged.
    pub instance: InstanceId,
    /// Its project.
    pub project: ProjectId,
    /// What it consumes.
    pub usage: Usage,
    /// The instance generation the charge was made under.
    #[serde(default)]
    pub generation: u64,
}

/// One change of a collection counter, kept as evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterChange {
    /// Simulated time of the change.
    pub at_ms: u64,
    /// The instance it was for.
    pub instance: InstanceId,
    /// Signed CPUs added.
    pub cpus: i64,
    /// The project's CPU counter after the change.
    pub project_cpus_after: i64,
}

/// How many counter changes are kept per project as evidence.
pub const COUNTER_HISTORY_MAX: usize = 16;

/// The provisioning tables.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provisioning {
    /// Resource rows by instance.
    pub resources: Table<InstanceId, ResourceRow>,
    /// The highest generation each instance's charge was released at: a charge for it or an
    /// older one, arriving late, is refused instead of charging a VMM that is being taken down.
    #[serde(default)]
    pub released: BTreeMap<InstanceId, u64>,
    /// Counters by collection.
    pub collections: BTreeMap<Collection, Usage>,
    /// The last counter changes per project.
    pub history: BTreeMap<ProjectId, Vec<CounterChange>>,
}

/// The silo a project belongs to.
pub fn silo_of(project: ProjectId) -> u32 {
    project.0 % 2
}

impl Provisioning {
    /// Charges an instance unless it is charged already: the row and the counters together.
    pub fn charge(&mut self, at_ms: u64, row: ResourceRow) {
        if self.resources.contains_key(&row.instance) {
            return;
        }
        self.resources.insert(row.instance, row);
        self.add(at_ms, row.instance, row.project, row.usage, 1);
    }

    /// Whether a charge of `instance` at `generation` comes after that generation was released.
    pub fn released_at(&self, instance: InstanceId, generation: u64) -> bool {
        self.released.get(&instance).is_some_and(|released| *released >= generation)
    }

    /// Removes an instance's charge when `generation_current` allows it (a release of the
    /// current `generation`, remembered even when nothing was charged yet). The fixed model
    /// changes the counters only when it deletes the row: one effect or none.
    pub fn release(
        &mut self,
        at_ms: u64,
        instance: InstanceId,
        generation: u64,
        generation_current: bool,
        unconditional_counters: bool,
    ) {
        if generation_current {
            let released = self.released.entry(instance).or_insert(generation);
            *released = (*released).max(generation);
        }
        let Some(row) = self.resources.get(&instance).copied() else { return };
        if generation_current {
            self.resources.remove(&instance);
        }
        // unconditional-counter-delete (seed 002): the counters drop whenever a row exists,
        // even when the generation check kept the row.
        if generation_current || unconditional_counters {
            self.add(at_ms, instance, row.project, row.usage, -1);
        }
    }

    fn add(&mut self, at_ms: u64, instance: InstanceId, project: ProjectId, usage: Usage, sign: i64) {
        let collections = [Collection::Fleet, Collection::Silo(silo_of(project)), Collection::Project(project)];
        for collection in collections {
            let counter = self.collections.entry(collection).or_default();
            counter.cpus += sign * usage.cpus;
            counter.ram_gib += sign * usage.ram_gib;
        }
        let after = self.collections[&Collection::Project(project)].cpus;
        let history = self.history.entry(project).or_default();
        if history.len() == COUNTER_HISTORY_MAX {
            history.remove(0);
        }
        history.push(CounterChange { at_ms, instance, cpus: sign * usage.cpus, project_cpus_after: after });
    }
}
