//! Multipart uploads for large files. A first read computes the whole-file MD5 (stored as
//! `X-Amz-Meta-Md5chksum`, as rclone does) and each part's MD5; the second read sends the
//! parts, several at once, each with that Content-MD5. If a part changed in between, S3
//! refuses it (BadDigest); if the file's size or mtime moved, the upload is aborted. Either
//! way nothing torn is stored, and no byte is hashed twice on this side. The MD5s protect
//! the bodies, so their SigV4 payload hash is skipped.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use md5::{Digest, Md5};
use tokio::task::JoinSet;

use super::upload::{Uploaded, same};
use super::{Ctx, blocking, content_md5};
use crate::s3::entry::{Kind, LocalEntry};
use crate::s3::error::{Error, Result};
use crate::s3::list::local::local_entry;
use crate::s3::remote::Remote;

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
    let min_part = ctx.opts.upload.part_size;
    let (file, hashes, before) = blocking(move || {
        let file = File::open(&path).map_err(|e| Error::local("open", &path, e))?;
        let before = file
            .metadata()
            .map_err(|e| Error::local("stat", &path, e))?;
        let hashes = hash_parts(&file, &path, part_size(before.len(), min_part))?;
        let after = file
            .metadata()
            .map_err(|e| Error::local("stat", &path, e))?;
        if !same(&before, &after) {
            return Err(Error::SourceChanged { path });
        }
        Ok((Arc::new(file), hashes, before))
    })
    .await?;
    let md5 = hashes.whole;
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
        let parts = send_parts(ctx, &key, &id, &file, &fresh, &hashes).await?;
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

/// The MD5s of a file: whole, and per part.
struct Hashes {
    whole: [u8; 16],
    parts: Vec<[u8; 16]>,
    part_size: u64,
}

/// Reads the file once, hashing it whole and per part of `part_size` bytes.
fn hash_parts(file: &File, path: &std::path::Path, part_size: u64) -> Result<Hashes> {
    let (mut whole, mut part) = (Md5::new(), Md5::new());
    let mut parts = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    let (mut offset, mut in_part) = (0u64, 0u64);
    loop {
        let want =
            usize::try_from((part_size - in_part).min(buf.len() as u64)).unwrap_or(buf.len());
        let n = file
            .read_at(&mut buf[..want], offset)
            .map_err(|e| Error::local("read", path, e))?;
        if n == 0 {
            break;
        }
        whole.update(&buf[..n]);
        part.update(&buf[..n]);
        offset += n as u64;
        in_part += n as u64;
        if in_part == part_size {
            parts.push(std::mem::replace(&mut part, Md5::new()).finalize().into());
            in_part = 0;
        }
    }
    if in_part > 0 || parts.is_empty() {
        parts.push(part.finalize().into());
    }
    Ok(Hashes {
        whole: whole.finalize().into(),
        parts,
        part_size,
    })
}

/// Reads the parts in order and sends them, a few at a time.
async fn send_parts(
    ctx: &Arc<Ctx>,
    key: &str,
    id: &str,
    file: &Arc<File>,
    entry: &LocalEntry,
    hashes: &Hashes,
) -> Result<Vec<CompletedPart>> {
    let size = entry.size;
    let mut inflight: JoinSet<Result<CompletedPart>> = JoinSet::new();
    let mut parts = Vec::new();
    let mut offset = 0u64;
    for (index, md5) in hashes.parts.iter().enumerate() {
        while inflight.len() >= ctx.opts.upload.part_concurrency.max(1) {
            if let Some(done) = inflight.join_next().await {
                parts.push(done.map_err(Error::Task)??);
            }
        }
        let len = hashes.part_size.min(size.saturating_sub(offset));
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
        let (ctx, key, id, path) = (
            Arc::clone(ctx),
            key.to_owned(),
            id.to_owned(),
            entry.path.clone(),
        );
        let (number, md5) = (i32::try_from(index + 1).unwrap_or(i32::MAX), *md5);
        inflight.spawn(async move {
            let done = upload_part(&ctx, &key, &id, number, body, md5, &path).await;
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

/// Sends one part with the Content-MD5 of the first read; a BadDigest answer means the
/// file changed since, which retrying the same part cannot fix.
async fn upload_part(
    ctx: &Ctx,
    key: &str,
    id: &str,
    number: i32,
    body: Bytes,
    md5: [u8; 16],
    path: &std::path::Path,
) -> Result<CompletedPart> {
    let md5 = content_md5(&md5);
    let out = ctx
        .backoff
        .run("UploadPart", || async {
            ctx.throttle(body.len()).await;
            ctx.stats.request();
            let sent = ctx
                .remote
                .client
                .upload_part()
                .bucket(&ctx.remote.bucket)
                .key(key)
                .upload_id(id)
                .part_number(number)
                .content_md5(&md5)
                .content_length(i64::try_from(body.len()).unwrap_or(i64::MAX))
                .body(ByteStream::from(body.clone()))
                .customize()
                .disable_payload_signing()
                .send()
                .await;
            match sent {
                Ok(out) => Ok(Ok(out)),
                Err(e) if e.code() == Some("BadDigest") => Ok(Err(Error::SourceChanged {
                    path: path.to_path_buf(),
                })),
                Err(e) => Err(ctx.remote.error("UploadPart", key, e)),
            }
        })
        .await??;
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
    fn hashes_whole_and_per_part_in_one_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(5u32 << 20) + 123).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = File::open(&path).unwrap();
        let hashes = hash_parts(&file, &path, 2 << 20).unwrap();
        let md5 = super::super::hash::md5_of;
        assert_eq!(hashes.whole, md5(&data));
        assert_eq!(hashes.parts.len(), 3);
        assert_eq!(hashes.parts[0], md5(&data[..2 << 20]));
        assert_eq!(hashes.parts[2], md5(&data[4 << 20..]));
        let empty = dir.path().join("e");
        std::fs::write(&empty, b"").unwrap();
        let hashes = hash_parts(&File::open(&empty).unwrap(), &empty, 1 << 20).unwrap();
        assert_eq!(hashes.parts, vec![md5(b"")]);
    }

    #[test]
    fn parts_fit_the_limit() {
        assert_eq!(part_size(100 << 20, 16 << 20), 16 << 20);
        assert_eq!(part_size(1 << 40, 16 << 20), 105 << 20);
        assert!(part_size(5 << 40, 16 << 20) * MAX_PARTS >= 5 << 40);
    }
}
