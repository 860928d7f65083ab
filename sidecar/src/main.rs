//! The `ferry-sidecar` binary: parses the command line and runs the chosen subcommand.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = ferry_sidecar::cli::Cli::parse();
    ferry_sidecar::cli::run(cli)
}
