//! The tenants' client: it runs each workload operation against the machine API and the proxy,
//! records it in the run's history, and tells the ledger what the platform acknowledged.

use super::catalog::HostStatus;
use super::config::App;
use super::ledger::Ledger;
use super::operation::MachinesOperation;
use super::protocol::{ControlReply, ControlRequest, ControlRpc, EdgeReply, EdgeRequest, EdgeRpc, MachineSummary};
use super::roster::Roster;
use fleetsim_sim::{BoxFuture, HistoryType, NodeContext, Sim};
use std::sync::Arc;

/// How long a tenant waits for one API answer (a create waits for its placement).
const API_TIMEOUT_MS: u64 = 2_000;

struct Client {
    node: NodeContext,
    api: ControlRpc,
    roster: Arc<Roster>,
    ledger: Ledger,
}

impl Client {
    async fn call(&self, request: ControlRequest) -> Result<ControlReply, String> {
        match self.api.call(self.roster.control, request, API_TIMEOUT_MS).await {
            Ok(ControlReply::Refused(why)) => Err(why),
            Ok(reply) => Ok(reply),
            Err(_) => Err("the machine API did not answer".to_string()),
        }
    }

    /// The app's alive machines, and the one at `pick` among those `keep` accepts.
    async fn pick(
        &self,
        app: App,
        pick: u32,
        keep: impl Fn(&MachineSummary) -> bool,
    ) -> Result<Option<MachineSummary>, String> {
        let Ok(ControlReply::Machines(machines)) = self.call(ControlRequest::List { app }).await else {
            return Err(format!("could not list {app}"));
        };
        let kept: Vec<MachineSummary> = machines.into_iter().filter(|machine| keep(machine)).collect();
        Ok((!kept.is_empty()).then(|| kept[pick as usize % kept.len()].clone()))
    }

    async fn destroy(&self, machine: &MachineSummary, force: bool) -> Result<String, String> {
        match self.call(ControlRequest::Destroy { machine: machine.id, force }).await? {
            ControlReply::Destroy(state) => {
                self.ledger.destroy_acknowledged(machine.id, machine.host, self.node.sim().now_ms());
                Ok(format!("{} {state}", machine.id))
            }
            other => Err(format!("unexpected answer {other:?}")),
        }
    }
}

/// Issues `operation` from the tenant node.
pub fn issue(sim: Sim, roster: Arc<Roster>, ledger: Ledger, operation: MachinesOperation) -> BoxFuture<()> {
    let node = NodeContext::new(sim, roster.tenant);
    Box::pin(async move {
        let history = node.sim().invoke(node.index(), operation.to_string());
        let api = ControlRpc::bind_client(&node).await;
        let client = Client { node: node.clone(), api, roster, ledger };
        let result = run(&client, &operation).await;
        let (kind, detail) = match result {
            Ok(done) => (HistoryType::Ok, done),
            Err(why) if why.contains("did not answer") => (HistoryType::Info, why),
            Err(why) => (HistoryType::Fail, why),
        };
        node.sim().complete(history, kind, node.index(), detail);
    })
}

async fn run(client: &Client, operation: &MachinesOperation) -> Result<String, String> {
    let any = |_: &MachineSummary| true;
    match *operation {
        MachinesOperation::Request { app } => {
            let proxy = EdgeRpc::bind_client(&client.node).await;
            match proxy.call(client.roster.proxy, EdgeRequest::Request { app }, API_TIMEOUT_MS).await {
                Ok(EdgeReply::Served(machine)) => Ok(format!("served by {machine}")),
                Ok(EdgeReply::Failed(why)) => Err(why),
                Ok(other) => Err(format!("unexpected answer {other:?}")),
                Err(_) => Err("the proxy did not answer".to_string()),
            }
        }
        MachinesOperation::Get { app, pick } => {
            let Some(machine) = client.pick(app, pick, any).await? else { return Ok(format!("no {app} machine")) };
            match client.call(ControlRequest::Get { machine: machine.id }).await? {
                ControlReply::Machine(view) => {
                    let told = format!(
                        "{} {} host_status {} config {}",
                        view.id,
                        view.state,
                        view.host_status,
                        if view.config.is_some() { "present" } else { "null" }
                    );
                    client.ledger.answered(*view, client.node.sim().now_ms());
                    client.node.sim().state_changed();
                    Ok(told)
                }
                other => Err(format!("unexpected answer {other:?}")),
            }
        }
        MachinesOperation::Create { app } => created(client.call(ControlRequest::Create { app, volume: None }).await?),
        MachinesOperation::Clone { app, pick } => {
            let Some(source) = client.pick(app, pick, any).await? else { return Ok(format!("no {app} machine")) };
            created(client.call(ControlRequest::Clone { source: source.id }).await?)
        }
        MachinesOperation::SetRunning { app, pick, running } => {
            let Some(machine) = client.pick(app, pick, any).await? else { return Ok(format!("no {app} machine")) };
            client.call(ControlRequest::SetRunning { machine: machine.id, running }).await?;
            Ok(format!("{} {}", machine.id, if running { "started" } else { "stopped" }))
        }
        MachinesOperation::Destroy { app, pick, force } => {
            let Some(machine) = client.pick(app, pick, any).await? else { return Ok(format!("no {app} machine")) };
            client.destroy(&machine, force).await
        }
        MachinesOperation::Recover { app, pick } => recover(client, app, pick).await,
        MachinesOperation::Deploy { app } => match client.call(ControlRequest::Deploy { app }).await? {
            ControlReply::Deploying(id) => Ok(format!("{id} started")),
            other => Err(format!("unexpected answer {other:?}")),
        },
    }
}

fn created(reply: ControlReply) -> Result<String, String> {
    match reply {
        ControlReply::Created(machine) => Ok(format!("{machine} created")),
        other => Err(format!("unexpected answer {other:?}")),
    }
}

/// The write-up's runbook for a machine on an unreachable host: restore its volume from the
/// latest snapshot, destroy it with force, and scale back up on the restored volume.
async fn recover(client: &Client, app: App, pick: u32) -> Result<String, String> {
    let unreachable = |machine: &MachineSummary| machine.host_status == HostStatus::Unreachable;
    let Some(machine) = client.pick(app, pick, unreachable).await? else {
        return Ok(format!("no {app} machine on an unreachable host"));
    };
    let restored = match machine.volume {
        Some(volume) => match client.call(ControlRequest::RestoreVolume { volume }).await? {
            ControlReply::Restored { volume, .. } => Some(volume),
            other => return Err(format!("unexpected answer {other:?}")),
        },
        None => None,
    };
    let destroyed = client.destroy(&machine, true).await?;
    let replacement = created(client.call(ControlRequest::Create { app, volume: restored }).await?)?;
    Ok(format!("{destroyed}; {replacement}"))
}
