//! `transfer-sim`: every fleetsim command over the transfer system, in one call.

use std::process::ExitCode;

fn main() -> ExitCode {
    fleetsim::main_with(fleetsim_example_transfer::registry())
}
