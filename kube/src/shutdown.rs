//! The one way a Ferry process learns it must stop: the kubelet sends SIGTERM when a pod is
//! deleted or evicted, and a person at a terminal sends SIGINT.

/// Resolves when SIGTERM or SIGINT arrives. If the SIGTERM handler cannot be installed it
/// waits for SIGINT alone, and if neither can be, it never resolves: a process that cannot
/// hear signals still does its work, and the kubelet's SIGKILL ends it.
pub async fn signalled() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                () = interrupted() => {}
            }
        }
        Err(_) => interrupted().await,
    }
}

/// SIGINT, or never if its handler cannot be installed.
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
