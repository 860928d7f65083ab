//! The orphan sweep. A CreateMultipartUpload whose answer was lost is retried by the SDK and
//! makes a second upload; the first is never completed nor aborted, and S3 bills its parts
//! until someone aborts it. A crash mid-upload leaves the same. At the end of a successful
//! push, Ferry aborts the incomplete uploads below its own prefix that are older than a
//! bound (rclone's `cleanup` does this by hand), so a writer still at work is never touched.

use std::time::{Duration, SystemTime};

use super::multipart::abort;
use crate::error::Result;
use crate::remote::Remote;
use crate::retry::Backoff;

/// Pages of the bucket's uploads looked through at most, so a bucket shared with a writer
/// that keeps many uploads open cannot make the sweep long.
const MAX_PAGES: usize = 100;

/// Aborts the multipart uploads below `remote`'s prefix started more than `older_than`
/// ago; returns how many were aborted.
///
/// The bucket's uploads are listed whole and filtered here: MinIO takes the `prefix` of
/// ListMultipartUploads as an exact object name, so a directory-like prefix finds nothing
/// there. A listing is one request in the common case of no open uploads.
pub async fn abort_stale_uploads(remote: &Remote, older_than: Duration) -> Result<u64> {
    let prefix = remote.list_prefix();
    let cutoff = SystemTime::now()
        .checked_sub(older_than)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let backoff = Backoff::default();
    let (mut key_marker, mut id_marker): (Option<String>, Option<String>) = (None, None);
    let mut aborted = 0;
    for _ in 0..MAX_PAGES {
        let page = backoff
            .run("ListMultipartUploads", || async {
                remote
                    .client
                    .list_multipart_uploads()
                    .bucket(&remote.bucket)
                    .set_key_marker(key_marker.clone())
                    .set_upload_id_marker(id_marker.clone())
                    .send()
                    .await
                    .map_err(|e| remote.error("ListMultipartUploads", &remote.bucket, e))
            })
            .await?;
        for upload in page.uploads.unwrap_or_default() {
            let (Some(key), Some(id)) = (upload.key, upload.upload_id) else {
                continue;
            };
            if !key.starts_with(&prefix) {
                continue;
            }
            let started = upload.initiated.and_then(|t| SystemTime::try_from(t).ok());
            if started.is_none_or(|t| t > cutoff) {
                continue;
            }
            tracing::info!(
                key,
                "aborting an incomplete multipart upload left by an earlier writer"
            );
            if abort(remote, &key, &id).await {
                aborted += 1;
            }
        }
        match (
            page.is_truncated,
            page.next_key_marker,
            page.next_upload_id_marker,
        ) {
            (Some(true), Some(key), id) => {
                key_marker = Some(key);
                id_marker = id;
            }
            _ => return Ok(aborted),
        }
    }
    tracing::debug!(
        pages = MAX_PAGES,
        "the bucket has more open uploads than one sweep looks through; stopping here"
    );
    Ok(aborted)
}
