//! The destination's SSH server: a non-root russh server that lets the source do one thing,
//! rsync into the volume. It accepts only the source's public key, refuses shells, PTYs,
//! subsystems and every kind of forwarding, checks `rsync --server` command lines against
//! an rrsync-style allowlist, runs the system rsync without a shell, and records the
//! completion signal that follows a successful transfer.

mod accept;
pub mod allowlist;
pub mod cli;
pub mod command;
pub mod completion;
mod dispatch;
mod exec;
mod handler;
pub mod options;
pub mod paths;
pub mod refusal;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use russh::MethodKind;
use russh::keys::PrivateKey;
use tokio::net::TcpListener;

pub use allowlist::Access;
use allowlist::Hardening;
use completion::TransferTracker;
pub use completion::{Completion, CompletionLog};

use super::keyset::PublicKeySet;
use super::tuning::Tuning;
use super::{Error, Result};

/// Everything the server needs.
#[derive(Debug)]
pub struct ServerConfig {
    /// Address to listen on (the pod IP in a cluster).
    pub listen: SocketAddr,
    /// The host key (the `destination` key of the Secret).
    pub host_key: PrivateKey,
    /// The keys allowed in (the `source.pub` key of the Secret).
    pub authorized: PublicKeySet,
    /// The volume rsync writes into.
    pub volume: PathBuf,
    /// The rsync program to run.
    pub rsync: PathBuf,
    /// Whether clients may also read (pull) from the volume.
    pub access: Access,
    /// Where the completion marker is written (outside the volume).
    pub state_dir: Option<PathBuf>,
    /// SSH tuning.
    pub tuning: Tuning,
}

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) authorized: PublicKeySet,
    pub(crate) volume: PathBuf,
    pub(crate) rsync: PathBuf,
    pub(crate) access: Access,
    pub(crate) hardening: Hardening,
    pub(crate) tracker: Arc<TransferTracker>,
    /// The volume's root belongs to another user (usually root, as most provisioners make
    /// it), so this non-root server cannot set its times: rsync would end every push with
    /// "failed to set times on ." (exit 23). Directory times are then not kept; file times,
    /// modes and contents still are.
    pub(crate) omit_dir_times: bool,
}

/// Whether this process may set the times of `dir` (it owns it, or has CAP_FOWNER).
fn can_set_times(dir: &std::path::Path) -> bool {
    let Ok(meta) = std::fs::metadata(dir) else {
        return false;
    };
    let mtime = filetime::FileTime::from_last_modification_time(&meta);
    filetime::set_file_mtime(dir, mtime).is_ok()
}

/// The completion marker must not live in the volume: `rsync --delete` would remove it,
/// and a source could forge it.
fn check_state_dir(state_dir: Option<&std::path::Path>, volume: &std::path::Path) -> Result<()> {
    let Some(dir) = state_dir else {
        return Ok(());
    };
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        context: format!("state directory {}", dir.display()),
        source,
    })?;
    let dir = std::fs::canonicalize(dir).map_err(|source| Error::Io {
        context: format!("state directory {}", dir.display()),
        source,
    })?;
    if dir.starts_with(volume) {
        return Err(Error::Config {
            setting: "--state-dir (FERRY_STATE_DIR)",
            problem: format!(
                "{} is inside the volume {}; put it outside (an emptyDir)",
                dir.display(),
                volume.display()
            ),
        });
    }
    Ok(())
}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    russh: Arc<russh::server::Config>,
    tuning: Tuning,
    log: CompletionLog,
}

impl Server {
    /// Checks the configuration (volume, rsync version) and binds the listening socket.
    pub async fn bind(config: ServerConfig) -> Result<Self> {
        let volume = std::fs::canonicalize(&config.volume).map_err(|source| Error::Io {
            context: format!("volume {}", config.volume.display()),
            source,
        })?;
        check_state_dir(config.state_dir.as_deref(), &volume)?;
        let version = crate::rsync::version::check(&config.rsync)
            .await
            .map_err(|e| Error::Rsync {
                source: Box::new(e),
            })?;
        let hardening = if version >= crate::rsync::version::HARDENED {
            Hardening::Rsync35
        } else {
            tracing::warn!(%version, "rsync before 3.5 has no --drop-D: run the server as non-root \
                           so that device files cannot be created");
            Hardening::None
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Io {
                context: format!("listening on {}", config.listen),
                source,
            })?;
        let log = CompletionLog::new(config.state_dir.clone());
        let omit_dir_times = !can_set_times(&volume);
        if omit_dir_times {
            tracing::warn!(volume = %volume.display(), "the volume's root belongs to another user: \
                           directory times will not be kept (--omit-dir-times)");
        }
        let shared = Arc::new(Shared {
            omit_dir_times,
            authorized: config.authorized,
            volume,
            rsync: config.rsync,
            access: config.access,
            hardening,
            tracker: TransferTracker::new(log.clone()),
        });
        let russh = russh::server::Config {
            methods: (&[MethodKind::PublicKey][..]).into(),
            auth_rejection_time: Duration::from_secs(1),
            auth_rejection_time_initial: Some(Duration::ZERO),
            keys: vec![config.host_key],
            max_auth_attempts: 6,
            window_size: config.tuning.window_size,
            maximum_packet_size: config.tuning.packet_size,
            preferred: config.tuning.preferred(),
            nodelay: config.tuning.nodelay,
            // rsync can be silent for long while it checksums a big file: detect dead peers
            // with keepalives instead of an inactivity timeout.
            inactivity_timeout: None,
            keepalive_interval: Some(Duration::from_secs(30)),
            keepalive_max: 4,
            ..Default::default()
        };
        Ok(Self {
            listener,
            shared,
            russh: Arc::new(russh),
            tuning: config.tuning,
            log,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener.local_addr().map_err(|source| Error::Io {
            context: "reading the listening address".into(),
            source,
        })
    }

    /// Where completions are published; the sidecar snapshots on them.
    pub fn completions(&self) -> CompletionLog {
        self.log.clone()
    }

    /// Serves connections until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<()> {
        accept::run(
            self.listener,
            self.shared,
            self.russh,
            self.tuning,
            shutdown,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_dir_must_be_outside_the_volume() {
        let tmp = tempfile::tempdir().unwrap();
        let volume = std::fs::canonicalize(tmp.path()).unwrap().join("vol");
        std::fs::create_dir_all(&volume).unwrap();
        let err = check_state_dir(Some(&volume.join(".ferry")), &volume).unwrap_err();
        assert!(err.to_string().contains("is inside the volume"), "{err}");
        assert!(err.to_string().starts_with("--state-dir"), "{err}");
        assert!(check_state_dir(Some(&tmp.path().join("state")), &volume).is_ok());
        assert!(check_state_dir(None, &volume).is_ok());
    }
}
