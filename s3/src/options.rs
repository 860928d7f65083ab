//! What a sync does, as decided on the command line (or by the sidecar from the CR).

use std::time::Duration;

use ferry_api::rules::rate::BandwidthLimit;

use super::entry::Links;
use super::list::Filter;

/// How unchanged files are recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Same size and mtime (rclone's default); a differing mtime with equal MD5 only
    /// updates the mtime.
    SizeAndMtime,
    /// Same size and MD5 (`--checksum`).
    Checksum,
}

/// Whether anything is changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Copy and delete.
    Apply,
    /// Print what would be copied and deleted, change nothing (`--dry-run`).
    DryRun,
}

pub use ferry_api::contract::engine::Layout;

/// Sizes of uploads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadTuning {
    /// Files larger than this go up in parts.
    pub cutoff: u64,
    /// The smallest part (grown for huge files to stay within 10,000 parts).
    pub part_size: u64,
    /// Parts of one file in flight at once.
    pub part_concurrency: usize,
    /// Bytes of file data held in memory at once, across all transfers; lowered to fit the
    /// container's memory limit ([`crate::budget`]).
    pub memory: u64,
}

impl Default for UploadTuning {
    fn default() -> UploadTuning {
        UploadTuning {
            cutoff: 16 << 20,
            part_size: 8 << 20,
            part_concurrency: 4,
            memory: crate::budget::DEFAULT,
        }
    }
}

/// Everything that shapes a sync.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Change detection.
    pub compare: Compare,
    /// Apply or dry run.
    pub mode: Mode,
    /// Files copied at once (`--transfers`).
    pub transfers: usize,
    /// Comparisons needing I/O (HEAD, hashing) at once (`--checkers`).
    pub checkers: usize,
    /// Exclusions, applied to both sides.
    pub filter: Filter,
    /// Refuse to delete more than this many files (`--max-delete`).
    pub max_delete: Option<u64>,
    /// Symlink handling (`--links`).
    pub links: Links,
    /// Bandwidth limit (`--bwlimit`).
    pub bwlimit: BandwidthLimit,
    /// Plain or timestamped.
    pub layout: Layout,
    /// Upload sizes.
    pub upload: UploadTuning,
    /// After a successful push, abort incomplete multipart uploads below the prefix that
    /// are older than this (orphans of lost answers and crashes); `None` sweeps nothing.
    pub abort_uploads_older_than: Option<Duration>,
    /// The guards against mass loss (empty source, shrink limit, retention).
    pub guards: crate::guard::Guards,
    /// Object Lock for what a push writes, from the CR or the command line; the remote's
    /// rclone keys apply when this is `None`. A push fixes its date ([`crate::lock`]).
    pub lock: Option<crate::lock::Lock>,
}

/// The default age past which an incomplete upload below the prefix is an orphan: a day,
/// as rclone's `cleanup`, far longer than any upload of a live writer.
pub const ORPHAN_UPLOAD_AGE: Duration = Duration::from_secs(24 * 3600);

impl Default for SyncOptions {
    fn default() -> SyncOptions {
        SyncOptions {
            compare: Compare::SizeAndMtime,
            mode: Mode::Apply,
            transfers: 16,
            checkers: 16,
            filter: Filter::default(),
            max_delete: None,
            links: Links::Skip,
            bwlimit: BandwidthLimit::Off,
            layout: Layout::Plain,
            upload: UploadTuning::default(),
            abort_uploads_older_than: Some(ORPHAN_UPLOAD_AGE),
            guards: crate::guard::Guards::default(),
            lock: None,
        }
    }
}
