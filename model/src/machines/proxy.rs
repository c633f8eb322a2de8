//! The proxy in front of the apps: for each request it asks the control plane for a started
//! machine on a reachable host (never a `destroying` or `destroyed` one) and forwards the request
//! to that machine's host.

use super::protocol::{
    ControlReply, ControlRequest, ControlRpc, EdgeReply, EdgeRequest, EdgeRpc, HostReply, HostRequest, HostRpc,
};
use super::roster::Roster;
use super::settings::MachinesSettings;
use fleetsim_sim::{BoxFuture, Handler, NodeIndex, Sim};
use std::sync::Arc;

/// The proxy's endpoints, one each per incarnation, shared by every request it forwards.
#[derive(Clone)]
struct Calls {
    roster: Arc<Roster>,
    control: ControlRpc,
    hosts: HostRpc,
    settings: MachinesSettings,
}

/// Adds the proxy to `sim`.
pub fn boot(sim: &Sim, roster: Arc<Roster>, settings: MachinesSettings) -> NodeIndex {
    sim.add_node("proxy", move |node| {
        let roster = roster.clone();
        async move {
            let (control, hosts) = (ControlRpc::bind_client(&node).await, HostRpc::bind_client(&node).await);
            let calls = Calls { roster, control, hosts, settings };
            let handler: Handler<EdgeRequest, EdgeReply> =
                Arc::new(move |_, request| Box::pin(forward(calls.clone(), request)) as BoxFuture<EdgeReply>);
            let _endpoint = EdgeRpc::bind(&node, Some(handler)).await;
            std::future::pending::<()>().await;
        }
    })
}

async fn forward(calls: Calls, request: EdgeRequest) -> EdgeReply {
    let Calls { roster, control, hosts, settings } = calls;
    let EdgeRequest::Request { app } = request else {
        return EdgeReply::Failed("the proxy hands out no messages".to_string());
    };
    let (machine, host, route) =
        match control.call(roster.control, ControlRequest::Route { app }, settings.host_call_timeout_ms * 2).await {
            Ok(ControlReply::Route { machine, host, route }) => (machine, host, route),
            Ok(ControlReply::Refused(why)) => return EdgeReply::Failed(why),
            _ => return EdgeReply::Failed("the control plane did not answer".to_string()),
        };
    match hosts.call(roster.host(host), HostRequest::Serve { machine, route }, settings.host_call_timeout_ms).await {
        Ok(HostReply::Served) => EdgeReply::Served(machine),
        Ok(reply) => EdgeReply::Failed(format!("{host} answered {reply:?} for {machine}")),
        Err(_) => EdgeReply::Failed(format!("{host} did not answer for {machine}")),
    }
}
