//! The push-in-progress mark of a plain prefix.
//!
//! A plain prefix is a mirror that each push updates in place: between a push's first
//! change and its last, it holds part of the old tree and part of the new. A push that
//! fails part-way still stores its manifest (the next push uses it to skip HEADs), and a
//! push that is killed leaves the previous one, so neither manifest says whether the
//! tree is whole. The mark does:
//! - before its first change (upload, mtime update or deletion) a push stores
//!   `<prefix>.ferry-push-in-progress` (`.ferry-push-in-progress` at a bucket's root),
//!   named as the manifest is and sealed like it through crypt;
//! - only a push that ended without an error removes it, after its manifest;
//! - a pull or a restore of a prefix that carries it refuses ([`refuse`]): never "nothing
//!   to restore", never a half-updated tree taken for a complete one.
//!
//! A prefix without the mark is pulled as it is: a complete push, or a tree rclone wrote
//! (no Ferry manifest is not "incomplete"). Timestamped copies need no mark: a copy counts
//! only once its own manifest is stored ([`crate::snapshots`]).

use aws_sdk_s3::primitives::ByteStream;
use tokio::sync::OnceCell;

use crate::error::{Error, Result};
use crate::ops::content_md5;
use crate::ops::hash::md5_of;
use crate::remote::Remote;
use crate::retry::Backoff;

/// The mark's name suffix, beside the manifest's.
pub const SUFFIX: &str = ".ferry-push-in-progress";

/// The mark's key for `remote` (beside its prefix, or at the bucket's root).
pub fn key(remote: &Remote) -> String {
    format!("{}{SUFFIX}", remote.prefix)
}

/// The mark of one push to a plain prefix: stored once, before the first change, and
/// removed when the push completed.
#[derive(Debug)]
pub struct Mark {
    remote: Remote,
    key: String,
    /// Set once the mark is stored (by this push or an unfinished one before it).
    stored: OnceCell<()>,
}

impl Mark {
    /// Looks whether an earlier push left the mark (one HEAD): this push must then remove
    /// it when it completes, even if it changes nothing.
    pub async fn look(remote: &Remote) -> Result<Mark> {
        let key = key(remote);
        let stored = OnceCell::new();
        if let Some(since) = stored_since(remote, &key).await? {
            tracing::warn!(mark = %key, "the last push to this prefix, {since}, did not finish; this one completes it");
            let _ = stored.set(());
        }
        Ok(Mark {
            remote: remote.clone(),
            key,
            stored,
        })
    }

    /// Stores the mark unless it is there: every change of the push awaits this first, so
    /// nothing changes on the remote before the mark says a push is under way.
    pub async fn before_change(&self) -> Result<()> {
        self.stored.get_or_try_init(|| self.store()).await.map(drop)
    }

    /// Removes the mark after a push that ended without an error. A no-op when it was
    /// never stored (nothing changed, and no earlier push left it).
    pub async fn clear(&self) -> Result<()> {
        if self.stored.get().is_none() {
            return Ok(());
        }
        let remote = &self.remote;
        Backoff::default()
            .run("DeleteObject push mark", || async {
                remote
                    .client
                    .delete_object()
                    .bucket(&remote.bucket)
                    .key(&self.key)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| remote.error("DeleteObject", &self.key, e))
            })
            .await
    }

    async fn store(&self) -> Result<()> {
        let remote = &self.remote;
        let plain = serde_json::json!({
            "ferry_push_in_progress": 1,
            "started": jiff::Timestamp::now().to_string(),
        })
        .to_string()
        .into_bytes();
        let body = match &remote.crypt {
            Some(crypt) => crypt.seal(&plain)?,
            None => plain,
        };
        let md5 = content_md5(&md5_of(&body));
        Backoff::default()
            .run("PutObject push mark", || async {
                remote
                    .client
                    .put_object()
                    .bucket(&remote.bucket)
                    .key(&self.key)
                    .content_type("application/json")
                    .content_md5(md5.as_str())
                    .body(ByteStream::from(body.clone()))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| remote.error("PutObject", &self.key, e))
            })
            .await
    }
}

/// Fails when a push to the plain prefix of `remote` has not finished (its mark is
/// there): what the prefix holds may be part old, part new, and is not pulled or
/// restored. One HEAD.
pub async fn refuse(remote: &Remote) -> Result<()> {
    let key = key(remote);
    match stored_since(remote, &key).await? {
        Some(since) => Err(Error::Unfinished {
            remote: remote.arg.clone(),
            mark: format!("{}/{key}", remote.bucket),
            since,
        }),
        None => Ok(()),
    }
}

/// When the mark at `key` was stored (`at <time>`), if it is there: one HEAD.
async fn stored_since(remote: &Remote, key: &str) -> Result<Option<String>> {
    let found = Backoff::default()
        .run("HeadObject push mark", || remote.head_object(key))
        .await;
    match found {
        Ok(head) => Ok(Some(
            head.last_modified
                .and_then(|t| t.to_millis().ok())
                .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
                .map_or_else(|| "at an unknown time".to_owned(), |t| format!("at {t}")),
        )),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}
