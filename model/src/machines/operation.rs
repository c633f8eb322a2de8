//! What a tenant does to the platform, as the plan stores it. Machines are picked by position
//! among the app's alive machines when the operation runs, so a plan never names a machine that
//! a different history would not have created.

use super::config::App;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One tenant operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum MachinesOperation {
    /// A user's request to an app, through the proxy.
    Request {
        /// The app.
        app: App,
    },
    /// `GetMachine` of one of the app's machines.
    Get {
        /// The app.
        app: App,
        /// Which alive machine, by position (wrapping round).
        pick: u32,
    },
    /// Scale up by one machine.
    Create {
        /// The app.
        app: App,
    },
    /// Clone one of the app's machines.
    Clone {
        /// The app.
        app: App,
        /// Which alive machine, by position (wrapping round).
        pick: u32,
    },
    /// Start or stop one of the app's machines.
    SetRunning {
        /// The app.
        app: App,
        /// Which alive machine, by position (wrapping round).
        pick: u32,
        /// Start it (or stop it).
        running: bool,
    },
    /// `DestroyMachine` of one of the app's machines.
    Destroy {
        /// The app.
        app: App,
        /// Which alive machine, by position (wrapping round).
        pick: u32,
        /// With `force`.
        force: bool,
    },
    /// The write-up's recovery of a machine on an unreachable host: restore its volume from the
    /// latest snapshot (if it has one), force-destroy it, and scale back up with the restored volume.
    Recover {
        /// The app.
        app: App,
        /// Which machine on an unreachable host, by position (wrapping round).
        pick: u32,
    },
    /// Deploy the app's next release.
    Deploy {
        /// The app.
        app: App,
    },
}

/// How the trace and the pages tell an operation: `destroy db #1 with force`.
impl fmt::Display for MachinesOperation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MachinesOperation::Request { app } => write!(formatter, "request to {app}"),
            MachinesOperation::Get { app, pick } => write!(formatter, "get {app} #{pick}"),
            MachinesOperation::Create { app } => write!(formatter, "create a {app} machine"),
            MachinesOperation::Clone { app, pick } => write!(formatter, "clone {app} #{pick}"),
            MachinesOperation::SetRunning { app, pick, running: true } => write!(formatter, "start {app} #{pick}"),
            MachinesOperation::SetRunning { app, pick, running: false } => write!(formatter, "stop {app} #{pick}"),
            MachinesOperation::Destroy { app, pick, force: true } => {
                write!(formatter, "destroy {app} #{pick} with force")
            }
            MachinesOperation::Destroy { app, pick, force: false } => write!(formatter, "destroy {app} #{pick}"),
            MachinesOperation::Recover { app, pick } => {
                write!(formatter, "recover {app} #{pick} from its unreachable host")
            }
            MachinesOperation::Deploy { app } => write!(formatter, "deploy {app}"),
        }
    }
}
