//! The instance table: each start runs the instance in a new VMM on some host, and every
//! change of VMM advances the instance's generation, so stale reports can be told apart.

use crate::ids::{InstanceId, ProjectId, VmmId};
use crate::store::provisioning::Usage;
use fleetsim_sim::Table;
use serde::{Deserialize, Serialize};

/// Where an instance is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InstanceState {
    /// No VMM.
    Stopped,
    /// A VMM was chosen; the start saga runs.
    Starting,
    /// Its VMM reported running.
    Running,
}

/// A row of the instance table.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InstanceRow {
    /// The instance.
    pub instance: InstanceId,
    /// Its project.
    pub project: ProjectId,
    /// What it consumes while running.
    pub usage: Usage,
    /// Advanced at every change of VMM.
    pub generation: u64,
    /// The current VMM and its host, if any.
    pub vmm: Option<(VmmId, u32)>,
    /// Its state.
    pub state: InstanceState,
}

/// The instance table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instances {
    /// Instances by id.
    pub rows: Table<InstanceId, InstanceRow>,
    /// The last VMM id handed out.
    pub vmm_last: u32,
}

impl Instances {
    /// Creates an instance unless it exists, stopped at generation 1.
    pub fn create(&mut self, instance: InstanceId, project: ProjectId, usage: Usage) {
        let row = InstanceRow { instance, project, usage, generation: 1, vmm: None, state: InstanceState::Stopped };
        if !self.rows.contains_key(&instance) {
            self.rows.insert(instance, row);
        }
    }

    /// Gives a stopped instance a new VMM on `host` (advancing the generation), or returns
    /// the VMM it has: resuming a start is idempotent.
    pub fn set_vmm(&mut self, instance: InstanceId, host: u32) -> Option<InstanceRow> {
        let row = self.rows.get_mut(&instance)?;
        if row.vmm.is_none() {
            self.vmm_last += 1;
            row.vmm = Some((VmmId(self.vmm_last), host));
            row.generation += 1;
            row.state = InstanceState::Starting;
        }
        Some(row.clone())
    }

    /// Clears `vmm` from the instance if it is the current one (advancing the generation).
    pub fn clear_vmm(&mut self, instance: InstanceId, vmm: VmmId) -> bool {
        match self.rows.get_mut(&instance) {
            Some(row) if row.vmm.map(|(current, _)| current) == Some(vmm) => {
                row.vmm = None;
                row.generation += 1;
                row.state = InstanceState::Stopped;
                true
            }
            _ => false,
        }
    }

    /// Marks the instance running if `vmm` is still its VMM.
    pub fn mark_running(&mut self, instance: InstanceId, vmm: VmmId) -> bool {
        match self.rows.get_mut(&instance) {
            Some(row) if row.vmm.map(|(current, _)| current) == Some(vmm) => {
                row.state = InstanceState::Running;
                true
            }
            _ => false,
        }
    }

    /// Whether `generation` is the instance's current one.
    pub fn generation_current(&self, instance: InstanceId, generation: u64) -> bool {
        self.rows.get(&instance).is_some_and(|row| row.generation == generation)
    }
}
