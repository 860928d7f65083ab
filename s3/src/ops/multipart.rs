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
use tokio::task::JoinSet;

use super::upload::{Uploaded, same};
use super::{Ctx, blocking};
use crate::entry::{Kind, LocalEntry};
use crate::error::{Error, Result};
use crate::list::local::local_entry;
use crate::remote::Remote;

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
    ctx.stats.request();
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
        ctx.stats.request();
        let done = ctx
            .remote
            .client
            .complete_multipart_upload()
            .bucket(&ctx.remote.bucket)
            .key(&key)
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| ctx.remote.error("CompleteMultipartUpload", &key, e))?;
        Ok(done.e_tag.unwrap_or_default())
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
    let part = part_size(size, ctx.opts.upload.part_size);
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
        let (file, path) = (Arc::clone(file), entry.path.clone());
        let body = blocking(move || {
            let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
            file.read_exact_at(&mut buf, offset)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::UnexpectedEof => {
                        Error::SourceChanged { path: path.clone() }
                    }
                    _ => Error::local("read", &path, e),
                })?;
            Ok(Bytes::from(buf))
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
async fn upload_part(
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
            ctx.stats.request();
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
        .await?;
    Ok(CompletedPart::builder()
        .part_number(number)
        .set_e_tag(out.e_tag)
        .build())
}

/// Aborts a multipart upload, best effort (a failure is logged; S3 lifecycle rules or a
/// later abort clean up).
pub async fn abort(remote: &Remote, key: &str, id: &str) {
    let result = remote
        .client
        .abort_multipart_upload()
        .bucket(&remote.bucket)
        .key(key)
        .upload_id(id)
        .send()
        .await;
    if let Err(e) = result {
        tracing::warn!(key, error = %remote.error("AbortMultipartUpload", key, e), "could not abort a multipart upload");
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
}
