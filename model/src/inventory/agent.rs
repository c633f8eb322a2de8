//! A hypervisor agent (as chunter): on first contact after a start or a reconnect it registers
//! every VM of its host with the store node whose announcement it heard first, then sends that
//! coordinator incremental state updates and heartbeats; a coordinator that stops answering
//! sends it back to waiting for an announcement.

use super::protocol::{AnnounceRpc, Announcement, Entries, Purpose, StoreReply, StoreRequest, StoreRpc};
use super::record::{Field, Record, Stamp};
use super::roster::Roster;
use super::settings::InventorySettings;
use super::status::Status;
use super::write_log::WriteLog;
use crate::ids::VmId;
use fleetsim_sim::{BoxFuture, Disk, Handler, NodeContext, NodeIndex, Sim};
use rand::Rng;
use std::sync::{Arc, Mutex, MutexGuard};

/// How long a registration may take (one quorum write per VM) before the agent waits for the
/// next announcement.
const REGISTER_TIMEOUT_MS: u64 = 2_000;
/// How long a heartbeat or a state update may take before the coordinator counts as lost.
const CALL_TIMEOUT_MS: u64 = 500;

/// A VM as its hypervisor knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostedVm {
    /// The VM.
    pub vm: VmId,
    /// Its memory.
    pub ram_mb: u32,
    /// Whether it runs.
    pub running: bool,
}

/// What an agent is given at boot; it outlives every crash.
#[derive(Clone)]
pub struct Agent {
    /// Its host's position.
    pub host: usize,
    /// Every node of the run.
    pub roster: Arc<Roster>,
    /// The host's VMs (physical state: it survives the agent's crash).
    pub vms: Disk<Vec<HostedVm>>,
    /// The god's view of beliefs, where it writes its own.
    pub status: Status,
    /// Acknowledged writes.
    pub log: WriteLog,
    /// Shape and timing.
    pub settings: InventorySettings,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Connection {
    coordinator: Option<NodeIndex>,
    registering: bool,
}

#[derive(Clone)]
struct Running {
    node: NodeContext,
    agent: Agent,
    rpc: StoreRpc,
    connection: Arc<Mutex<Connection>>,
}

impl Running {
    fn connection(&self) -> MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set_coordinator(&self, coordinator: Option<NodeIndex>) {
        self.connection().coordinator = coordinator;
        self.agent.status.set_registered(self.agent.host, coordinator.is_some());
    }

    fn stamp(&self) -> Stamp {
        Stamp { at_ms: self.node.now_ms(), writer: self.node.index().0, write: self.node.sim().next_call_id() }
    }
}

/// Adds the agent of host `host` to `sim`.
pub fn boot(sim: &Sim, agent: Agent) -> NodeIndex {
    let name = format!("agent-{}", agent.host);
    sim.add_node(&name, move |node| {
        let agent = agent.clone();
        async move { start(node, agent).await }
    })
}

async fn start(node: NodeContext, agent: Agent) {
    agent.status.set_registered(agent.host, false);
    let running = Running {
        rpc: StoreRpc::bind_client(&node).await,
        node: node.clone(),
        agent,
        connection: Arc::new(Mutex::new(Connection::default())),
    };
    let listening = running.clone();
    let handler: Handler<Announcement, ()> = Arc::new(move |from, _| {
        heard(&listening, from);
        Box::pin(async {}) as BoxFuture<()>
    });
    let _endpoint = AnnounceRpc::bind(&node, Some(handler)).await;
    madsim::task::spawn(heartbeat(running.clone()));
    report_state_changes(running).await;
}

/// An announcement: the first one heard while unregistered starts a registration with its sender.
fn heard(running: &Running, store: NodeIndex) {
    {
        let mut connection = running.connection();
        if connection.coordinator.is_some() || connection.registering {
            return;
        }
        connection.registering = true;
    }
    madsim::task::spawn(register(running.clone(), store));
}

/// The registration record of every VM: what the hypervisor knows, and nothing else.
fn registrations(running: &Running) -> Entries {
    let host = format!("host-{}", running.agent.host);
    let vms = running.agent.vms.read(|vms| vms.clone());
    Entries(
        vms.into_iter()
            .map(|hosted| {
                let fields = [
                    (Field::Hypervisor, host.clone()),
                    (Field::Alias, hosted.vm.to_string()),
                    (Field::RamMb, hosted.ram_mb.to_string()),
                    (Field::State, state_name(hosted.running).to_string()),
                ];
                (hosted.vm, Record::written(running.stamp(), &fields))
            })
            .collect(),
    )
}

fn state_name(running: bool) -> &'static str {
    if running {
        "running"
    } else {
        "stopped"
    }
}

async fn register(running: Running, store: NodeIndex) {
    let entries = registrations(&running);
    let log = running.agent.log.clone();
    let operations: Vec<_> =
        entries.0.iter().map(|(vm, record)| (*vm, record.clone(), log.invoke(&running.node, *vm, record))).collect();
    let host = format!("host-{}", running.agent.host);
    let request = StoreRequest::Register { host, vms: entries };
    let answer = running.rpc.call(store, request, REGISTER_TIMEOUT_MS).await;
    let acknowledged = match &answer {
        Ok(StoreReply::Registered(acknowledged)) => acknowledged.clone(),
        _ => Vec::new(),
    };
    for (vm, record, operation) in operations {
        match acknowledged.contains(&vm) {
            true => log.acknowledged(&running.node, operation, vm, &record),
            false => log.unknown(&running.node, operation, "registration not acknowledged"),
        }
    }
    let registered = answer.is_ok();
    running.connection().registering = false;
    if registered {
        running.set_coordinator(Some(store));
    }
}

/// Checks once per interval that the coordinator answers; if not, the agent is unregistered.
async fn heartbeat(running: Running) {
    loop {
        running.node.sleep_ms(running.agent.settings.heartbeat_interval_ms).await;
        let Some(coordinator) = running.connection().coordinator else { continue };
        if running.rpc.call(coordinator, StoreRequest::Ping, CALL_TIMEOUT_MS).await.is_err() {
            running.node.step(format!("lost its coordinator {}", running.node.sim().node_name(coordinator)));
            running.set_coordinator(None);
        }
    }
}

/// Now and then a VM starts or stops; the agent reports its new state to the coordinator.
async fn report_state_changes(running: Running) {
    let interval_ms_max = running.agent.settings.update_interval_ms_max.max(2);
    loop {
        let wait_ms = running.node.sim().model_rng(|rng| rng.gen_range(interval_ms_max / 2..=interval_ms_max));
        running.node.sleep_ms(wait_ms).await;
        let Some(coordinator) = running.connection().coordinator else { continue };
        let count = running.agent.vms.read(|vms| vms.len());
        let pick = running.node.sim().model_rng(|rng| rng.gen_range(0..count.max(1)));
        let Some(hosted) = running.agent.vms.commit(&running.node, |vms| {
            vms.get_mut(pick).map(|hosted| {
                hosted.running = !hosted.running;
                hosted.clone()
            })
        }) else {
            continue;
        };
        running.agent.vms.sync(&running.node).await;
        send_update(&running, coordinator, &hosted).await;
    }
}

async fn send_update(running: &Running, coordinator: NodeIndex, hosted: &HostedVm) {
    let update = Record::written(running.stamp(), &[(Field::State, state_name(hosted.running).to_string())]);
    let log = &running.agent.log;
    let operation = log.invoke(&running.node, hosted.vm, &update);
    let request = StoreRequest::Put { vm: hosted.vm, update: update.clone(), purpose: Purpose::Update };
    match running.rpc.call(coordinator, request, CALL_TIMEOUT_MS).await {
        Ok(StoreReply::Written) => log.acknowledged(&running.node, operation, hosted.vm, &update),
        Ok(_) => log.unknown(&running.node, operation, "too few replicas answered"),
        Err(_) => log.unknown(&running.node, operation, "no answer"),
    }
}
