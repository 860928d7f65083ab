//! `ferry-sidecar serve`: the destination's SSH server as a command.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use super::{Access, Server, ServerConfig};
use crate::ssh::keyset::{PublicKeySet, load_private_key};
use crate::ssh::tuning::Tuning;

/// Arguments of `ferry-sidecar serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on: the pod IP from the downward API.
    #[arg(long, env = "FERRY_POD_IP", default_value = "127.0.0.1")]
    pub listen_address: IpAddr,
    /// Port to listen on.
    #[arg(long, env = "FERRY_SSH_PORT", default_value_t = crate::ssh::DEFAULT_SERVER_PORT)]
    pub port: u16,
    /// Host private key (the `destination` key of the keys Secret).
    #[arg(long, env = "FERRY_SSH_HOST_KEY")]
    pub host_key: PathBuf,
    /// The source's public key, the only one let in (`source.pub` of the Secret).
    #[arg(long, env = "FERRY_SSH_AUTHORIZED_KEY")]
    pub authorized_key: String,
    /// The volume rsync writes into.
    #[arg(long, env = "FERRY_VOLUME")]
    pub volume: PathBuf,
    /// Directory for the completion marker; keep it outside the volume.
    #[arg(long, env = "FERRY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// The rsync program.
    #[arg(long, env = "FERRY_RSYNC", default_value = "rsync")]
    pub rsync: PathBuf,
    /// Also let clients read from the volume (`rsync --sender`), for restores.
    #[arg(long, env = "FERRY_ALLOW_READ")]
    pub allow_read: bool,
    /// SSH tuning.
    #[command(flatten)]
    pub tuning: Tuning,
}

/// Runs the server until SIGTERM or Ctrl-C.
pub fn run(args: ServeArgs) -> ExitCode {
    crate::ssh::init_logging("info");
    let runtime = match crate::ssh::runtime(usize::from(args.tuning.workers)) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry-sidecar serve: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("ferry-sidecar serve: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> crate::ssh::Result<()> {
    let config = ServerConfig {
        listen: SocketAddr::new(args.listen_address, args.port),
        host_key: load_private_key(&args.host_key)?,
        authorized: PublicKeySet::load(&args.authorized_key)?,
        volume: args.volume,
        rsync: args.rsync,
        access: if args.allow_read {
            Access::ReadWrite
        } else {
            Access::WriteOnly
        },
        state_dir: args.state_dir,
        tuning: args.tuning,
    };
    let server = Server::bind(config).await?;
    tracing::info!(address = %server.local_addr()?, "listening");
    server.run(ferry_kube::shutdown::signalled()).await?;
    tracing::info!("stopped");
    Ok(())
}
