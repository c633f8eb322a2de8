//! The control plane's machine API, as tenants and the proxy call it.

use super::catalog::{Catalog, DeployRecord, DeployState, HostStatus, MachineRecord, MachineState, VolumeRecord};
use super::config::{App, MachineConfig};
use super::control::Running;
use super::protocol::{ControlReply, ControlRequest, HostReply, HostRequest, MachineSummary, MachineView};
use crate::bugs::DESTROY_FORGETS_UNREACHABLE;
use crate::ids::{DeployId, HostId, MachineId, VolumeId};
use rand::Rng;

/// The fault point between a new machine's record and its placement on a host.
pub const BEFORE_PLACE: &str = "machines.create.before_place";

/// Serves one request.
pub async fn serve(running: Running, request: ControlRequest) -> ControlReply {
    match request {
        ControlRequest::List { app } => list(&running, app),
        ControlRequest::Get { machine } => get(&running, machine).await,
        ControlRequest::Create { app, volume } => create(&running, app, volume, None).await,
        ControlRequest::Clone { source } => clone(&running, source).await,
        ControlRequest::SetRunning { machine, running: run } => set_running(&running, machine, run).await,
        ControlRequest::Destroy { machine, force } => destroy(&running, machine, force).await,
        ControlRequest::RestoreVolume { volume } => restore_volume(&running, volume).await,
        ControlRequest::Deploy { app } => deploy(&running, app).await,
        ControlRequest::Route { app } => route(&running, app),
    }
}

fn refused(why: impl Into<String>) -> ControlReply {
    ControlReply::Refused(why.into())
}

fn summary(catalog: &Catalog, id: MachineId, machine: &MachineRecord) -> MachineSummary {
    let host_status = catalog.host_status(machine.host);
    MachineSummary { id, state: machine.state, host: machine.host, host_status, volume: machine.volume }
}

fn list(running: &Running, app: App) -> ControlReply {
    ControlReply::Machines(running.read(|catalog| {
        let alive = catalog.alive_machines(app);
        alive.into_iter().map(|id| summary(catalog, id, &catalog.machines[&id])).collect()
    }))
}

/// `GetMachine`: the full configuration from the machine's host when it answers; otherwise
/// `config: null` and the scrubbed copy under `incomplete_config`.
async fn get(running: &Running, machine: MachineId) -> ControlReply {
    let Some((summary, incomplete)) = running.read(|catalog| {
        catalog.machines.get(&machine).map(|record| (summary(catalog, machine, record), record.incomplete.clone()))
    }) else {
        return refused(format!("no machine {machine}"));
    };
    let config = match summary.host_status {
        HostStatus::Ok => match running.call_host(summary.host, HostRequest::GetConfig { machine }).await {
            Some(HostReply::Config(config)) => Some(config),
            _ => None,
        },
        HostStatus::Unreachable => None,
    };
    running.node.sim().sometimes(super::INCOMPLETE_FOR_UNREACHABLE, summary.host_status == HostStatus::Unreachable);
    let incomplete_config = if config.is_some() { None } else { Some(incomplete) };
    let MachineSummary { id, state, host, host_status, volume } = summary;
    ControlReply::Machine(Box::new(MachineView { id, state, host, host_status, config, incomplete_config, volume }))
}

/// Creates a machine of `app` (with `config`, for a clone) on a reachable host: the volume's
/// host if `volume` is given, else the emptiest; records it, then places it. A placement that
/// fails leaves the machine `destroying`: it may have landed, and is destroyed where it did.
pub async fn create(
    running: &Running,
    app: App,
    volume: Option<VolumeId>,
    config: Option<MachineConfig>,
) -> ControlReply {
    let settings = running.control.settings;
    let chosen = running.read(|catalog| -> Result<_, String> {
        if catalog.machines.len() >= settings.machines_max {
            return Err(format!("the platform holds {} machines, its most", settings.machines_max));
        }
        let host = match volume {
            Some(volume) => {
                let record = catalog.volumes.get(&volume).ok_or(format!("no volume {volume}"))?;
                if record.machine.is_some() {
                    return Err(format!("{volume} is attached"));
                }
                if catalog.host_status(record.host) != HostStatus::Ok {
                    return Err(format!("{volume}'s host {} is unreachable", record.host));
                }
                record.host
            }
            None => catalog.emptiest_reachable_host().ok_or("no host is reachable")?,
        };
        let ip = catalog.free_ip(settings.ip_pool_size).ok_or("the address pool is exhausted")?;
        Ok((host, ip, catalog.releases.get(&app).copied().unwrap_or(1)))
    });
    let (host, ip, release) = match chosen {
        Ok(chosen) => chosen,
        Err(why) => return refused(why),
    };
    let (machine, volume, config) = running
        .commit(|catalog| {
            let machine = MachineId(catalog.next_id());
            let volume = volume.or_else(|| app.has_volume().then(|| VolumeId(catalog.next_id())));
            if let Some(volume) = volume {
                let record = VolumeRecord { host, machine: Some(machine), from_snapshot: None };
                catalog.volumes.entry(volume).or_insert(record).machine = Some(machine);
            }
            let config = config_for(app, release, machine, config.as_ref());
            let record =
                MachineRecord { app, host, state: MachineState::Created, ip, incomplete: config.scrubbed(), volume };
            catalog.machines.insert(machine, record);
            catalog.ips.insert(ip, machine);
            (machine, volume, config)
        })
        .await;
    running.control.ledger.created(machine, config.clone());
    let placed = running.node.fault_point(BEFORE_PLACE).await.is_ok()
        && running.call_host(host, HostRequest::Place { machine, config, ip, volume }).await == Some(HostReply::Done);
    let state = if placed { MachineState::Started } else { MachineState::Destroying };
    running.commit(|catalog| catalog.machines.get_mut(&machine).map(|record| record.state = state)).await;
    if placed {
        ControlReply::Created(machine)
    } else {
        refused(format!("placing {machine} on {host} failed; it is destroyed wherever it landed"))
    }
}

/// A new machine's configuration: a clone's source configuration, or a fresh one.
fn config_for(app: App, release: u32, machine: MachineId, source: Option<&MachineConfig>) -> MachineConfig {
    match source {
        Some(source) => MachineConfig { release, ..source.clone() },
        None => MachineConfig { app, release, memory_mb: 256, secret: format!("secret-of-{machine}") },
    }
}

/// Clones `source` with its full configuration, which only its host has: cloning a machine
/// whose host is unreachable fails (clone a sibling instead).
async fn clone(running: &Running, source: MachineId) -> ControlReply {
    let Some((app, host, alive)) = running
        .read(|catalog| catalog.machines.get(&source).map(|record| (record.app, record.host, record.state.is_alive())))
    else {
        return refused(format!("no machine {source}"));
    };
    if !alive {
        return refused(format!("{source} is destroyed"));
    }
    let unreachable = running.read(|catalog| catalog.host_status(host) == HostStatus::Unreachable);
    running.node.sim().sometimes(super::CLONE_OF_DEAD_REFUSED, unreachable);
    if unreachable {
        return refused(format!("cannot clone {source}: its host {host} is unreachable and holds its only full configuration; clone a sibling"));
    }
    match running.call_host(host, HostRequest::GetConfig { machine: source }).await {
        Some(HostReply::Config(config)) => create(running, app, None, Some(config)).await,
        _ => refused(format!("cannot clone {source}: {host} did not give its configuration")),
    }
}

async fn set_running(running: &Running, machine: MachineId, run: bool) -> ControlReply {
    let Some(record) = running.read(|catalog| catalog.machines.get(&machine).cloned()) else {
        return refused(format!("no machine {machine}"));
    };
    if !matches!(record.state, MachineState::Started | MachineState::Stopped) {
        return refused(format!("{machine} is {}", record.state));
    }
    if running.read(|catalog| catalog.host_status(record.host)) == HostStatus::Unreachable {
        return refused(format!("{machine}'s host {} is unreachable", record.host));
    }
    match running.call_host(record.host, HostRequest::SetRunning { machine, running: run }).await {
        Some(HostReply::Done) => {
            let state = if run { MachineState::Started } else { MachineState::Stopped };
            let set = |catalog: &mut Catalog| {
                catalog
                    .machines
                    .get_mut(&machine)
                    .filter(|record| record.state.is_alive())
                    .map(|record| record.state = state)
            };
            running.commit(set).await;
            ControlReply::Done
        }
        _ => refused(format!("{} did not answer for {machine}", record.host)),
    }
}

/// `DestroyMachine`. On a reachable host: `destroying`, then destroyed once the host confirms.
/// On an unreachable host: refused while the loss is recent, then only with `force`.
async fn destroy(running: &Running, machine: MachineId, force: bool) -> ControlReply {
    let Some(record) = running.read(|catalog| catalog.machines.get(&machine).cloned()) else {
        return refused(format!("no machine {machine}"));
    };
    match record.state {
        MachineState::Destroyed | MachineState::Destroying => return ControlReply::Destroy(record.state),
        MachineState::Created => return refused(format!("{machine} is still being created")),
        MachineState::Started | MachineState::Stopped => {}
    }
    let now_ms = running.node.now_ms();
    let health = running.read(|catalog| catalog.hosts[&record.host]);
    if health.status == HostStatus::Unreachable {
        let lost_ms = now_ms.saturating_sub(health.unreachable_since_ms);
        let recent = lost_ms < running.control.settings.recent_loss_ms;
        running.node.sim().sometimes(super::DESTROY_REFUSED_RECENT, recent);
        if recent {
            return refused(format!("{} lost contact {lost_ms} ms ago: too recent to tell; retry later", record.host));
        }
        if !force {
            return refused(format!("{} is unreachable: destroy {machine} with force", record.host));
        }
        running.node.sim().sometimes(super::FORCE_DESTROY_ACCEPTED, true);
        if running.node.sim().bug(DESTROY_FORGETS_UNREACHABLE) {
            // destroy-forgets-unreachable: the machine is marked destroyed and its address freed
            // at once; the control plane forgets it, and nothing destroys it when the host returns.
            running.commit(|catalog| catalog.forget(machine)).await;
            return ControlReply::Destroy(MachineState::Destroyed);
        }
        // Fixed: `destroying`, address kept; the heartbeat that finds the host back destroys it.
        running.commit(|catalog| mark_destroying(catalog, machine)).await;
        return ControlReply::Destroy(MachineState::Destroying);
    }
    running.commit(|catalog| mark_destroying(catalog, machine)).await;
    if running.destroy_on_host(machine, record.host).await {
        ControlReply::Destroy(MachineState::Destroyed)
    } else {
        ControlReply::Destroy(MachineState::Destroying)
    }
}

/// Marks `machine` `destroying` if it is alive.
pub fn mark_destroying(catalog: &mut Catalog, machine: MachineId) {
    if let Some(record) = catalog.machines.get_mut(&machine).filter(|record| record.state.is_alive()) {
        record.state = MachineState::Destroying;
    }
}

/// Creates a volume from `volume`'s latest snapshot on the emptiest reachable host.
async fn restore_volume(running: &Running, volume: VolumeId) -> ControlReply {
    let chosen = running.read(|catalog| -> Result<(_, HostId), String> {
        let snapshot = catalog.latest_snapshot(volume).ok_or(format!("{volume} has no snapshot"))?;
        Ok((snapshot, catalog.emptiest_reachable_host().ok_or("no host is reachable")?))
    });
    let (snapshot, host) = match chosen {
        Ok(chosen) => chosen,
        Err(why) => return refused(why),
    };
    let restored = running
        .commit(|catalog| {
            let restored = VolumeId(catalog.next_id());
            catalog.volumes.insert(restored, VolumeRecord { host, machine: None, from_snapshot: Some(snapshot.id) });
            restored
        })
        .await;
    let request = HostRequest::RestoreVolume { volume: restored, data_version: snapshot.data_version };
    if running.call_host(host, request).await != Some(HostReply::Done) {
        running.commit(|catalog| catalog.volumes.remove(&restored)).await;
        return refused(format!("{host} did not create {restored}"));
    }
    running.node.sim().sometimes(super::VOLUME_RESTORED, true);
    ControlReply::Restored { volume: restored, snapshot: snapshot.id }
}

/// Starts a rolling deploy of `app`'s next release.
async fn deploy(running: &Running, app: App) -> ControlReply {
    if running.read(|catalog| catalog.deploying(app)) {
        return refused(format!("a deploy of {app} is running"));
    }
    let id = running
        .commit(|catalog| {
            let release = catalog.releases.get(&app).copied().unwrap_or(1) + 1;
            catalog.releases.insert(app, release);
            let id = DeployId(catalog.next_id());
            catalog.deploys.insert(id, DeployRecord { app, release, state: DeployState::Running });
            id
        })
        .await;
    madsim::task::spawn(super::deploy::run(running.clone(), id));
    ControlReply::Deploying(id)
}

/// Where the proxy sends a request for `app`: a started machine on a reachable host.
fn route(running: &Running, app: App) -> ControlReply {
    let candidates: Vec<(MachineId, HostId)> = running.read(|catalog| {
        let started =
            catalog.machines.iter().filter(|(_, record)| record.app == app && record.state == MachineState::Started);
        started
            .filter(|(_, record)| catalog.host_status(record.host) == HostStatus::Ok)
            .map(|(id, record)| (*id, record.host))
            .collect()
    });
    if candidates.is_empty() {
        return refused(format!("no started machine of {app} on a reachable host"));
    }
    let (machine, host) = candidates[running.node.sim().model_rng(|rng| rng.gen_range(0..candidates.len()))];
    let sim = running.node.sim();
    let route = sim.next_call_id();
    running.control.ledger.routed(route, machine, sim.now_ms());
    ControlReply::Route { machine, host, route }
}
