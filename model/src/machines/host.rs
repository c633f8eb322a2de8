//! A host: it runs its machines from its own disk (a host that boots starts every machine that
//! should run), answers the control plane's heartbeats and commands, serves the proxy's requests,
//! and lets its machines work: workers take messages from the queue, databases write to their
//! volumes.

use super::config::App;
use super::host_disk::{HostDisk, HostedMachine};
use super::ledger::Ledger;
use super::protocol::{EdgeRequest, EdgeRpc, HostReply, HostRequest, HostRpc};
use super::roster::Roster;
use super::settings::MachinesSettings;
use crate::ids::{HostId, MachineId};
use fleetsim_sim::{BoxFuture, Disk, Handler, NodeContext, NodeIndex, Sim};
use std::sync::Arc;

/// The `sometimes` property of an undead worker.
pub const UNDEAD_WORKER: &str = "an undead machine took a message from the queue";

/// What a host is given at boot; it outlives every crash.
#[derive(Clone)]
pub struct Host {
    /// Its number.
    pub id: HostId,
    /// Its disk.
    pub disk: Disk<HostDisk>,
    /// Every node of the run.
    pub roster: Arc<Roster>,
    /// The god's view of what happened.
    pub ledger: Ledger,
    /// Shape and timing.
    pub settings: MachinesSettings,
}

#[derive(Clone)]
struct Running {
    node: NodeContext,
    host: Host,
}

/// Adds `host` to `sim`.
pub fn boot(sim: &Sim, host: Host) -> NodeIndex {
    let name = host.id.to_string();
    sim.add_node(&name, move |node| {
        let host = host.clone();
        async move { start(node, host).await }
    })
}

async fn start(node: NodeContext, host: Host) {
    let running = Running { node: node.clone(), host };
    let running_machines = running.host.disk.read(HostDisk::running);
    if !running_machines.is_empty() {
        node.step(format!("booting {} machines", running_machines.len()));
    }
    let serving = running.clone();
    let handler: Handler<HostRequest, HostReply> =
        Arc::new(move |from, request| Box::pin(serve(serving.clone(), from, request)) as BoxFuture<HostReply>);
    let _endpoint = HostRpc::bind(&node, Some(handler)).await;
    work(running).await;
}

async fn serve(running: Running, _from: NodeIndex, request: HostRequest) -> HostReply {
    let Running { node, host } = &running;
    match request {
        HostRequest::Heartbeat => {
            HostReply::Alive { machines: host.disk.read(|disk| disk.machines.keys().copied().collect()) }
        }
        HostRequest::Place { machine, config, ip, volume } => {
            if host.disk.read(|disk| disk.destroyed.contains(&machine)) {
                return HostReply::AlreadyDestroyed;
            }
            host.disk.commit(node, |disk| {
                if let Some(volume) = volume {
                    disk.volumes.entry(volume).or_insert(0);
                }
                disk.machines.entry(machine).or_insert(HostedMachine { config, ip, volume, running: true });
            });
            host.disk.sync(node).await;
            HostReply::Done
        }
        HostRequest::SetRunning { machine, running: run } => {
            let present =
                host.disk.commit(node, |disk| disk.machines.get_mut(&machine).map(|hosted| hosted.running = run));
            host.disk.sync(node).await;
            present.map_or(HostReply::NoSuchMachine, |()| HostReply::Done)
        }
        HostRequest::Destroy { machine } => destroy(&running, machine).await,
        HostRequest::Update { machine, release } => {
            let present = host
                .disk
                .commit(node, |disk| disk.machines.get_mut(&machine).map(|hosted| hosted.config.release = release));
            host.disk.sync(node).await;
            present.map_or(HostReply::NoSuchMachine, |()| HostReply::Done)
        }
        HostRequest::GetConfig { machine } => host
            .disk
            .read(|disk| disk.machines.get(&machine).map(|hosted| hosted.config.clone()))
            .map_or(HostReply::NoSuchMachine, HostReply::Config),
        HostRequest::Snapshot { volume } => host
            .disk
            .read(|disk| disk.volumes.get(&volume).copied())
            .map_or(HostReply::NoSuchVolume, HostReply::DataVersion),
        HostRequest::RestoreVolume { volume, data_version } => {
            host.disk.commit(node, |disk| {
                disk.volumes.entry(volume).or_insert(data_version);
            });
            host.disk.sync(node).await;
            HostReply::Done
        }
        HostRequest::Serve { machine, route } => {
            let runs = host.disk.read(|disk| disk.machines.get(&machine).is_some_and(|hosted| hosted.running));
            if !runs {
                return HostReply::NoSuchMachine;
            }
            host.ledger.served(machine, route, node.sim().now_ms());
            node.sim().state_changed();
            HostReply::Served
        }
    }
}

/// Destroys `machine` here (idempotent), and records how long it ran undead if a tenant had been
/// told it was destroyed while its host was reachable.
async fn destroy(running: &Running, machine: MachineId) -> HostReply {
    let Running { node, host } = running;
    let was_running = host.disk.commit(node, |disk| {
        disk.destroyed.insert(machine);
        disk.machines.remove(&machine).is_some_and(|hosted| hosted.running)
    });
    host.disk.sync(node).await;
    let now_ms = node.sim().now_ms();
    let acknowledged = host.ledger.destroy_of(machine);
    if let (true, Some(destroy), Some(reachable_ms)) = (was_running, acknowledged, host.ledger.reachable_since(host.id))
    {
        let undead_ms = now_ms.saturating_sub(destroy.at_ms.max(reachable_ms));
        node.sim().measure(super::UNDEAD_MEASUREMENT, undead_ms);
        node.sim().sometimes(super::UNDEAD_RETURNED, true);
    }
    HostReply::Done
}

/// The machines' own work, every `work_interval_ms`: databases write to their volumes, workers
/// take a message from the queue.
async fn work(running: Running) {
    let Running { node, host } = &running;
    let queue = EdgeRpc::bind_client(node).await;
    loop {
        node.sleep_ms(host.settings.work_interval_ms).await;
        let machines: Vec<(MachineId, App)> = host.disk.read(|disk| {
            disk.machines
                .iter()
                .filter(|(_, hosted)| hosted.running)
                .map(|(id, hosted)| (*id, hosted.config.app))
                .collect()
        });
        let writes = machines.iter().filter(|(_, app)| app.has_volume()).count();
        if writes > 0 {
            host.disk.commit(node, |disk| {
                let volumes: Vec<_> =
                    disk.machines.values().filter(|hosted| hosted.running).filter_map(|hosted| hosted.volume).collect();
                for volume in volumes {
                    *disk.volumes.entry(volume).or_insert(0) += 1;
                }
            });
        }
        for (machine, _) in machines.iter().filter(|(_, app)| app.takes_queue_work()) {
            let request = EdgeRequest::Take { machine: *machine };
            if queue.call(host.roster.queue, request, host.settings.host_call_timeout_ms).await.is_ok() {
                node.sim().sometimes(UNDEAD_WORKER, host.ledger.destroy_of(*machine).is_some());
            }
        }
    }
}
