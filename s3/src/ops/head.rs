//! HEAD: an object's metadata, when neither the listing nor the manifest gives it.

use super::Ctx;
use crate::entry::Known;
use crate::error::Result;
use crate::meta::FileMeta;

/// An object's metadata.
#[derive(Clone, Debug)]
pub struct Head {
    /// The metadata recorded on it.
    pub meta: FileMeta,
    /// The ETag, quotes included.
    pub etag: String,
    /// `LastModified` in nanoseconds.
    pub last_modified_ns: i64,
    /// Size.
    pub size: u64,
    /// Content type, kept on mtime updates.
    pub content_type: Option<String>,
}

impl Head {
    /// rclone's view of the object: its mtime metadata, else `LastModified`; the MD5 from
    /// `md5chksum`.
    pub fn known(&self) -> Known {
        Known {
            mtime: self.meta.mtime.unwrap_or(self.last_modified_ns),
            md5: self.meta.md5,
            dir: None,
        }
    }
}

/// HEADs the object at relative key `rel`.
pub async fn head(ctx: &Ctx, rel: &str) -> Result<Head> {
    let key = ctx.remote.key(rel);
    let out = ctx
        .backoff
        .run("HeadObject", || async {
            ctx.stats.head();
            ctx.remote.head_object(&key).await
        })
        .await?;
    let last_modified_ns = out
        .last_modified
        .and_then(|t| t.to_millis().ok())
        .map_or(0, |ms| ms.saturating_mul(1_000_000));
    let mut meta = FileMeta::from_user_metadata(out.metadata.as_ref());
    let mut size = u64::try_from(out.content_length.unwrap_or(0)).unwrap_or(0);
    if let Some(crypt) = &ctx.remote.crypt {
        // The plaintext size, as listed; `md5chksum` is the encrypted bytes' hash.
        size = crypt.plain_size(rel, size);
        meta.md5 = None;
    }
    Ok(Head {
        meta,
        etag: out.e_tag.unwrap_or_default(),
        last_modified_ns,
        size,
        content_type: out.content_type,
    })
}
