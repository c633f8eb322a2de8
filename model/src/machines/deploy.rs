//! Rolling deploys: every alive machine of the app is restarted on the new release, one at a
//! time. A machine on an unreachable host is replaced on a reachable one when it has no volume;
//! one with a volume fails the deploy with an error naming the machine and its volume. A deploy
//! never waits forever.

use super::catalog::{DeployState, HostStatus, MachineState};
use super::control::Running;
use super::protocol::{ControlReply, HostReply, HostRequest};
use crate::bugs::DEPLOY_BLOCKED_BY_DEAD_HOST;
use crate::ids::{DeployId, MachineId};

/// The fault point before each machine's update.
pub const BEFORE_UPDATE: &str = "machines.deploy.before_update";

/// Drives deploy `id` to its end.
pub async fn run(running: Running, id: DeployId) {
    let Some(deploy) = running.read(|catalog| catalog.deploys.get(&id).cloned()) else { return };
    let machines: Vec<MachineId> = running.read(|catalog| catalog.alive_machines(deploy.app));
    let mut outcome = DeployState::Done;
    for machine in machines {
        if let Err(why) = update(&running, machine, deploy.release).await {
            outcome = DeployState::Failed(why);
            break;
        }
    }
    running.node.sim().sometimes(
        super::DEPLOY_FAILED_ON_VOLUME,
        matches!(&outcome, DeployState::Failed(why) if why.contains("vol-")),
    );
    running.node.step(format!("{id} of {} to release {}: {outcome:?}", deploy.app, deploy.release));
    running.commit(|catalog| catalog.deploys.get_mut(&id).map(|deploy| deploy.state = outcome)).await;
}

/// Brings `machine` to `release`, or says why it cannot.
async fn update(running: &Running, machine: MachineId, release: u32) -> Result<(), String> {
    let settings = running.control.settings;
    let mut attempts = 0;
    loop {
        let Some(record) = running.read(|catalog| catalog.machines.get(&machine).cloned()) else { return Ok(()) };
        if !matches!(record.state, MachineState::Started | MachineState::Stopped)
            || record.incomplete.release >= release
        {
            return Ok(());
        }
        let host = record.host;
        if running.read(|catalog| catalog.host_status(host)) == HostStatus::Unreachable {
            if running.node.sim().bug(DEPLOY_BLOCKED_BY_DEAD_HOST) {
                // deploy-blocked-by-dead-host: the deploy waits for every machine, a dead host's too.
                running.node.sleep_ms(settings.deploy_retry_ms).await;
                continue;
            }
            // Fixed: a machine with a volume fails the deploy, naming both; one without is replaced.
            if let Some(volume) = record.volume {
                return Err(format!(
                    "{machine} on unreachable {host} has volume {volume}: restore the volume from a snapshot or destroy the machine"
                ));
            }
            return replace(running, machine, record.app).await;
        }
        if running.node.fault_point(BEFORE_UPDATE).await.is_ok() {
            match running.call_host(host, HostRequest::Update { machine, release }).await {
                Some(HostReply::Done) => {
                    let raise = |catalog: &mut super::catalog::Catalog| {
                        catalog.machines.get_mut(&machine).map(|record| record.incomplete.release = release)
                    };
                    running.commit(raise).await;
                    return Ok(());
                }
                Some(HostReply::NoSuchMachine) => return Err(format!("{machine} is missing from {host}")),
                _ => {}
            }
        }
        attempts += 1;
        if attempts >= settings.deploy_attempts_max {
            return Err(format!("{machine} on {host} did not take release {release} in {attempts} attempts"));
        }
        running.node.sleep_ms(settings.deploy_retry_ms).await;
    }
}

/// Replaces `machine` (on an unreachable host, without a volume) with a new one of `app` on a
/// reachable host, then marks it `destroying`.
async fn replace(running: &Running, machine: MachineId, app: super::config::App) -> Result<(), String> {
    match super::api::create(running, app, None, None).await {
        ControlReply::Created(replacement) => {
            running.commit(|catalog| super::api::mark_destroying(catalog, machine)).await;
            running.node.step(format!("{machine} replaced by {replacement}"));
            running.node.sim().sometimes(super::DEPLOY_REPLACED, true);
            Ok(())
        }
        ControlReply::Refused(why) => {
            Err(format!("{machine} is on an unreachable host and could not be replaced: {why}"))
        }
        other => Err(format!("{machine} could not be replaced: {other:?}")),
    }
}
