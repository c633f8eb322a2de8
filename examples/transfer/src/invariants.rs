//! The transfer system's invariants, over the god's view of the banks' and coordinator's disks.

use crate::bank::{BankData, Line, OPENING_BALANCE};
use crate::coordinator::Ledger;
use crate::protocol::Entry;
use fleetsim_sim::{Disk, Invariant, InvariantInfo, ViolationClass};
use std::collections::BTreeMap;

/// Every invariant the system registers.
pub const CATALOG: &[InvariantInfo] = &[
    InvariantInfo {
        name: "money-conserved",
        kind: ViolationClass::Safety,
        summary: "balances plus money in flight always equal the opening total; no transfer moves more than its amount",
    },
    InvariantInfo {
        name: "transfers-settle",
        kind: ViolationClass::Convergence,
        summary: "once quiet, no money is in flight: every transfer was credited, refunded or never debited",
    },
    InvariantInfo {
        name: "transfers-finish",
        kind: ViolationClass::Liveness,
        summary: "every accepted transfer is done, rejected or refunded by the end of the quiet period",
    },
];

/// Money each transfer has taken out and not yet put back in, from the banks' ledgers.
fn in_flight(banks: &[Disk<BankData>]) -> BTreeMap<u64, i64> {
    let mut flight = BTreeMap::new();
    for bank in banks {
        bank.read_durable(|data| {
            for Line { transfer, entry, amount } in &data.ledger {
                let signed = if *entry == Entry::Debit { *amount } else { -*amount };
                *flight.entry(*transfer).or_insert(0) += signed;
            }
        });
    }
    flight
}

/// `money-conserved`, checked at every state change.
pub fn money_conserved(banks: Vec<Disk<BankData>>, coordinator: Disk<Ledger>) -> Invariant {
    Invariant::always("money-conserved", move || {
        let flight = in_flight(&banks);
        let balances: i64 = banks.iter().map(|bank| bank.read_durable(|data| data.balance)).sum();
        let total = balances + flight.values().sum::<i64>();
        let opening = OPENING_BALANCE * banks.len() as i64;
        if total != opening {
            return Err(format!("balances {balances} plus in flight make {total}, not the opening {opening}"));
        }
        let amounts: BTreeMap<u64, i64> =
            coordinator.read_durable(|ledger| ledger.iter().map(|(id, row)| (*id, row.transfer.amount)).collect());
        match flight.iter().find(|(id, moved)| **moved < 0 || **moved > amounts.get(id).copied().unwrap_or(0)) {
            Some((id, moved)) => Err(format!(
                "transfer {id} of {} has {moved} in flight: more came in than went out, or more went out than it moves",
                amounts.get(id).copied().unwrap_or(0)
            )),
            None => Ok(()),
        }
    })
}

/// `transfers-settle`, checked once the run is quiet.
pub fn transfers_settle(banks: Vec<Disk<BankData>>) -> Invariant {
    Invariant::eventually("transfers-settle", move || match in_flight(&banks).iter().find(|(_, moved)| **moved != 0) {
        Some((id, moved)) => {
            Err(format!("transfer {id} still has {moved} in flight: debited, never credited nor refunded"))
        }
        None => Ok(()),
    })
}

/// `transfers-finish`, checked at the end of the quiet period.
pub fn transfers_finish(coordinator: Disk<Ledger>) -> Invariant {
    Invariant::finishes("transfers-finish", move || {
        coordinator.read_durable(|ledger| match ledger.values().find(|row| !row.stage.is_terminal()) {
            Some(row) => Err(format!("transfer {} is still {:?}", row.transfer.id, row.stage)),
            None => Ok(()),
        })
    })
}
