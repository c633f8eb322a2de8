//! Apps and machine configurations: the full configuration lives only on the host a machine
//! was created on; the control plane keeps a scrubbed, incomplete copy (no secrets).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The apps of the platform's tenants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum App {
    /// A web service behind the proxy; stateless.
    Web,
    /// A database: each machine has a volume.
    Db,
    /// Queue workers: stateless, they take messages from the queue.
    Worker,
}

impl App {
    /// Every app, in a stable order.
    pub const ALL: [App; 3] = [App::Web, App::Db, App::Worker];

    /// Whether each of the app's machines has a volume.
    pub fn has_volume(self) -> bool {
        self == App::Db
    }

    /// Whether the app's machines take messages from the queue.
    pub fn takes_queue_work(self) -> bool {
        self == App::Worker
    }

    /// The app's name.
    pub fn name(self) -> &'static str {
        match self {
            App::Web => "web",
            App::Db => "db",
            App::Worker => "worker",
        }
    }
}

impl fmt::Display for App {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// A machine's configuration as its creator sent it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MachineConfig {
    /// The app it belongs to.
    pub app: App,
    /// The image release it runs (deploys raise it).
    pub release: u32,
    /// Its memory.
    pub memory_mb: u32,
    /// Its environment's secret, which never leaves the host.
    pub secret: String,
}

/// The scrubbed copy of a configuration the control plane keeps and distributes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IncompleteConfig {
    /// The app it belongs to.
    pub app: App,
    /// The image release, as the control plane last knew it.
    pub release: u32,
    /// Its memory.
    pub memory_mb: u32,
}

impl MachineConfig {
    /// The scrubbed copy: everything but the secret.
    pub fn scrubbed(&self) -> IncompleteConfig {
        IncompleteConfig { app: self.app, release: self.release, memory_mb: self.memory_mb }
    }
}
