//! The S3 side: ListObjectsV2 page by page (S3 returns keys in UTF-8 byte order), joined
//! with the manifest as it goes.

use std::sync::Arc;

use tokio::sync::mpsc::Sender;

use super::{Filter, is_clean_key};
use crate::entry::{RemoteEntry, is_dir_key};
use crate::error::{Error, Result};
use crate::manifest::reader::Cursor;
use crate::remote::Remote;
use crate::retry::Backoff;

/// Lists `remote` and sends its objects in key order, with what `manifest` says about
/// each where the listing agrees with it. `skip` is a relative key to leave out (the
/// manifest itself at a bucket's root). Stops when the receiver is gone; a failed page is
/// sent as an error and ends the listing. Through crypt, the whole listing is read,
/// decrypted and sorted first ([`crate::crypt::decrypt_listing`]).
pub async fn list(
    remote: Remote,
    filter: Arc<Filter>,
    manifest: Option<Cursor>,
    skip: Option<&'static str>,
    tx: Sender<Result<RemoteEntry>>,
) {
    let prefix = remote.list_prefix();
    let backoff = Backoff::default();
    let mut token: Option<String> = None;
    let mut out = Emit {
        filter,
        manifest,
        tx,
        last: String::new(),
        prefix: prefix.clone(),
    };
    let mut stored = Vec::new();
    loop {
        let page = backoff
            .run("ListObjectsV2", || {
                let request = remote
                    .client
                    .list_objects_v2()
                    .bucket(&remote.bucket)
                    .prefix(&prefix)
                    .max_keys(1000)
                    .set_continuation_token(token.clone());
                async {
                    request
                        .send()
                        .await
                        .map_err(|e| remote.error("ListObjectsV2", &prefix, e))
                }
            })
            .await;
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                let _ = out.tx.send(Err(e)).await;
                return;
            }
        };
        for object in page.contents.unwrap_or_default() {
            let Some(key) = object.key else { continue };
            let Some(rel) = key.strip_prefix(&prefix) else {
                continue;
            };
            let size = u64::try_from(object.size.unwrap_or(0)).unwrap_or(0);
            // A key ending in `/` is a directory marker when it is empty; one with a body
            // cannot be a file on disk, and the prefix's own marker is the root.
            if rel.is_empty() || (is_dir_key(rel) && size > 0) || Some(rel) == skip {
                continue;
            }
            let entry = RemoteEntry {
                key: rel.to_owned(),
                size,
                etag: object.e_tag.unwrap_or_default(),
                last_modified_ms: object
                    .last_modified
                    .and_then(|t| t.to_millis().ok())
                    .unwrap_or(0),
                known: None,
            };
            if remote.crypt.is_some() {
                stored.push(entry);
            } else if !out.send(Ok(entry)).await {
                return;
            }
        }
        match page.next_continuation_token {
            Some(next) if page.is_truncated == Some(true) => token = Some(next),
            _ => break,
        }
    }
    let Some(crypt) = remote.crypt.as_deref() else {
        return;
    };
    match crate::crypt::decrypt_listing(&remote, crypt, stored).await {
        Ok(entries) => {
            for entry in entries {
                if !out.send(entry).await {
                    return;
                }
            }
        }
        Err(e) => {
            let _ = out.tx.send(Err(e)).await;
        }
    }
}

/// The listing's output: checks the order, applies the filter and joins the manifest.
struct Emit {
    filter: Arc<Filter>,
    manifest: Option<Cursor>,
    tx: Sender<Result<RemoteEntry>>,
    last: String,
    /// The listed prefix, to name full keys in errors.
    prefix: String,
}

impl Emit {
    /// Sends `entry` on unless filtered out; false when the receiver is gone or the
    /// listing must end.
    async fn send(&mut self, entry: Result<RemoteEntry>) -> bool {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(e) => return self.tx.send(Err(e)).await.is_ok(),
        };
        let rel = entry.key.as_str();
        let key = || format!("{}{rel}", self.prefix);
        if rel <= self.last.as_str() {
            let problem = format!(
                "listing out of order after \"{}\"; the server does not sort keys as S3 does",
                self.last
            );
            let _ = self
                .tx
                .send(Err(Error::Unsupported {
                    key: key(),
                    problem,
                }))
                .await;
            return false;
        }
        self.last = rel.to_owned();
        let marker = is_dir_key(rel);
        let excluded = if marker {
            self.filter.excludes_dir(rel.trim_end_matches('/'))
        } else {
            self.filter.excludes_file(rel)
        };
        if excluded {
            return true;
        }
        if !is_clean_key(rel.strip_suffix('/').unwrap_or(rel)) {
            let problem = String::from("key has an empty, \".\" or \"..\" segment; skipped");
            return self
                .tx
                .send(Err(Error::Unsupported {
                    key: key(),
                    problem,
                }))
                .await
                .is_ok();
        }
        if let Some(cursor) = self.manifest.as_mut()
            && let Some(line) = cursor.find(&entry.key).await
        {
            entry.known = line.trusted_for(&entry);
        }
        self.tx.send(Ok(entry)).await.is_ok()
    }
}
