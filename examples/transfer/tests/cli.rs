//! The transfer system's binary keeps the same command-line contract as the stock `fleetsim`
//! binary, and its bugs are found and replayed end to end.

#[path = "../../../tests/contract/mod.rs"]
mod contract;

const SUBJECT: contract::Subject = contract::Subject {
    binary: env!("CARGO_BIN_EXE_transfer-sim"),
    program: "transfer-sim",
    scenario: "transfers",
    bug: "restart-forgets-debit",
    bug_scenario: "transfers",
};

cli_contract_tests!(SUBJECT);
