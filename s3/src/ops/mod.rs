//! Per-object operations: upload (single part or parallel multipart), download with mtime,
//! mode and owner restored, HEAD, mtime-only updates, deletions, local hashing.

pub mod buffers;
pub mod delete;
pub mod download;
pub mod hash;
pub mod head;
pub mod multipart;
pub mod orphans;
pub mod touch;
pub mod upload;

use std::sync::Arc;

use aws_sdk_s3::primitives::DateTime;
use aws_sdk_s3::types::{
    ObjectCannedAcl, ObjectLockLegalHoldStatus, ObjectLockMode, ServerSideEncryption, StorageClass,
};
use ferry_api::rules::rate::BandwidthLimit;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

use self::buffers::Buffers;
use super::budget::{budget, cgroup_limit};
use super::cancel::Cancel;
use super::error::{Error, Result};
use super::options::SyncOptions;
use super::remote::Remote;
use super::retry::Backoff;
use super::stats::Stats;
use super::throttle::Throttle;

/// Memory is reserved in units of this many bytes.
const MEMORY_UNIT: u64 = 64 * 1024;

/// What every operation of one sync shares.
#[derive(Debug)]
pub struct Ctx {
    /// The S3 side.
    pub remote: Remote,
    /// The options.
    pub opts: SyncOptions,
    /// The counters.
    pub stats: Arc<Stats>,
    /// Whole-operation retries.
    pub backoff: Backoff,
    /// Fires when the sync must stop.
    pub cancel: Cancel,
    /// Part buffers, reused.
    pub buffers: Buffers,
    throttle: Option<Throttle>,
    memory: Arc<Semaphore>,
    memory_units: u32,
}

impl Ctx {
    /// The context of a sync with `remote` as its S3 side.
    pub fn new(remote: Remote, opts: SyncOptions, stats: Arc<Stats>, cancel: Cancel) -> Ctx {
        let memory = budget(opts.upload.memory, cgroup_limit());
        let memory_units = u32::try_from((memory / MEMORY_UNIT).max(1)).unwrap_or(u32::MAX >> 4);
        Ctx {
            throttle: match opts.bwlimit {
                BandwidthLimit::Off => None,
                BandwidthLimit::BytesPerSecond(rate) => Some(Throttle::new(rate)),
            },
            memory: Arc::new(Semaphore::new(memory_units as usize)),
            memory_units,
            remote,
            opts,
            stats,
            backoff: Backoff::default(),
            cancel,
            buffers: Buffers::default(),
        }
    }

    /// Reserves memory for a buffer of `bytes` (capped at the whole budget).
    pub async fn reserve(&self, bytes: u64) -> Result<SemaphorePermit<'_>> {
        self.memory
            .acquire_many(self.units(bytes))
            .await
            .map_err(|_| Error::Cancelled)
    }

    /// Reserves memory for a buffer of `bytes` that outlives the caller (a part in flight).
    pub async fn reserve_owned(&self, bytes: u64) -> Result<OwnedSemaphorePermit> {
        Arc::clone(&self.memory)
            .acquire_many_owned(self.units(bytes))
            .await
            .map_err(|_| Error::Cancelled)
    }

    /// The memory budget in bytes: no part may be larger.
    pub fn budget(&self) -> u64 {
        u64::from(self.memory_units) * MEMORY_UNIT
    }

    fn units(&self, bytes: u64) -> u32 {
        u32::try_from(bytes.div_ceil(MEMORY_UNIT).max(1))
            .unwrap_or(u32::MAX)
            .min(self.memory_units)
    }

    /// Waits until `n` bytes may move under `--bwlimit`.
    pub async fn throttle(&self, n: usize) {
        if let Some(t) = &self.throttle {
            t.take(n).await;
        }
    }

    /// The canned ACL for new objects (`acl`).
    pub fn acl(&self) -> Option<ObjectCannedAcl> {
        self.remote.config.acl.as_deref().map(ObjectCannedAcl::from)
    }

    /// Server-side encryption for new objects (`server_side_encryption`).
    pub fn sse(&self) -> Option<ServerSideEncryption> {
        self.remote
            .config
            .server_side_encryption
            .as_deref()
            .map(ServerSideEncryption::from)
    }

    /// The Object Lock mode of new objects (with [`Ctx::lock_until`]).
    pub fn lock_mode(&self) -> Option<ObjectLockMode> {
        self.opts.lock.as_ref().map(|l| l.mode.s3())
    }

    /// The retain-until date of new objects, fixed for the whole push.
    pub fn lock_until(&self) -> Option<DateTime> {
        self.opts.lock.as_ref().and_then(|l| l.until())
    }

    /// The legal hold of new objects, when one is asked for.
    pub fn legal_hold(&self) -> Option<ObjectLockLegalHoldStatus> {
        self.opts.lock.as_ref().and_then(|l| l.hold())
    }

    /// The storage class for new objects (`storage_class`).
    pub fn storage_class(&self) -> Option<StorageClass> {
        self.remote
            .config
            .storage_class
            .as_deref()
            .map(StorageClass::from)
    }
}

/// The base64 Content-MD5 of a digest.
pub fn content_md5(md5: &[u8; 16]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(md5)
}

/// Runs blocking file work off the async threads.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(Error::Task)?
}
