//! Sagas: multi-step operations across the store and the hypervisors.

mod create_vm;
mod delete_vm;

pub use create_vm::create_vm;
pub use delete_vm::delete_vm;

use crate::calls::StepError;
use crate::message::ModelRpc;
use crate::store::JobKind;
use crate::topology::Topology;
use fleetsim_sim::NodeContext;

/// What a saga runs with: its node, its RPC endpoint and where everything is.
#[derive(Clone)]
pub struct SagaContext {
    /// The worker node running the saga.
    pub node: NodeContext,
    /// The worker's endpoint.
    pub rpc: ModelRpc,
    /// Where the store and the hosts are.
    pub topology: Topology,
}

impl SagaContext {
    /// Whether catalog bug `id` is switched on in this run.
    pub fn bug(&self, id: &str) -> bool {
        self.node.sim().bug(id)
    }
}

/// Runs the saga of one job kind.
pub async fn run_job(saga: &SagaContext, kind: JobKind) -> Result<(), StepError> {
    match kind {
        JobKind::CreateVm { vm, host } => create_vm(saga, vm, host).await,
        JobKind::DeleteVm { vm } => delete_vm(saga, vm).await,
    }
}
