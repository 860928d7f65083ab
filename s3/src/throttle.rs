//! `--bwlimit`: one token bucket shared by every transfer, filled at the limit with a burst
//! of one second.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// A shared bandwidth limit.
#[derive(Debug)]
pub struct Throttle {
    rate: f64,
    state: Mutex<(f64, Instant)>,
}

impl Throttle {
    /// A limit of `bytes_per_second`.
    pub fn new(bytes_per_second: u64) -> Throttle {
        let rate = bytes_per_second.max(1) as f64;
        Throttle {
            rate,
            state: Mutex::new((rate, Instant::now())),
        }
    }

    /// Waits until `n` bytes may be sent or received.
    pub async fn take(&self, n: usize) {
        let wait = {
            let mut state = self.state.lock().await;
            let (tokens, last) = &mut *state;
            let now = Instant::now();
            *tokens =
                (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.rate);
            *last = now;
            *tokens -= n as f64;
            if *tokens >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-*tokens / self.rate)
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn holds_the_rate() {
        let t = Throttle::new(1_000_000);
        let start = Instant::now();
        for _ in 0..3 {
            t.take(500_000).await;
        }
        // 1.5 MB at 1 MB/s with a 1 MB burst: about half a second.
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_secs(2),
            "{took:?}"
        );
    }
}
