//! Part buffers, reused across the parts and files of a sync.
//!
//! A part is read into a multi-megabyte buffer on a blocking thread and freed on another
//! when its request ends. glibc keeps such freed buffers in per-thread arenas (its mmap
//! threshold grows to their size after the first free), so allocating one per part made a
//! 4 × 256 MiB push hold about three times its memory budget. Reusing them keeps the
//! process at the budget: the memory semaphore bounds how many are out at once.

use std::sync::Mutex;

use bytes::{Bytes, BytesMut};

/// Buffers kept for reuse at most; more than the budget ever has out at once.
const KEEP: usize = 16;

/// A pool of part buffers.
#[derive(Debug, Default)]
pub struct Buffers {
    free: Mutex<Vec<BytesMut>>,
}

impl Buffers {
    /// A zeroed buffer of `len` bytes, reused when one is free.
    pub fn take(&self, len: usize) -> BytesMut {
        let reused = self.lock().pop();
        let mut buf = reused.unwrap_or_default();
        buf.clear();
        buf.resize(len, 0);
        buf
    }

    /// Returns a part's body once its request is over; dropped instead when something
    /// still holds a reference to it.
    pub fn give(&self, body: Bytes) {
        if let Ok(buf) = body.try_into_mut() {
            let mut free = self.lock();
            if free.len() < KEEP {
                free.push(buf);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<BytesMut>> {
        self.free.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_buffer_is_reused_zeroed() {
        let pool = Buffers::default();
        let mut first = pool.take(1024);
        first[0] = 7;
        let first = first.freeze();
        let address = first.as_ptr();
        pool.give(first);
        let again = pool.take(512);
        assert_eq!(again.as_ptr(), address);
        assert_eq!(again.len(), 512);
        assert!(again.iter().all(|b| *b == 0));
        // A body still shared is not taken back.
        let shared = pool.take(8).freeze();
        let other = shared.clone();
        pool.give(shared);
        assert_eq!(pool.lock().len(), 0);
        drop(other);
    }
}
