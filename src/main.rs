//! The stock `fleetsim` binary: the command-line library over the built-in registry. Exit codes
//! are part of the contract: 0 pass, 1 violation, 2 bad input, 3 a replay that diverged.

use std::process::ExitCode;

/// mimalloc: each run allocates and frees many small objects, and campaign threads allocate at once.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    fleetsim::main_with(fleetsim_scenarios::registry())
}
