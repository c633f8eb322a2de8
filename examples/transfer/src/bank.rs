//! A bank: one account whose balance and ledger are durable, applying each entry of a transfer
//! at most once. The switch `credit-not-idempotent` sits at the one decision point.

use crate::protocol::{Entry, Reply, Request, TransferRpc};
use crate::CREDIT_NOT_IDEMPOTENT;
use fleetsim_sim::{Disk, Handler, NodeContext, NodeIndex, Sim};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Every account starts with this much.
pub const OPENING_BALANCE: i64 = 100;
/// A credit that would lift the balance above this is refused.
pub const BALANCE_CAP: i64 = 150;

/// One movement of money the bank applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line {
    /// The transfer it belongs to.
    pub transfer: u64,
    /// What it was.
    pub entry: Entry,
    /// How much.
    pub amount: i64,
}

/// A bank's durable state.
#[derive(Clone, Debug)]
pub struct BankData {
    /// The account's balance.
    pub balance: i64,
    /// Every movement applied, in order.
    pub ledger: Vec<Line>,
    /// The answer given to each (transfer, entry), so a retry gets the same one.
    pub decisions: BTreeMap<(u64, Entry), Reply>,
}

impl Default for BankData {
    fn default() -> Self {
        Self { balance: OPENING_BALANCE, ledger: Vec::new(), decisions: BTreeMap::new() }
    }
}

/// Boots a bank node named `name` over `disk`.
pub fn boot(sim: &Sim, name: &str, disk: Disk<BankData>) -> NodeIndex {
    sim.add_node(name, move |node| {
        let disk = disk.clone();
        async move {
            let _rpc = TransferRpc::bind(&node, Some(handler(node.clone(), disk))).await;
            std::future::pending::<()>().await;
        }
    })
}

fn handler(node: NodeContext, disk: Disk<BankData>) -> Handler<Request, Reply> {
    Arc::new(move |_, request| {
        let (node, disk) = (node.clone(), disk.clone());
        Box::pin(async move {
            let reply = match request {
                Request::Apply { transfer, entry, amount } => apply(&node, &disk, transfer, entry, amount),
                Request::Submit(_) => Reply::Refused,
            };
            // Answer only what is durable: under `disk` faults a crash loses unsynced writes.
            disk.sync(&node).await;
            reply
        })
    })
}

/// Applies one entry, or gives the answer it gave before.
fn apply(node: &NodeContext, disk: &Disk<BankData>, transfer: u64, entry: Entry, amount: i64) -> Reply {
    // credit-not-idempotent: the buggy bank forgets to look a credit up before applying it.
    let remembers = !(entry == Entry::Credit && node.sim().bug(CREDIT_NOT_IDEMPOTENT));
    let reply = disk.commit(node, |data| {
        if let Some(earlier) = data.decisions.get(&(transfer, entry)).filter(|_| remembers) {
            return if *earlier == Reply::Refused { Reply::Refused } else { Reply::AlreadyApplied };
        }
        let balance = match entry {
            Entry::Debit => data.balance - amount,
            Entry::Credit | Entry::Refund => data.balance + amount,
        };
        let refused = balance < 0 || (entry == Entry::Credit && balance > BALANCE_CAP);
        let reply = if refused { Reply::Refused } else { Reply::Applied };
        if !refused {
            data.balance = balance;
            data.ledger.push(Line { transfer, entry, amount });
        }
        data.decisions.insert((transfer, entry), reply);
        reply
    });
    node.sim().sometimes("a retried entry was already applied", reply == Reply::AlreadyApplied);
    node.step(format!("transfer {transfer}: {entry:?} {amount}: {reply:?}"));
    reply
}
