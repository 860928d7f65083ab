//! Updating only the mtime of an unchanged file (equal size and MD5, different mtime), as
//! rclone does: a server-side copy onto itself with the new metadata, or a local utimes.

use std::path::Path;

use aws_sdk_s3::types::MetadataDirective;

use super::download::system_time;
use super::{Ctx, blocking};
use crate::error::{Error, Result};
use crate::meta::FileMeta;

/// Objects above this size cannot be copied in one request.
pub const MAX_COPY: u64 = 5 << 30;

/// Rewrites the metadata of the object at `rel` (ETag `etag`) to `meta`: the local file's
/// mtime, mode, owner and times with its MD5, so no HEAD is needed; returns the new ETag.
pub async fn set_remote_mtime(ctx: &Ctx, rel: &str, etag: &str, meta: &FileMeta) -> Result<String> {
    let key = ctx.remote.key(rel);
    let with_md5 = meta.md5.is_some() && (etag.contains('-') || !ctx.remote.config.etag_is_md5());
    let metadata = meta.to_user_metadata(with_md5);
    let source = format!("{}/{}", ctx.remote.bucket, encode_key(&key));
    let out = ctx
        .backoff
        .run("CopyObject", || async {
            ctx.remote
                .client
                .copy_object()
                .bucket(&ctx.remote.bucket)
                .key(&key)
                .copy_source(&source)
                .metadata_directive(MetadataDirective::Replace)
                .set_metadata(Some(metadata.clone()))
                .set_acl(ctx.acl())
                .set_server_side_encryption(ctx.sse())
                .set_storage_class(ctx.storage_class())
                .send()
                .await
                .map_err(|e| ctx.remote.error("CopyObject", &key, e))
        })
        .await?;
    Ok(out
        .copy_object_result
        .and_then(|r| r.e_tag)
        .unwrap_or_else(|| etag.to_owned()))
}

/// Sets the mtime (and atime) of a local file or symlink.
pub async fn set_local_mtime(path: &Path, mtime: i64) -> Result<()> {
    let path = path.to_path_buf();
    blocking(move || {
        let t = filetime::FileTime::from_system_time(system_time(mtime));
        filetime::set_symlink_file_times(&path, t, t)
            .map_err(|e| Error::local("set times", &path, e))
    })
    .await
}

/// Percent-encodes a key for `x-amz-copy-source`, keeping `/`.
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_copy_sources() {
        assert_eq!(encode_key("a b/ü+x"), "a%20b/%C3%BC%2Bx");
    }
}
