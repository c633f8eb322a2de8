//! What crosses the wire: the client's and the coordinator's requests, and the banks' replies.

use serde::{Deserialize, Serialize};

/// One of the two banks, each holding one account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Bank {
    /// `bank-a`.
    A,
    /// `bank-b`.
    B,
}

impl Bank {
    /// The other bank.
    pub fn other(self) -> Bank {
        match self {
            Bank::A => Bank::B,
            Bank::B => Bank::A,
        }
    }

    /// Its position in the system's bank list.
    pub fn position(self) -> usize {
        match self {
            Bank::A => 0,
            Bank::B => 1,
        }
    }
}

/// A transfer a client asks for: `amount` from the account at `from` to the one at the other bank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Transfer {
    /// The client's id for it; a resubmission with the same id is the same transfer.
    pub id: u64,
    /// The bank debited; the other one is credited.
    pub from: Bank,
    /// How much moves.
    pub amount: i64,
}

/// What a bank can be asked to do, each under the transfer's id so a retry is recognized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Entry {
    /// Take money out for a transfer.
    Debit,
    /// Put money in for a transfer.
    Credit,
    /// Give back the debit of a transfer that could not be credited.
    Refund,
}

/// A request between nodes.
#[derive(Clone, Debug, Hash)]
pub enum Request {
    /// Client to coordinator: run this transfer (idempotent by id).
    Submit(Transfer),
    /// Coordinator to a bank: apply one entry of a transfer.
    Apply {
        /// The transfer's id.
        transfer: u64,
        /// What to apply.
        entry: Entry,
        /// How much.
        amount: i64,
    },
}

/// A reply between nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reply {
    /// The coordinator holds the transfer durably.
    Accepted,
    /// The bank applied the entry now.
    Applied,
    /// The bank had applied this entry of this transfer before.
    AlreadyApplied,
    /// The bank refuses: not enough money for a debit, or the account's cap for a credit.
    Refused,
}

/// The RPC endpoint every node of the system uses.
pub type TransferRpc = fleetsim_sim::Rpc<Request, Reply>;
