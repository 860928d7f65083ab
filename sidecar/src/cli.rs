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
    /// The SSH transport for `rsync -e` (russh, destination host key pinned).
    Ssh(crate::ssh::client::cli::SshArgs),
    /// The destination's SSH server: rsync into the volume, nothing else.
    Serve(crate::ssh::server::cli::ServeArgs),
    /// Push a directory with rsync over `ferry-sidecar ssh`, then signal completion.
    Push(crate::rsync::cli::PushArgs),
    /// Generate the ed25519 keys of a replication, as Secret files (VolSync key names).
    Keygen(crate::keys::cli::KeygenArgs),
    /// Sync a local directory and an S3 prefix, either way, in rclone's format.
    Sync(crate::s3::cli::SyncArgs),
    /// The injected sidecar: bind the CR, schedule, sync, snapshot, report (env from the
    /// webhook).
    Run(crate::agent::cli::RunArgs),
    /// The mover pod of copyMethod Snapshot/Clone: push the mounted copy once and report.
    Mover(crate::agent::cli::MoverArgs),
    /// The S3 sync of `run`, in its own process (internal: started by `run`).
    #[command(hide = true)]
    Engine(crate::agent::cli::EngineArgs),
}

/// Runs the chosen subcommand and maps its outcome to the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Version => {
            println!("ferry-sidecar {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Ssh(args) => crate::ssh::client::cli::run(args),
        Command::Serve(args) => crate::ssh::server::cli::run(args),
        Command::Push(args) => crate::rsync::cli::run(args),
        Command::Keygen(args) => crate::keys::cli::run(args),
        Command::Sync(args) => crate::s3::cli::run(args),
        Command::Run(_) => crate::agent::run::exec_agent(),
        Command::Mover(_) => crate::agent::mover::main(),
        Command::Engine(_) => crate::agent::engine::main(),
    }
}
