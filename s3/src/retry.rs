//! Whole-operation retries on top of the SDK's per-request ones: an operation that failed
//! with a retryable [`Error`] (throttling, 5xx, timeouts, resets, a file that changed, a
//! corrupt transfer) runs again after an exponential backoff with full jitter.

use std::future::Future;
use std::time::Duration;

use super::error::Result;

/// How often and how patiently to retry.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// Attempts in total, the first included.
    pub attempts: u32,
    /// The first backoff ceiling; it doubles per attempt.
    pub initial: Duration,
    /// The largest backoff ceiling.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            attempts: 4,
            initial: Duration::from_millis(250),
            max: Duration::from_secs(8),
        }
    }
}

impl Backoff {
    /// The wait before attempt `attempt` (1 = the first retry): uniform in
    /// `[0, min(max, initial * 2^(attempt-1))]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self
            .initial
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::random_range(0..=millis))
    }

    /// Runs `op` until it succeeds, fails with an error that is not retryable, or runs out
    /// of attempts; `what` names it in logs.
    pub async fn run<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(value) => return Ok(value),
                Err(e) if e.is_retryable() && attempt < self.attempts => {
                    let delay = self.delay(attempt);
                    tracing::debug!(%what, attempt, ?delay, error = %e, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::error::Error;

    #[test]
    fn delays_grow_and_stay_capped() {
        let b = Backoff {
            attempts: 10,
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for attempt in 1..20 {
            let ceiling = (100u64 << (attempt - 1).min(16)).min(1000);
            assert!(b.delay(attempt) <= Duration::from_millis(ceiling));
        }
    }

    #[tokio::test]
    async fn retries_only_retryable_errors() {
        let b = Backoff {
            attempts: 3,
            initial: Duration::from_millis(1),
            max: Duration::from_millis(2),
        };
        let calls = AtomicU32::new(0);
        let result: Result<()> = b
            .run("x", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::SourceChanged { path: "f".into() })
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        calls.store(0, Ordering::SeqCst);
        let result: Result<()> = b
            .run("x", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::config("s", "p", "f"))
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
