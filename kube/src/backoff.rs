//! The one back-off between retries: it starts short, doubles after each failure up to a
//! ceiling, and starts over after a success, so a brief outage is retried at once and a long
//! one does not hammer the API server. [`Backoff::jittered`] spreads the retries of many
//! pods that failed together (an outage of the bucket), deterministically per pod.

use std::time::Duration;

/// A doubling delay between `first` and `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    /// Starts at `first`, doubles up to `max`.
    pub const fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            current: first,
        }
    }

    /// The delay to wait now.
    pub fn current(&self) -> Duration {
        self.current
    }

    /// After a failure: the next delay is twice this one, at most `max`.
    pub fn advance(&mut self) {
        self.current = (self.current * 2).min(self.max);
    }

    /// After a success: back to `first`.
    pub fn reset(&mut self) {
        self.current = self.first;
    }

    /// The delay to wait now, shortened by up to [`JITTER`] of it as `unit` (in `0..1`)
    /// says: never above the ceiling, and still growing, since the next delay (twice this
    /// one, less a quarter at most) is at least one and a half times this one.
    pub fn jittered(&self, unit: f64) -> Duration {
        self.current.mul_f64(1.0 - JITTER * unit.clamp(0.0, 1.0))
    }
}

/// The largest share of a delay that jitter takes off.
pub const JITTER: f64 = 0.25;

/// A number in `0..1` that depends only on `seed` and `attempt` (FNV-1a): the jitter of one
/// pod's retries is the same on every run, and differs from its neighbours'.
pub fn jitter_unit(seed: &str, attempt: u32) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in seed.bytes().chain(attempt.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_ceiling_and_starts_over() {
        let mut backoff = Backoff::new(Duration::from_secs(30), Duration::from_secs(300));
        let mut seen = Vec::new();
        for _ in 0..6 {
            seen.push(backoff.current().as_secs());
            backoff.advance();
        }
        assert_eq!(seen, [30, 60, 120, 240, 300, 300]);
        backoff.reset();
        assert_eq!(backoff.current(), Duration::from_secs(30));
    }

    #[test]
    fn jitter_shortens_by_at_most_a_quarter_and_the_delays_still_grow() {
        let mut backoff = Backoff::new(Duration::from_secs(15), Duration::from_secs(1800));
        let mut last = Duration::ZERO;
        for attempt in 0..12 {
            let unit = jitter_unit("web-0", attempt);
            assert!((0.0..1.0).contains(&unit), "{unit}");
            let delay = backoff.jittered(unit);
            assert!(delay <= backoff.current() && delay >= backoff.current().mul_f64(0.75));
            assert!(delay <= Duration::from_secs(1800), "never above the cap");
            if backoff.current() < Duration::from_secs(1800) {
                assert!(delay > last, "attempt {attempt}: {delay:?} after {last:?}");
            }
            last = delay;
            backoff.advance();
        }
        assert_eq!(jitter_unit("a", 1), jitter_unit("a", 1));
        assert_ne!(jitter_unit("a", 1), jitter_unit("b", 1));
    }
}
