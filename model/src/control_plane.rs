//! The whole control plane as one system under test: it boots the store, the workers,
//! the hypervisor agents and the client as nodes, and registers the invariants.

use crate::client::submit;
use crate::host::{host_handler, HostData};
use crate::invariants;
use crate::message::ModelRpc;
use crate::sagas::SagaContext;
use crate::store::{store_handler, StoreData};
use crate::topology::Topology;
use crate::worker::run_worker;
use crate::workload::Operation;
use fleetsim_sim::{BoxFuture, Disk, NodeIndex, Rpc, Sim, System};

/// The shape of a control plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlPlaneConfig {
    /// Control-plane workers.
    pub workers: u32,
    /// Hypervisor hosts.
    pub hosts: u32,
    /// Addresses in the IP pool (small, so addresses are reused).
    pub ip_pool_size: u8,
}

/// A booted control plane: its topology and the durable state the checkers read.
pub struct ControlPlane {
    sim: Sim,
    topology: Topology,
    store: Disk<StoreData>,
    hosts: Vec<Disk<HostData>>,
}

impl ControlPlane {
    /// Boots every node of `config` in `sim` and registers the invariants.
    pub fn boot(sim: &Sim, config: ControlPlaneConfig) -> Self {
        let store = Disk::new(StoreData::with_pool(config.ip_pool_size));
        let store_disk = store.clone();
        let store_node = sim.add_node("store", move |node| {
            let disk = store_disk.clone();
            async move {
                let _rpc = ModelRpc::bind(&node, Some(store_handler(node.clone(), disk))).await;
                std::future::pending::<()>().await;
            }
        });
        let hosts: Vec<Disk<HostData>> = (0..config.hosts).map(|_| Disk::new(HostData::default())).collect();
        let host_nodes =
            hosts.iter().enumerate().map(|(position, disk)| boot_host(sim, position, disk.clone())).collect();
        let client = sim.add_node("client", |_| async {});
        let mut topology = Topology { store: store_node, workers: Vec::new(), hosts: host_nodes, client };
        topology.workers = (1..=config.workers).map(|number| boot_worker(sim, number, topology.clone())).collect();
        sim.register_invariant(invariants::unique_ip(store.clone(), hosts.clone()));
        sim.register_invariant(invariants::no_orphan_vm(store.clone(), hosts.clone()));
        sim.register_invariant(invariants::jobs_terminate(store.clone()));
        Self { sim: sim.clone(), topology, store, hosts }
    }

    /// Where every node is.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The store's durable tables.
    pub fn store(&self) -> &Disk<StoreData> {
        &self.store
    }

    /// Every host's physical state, by host id.
    pub fn hosts(&self) -> &[Disk<HostData>] {
        &self.hosts
    }
}

fn boot_host(sim: &Sim, position: usize, disk: Disk<HostData>) -> NodeIndex {
    sim.add_node(&format!("agent-{}", position + 1), move |node| {
        let disk = disk.clone();
        async move {
            let _rpc = ModelRpc::bind(&node, Some(host_handler(node.clone(), disk))).await;
            std::future::pending::<()>().await;
        }
    })
}

fn boot_worker(sim: &Sim, number: u32, topology: Topology) -> NodeIndex {
    sim.add_node(&format!("worker-{number}"), move |node| {
        let topology = topology.clone();
        async move {
            let rpc = ModelRpc::bind(&node, None).await;
            run_worker(SagaContext { node, rpc, topology }).await;
        }
    })
}

impl System for ControlPlane {
    type Operation = Operation;

    fn client(&self) -> NodeIndex {
        self.topology.client
    }

    fn issue(&self, operation: Operation) -> BoxFuture<()> {
        let node = fleetsim_sim::NodeContext::new(self.sim.clone(), self.topology.client);
        let store_node = self.topology.store;
        Box::pin(async move {
            let rpc: ModelRpc = Rpc::bind_client(&node).await;
            submit(node, rpc, store_node, operation).await;
        })
    }

    fn settled(&self) -> bool {
        self.store.read(|data| data.jobs.values().all(|row| row.state.is_terminal()))
    }
}
