//! The one back-off between retries: it starts short, doubles after each failure up to a
//! ceiling, and starts over after a success, so a brief outage is retried at once and a long
//! one does not hammer the API server.

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
}
