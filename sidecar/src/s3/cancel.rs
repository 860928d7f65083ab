//! Stopping a running sync (SIGTERM, SIGINT): the march stops, multipart uploads in flight
//! are aborted, downloads drop their temporary files, nothing is deleted and no manifest
//! is written.

use tokio::sync::watch;

/// The side a sync watches.
#[derive(Clone, Debug)]
pub struct Cancel(watch::Receiver<bool>);

/// The side that stops a sync.
#[derive(Debug)]
pub struct Canceller(watch::Sender<bool>);

/// A connected pair.
pub fn pair() -> (Canceller, Cancel) {
    let (tx, rx) = watch::channel(false);
    (Canceller(tx), Cancel(rx))
}

impl Canceller {
    /// Asks the sync to stop.
    pub fn cancel(&self) {
        let _ = self.0.send(true);
    }
}

impl Cancel {
    /// A `Cancel` that never fires.
    pub fn never() -> Cancel {
        let (tx, rx) = watch::channel(false);
        // Leak nothing: a dropped sender leaves the value false forever.
        drop(tx);
        Cancel(rx)
    }

    /// Whether stopping was asked for.
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until stopping is asked for (forever if it never is).
    pub async fn wait(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
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
