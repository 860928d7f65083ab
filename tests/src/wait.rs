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

/// Runs `phase` for at most `limit`; the error names `what` did not finish, so a test that
/// would hang fails saying where.
pub async fn within<T, Fut>(limit: Duration, what: &str, phase: Fut) -> anyhow::Result<T>
where
    Fut: Future<Output = anyhow::Result<T>>,
{
    match tokio::time::timeout(limit, phase).await {
        Ok(result) => result,
        Err(_) => bail!("{what} did not finish within {limit:?}"),
    }
}
