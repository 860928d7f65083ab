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
    Ssh(ferry_rsync::ssh::client::cli::SshArgs),
    /// The destination's SSH server: rsync into the volume, nothing else.
    Serve(ferry_rsync::ssh::server::cli::ServeArgs),
    /// Push a directory with rsync over `ferry-sidecar ssh`, then signal completion.
    Push(ferry_rsync::rsync::cli::PushArgs),
    /// Generate the ed25519 keys of a replication, as Secret files (VolSync key names).
    Keygen(ferry_rsync::keys::cli::KeygenArgs),
    /// Sync a local directory and an S3 prefix, either way, in rclone's format.
    Sync(ferry_s3::cli::SyncArgs),
    /// List the timestamped copies below an S3 prefix (JSON lines: stamp, complete, files,
    /// bytes).
    Copies(crate::copies::CopiesArgs),
    /// The injected sidecar: bind the CR, schedule, sync, snapshot, report (env from the
    /// webhook).
    Run(crate::agent_cli::RunArgs),
    /// The mover pod of copyMethod Snapshot/Clone: push the mounted copy once and report.
    Mover(crate::agent_cli::MoverArgs),
    /// Restore the empty volume from its last complete copy, once (the init container of a
    /// pod without native sidecars; env from the webhook).
    Restore(crate::agent_cli::RestoreArgs),
    /// Exit 0 once the sidecar's restore step is done (the native sidecar's startup probe).
    Restored(crate::agent_cli::RestoredArgs),
    /// The S3 sync of `run`, in its own process (internal: started by `run`).
    #[command(hide = true)]
    Engine(crate::agent_cli::EngineArgs),
}

/// Runs the chosen subcommand and maps its outcome to the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Version => {
            println!("ferry-sidecar {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Ssh(args) => ferry_rsync::ssh::client::cli::run(args),
        Command::Serve(args) => ferry_rsync::ssh::server::cli::run(args),
        Command::Push(args) => ferry_rsync::rsync::cli::run(args),
        Command::Keygen(args) => ferry_rsync::keys::cli::run(args),
        Command::Sync(args) => {
            ferry_rsync::ssh::init_logging("warn");
            ferry_s3::cli::run(args)
        }
        Command::Copies(args) => {
            ferry_rsync::ssh::init_logging("warn");
            crate::copies::run(args)
        }
        Command::Run(_) => ferry_agent::entry::exec_agent(),
        Command::Mover(_) => ferry_agent::entry::mover(crate::engine::in_process),
        Command::Engine(_) => crate::engine::main(),
        Command::Restore(_) => ferry_agent::entry::restore(crate::engine::in_process),
        Command::Restored(_) => ferry_agent::entry::restored(),
    }
}
