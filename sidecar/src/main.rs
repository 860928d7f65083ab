//! The `ferry-sidecar` binary: parses the command line and runs the chosen subcommand.

#![forbid(unsafe_code)]

mod agent_cli;
mod cli;
mod copies;
mod engine;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    cli::run(cli)
}
