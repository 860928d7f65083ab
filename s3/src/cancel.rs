//! Stopping a running sync (SIGTERM, SIGINT): the march stops, multipart uploads in flight
//! are aborted, downloads drop their temporary files, nothing is deleted and no manifest
//! is written.
//!
//! The token is tokio-util's [`CancellationToken`], the type the agent stops its work with;
//! these names keep the engine's call sites short, and [`From`] takes the agent's token as is.

use tokio_util::sync::CancellationToken;

/// The side a sync watches.
#[derive(Clone, Debug)]
pub struct Cancel(CancellationToken);

/// The side that stops a sync.
#[derive(Debug)]
pub struct Canceller(CancellationToken);

/// A connected pair.
pub fn pair() -> (Canceller, Cancel) {
    let token = CancellationToken::new();
    (Canceller(token.clone()), Cancel(token))
}

impl Canceller {
    /// Asks the sync to stop.
    pub fn cancel(&self) {
        self.0.cancel();
    }
}

impl From<CancellationToken> for Cancel {
    fn from(token: CancellationToken) -> Cancel {
        Cancel(token)
    }
}

impl Cancel {
    /// A `Cancel` that never fires.
    pub fn never() -> Cancel {
        Cancel(CancellationToken::new())
    }

    /// Whether stopping was asked for.
    pub fn is_set(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Waits until stopping is asked for (forever if it never is).
    pub async fn wait(&self) {
        self.0.cancelled().await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn fires_once_asked() {
        let (canceller, cancel) = pair();
        assert!(!cancel.is_set());
        let waiting = tokio::spawn({
            let cancel = cancel.clone();
            async move { cancel.wait().await }
        });
        canceller.cancel();
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .unwrap()
            .unwrap();
        assert!(cancel.is_set());
        let never = Cancel::never();
        assert!(
            tokio::time::timeout(Duration::from_millis(20), never.wait())
                .await
                .is_err()
        );
    }
}
