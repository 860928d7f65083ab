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
use crate::stats::Stats;

/// Lists `remote` and sends its objects in key order, with what `manifest` says about
/// each where the listing agrees with it. `skip` is a relative key to leave out (the
/// manifest itself at a bucket's root). Stops when the receiver is gone; a failed page is
/// sent as an error and ends the listing.
pub async fn list(
    remote: Remote,
    filter: Arc<Filter>,
    mut manifest: Option<Cursor>,
    skip: Option<&'static str>,
    stats: Arc<Stats>,
    tx: Sender<Result<RemoteEntry>>,
) {
    let prefix = remote.list_prefix();
    let backoff = Backoff::default();
    let mut token: Option<String> = None;
    let mut last = String::new();
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
        stats.request();
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
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
            let marker = is_dir_key(rel);
            if rel.is_empty() || (marker && size > 0) || Some(rel) == skip {
                continue;
            }
            if rel <= last.as_str() {
                let _ = tx
                    .send(Err(Error::Unsupported {
                        key,
                        problem: format!("listing out of order after \"{last}\"; the server does not sort keys as S3 does"),
                    }))
                    .await;
                return;
            }
            last = rel.to_owned();
            let excluded = if marker {
                filter.excludes_dir(rel.trim_end_matches('/'))
            } else {
                filter.excludes_file(rel)
            };
            if excluded {
                continue;
            }
            if !is_clean_key(rel.strip_suffix('/').unwrap_or(rel)) {
                let problem = String::from("key has an empty, \".\" or \"..\" segment; skipped");
                if tx
                    .send(Err(Error::Unsupported { key, problem }))
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            }
            let mut entry = RemoteEntry {
                key: rel.to_owned(),
                size,
                etag: object.e_tag.unwrap_or_default(),
                last_modified_ms: object
                    .last_modified
                    .and_then(|t| t.to_millis().ok())
                    .unwrap_or(0),
                known: None,
            };
            if let Some(cursor) = manifest.as_mut()
                && let Some(line) = cursor.find(rel).await
            {
                entry.known = line.trusted_for(&entry);
            }
            if tx.send(Ok(entry)).await.is_err() {
                return;
            }
        }
        match page.next_continuation_token {
            Some(next) if page.is_truncated == Some(true) => token = Some(next),
            _ => return,
        }
    }
}
