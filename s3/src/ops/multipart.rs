//! Multipart uploads for large files. A first read computes the whole-file MD5, stored as
//! `X-Amz-Meta-Md5chksum` as rclone does; the second read sends the parts, several at once,
//! each protected by its SigV4 payload hash (SHA-256, hardware-accelerated on both ends,
//! where MD5 is not). If the file's size or mtime moved between the first read and the
//! last part, the upload is aborted: nothing torn is stored.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use md5::{Digest, Md5};
use tokio::task::JoinSet;

use super::upload::{Uploaded, same};
use super::{Ctx, blocking};
use crate::entry::{Kind, LocalEntry, md5_hex, parse_md5_hex};
use crate::error::{Error, Result};
use crate::list::local::local_entry;
use crate::meta::FileMeta;
use crate::remote::Remote;
use crate::retry::Backoff;
use crate::stats::Stats;

/// S3's limit on parts per upload.
const MAX_PARTS: u64 = 10_000;

/// The part size for a file of `size`: at least `min`, large enough for 10,000 parts,
/// rounded up to whole MiB.
pub fn part_size(size: u64, min: u64) -> u64 {
    let needed = size.div_ceil(MAX_PARTS).div_ceil(1 << 20) << 20;
    needed.max(min).max(5 << 20)
}

/// Uploads a large file in parts.
pub async fn upload(ctx: &Arc<Ctx>, entry: &LocalEntry) -> Result<Uploaded> {
    let path = entry.path.clone();
    let (file, md5, before) = blocking(move || {
        let file = File::open(&path).map_err(|e| Error::local("open", &path, e))?;
        let before = file
            .metadata()
            .map_err(|e| Error::local("stat", &path, e))?;
        let md5 = super::hash::reader_md5(&file, &path)?;
        Ok((Arc::new(file), md5, before))
    })
    .await?;
    let fresh = local_entry(entry.key.clone(), entry.path.clone(), Kind::File, &before);
    let key = ctx.remote.key(&entry.key);
    let mut meta = fresh.meta.clone();
    meta.md5 = Some(md5);
    let created = ctx
        .remote
        .client
        .create_multipart_upload()
        .bucket(&ctx.remote.bucket)
        .key(&key)
        .set_metadata(Some(meta.to_user_metadata(true)))
        .set_acl(ctx.acl())
        .set_server_side_encryption(ctx.sse())
        .set_storage_class(ctx.storage_class())
        .set_object_lock_mode(ctx.lock_mode())
        .set_object_lock_retain_until_date(ctx.lock_until())
        .set_object_lock_legal_hold_status(ctx.legal_hold())
        .send()
        .await
        .map_err(|e| ctx.remote.error("CreateMultipartUpload", &key, e))?;
    let id = created.upload_id.unwrap_or_default();
    let work = async {
        let parts = send_parts(ctx, &key, &id, &file, &fresh).await?;
        let after = file
            .metadata()
            .map_err(|e| Error::local("stat", &fresh.path, e))?;
        if !same(&before, &after) {
            return Err(Error::SourceChanged {
                path: fresh.path.clone(),
            });
        }
        complete(
            &ctx.remote,
            &ctx.stats,
            &key,
            &id,
            parts,
            Expected {
                size: fresh.size,
                md5: Some(md5),
                mtime: Some(fresh.mtime),
            },
        )
        .await
    };
    // Stopping aborts the upload: S3 keeps no parts and no object.
    let result = tokio::select! {
        result = work => result,
        () = ctx.cancel.wait() => Err(Error::Cancelled),
    };
    match result {
        Ok(etag) => Ok(Uploaded {
            etag,
            size: fresh.size,
            mtime: fresh.mtime,
            md5,
        }),
        Err(e) => {
            abort(&ctx.remote, &key, &id).await;
            Err(e)
        }
    }
}

/// Reads the parts in order and sends them, a few at a time.
async fn send_parts(
    ctx: &Arc<Ctx>,
    key: &str,
    id: &str,
    file: &Arc<File>,
    entry: &LocalEntry,
) -> Result<Vec<CompletedPart>> {
    let size = entry.size;
    // A part never outgrows the budget (a small container's), unless 10,000 parts need it.
    let part = part_size(size, ctx.opts.upload.part_size.min(ctx.budget()));
    let count = size.div_ceil(part).max(1);
    let mut inflight: JoinSet<Result<CompletedPart>> = JoinSet::new();
    let mut parts = Vec::new();
    let mut offset = 0u64;
    for index in 0..count {
        while inflight.len() >= ctx.opts.upload.part_concurrency.max(1) {
            if let Some(done) = inflight.join_next().await {
                parts.push(done.map_err(Error::Task)??);
            }
        }
        let len = part.min(size.saturating_sub(offset));
        let memory = ctx.reserve_owned(len).await?;
        let (file, path, pool) = (Arc::clone(file), entry.path.clone(), Arc::clone(ctx));
        let body = blocking(move || {
            let mut buf = pool.buffers.take(usize::try_from(len).unwrap_or(0));
            file.read_exact_at(&mut buf, offset)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::UnexpectedEof => {
                        Error::SourceChanged { path: path.clone() }
                    }
                    _ => Error::local("read", &path, e),
                })?;
            Ok(buf.freeze())
        })
        .await?;
        let (ctx, key, id) = (Arc::clone(ctx), key.to_owned(), id.to_owned());
        let number = i32::try_from(index + 1).unwrap_or(i32::MAX);
        inflight.spawn(async move {
            let done = upload_part(&ctx, &key, &id, number, body).await;
            drop(memory);
            done
        });
        offset += len;
    }
    while let Some(done) = inflight.join_next().await {
        parts.push(done.map_err(Error::Task)??);
    }
    parts.sort_by_key(|p| p.part_number);
    Ok(parts)
}

/// Sends one part.
pub async fn upload_part(
    ctx: &Ctx,
    key: &str,
    id: &str,
    number: i32,
    body: Bytes,
) -> Result<CompletedPart> {
    let out = ctx
        .backoff
        .run("UploadPart", || async {
            ctx.throttle(body.len()).await;
            ctx.remote
                .client
                .upload_part()
                .bucket(&ctx.remote.bucket)
                .key(key)
                .upload_id(id)
                .part_number(number)
                .content_length(i64::try_from(body.len()).unwrap_or(i64::MAX))
                .body(ByteStream::from(body.clone()))
                .send()
                .await
                .map_err(|e| ctx.remote.error("UploadPart", key, e))
        })
        .await;
    ctx.buffers.give(body);
    Ok(CompletedPart::builder()
        .part_number(number)
        .set_e_tag(out?.e_tag)
        .build())
}

/// What a completed upload holds, to recognise it when the answer to its completion was
/// lost.
#[derive(Clone, Copy, Debug)]
pub struct Expected {
    /// The object's size.
    pub size: u64,
    /// The MD5 of the content, recorded as `md5chksum` at creation, when known.
    pub md5: Option<[u8; 16]>,
    /// The mtime recorded at creation, when there is one.
    pub mtime: Option<i64>,
}

/// Completes a multipart upload and returns the object's ETag.
///
/// CompleteMultipartUpload is not idempotent: when the server completed the upload but the
/// answer was lost (a reset connection), the SDK's retry meets `NoSuchUpload`, because the
/// upload is now an object. That answer is checked, not trusted: a HEAD of the key shows
/// whether the object is the one this upload made (its size, and its `md5chksum` or the
/// multipart ETag computed from the parts' ETags, and its mtime). Only then is it a success.
pub async fn complete(
    remote: &Remote,
    stats: &Stats,
    key: &str,
    id: &str,
    parts: Vec<CompletedPart>,
    expected: Expected,
) -> Result<String> {
    let etag = multipart_etag(&parts);
    let upload = CompletedMultipartUpload::builder()
        .set_parts(Some(parts))
        .build();
    let backoff = Backoff::default();
    let result = backoff
        .run("CompleteMultipartUpload", || async {
            remote
                .client
                .complete_multipart_upload()
                .bucket(&remote.bucket)
                .key(key)
                .upload_id(id)
                .multipart_upload(upload.clone())
                .send()
                .await
                .map_err(|e| remote.error("CompleteMultipartUpload", key, e))
        })
        .await;
    match result {
        Ok(done) => Ok(done.e_tag.unwrap_or_default()),
        Err(e) if e.is_no_such_upload() => {
            tracing::debug!(
                key,
                "CompleteMultipartUpload: NoSuchUpload; checking whether an earlier try completed it"
            );
            completed_earlier(remote, stats, key, etag.as_deref(), expected, e).await
        }
        Err(e) => Err(e),
    }
}

/// After `NoSuchUpload`, HEADs `key`: the object's ETag when it is the one the upload made,
/// else `err`, with what differed.
async fn completed_earlier(
    remote: &Remote,
    stats: &Stats,
    key: &str,
    etag: Option<&str>,
    expected: Expected,
    lost: Error,
) -> Result<String> {
    let head = Backoff::default()
        .run("HeadObject", || async {
            stats.head();
            remote.head_object(key).await
        })
        .await;
    let head = match head {
        Ok(head) => head,
        Err(e) if e.is_not_found() => return Err(lost),
        Err(e) => return Err(e),
    };
    let meta = FileMeta::from_user_metadata(head.metadata.as_ref());
    let found_etag = head.e_tag.unwrap_or_default();
    let size = u64::try_from(head.content_length.unwrap_or(-1)).ok();
    let same_size = size == Some(expected.size);
    let same_content = matches!((expected.md5, meta.md5), (Some(a), Some(b)) if a == b)
        || etag.is_some_and(|e| e == found_etag.trim_matches('"'));
    let same_mtime = expected.mtime.is_none() || expected.mtime == meta.mtime;
    if same_size && same_content && same_mtime {
        tracing::info!(
            key,
            "the upload was completed by an earlier try whose answer was lost"
        );
        return Ok(found_etag);
    }
    Err(Error::NotCompleted {
        key: key.to_owned(),
        expected: format!(
            "size {}, ETag {}",
            expected.size,
            etag.unwrap_or("(unknown)")
        ),
        found: format!(
            "size {}, ETag {found_etag}",
            size.map_or_else(|| String::from("?"), |s| s.to_string())
        ),
    })
}

/// The ETag S3 gives a multipart object: the MD5 of the parts' binary MD5s, then `-` and
/// the number of parts. `None` when a part's ETag is not an MD5 (e.g. with SSE-KMS).
pub fn multipart_etag(parts: &[CompletedPart]) -> Option<String> {
    let mut hasher = Md5::new();
    for part in parts {
        let md5 = parse_md5_hex(part.e_tag.as_deref()?.trim_matches('"'))?;
        hasher.update(md5);
    }
    let digest: [u8; 16] = hasher.finalize().into();
    Some(format!("{}-{}", md5_hex(&digest), parts.len()))
}

/// Aborts a multipart upload, retrying retryable failures. `NoSuchUpload` means it is gone
/// already (an earlier try whose answer was lost, or a completion), which is what an abort
/// wants. Other failures are logged: S3 lifecycle rules or the orphan sweep at the end of
/// a later sync clean up.
/// Returns whether the upload is gone.
pub async fn abort(remote: &Remote, key: &str, id: &str) -> bool {
    let result = Backoff::default()
        .run("AbortMultipartUpload", || async {
            remote
                .client
                .abort_multipart_upload()
                .bucket(&remote.bucket)
                .key(key)
                .upload_id(id)
                .send()
                .await
                .map_err(|e| remote.error("AbortMultipartUpload", key, e))
        })
        .await;
    match result {
        Ok(_) => true,
        Err(e) if e.is_no_such_upload() => {
            tracing::debug!(key, "AbortMultipartUpload: NoSuchUpload, already gone");
            true
        }
        Err(e) => {
            tracing::warn!(key, error = %e, "could not abort a multipart upload");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_fit_the_limit() {
        assert_eq!(part_size(100 << 20, 16 << 20), 16 << 20);
        assert_eq!(part_size(1 << 40, 16 << 20), 105 << 20);
        assert!(part_size(5 << 40, 16 << 20) * MAX_PARTS >= 5 << 40);
    }

    #[test]
    fn multipart_etags_are_s3s() {
        // Two parts, "a" and "b": md5(md5("a") ++ md5("b")) with "-2", as S3 and MinIO
        // compute it.
        let part = |n: i32, etag: &str| {
            CompletedPart::builder()
                .part_number(n)
                .e_tag(format!("\"{etag}\""))
                .build()
        };
        let parts = [
            part(1, "0cc175b9c0f1b6a831c399e269772661"),
            part(2, "92eb5ffee6ae2fec3ad71c777531578f"),
        ];
        let mut hasher = Md5::new();
        hasher.update(parse_md5_hex("0cc175b9c0f1b6a831c399e269772661").unwrap());
        hasher.update(parse_md5_hex("92eb5ffee6ae2fec3ad71c777531578f").unwrap());
        let digest: [u8; 16] = hasher.finalize().into();
        assert_eq!(
            multipart_etag(&parts),
            Some(format!("{}-2", md5_hex(&digest)))
        );
        assert_eq!(multipart_etag(&[part(1, "not-an-md5")]), None);
    }
}
