//! The `transfers` scenario: two banks, a coordinator and a client, every fault kind, and the
//! bug catalog; and the booted system the run driver talks to.

use crate::bank::{self, BankData};
use crate::coordinator::{self, Ledger, FAULT_POINTS};
use crate::protocol::{Bank, Reply, Request, Transfer, TransferRpc};
use crate::{invariants, CREDIT_NOT_IDEMPOTENT, RESTART_FORGETS_DEBIT};
use fleetsim_sim::{
    BoxFuture, BugInfo, Disk, FaultKind, FaultProfile, InvariantInfo, Limits, NodeContext, NodeIndex, Scenario, Sim,
    StreamRng, System, WorkloadStep,
};
use madsim::time::{sleep, Duration};
use rand::Rng;

/// Transfers one run submits.
pub const TRANSFERS_PER_RUN: u64 = 16;
/// Submission attempts before the client gives up (the outcome stays unknown).
pub const SUBMIT_ATTEMPTS_MAX: u32 = 20;

const INCIDENT: &str = "the classic two-phase money transfer: a retried step applied twice, or a crash \
     between steps that loses track of money already moved";

/// The bugs this system can switch on.
pub const BUGS: &[BugInfo] = &[
    BugInfo {
        id: CREDIT_NOT_IDEMPOTENT,
        incident: INCIDENT,
        story: "a bank applies a credit again when the coordinator retries it after a lost reply or a crash",
        invariants: &["money-conserved"],
        scenario: "transfers",
    },
    BugInfo {
        id: RESTART_FORGETS_DEBIT,
        incident: INCIDENT,
        story:
            "a restarted coordinator marks a transfer it had not recorded as debited rejected, though the debit landed",
        invariants: &["transfers-settle"],
        scenario: "transfers",
    },
];

/// The `transfers` scenario.
#[derive(Clone, Copy, Debug, Default)]
pub struct Transfers;

/// The booted transfer system of one run.
pub struct TransferSystem {
    sim: Sim,
    coordinator: NodeIndex,
    client: NodeIndex,
    ledger: Disk<Ledger>,
}

impl Scenario for Transfers {
    type Operation = Transfer;
    type System = TransferSystem;

    fn name(&self) -> &'static str {
        "transfers"
    }

    fn summary(&self) -> &'static str {
        "a coordinator moves money between two banks by debit, credit and refund under every fault kind"
    }

    fn default_limits(&self) -> Limits {
        Limits { chaos_ms: 3_000, heal_ms: 200, quiet_ms_max: 10_000, ..Limits::default() }
    }

    fn fault_profile(&self) -> FaultProfile {
        let crashable: Vec<String> = ["coordinator", "bank-a", "bank-b"].map(String::from).to_vec();
        let mut networked = crashable.clone();
        networked.push("client".to_string());
        let storage = crashable.clone();
        FaultProfile::new(&FaultKind::ALL, crashable, networked).with_storage(storage)
    }

    fn generate_workload(&self, rng: &mut StreamRng, limits: &Limits) -> Vec<WorkloadStep<Transfer>> {
        let mut steps: Vec<WorkloadStep<Transfer>> = (1..=TRANSFERS_PER_RUN)
            .map(|id| {
                let from = if rng.gen_bool(0.5) { Bank::A } else { Bank::B };
                let operation = Transfer { id, from, amount: rng.gen_range(10..=60) };
                WorkloadStep { at_ms: rng.gen_range(0..limits.chaos_ms * 2 / 3), operation }
            })
            .collect();
        steps.sort_by_key(|step| (step.at_ms, step.operation.id));
        steps
    }

    fn bugs(&self) -> Vec<BugInfo> {
        BUGS.to_vec()
    }

    fn invariants(&self) -> Vec<InvariantInfo> {
        invariants::CATALOG.to_vec()
    }

    fn sometimes_catalog(&self) -> Vec<String> {
        let mut catalog: Vec<String> = [
            "a retried entry was already applied",
            "a credit was refused and the debit refunded",
            "a transfer was rejected for lack of funds",
        ]
        .map(String::from)
        .to_vec();
        catalog.extend(FAULT_POINTS.map(|point| format!("crash at {point}")));
        catalog
    }

    fn fault_point_catalog(&self) -> Vec<String> {
        FAULT_POINTS.map(String::from).to_vec()
    }

    fn boot(&self, sim: &Sim) -> TransferSystem {
        let banks = [Disk::new(BankData::default()), Disk::new(BankData::default())];
        let bank_nodes = [bank::boot(sim, "bank-a", banks[0].clone()), bank::boot(sim, "bank-b", banks[1].clone())];
        let ledger = Disk::new(Ledger::new());
        let coordinator = coordinator::boot(sim, ledger.clone(), bank_nodes);
        let client = sim.add_node("client", |_| async {});
        sim.register_invariant(invariants::money_conserved(banks.to_vec(), ledger.clone()));
        sim.register_invariant(invariants::transfers_settle(banks.to_vec()));
        sim.register_invariant(invariants::transfers_finish(ledger.clone()));
        TransferSystem { sim: sim.clone(), coordinator, client, ledger }
    }
}

impl System for TransferSystem {
    type Operation = Transfer;

    fn client(&self) -> NodeIndex {
        self.client
    }

    fn issue(&self, transfer: Transfer) -> BoxFuture<()> {
        let node = NodeContext::new(self.sim.clone(), self.client);
        let coordinator = self.coordinator;
        Box::pin(async move {
            let rpc = TransferRpc::bind_client(&node).await;
            for _ in 0..SUBMIT_ATTEMPTS_MAX {
                if rpc.call(coordinator, Request::Submit(transfer), 200).await == Ok(Reply::Accepted) {
                    return;
                }
                sleep(Duration::from_millis(100)).await;
            }
            node.step(format!("transfer {}: submission outcome unknown", transfer.id));
        })
    }

    fn settled(&self) -> bool {
        self.ledger.read(|ledger| ledger.values().all(|row| row.stage.is_terminal()))
    }
}
