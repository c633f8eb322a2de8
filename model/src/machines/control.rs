//! The control plane's node: the machine API, one heartbeat loop per host that judges its health
//! and destroys `destroying` machines as soon as their host answers, the snapshot loop, and the
//! deploys (resumed from the catalog after a restart).

use super::catalog::{Catalog, DeployState, HostStatus, MachineState};
use super::ledger::Ledger;
use super::protocol::{ControlReply, ControlRequest, ControlRpc, HostReply, HostRequest, HostRpc};
use super::roster::Roster;
use super::settings::MachinesSettings;
use super::{api, deploy, snapshots};
use crate::ids::{HostId, MachineId};
use fleetsim_sim::{BoxFuture, Disk, Handler, NodeContext, NodeIndex, Sim};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

/// The fault point between a host's confirmation of a destroy and the catalog's record of it.
pub const BEFORE_FORGET: &str = "machines.destroy.before_forget";

/// What the control plane is given at boot; it outlives every crash.
#[derive(Clone)]
pub struct Control {
    /// Its catalog, on disk.
    pub catalog: Disk<Catalog>,
    /// Every node of the run.
    pub roster: Arc<Roster>,
    /// The god's view of what happened.
    pub ledger: Ledger,
    /// Shape and timing.
    pub settings: MachinesSettings,
}

/// One incarnation of the control plane: what it knows until it crashes.
#[derive(Clone)]
pub struct Running {
    /// The node's context.
    pub node: NodeContext,
    /// What it was given at boot.
    pub control: Control,
    destroying: Arc<Mutex<BTreeSet<MachineId>>>,
    hosts: HostRpc,
}

impl Running {
    /// Writes the catalog and waits until the write is durable.
    pub async fn commit<R>(&self, write: impl FnOnce(&mut Catalog) -> R) -> R {
        let result = self.control.catalog.commit(&self.node, write);
        self.control.catalog.sync(&self.node).await;
        result
    }

    /// Reads the catalog.
    pub fn read<R>(&self, read: impl FnOnce(&Catalog) -> R) -> R {
        self.control.catalog.read(read)
    }

    /// Calls `host`, with the timeout of host calls.
    pub async fn call_host(&self, host: HostId, request: HostRequest) -> Option<HostReply> {
        let timeout_ms = self.control.settings.host_call_timeout_ms;
        self.hosts.call(self.control.roster.host(host), request, timeout_ms).await.ok()
    }

    fn destroying_lock(&self) -> MutexGuard<'_, BTreeSet<MachineId>> {
        self.destroying.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Destroys `machine` on its host, then forgets it (state `destroyed`, address free); one
    /// attempt at a time per machine. Whether the host confirmed.
    pub async fn destroy_on_host(&self, machine: MachineId, host: HostId) -> bool {
        if !self.destroying_lock().insert(machine) {
            return false;
        }
        let confirmed = self.call_host(host, HostRequest::Destroy { machine }).await == Some(HostReply::Done);
        let forgotten = confirmed && self.node.fault_point(BEFORE_FORGET).await.is_ok();
        if forgotten {
            self.commit(|catalog| catalog.forget(machine)).await;
        }
        self.destroying_lock().remove(&machine);
        forgotten
    }
}

/// Adds the control plane to `sim`.
pub fn boot(sim: &Sim, control: Control) -> NodeIndex {
    sim.add_node("control", move |node| {
        let control = control.clone();
        async move { start(node, control).await }
    })
}

async fn start(node: NodeContext, control: Control) {
    let hosts = HostRpc::bind_client(&node).await;
    let running = Running { node: node.clone(), control, destroying: Arc::default(), hosts };
    // A control plane that (re)starts gives every host a full heartbeat timeout to answer, and
    // gives up on placements it did not see through: those machines are destroyed where they
    // landed.
    let now_ms = node.now_ms();
    running
        .commit(|catalog| {
            catalog.hosts.values_mut().for_each(|health| health.answered_ms = now_ms);
            let unplaced = catalog.machines.values_mut().filter(|machine| machine.state == MachineState::Created);
            unplaced.for_each(|machine| machine.state = MachineState::Destroying);
        })
        .await;
    let serving = running.clone();
    let handler: Handler<ControlRequest, ControlReply> =
        Arc::new(move |_, request| Box::pin(api::serve(serving.clone(), request)) as BoxFuture<ControlReply>);
    let _endpoint = ControlRpc::bind(&node, Some(handler)).await;
    let hosts: Vec<HostId> = running.read(|catalog| catalog.hosts.keys().copied().collect());
    for host in hosts {
        madsim::task::spawn(heartbeats(running.clone(), host));
    }
    let deploys: Vec<_> = running.read(|catalog| {
        catalog.deploys.iter().filter(|(_, deploy)| deploy.state == DeployState::Running).map(|(id, _)| *id).collect()
    });
    for id in deploys {
        madsim::task::spawn(deploy::run(running.clone(), id));
    }
    snapshots::run(running).await;
}

/// Sends `host` a heartbeat every `heartbeat_interval_ms` and judges its health from the answers.
async fn heartbeats(running: Running, host: HostId) {
    let settings = running.control.settings;
    loop {
        running.node.sleep_ms(settings.heartbeat_interval_ms).await;
        match running.call_host(host, HostRequest::Heartbeat).await {
            Some(HostReply::Alive { machines }) => answered(&running, host, &machines).await,
            _ => missed(&running, host).await,
        }
    }
}

/// `host` answered with `machines` on it: it is reachable, and every `destroying` machine it
/// still holds is destroyed now (those it no longer holds are confirmed gone the same way). A
/// change of the host's status is made durable before anything acts on it, so a crash never
/// leaves the control plane believing what it no longer has on disk.
async fn answered(running: &Running, host: HostId, machines: &[MachineId]) {
    let now_ms = running.node.now_ms();
    let returned = running.control.catalog.commit(&running.node, |catalog| {
        let health = catalog.hosts.get_mut(&host).expect("every host has a health record");
        health.answered_ms = now_ms;
        let returned = health.status == HostStatus::Unreachable;
        health.status = HostStatus::Ok;
        returned
    });
    if returned {
        running.control.catalog.sync(&running.node).await;
        running.node.step(format!("{host} answers again"));
        running.control.ledger.host_reachable(host, Some(running.node.sim().now_ms()));
    }
    let destroying: Vec<MachineId> = running.read(|catalog| {
        let on_host = catalog.machines.iter().filter(|(_, machine)| machine.host == host);
        on_host.filter(|(_, machine)| machine.state == MachineState::Destroying).map(|(id, _)| *id).collect()
    });
    if returned {
        let undead = destroying.iter().any(|machine| machines.contains(machine));
        running.node.sim().sometimes(super::HOST_RETURNED_WITH_DESTROYING, undead);
    }
    for machine in destroying {
        let running = running.clone();
        madsim::task::spawn(async move {
            running.destroy_on_host(machine, host).await;
        });
    }
}

/// `host` missed a heartbeat: past `unreachable_after_ms` without an answer it is unreachable.
async fn missed(running: &Running, host: HostId) {
    let now_ms = running.node.now_ms();
    let after_ms = running.control.settings.unreachable_after_ms;
    let lost = running.read(|catalog| {
        catalog.hosts.get(&host).is_some_and(|health| {
            health.status == HostStatus::Ok && now_ms.saturating_sub(health.answered_ms) >= after_ms
        })
    });
    if lost {
        running.control.catalog.commit(&running.node, |catalog| {
            let health = catalog.hosts.get_mut(&host).expect("every host has a health record");
            (health.status, health.unreachable_since_ms) = (HostStatus::Unreachable, now_ms);
        });
        running.control.catalog.sync(&running.node).await;
        running.node.step(format!("{host} is unreachable"));
        running.control.ledger.host_reachable(host, None);
    }
}
