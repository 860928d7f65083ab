//! Counters of a sync, shared by every task, and the summary printed at the end.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Live counters.
#[derive(Debug)]
pub struct Stats {
    started: Instant,
    bytes: AtomicU64,
    files: AtomicU64,
    checked: AtomicU64,
    deleted: AtomicU64,
    updated: AtomicU64,
    errors: AtomicU64,
    heads: AtomicU64,
    queued_bytes: AtomicU64,
    queued_files: AtomicU64,
    uploads_aborted: AtomicU64,
    dirs: AtomicU64,
    unreadable: Mutex<Unreadable>,
}

/// How many paths could not be read, and the first [`UNREADABLE_SHOWN`] of them.
#[derive(Debug, Default)]
struct Unreadable {
    count: u64,
    first: Vec<String>,
}

pub use crate::guard::{UNREADABLE_SHOWN, unreadable_text};

/// What a sync did, as printed at the end (`--json` prints it as JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Bytes copied (uploaded or downloaded).
    pub bytes_transferred: u64,
    /// Files copied.
    pub files_transferred: u64,
    /// Files present on both sides and compared.
    pub files_checked: u64,
    /// Files deleted from the destination.
    pub files_deleted: u64,
    /// Files whose mtime was updated without copying them.
    pub files_updated: u64,
    /// Errors (each failed file, listing error or refused deletion).
    pub errors: u64,
    /// HEAD requests sent to learn metadata the listing and manifest did not give.
    pub head_requests: u64,
    /// Directories stored as markers (push) or created and given their mode, owner and
    /// mtime (pull).
    pub dirs_transferred: u64,
    /// Incomplete multipart uploads of earlier writers (crashes, lost answers) aborted.
    pub uploads_aborted: u64,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
    /// Whether this was a dry run (the counts are then what would have been done).
    pub dry_run: bool,
    /// Files and directories of the source that could not be read (each also an error).
    #[serde(skip_serializing_if = "is_zero")]
    pub unreadable: u64,
    /// The first of them (up to [`UNREADABLE_SHOWN`]), relative to the source.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable_paths: Vec<String>,
    /// A guard's refusal that did not fail the sync (the retention limit: the copy is
    /// complete, the old copies stay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<crate::guard::Refusal>,
    /// The S3 requests sent, by kind, retries included (as the server counts them).
    pub requests: ferry_api::types::S3Requests,
    /// Copies beyond `retain` that pruning left because Object Lock still holds them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locked: Vec<crate::snapshots::Waiting>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Default for Stats {
    fn default() -> Stats {
        Stats {
            started: Instant::now(),
            bytes: AtomicU64::new(0),
            files: AtomicU64::new(0),
            checked: AtomicU64::new(0),
            deleted: AtomicU64::new(0),
            updated: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            heads: AtomicU64::new(0),
            queued_bytes: AtomicU64::new(0),
            queued_files: AtomicU64::new(0),
            uploads_aborted: AtomicU64::new(0),
            dirs: AtomicU64::new(0),
            unreadable: Mutex::new(Unreadable::default()),
        }
    }
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Stats {
    /// A file of `bytes` was copied.
    pub fn transferred(&self, bytes: u64) {
        add(&self.files, 1);
        add(&self.bytes, bytes);
    }
    /// A copy of `bytes` was queued (for progress).
    pub fn queued(&self, bytes: u64) {
        add(&self.queued_files, 1);
        add(&self.queued_bytes, bytes);
    }
    /// A pair was compared.
    pub fn checked(&self) {
        add(&self.checked, 1);
    }
    /// Files were deleted.
    pub fn deleted(&self, n: u64) {
        add(&self.deleted, n);
    }
    /// A file's mtime was updated in place.
    pub fn updated(&self) {
        add(&self.updated, 1);
    }
    /// An error was met (and logged by the caller).
    pub fn error(&self) {
        add(&self.errors, 1);
    }
    /// A source path could not be read (counted as an error by the caller too).
    pub fn unreadable(&self, path: String) {
        let mut u = self.unreadable.lock().unwrap_or_else(|p| p.into_inner());
        u.count += 1;
        if u.first.len() < UNREADABLE_SHOWN {
            u.first.push(path);
        }
    }
    /// A HEAD request was sent to learn an object's metadata.
    pub fn head(&self) {
        add(&self.heads, 1);
    }
    /// A directory was stored or restored.
    pub fn dir(&self) {
        add(&self.dirs, 1);
    }
    /// Orphaned multipart uploads were aborted.
    pub fn uploads_aborted(&self, n: u64) {
        add(&self.uploads_aborted, n);
    }
    /// Errors so far.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
    /// Bytes copied and queued, files copied and queued.
    pub fn progress(&self) -> (u64, u64, u64, u64) {
        (
            self.bytes.load(Ordering::Relaxed),
            self.queued_bytes.load(Ordering::Relaxed),
            self.files.load(Ordering::Relaxed),
            self.queued_files.load(Ordering::Relaxed),
        )
    }

    /// The counters now.
    pub fn summary(&self, dry_run: bool) -> Summary {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let unreadable = self.unreadable.lock().unwrap_or_else(|p| p.into_inner());
        Summary {
            bytes_transferred: get(&self.bytes),
            files_transferred: get(&self.files),
            files_checked: get(&self.checked),
            files_deleted: get(&self.deleted),
            files_updated: get(&self.updated),
            errors: get(&self.errors),
            head_requests: get(&self.heads),
            dirs_transferred: get(&self.dirs),
            uploads_aborted: get(&self.uploads_aborted),
            elapsed_ms: u64::try_from(self.elapsed().as_millis()).unwrap_or(u64::MAX),
            dry_run,
            unreadable: unreadable.count,
            unreadable_paths: unreadable.first.clone(),
            refused: None,
            requests: ferry_api::types::S3Requests::default(),
            locked: Vec::new(),
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run {
            "Would transfer"
        } else {
            "Transferred"
        };
        write!(
            f,
            "{verb}: {} in {} files, checked {}, deleted {}, mtimes updated {}, errors {}, elapsed {:.1}s",
            bytes(self.bytes_transferred),
            self.files_transferred,
            self.files_checked,
            self.files_deleted,
            self.files_updated,
            self.errors,
            self.elapsed_ms as f64 / 1000.0
        )?;
        if self.dirs_transferred > 0 {
            write!(f, ", directories {}", self.dirs_transferred)?;
        }
        if self.uploads_aborted > 0 {
            write!(f, ", orphaned uploads aborted {}", self.uploads_aborted)?;
        }
        if self.requests.total > 0 {
            write!(f, "; {}", self.requests)?;
        }
        if self.unreadable > 0 {
            write!(
                f,
                "; {}",
                unreadable_text(self.unreadable, &self.unreadable_paths)
            )?;
        }
        if let Some(refusal) = &self.refused {
            write!(f, "; {refusal}")?;
        }
        if !self.locked.is_empty() {
            let copies: Vec<String> = self
                .locked
                .iter()
                .map(|w| format!("{} {}", w.copy, w.held))
                .collect();
            write!(
                f,
                "; {} old cop{} beyond retain locked, not pruned: {}",
                copies.len(),
                if copies.len() == 1 { "y" } else { "ies" },
                copies.join(", ")
            )?;
        }
        Ok(())
    }
}

/// `1.5 MiB`-style sizes.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line() {
        let s = Summary {
            bytes_transferred: 1536,
            files_transferred: 2,
            files_checked: 3,
            errors: 1,
            elapsed_ms: 1250,
            ..Summary::default()
        };
        assert_eq!(
            s.to_string(),
            "Transferred: 1.5 KiB in 2 files, checked 3, deleted 0, mtimes updated 0, errors 1, elapsed 1.2s"
        );
    }
}
