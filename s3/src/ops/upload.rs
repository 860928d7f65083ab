//! Uploads: a small file is read whole, checked not to have changed while it was read, and
//! PUT with its Content-MD5 (so S3 refuses torn bodies); larger files go in parts
//! ([`super::multipart`]); a symlink becomes a `.rclonelink` object holding its target; a
//! directory becomes a zero-byte marker whose key ends in `/`.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use super::hash::{link_target, md5_of};
use super::{Ctx, blocking, content_md5};
use crate::entry::{Kind, LocalEntry, md5_hex};
use crate::error::{Error, Result};
use crate::list::local::{local_entry, mtime_ns};

/// What was stored.
#[derive(Clone, Debug)]
pub struct Uploaded {
    /// The new object's ETag.
    pub etag: String,
    /// Its size.
    pub size: u64,
    /// The mtime recorded on it.
    pub mtime: i64,
    /// The MD5 of its content.
    pub md5: [u8; 16],
}

/// Uploads a local entry to its key, retrying retryable failures (including a file that
/// changed while it was read) with backoff.
pub async fn upload(ctx: &Arc<Ctx>, entry: &LocalEntry) -> Result<Uploaded> {
    ctx.backoff.run("upload", || upload_once(ctx, entry)).await
}

async fn upload_once(ctx: &Arc<Ctx>, entry: &LocalEntry) -> Result<Uploaded> {
    if entry.kind == Kind::File && entry.size > ctx.opts.upload.cutoff {
        return match &ctx.remote.crypt {
            Some(crypt) => crypt.upload_large(ctx, entry).await,
            None => super::multipart::upload(ctx, entry).await,
        };
    }
    let _memory = ctx.reserve(entry.size).await?;
    let (key, path, kind) = (entry.key.clone(), entry.path.clone(), entry.kind);
    // Read and hashed on the blocking thread, while the body is still in the CPU's cache,
    // so the async workers only drive requests.
    let (body, fresh, md5) = blocking(move || {
        let (body, meta) = match kind {
            Kind::File => read_stable(&path)?,
            Kind::Symlink => {
                let before = lstat(&path)?;
                let target = link_target(&path)?;
                if !same(&before, &lstat(&path)?) {
                    return Err(Error::SourceChanged { path });
                }
                (target, before)
            }
            // A directory marker: no body; its metadata is the directory's.
            Kind::Dir => (Vec::new(), lstat(&path)?),
        };
        let md5 = md5_of(&body);
        Ok((body, local_entry(key, path, kind, &meta), md5))
    })
    .await?;
    // Through crypt, contents are sealed (a directory marker stays empty, as rclone's), and
    // Content-MD5 is the sealed body's; what is recorded is the plaintext size.
    let (body, md5) = match &ctx.remote.crypt {
        Some(crypt) if kind != Kind::Dir => {
            let sealed = crypt.seal(&body)?;
            let md5 = md5_of(&sealed);
            (sealed, md5)
        }
        _ => (body, md5),
    };
    let up = put_single(ctx, &fresh, Bytes::from(body), md5).await?;
    Ok(Uploaded {
        size: fresh.size,
        ..up
    })
}

/// PUTs `body` (whose MD5 is `md5`) as the object of `entry`, with Content-MD5 and
/// rclone's metadata.
pub async fn put_single(
    ctx: &Ctx,
    entry: &LocalEntry,
    body: Bytes,
    md5: [u8; 16],
) -> Result<Uploaded> {
    let key = ctx.remote.key(&entry.key);
    let mut meta = entry.meta.clone();
    meta.md5 = Some(md5);
    let etag_is_md5 = ctx.remote.config.etag_is_md5();
    let metadata = meta.to_user_metadata(!etag_is_md5);
    ctx.throttle(body.len()).await;
    let out = ctx
        .remote
        .client
        .put_object()
        .bucket(&ctx.remote.bucket)
        .key(&key)
        .content_md5(content_md5(&md5))
        .content_length(i64::try_from(body.len()).unwrap_or(i64::MAX))
        .set_metadata(Some(metadata))
        .set_acl(ctx.acl())
        .set_server_side_encryption(ctx.sse())
        .set_storage_class(ctx.storage_class())
        .set_object_lock_mode(ctx.lock_mode())
        .set_object_lock_retain_until_date(ctx.lock_until())
        .set_object_lock_legal_hold_status(ctx.legal_hold())
        .body(ByteStream::from(body.clone()))
        // Content-MD5 protects the body; its SigV4 hash would only cost CPU on both ends.
        .customize()
        .disable_payload_signing()
        .send()
        .await
        .map_err(|e| ctx.remote.error("PutObject", &key, e))?;
    let etag = out.e_tag.unwrap_or_default();
    if etag_is_md5 && etag.trim_matches('"') != md5_hex(&md5) {
        return Err(Error::Corrupt {
            key,
            what: "ETag",
            expected: md5_hex(&md5),
            got: etag,
        });
    }
    Ok(Uploaded {
        etag,
        size: body.len() as u64,
        mtime: entry.mtime,
        md5,
    })
}

/// Reads a whole file and its `stat`, failing with [`Error::SourceChanged`] if its size or
/// mtime moved while it was read.
fn read_stable(path: &Path) -> Result<(Vec<u8>, Metadata)> {
    let mut file = File::open(path).map_err(|e| Error::local("open", path, e))?;
    let before = file.metadata().map_err(|e| Error::local("stat", path, e))?;
    let mut body = Vec::with_capacity(usize::try_from(before.len()).unwrap_or(0));
    file.read_to_end(&mut body)
        .map_err(|e| Error::local("read", path, e))?;
    let after = file.metadata().map_err(|e| Error::local("stat", path, e))?;
    if !same(&before, &after) || body.len() as u64 != before.len() {
        return Err(Error::SourceChanged {
            path: PathBuf::from(path),
        });
    }
    Ok((body, before))
}

/// `lstat`.
pub fn lstat(path: &Path) -> Result<Metadata> {
    std::fs::symlink_metadata(path).map_err(|e| Error::local("stat", path, e))
}

/// Whether two stats show the same size and mtime.
pub fn same(a: &Metadata, b: &Metadata) -> bool {
    a.len() == b.len() && mtime_ns(a) == mtime_ns(b)
}
