//! The whole control plane as one system under test: it boots the store, the workers,
//! the hypervisor agents, the reconciler and the client as nodes, and registers the
//! invariants.

use crate::client::submit;
use crate::host::{start_agent, HostData};
use crate::ids::{InstanceId, ProjectId};
use crate::invariants;
use crate::job_log::JobLog;
use crate::message::ModelRpc;
use crate::reconciler::run_reconciler;
use crate::sagas::SagaContext;
use crate::store::{store_handler, StoreData, Usage};
use crate::topology::Topology;
use crate::unwind_log::{self, UnwindLog};
use crate::worker::run_worker;
use crate::workload::Operation;
use crate::{effects, monotonic};
use fleetsim_sim::{BoxFuture, Disk, NodeContext, NodeIndex, Rpc, Sim, System};

/// The shape of a control plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlPlaneConfig {
    /// Control-plane workers.
    pub workers: u32,
    /// Hypervisor hosts.
    pub hosts: u32,
    /// Addresses in the IP pool (small, so addresses are reused).
    pub ip_pool_size: u8,
    /// Instances that exist from the start, stopped.
    pub instances: u32,
    /// Projects the instances are spread over.
    pub projects: u32,
    /// Whether a reconciler node runs.
    pub reconciler: bool,
}

/// A booted control plane: its topology and the durable state the checkers read.
pub struct ControlPlane {
    sim: Sim,
    topology: Topology,
    store: Disk<StoreData>,
    hosts: Vec<Disk<HostData>>,
    unwinds: UnwindLog,
}

/// The instances of a configuration: deterministic projects and sizes.
pub fn initial_instances(config: &ControlPlaneConfig) -> Vec<(InstanceId, ProjectId, Usage)> {
    (1..=config.instances)
        .map(|number| {
            let usage = Usage { cpus: i64::from(1 + number % 4), ram_gib: i64::from(2 * (1 + number % 3)) };
            (InstanceId(number), ProjectId(number % config.projects.max(1)), usage)
        })
        .collect()
}

impl ControlPlane {
    /// Boots every node of `config` in `sim` and registers the invariants.
    pub fn boot(sim: &Sim, config: ControlPlaneConfig) -> Self {
        let store = Disk::new(StoreData::new(config.ip_pool_size, &initial_instances(&config)));
        let log = JobLog::default();
        let store_node = boot_store(sim, store.clone(), log.clone());
        let hosts: Vec<Disk<HostData>> = (0..config.hosts).map(|_| Disk::new(HostData::default())).collect();
        let host_nodes = hosts
            .iter()
            .enumerate()
            .map(|(position, disk)| boot_host(sim, position, disk.clone(), store_node))
            .collect();
        let client = sim.add_node("client", |_| async {});
        let mut topology = Topology { store: store_node, workers: Vec::new(), hosts: host_nodes, client };
        let unwinds = UnwindLog::default();
        topology.workers =
            (1..=config.workers).map(|number| boot_worker(sim, number, topology.clone(), unwinds.clone())).collect();
        if config.reconciler {
            boot_reconciler(sim, topology.clone());
        }
        sim.register_invariant(invariants::unique_ip(store.clone(), hosts.clone()));
        sim.register_invariant(invariants::non_negative_counters(store.clone()));
        sim.register_invariant(invariants::no_orphan_vm(store.clone(), hosts.clone()));
        sim.register_invariant(invariants::no_leaked_snapshot(store.clone(), hosts.clone()));
        sim.register_invariant(invariants::counters_conserve(store.clone()));
        sim.register_invariant(invariants::no_failed_undo(store.clone()));
        sim.register_invariant(invariants::jobs_terminate(store.clone()));
        sim.register_invariant(effects::effects_persist(store.clone(), hosts.clone(), log.clone()));
        sim.register_invariant(monotonic::monotonic_state(store.clone(), hosts.clone()));
        sim.register_invariant(invariants::no_stale_write(store.clone()));
        sim.register_invariant(invariants::resources_owned(store.clone()));
        sim.register_invariant(unwind_log::clean_unwind(store.clone(), hosts.clone(), unwinds.clone()));
        Self { sim: sim.clone(), topology, store, hosts, unwinds }
    }

    /// Where every node is.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The store's durable tables.
    pub fn store(&self) -> &Disk<StoreData> {
        &self.store
    }

    /// Every host's physical state, by host index.
    pub fn hosts(&self) -> &[Disk<HostData>] {
        &self.hosts
    }

    /// Where the sagas report their completed unwinds.
    pub fn unwinds(&self) -> &UnwindLog {
        &self.unwinds
    }
}

fn boot_store(sim: &Sim, disk: Disk<StoreData>, log: JobLog) -> NodeIndex {
    sim.add_node("store", move |node| {
        let (disk, log) = (disk.clone(), log.clone());
        async move {
            let _rpc = ModelRpc::bind(&node, Some(store_handler(node.clone(), disk, log))).await;
            std::future::pending::<()>().await;
        }
    })
}

/// The agent of host `position` is `agent-<position>`: `agent-2` serves `host-2`.
fn boot_host(sim: &Sim, position: usize, disk: Disk<HostData>, store: NodeIndex) -> NodeIndex {
    sim.add_node(&format!("agent-{position}"), move |node| {
        let disk = disk.clone();
        async move {
            let _rpc = start_agent(node, disk, store).await;
            std::future::pending::<()>().await;
        }
    })
}

fn boot_worker(sim: &Sim, number: u32, topology: Topology, unwinds: UnwindLog) -> NodeIndex {
    sim.add_node(&format!("worker-{number}"), move |node| {
        let (topology, unwinds) = (topology.clone(), unwinds.clone());
        async move {
            let rpc = ModelRpc::bind(&node, None).await;
            run_worker(SagaContext { node, rpc, topology, claim: None, unwinds }).await;
        }
    })
}

fn boot_reconciler(sim: &Sim, topology: Topology) -> NodeIndex {
    sim.add_node("reconciler", move |node| {
        let topology = topology.clone();
        async move {
            let rpc = ModelRpc::bind(&node, None).await;
            run_reconciler(node, rpc, topology).await;
        }
    })
}

impl System for ControlPlane {
    type Operation = Operation;

    fn client(&self) -> NodeIndex {
        self.topology.client
    }

    fn describe(&self, operation: &Operation) -> String {
        operation.to_string()
    }

    fn issue(&self, operation: Operation) -> BoxFuture<()> {
        let node = NodeContext::new(self.sim.clone(), self.topology.client);
        let store_node = self.topology.store;
        Box::pin(async move {
            let rpc: ModelRpc = Rpc::bind_client(&node).await;
            submit(node, rpc, store_node, operation).await;
        })
    }

    fn settled(&self) -> bool {
        self.store.read(|data| data.jobs.rows.values().all(|row| row.state.is_terminal()))
    }
}
