//! The accept loop: a bounded number of connections, each with a deadline for the SSH
//! greeting and for authentication.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::{Shared, handler};
use crate::ssh::Result;
use crate::ssh::tuning::Tuning;

/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 16;
/// Time a client has to authenticate.
const AUTH_DEADLINE: Duration = Duration::from_secs(60);

/// Accepts and serves connections until `shutdown` resolves.
pub(super) async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    config: Arc<russh::server::Config>,
    tuning: Tuning,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => accepted,
        };
        let (socket, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        let (shared, config) = (shared.clone(), config.clone());
        let socket = tuning.buffered(socket);
        tokio::spawn(async move {
            serve_one(config, shared, socket, peer).await;
            drop(slot);
        });
    }
}

async fn serve_one(
    config: Arc<russh::server::Config>,
    shared: Arc<Shared>,
    socket: tokio::io::BufReader<tokio::net::TcpStream>,
    peer: SocketAddr,
) {
    if config.nodelay {
        let _ = socket.get_ref().set_nodelay(true);
    }
    let connection = handler::Connection::new(shared, Some(peer));
    let authenticated = connection.authenticated.clone();
    let started = tokio::time::timeout(
        AUTH_DEADLINE,
        russh::server::run_stream(config, socket, connection),
    )
    .await;
    let session = match started {
        Ok(Ok(session)) => session,
        Ok(Err(e)) => {
            tracing::info!(%peer, error = %e, "SSH handshake failed");
            return;
        }
        Err(_) => {
            tracing::info!(%peer, "no SSH identification in time");
            return;
        }
    };
    let handle = session.handle();
    let watchdog = tokio::spawn(async move {
        tokio::time::sleep(AUTH_DEADLINE).await;
        if !authenticated.load(std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(%peer, reason = "auth-timeout", "refused: no authentication in time");
            let _ = handle
                .disconnect(
                    russh::Disconnect::ByApplication,
                    "authentication timeout".into(),
                    "".into(),
                )
                .await;
        }
    });
    match session.await {
        Ok(()) => tracing::debug!(%peer, "connection closed"),
        // A client that closes its socket after disconnecting shows up as an early EOF.
        Err(russh::Error::IO(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            tracing::debug!(%peer, "connection closed");
        }
        // An oversized packet (such as a 1 MiB exec command) ends the connection in russh
        // before any handler sees it: report it as the refusal it is.
        Err(russh::Error::PacketSize(len)) => tracing::warn!(
            %peer,
            reason = "packet-too-large",
            "refused: a packet of {len} bytes is larger than SSH allows; connection closed"
        ),
        Err(e) => tracing::info!(%peer, error = %e, "connection ended with an error"),
    }
    watchdog.abort();
}
