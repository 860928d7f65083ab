//! The command line: one subcommand per role. Each subcommand's arguments live in the module
//! that implements it; this file only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Ferry's replication sidecar.
#[derive(Debug, Parser)]
#[command(name = "ferry-sidecar", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The roles of the binary.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the version and exit.
    Version,
}

/// Runs the chosen subcommand and maps its outcome to the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Version => {
            println!("ferry-sidecar {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
    }
}
