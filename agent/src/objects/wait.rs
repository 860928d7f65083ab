//! Bounded waiting for one object to reach a state.
//!
//! Polling with a growing interval rather than a watch: the sidecar waits for one object at a
//! time, a GET every few seconds costs the apiserver less than a watch held for hours, and a
//! dropped connection is simply the next poll, with no stream to resume.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::error::{Error, Result, retryable};

/// The first pause between polls: snapshots and claims are often ready within a second.
const FIRST: Duration = Duration::from_millis(200);
/// The longest pause: how late, at most, a long mover run is noticed to have ended.
const LONGEST: Duration = Duration::from_secs(5);

/// What one look at the object found.
pub(crate) enum Poll<T> {
    /// The state was reached.
    Done(T),
    /// Not yet; what was seen, to report if the wait times out.
    Pending(Option<String>),
}

/// Calls `check` until it gives [`Poll::Done`], for at most `timeout`. Transient API
/// failures are retried (and remembered as the last thing seen); any other error ends the wait.
/// On timeout the error names `what` and the last thing seen.
pub(crate) async fn until<T, F, Fut>(what: String, timeout: Duration, check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>>>,
{
    until_paced(what, timeout, (FIRST, LONGEST), check).await
}

/// [`until`], polling every `every` without backing off: for a state that comes within
/// seconds and whose moment matters (the cut of a snapshot while the app is frozen).
pub(crate) async fn until_every<T, F, Fut>(
    what: String,
    timeout: Duration,
    every: Duration,
    check: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>>>,
{
    until_paced(what, timeout, (every, every), check).await
}

async fn until_paced<T, F, Fut>(
    what: String,
    timeout: Duration,
    (first, longest): (Duration, Duration),
    mut check: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>>>,
{
    let start = Instant::now();
    let mut backoff = ferry_kube::Backoff::new(first, longest);
    let mut last = None;
    loop {
        match check().await {
            Ok(Poll::Done(value)) => return Ok(value),
            Ok(Poll::Pending(seen)) => last = seen.or(last),
            Err(error) if transient(&error) => last = Some(error.to_string()),
            Err(error) => return Err(error),
        }
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            return Err(Error::Timeout {
                what,
                waited: timeout,
                last,
            });
        }
        tokio::time::sleep(backoff.current().min(timeout - elapsed)).await;
        backoff.advance();
    }
}

/// An API failure that a later poll may not meet (a network blip, an apiserver restart).
fn transient(error: &Error) -> bool {
    matches!(error, Error::Api { source, .. } if retryable(source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wait_that_never_ends_reports_the_last_thing_seen() {
        let mut n = 0;
        let result: Result<()> = until("x to be ready".into(), Duration::from_secs(1), || {
            n += 1;
            let seen = (n == 2).then(|| "error: no space".to_owned());
            async move { Ok(Poll::Pending(seen)) }
        })
        .await;
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            message,
            "timed out after 1s waiting for x to be ready (last seen: error: no space)"
        );
    }

    #[tokio::test]
    async fn a_wait_ends_as_soon_as_the_state_is_reached() {
        let mut n = 0;
        let value = until("x".into(), Duration::from_secs(60), || {
            n += 1;
            let done = n == 3;
            async move {
                Ok(if done {
                    Poll::Done(n)
                } else {
                    Poll::Pending(None)
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(value, 3);
    }
}
