//! The coordinator: accepts transfers durably and runs each as a saga (debit, credit, or refund
//! when the credit is refused), resuming unfinished ones after a restart. The switch
//! `restart-forgets-debit` sits at the one decision point of the restart.

use crate::protocol::{Bank, Entry, Reply, Request, Transfer, TransferRpc};
use crate::RESTART_FORGETS_DEBIT;
use fleetsim_sim::{Disk, Handler, NodeContext, NodeIndex, Sim};
use madsim::time::{sleep, Duration};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How long the coordinator waits for a bank's reply.
pub const CALL_TIMEOUT_MS: u64 = 150;
/// Pause before retrying a step.
pub const RETRY_MS: u64 = 50;
/// Attempts at one step before the saga leaves the transfer unfinished.
pub const STEP_ATTEMPTS_MAX: u32 = 200;
/// The fault points between the saga's steps.
pub const FAULT_POINTS: [&str; 2] = ["transfer.after_debit", "transfer.after_credit"];

/// Where a transfer's saga is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Accepted; the debit may or may not have been applied.
    Pending,
    /// Debited; the credit may or may not have been applied.
    Debited,
    /// The credit was refused; the refund may or may not have been applied.
    Refunding,
    /// Debited and credited.
    Done,
    /// The debit was refused: no money moved.
    Rejected,
    /// The credit was refused and the debit given back.
    Refunded,
}

impl Stage {
    /// Whether the saga is over.
    pub fn is_terminal(self) -> bool {
        matches!(self, Stage::Done | Stage::Rejected | Stage::Refunded)
    }
}

/// One accepted transfer and its stage.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    /// The transfer.
    pub transfer: Transfer,
    /// Its stage.
    pub stage: Stage,
}

/// The coordinator's durable state: every accepted transfer by id.
pub type Ledger = BTreeMap<u64, Row>;

#[derive(Clone)]
struct Saga {
    node: NodeContext,
    rpc: TransferRpc,
    disk: Disk<Ledger>,
    banks: [NodeIndex; 2],
}

/// Boots the coordinator node over `disk`, calling the two `banks`.
pub fn boot(sim: &Sim, disk: Disk<Ledger>, banks: [NodeIndex; 2]) -> NodeIndex {
    sim.add_node("coordinator", move |node| {
        let disk = disk.clone();
        async move {
            let rpc = TransferRpc::bind_client(&node).await;
            let saga = Saga { node: node.clone(), rpc, disk: disk.clone(), banks };
            let _server = TransferRpc::bind(&node, Some(handler(saga.clone()))).await;
            resume_unfinished(&saga);
            std::future::pending::<()>().await;
        }
    })
}

fn handler(saga: Saga) -> Handler<Request, Reply> {
    Arc::new(move |_, request| {
        let saga = saga.clone();
        Box::pin(async move {
            let Request::Submit(transfer) = request else { return Reply::Refused };
            let new = saga.disk.commit(&saga.node, |ledger| {
                let new = !ledger.contains_key(&transfer.id);
                ledger.entry(transfer.id).or_insert(Row { transfer, stage: Stage::Pending });
                new
            });
            saga.disk.sync(&saga.node).await;
            if new {
                madsim::task::spawn(drive(saga, transfer.id));
            }
            Reply::Accepted
        })
    })
}

/// After a (re)start: every unfinished transfer's saga runs again from its durable stage.
fn resume_unfinished(saga: &Saga) {
    let unfinished: Vec<Row> =
        saga.disk.read(|ledger| ledger.values().filter(|row| !row.stage.is_terminal()).copied().collect());
    for row in unfinished {
        if row.stage == Stage::Pending && saga.node.sim().bug(RESTART_FORGETS_DEBIT) {
            // restart-forgets-debit: the buggy coordinator assumes a transfer it had not marked
            // debited never moved money, though the debit may have landed before the crash.
            set_stage(saga, row.transfer.id, Stage::Rejected);
            continue;
        }
        // The fix: run the saga again from its stage; the bank recognizes a repeated debit.
        madsim::task::spawn(drive(saga.clone(), row.transfer.id));
    }
}

/// Runs transfer `id`'s saga from its durable stage to a terminal one.
async fn drive(saga: Saga, id: u64) {
    loop {
        let Row { transfer, stage } = saga.disk.read(|ledger| ledger[&id]);
        let (bank, entry, point) = match stage {
            Stage::Pending => (transfer.from, Entry::Debit, Some(FAULT_POINTS[0])),
            Stage::Debited => (transfer.from.other(), Entry::Credit, Some(FAULT_POINTS[1])),
            Stage::Refunding => (transfer.from, Entry::Refund, None),
            _ => return,
        };
        let Some(reply) = apply(&saga, bank, id, entry, transfer.amount).await else {
            saga.node.step(format!("transfer {id}: gave up on {entry:?} after {STEP_ATTEMPTS_MAX} attempts"));
            return;
        };
        if let Some(point) = point.filter(|_| reply != Reply::Refused) {
            if saga.node.fault_point(point).await.is_err() {
                sleep(Duration::from_millis(RETRY_MS)).await;
                continue;
            }
        }
        set_stage(&saga, id, next_stage(stage, reply));
    }
}

/// The stage after `stage`'s step got `reply`.
fn next_stage(stage: Stage, reply: Reply) -> Stage {
    let refused = reply == Reply::Refused;
    match stage {
        Stage::Pending if refused => Stage::Rejected,
        Stage::Pending => Stage::Debited,
        Stage::Debited if refused => Stage::Refunding,
        Stage::Debited => Stage::Done,
        _ => Stage::Refunded,
    }
}

fn set_stage(saga: &Saga, id: u64, stage: Stage) {
    saga.disk.commit(&saga.node, |ledger| ledger.get_mut(&id).expect("an accepted transfer").stage = stage);
    saga.node.sim().sometimes("a credit was refused and the debit refunded", stage == Stage::Refunded);
    saga.node.sim().sometimes("a transfer was rejected for lack of funds", stage == Stage::Rejected);
    saga.node.step(format!("transfer {id}: {stage:?}"));
}

/// Asks `bank` to apply one entry, retrying on timeouts; `None` when every attempt timed out.
async fn apply(saga: &Saga, bank: Bank, transfer: u64, entry: Entry, amount: i64) -> Option<Reply> {
    let to = saga.banks[bank.position()];
    for _ in 0..STEP_ATTEMPTS_MAX {
        let request = Request::Apply { transfer, entry, amount };
        if let Ok(reply) = saga.rpc.call(to, request, CALL_TIMEOUT_MS).await {
            return Some(reply);
        }
        sleep(Duration::from_millis(RETRY_MS)).await;
    }
    None
}
