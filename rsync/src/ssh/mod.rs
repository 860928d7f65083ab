//! rsync over SSH with russh: the transport the source gives `rsync -e`
//! ([`client`]), and the destination's locked-down server ([`server`]).

pub mod client;
mod error;
pub mod keyset;
pub mod pump;
pub mod server;
pub mod tuning;

pub use error::{Error, Result};

/// The port the destination's server listens on.
pub use ferry_api::contract::SSH_PORT as DEFAULT_SERVER_PORT;

/// The environment variable (sent as an SSH `env` request) naming the sync a transfer
/// belongs to, so the destination can pair it with the completion signal.
pub const SYNC_ID_ENV: &str = "FERRY_SYNC_ID";

/// Sets up plain-text logs on standard error, level from `RUST_LOG` (else `default`).
/// Standard output is never used: it may carry rsync's protocol.
pub fn init_logging(default: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// Builds the tokio runtime of the SSH commands with `workers` threads; 1 means a
/// current-thread runtime (no cross-thread wakeups, one core for the SSH session).
pub fn runtime(workers: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if workers <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
    }
}
