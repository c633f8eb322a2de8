//! Command-line arguments.

use clap::{Args, Parser, Subcommand};

/// Deterministic simulation and fault-injection testbed for VM control planes.
#[derive(Debug, Parser)]
#[command(name = "fleetsim", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List scenarios, bugs, invariants and fault kinds.
    List(ListArguments),
    /// Run one seed of one scenario.
    Run(RunArguments),
}

/// Arguments of `fleetsim list`.
#[derive(Debug, Args)]
pub struct ListArguments {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `fleetsim run`.
#[derive(Debug, Args)]
pub struct RunArguments {
    /// Scenario to run (see `fleetsim list`).
    #[arg(long)]
    pub scenario: String,
    /// Seed, decimal or 0x hexadecimal.
    #[arg(long)]
    pub seed: String,
    /// Catalog bug to switch on (repeatable).
    #[arg(long = "bug", value_name = "ID")]
    pub bugs: Vec<String>,
    /// Fault strategy: none, uniform or swarm.
    #[arg(long, default_value = "swarm")]
    pub strategy: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Print every trace event of the run.
    #[arg(long)]
    pub trace: bool,
}
