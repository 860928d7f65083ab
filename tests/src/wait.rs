//! Bounded waiting: poll until the cluster shows what a test expects, or fail saying what
//! did not happen in time.

use std::future::Future;
use std::time::Duration;

use anyhow::bail;

/// How often [`eventually`] polls.
pub const POLL: Duration = Duration::from_millis(200);

/// Polls `check` every [`POLL`] until it returns `Some`, for at most `limit`; the error names
/// `what` was awaited.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(POLL).await;
    }
}
