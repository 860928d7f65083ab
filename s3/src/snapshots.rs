//! `--timestamp-prefix` and `--retain`: each push into a new `YYYY-MM-DD-HHMMSS/` (UTC)
//! below the prefix, pulls from the newest, and only the newest `retain` kept.

use super::error::{Error, Result};
use super::lock;
use super::manifest;
use super::ops::delete::{delete_objects, delete_versions};
use super::pipeline::Run;
use super::remote::Remote;

/// The stamp for now.
pub fn stamp_now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%d-%H%M%S")
        .to_string()
}

/// Whether `name` is a stamp.
pub fn is_stamp(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 17
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 | 10 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// `prefix/stamp`.
pub fn child(prefix: &str, stamp: &str) -> String {
    if prefix.is_empty() {
        stamp.to_owned()
    } else {
        format!("{prefix}/{stamp}")
    }
}

/// The stored name of the copy directory `stamp` below `remote`: through crypt it is a
/// directory of the crypt remote, so its name is encrypted like any other (rclone lists it
/// as `secret:<stamp>/`).
pub fn stored_stamp(remote: &Remote, stamp: &str) -> String {
    match &remote.crypt {
        // A stamp is 17 ASCII characters: it always encrypts.
        Some(crypt) => crypt.stored_dir(stamp).unwrap_or_else(|_| stamp.to_owned()),
        None => stamp.to_owned(),
    }
}

/// The stamp a stored directory name stands for, if it is one.
fn stamp_of(remote: &Remote, stored: &str) -> Option<String> {
    let plain = match &remote.crypt {
        Some(crypt) => crypt.plain_dir(stored)?,
        None => stored.to_owned(),
    };
    is_stamp(&plain).then_some(plain)
}

/// The copy `stamp` below `remote`.
pub fn copy_of(remote: &Remote, stamp: &str) -> Remote {
    remote.with_prefix(child(&remote.prefix, &stored_stamp(remote, stamp)))
}

/// One timestamped copy below the prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copy {
    /// Its `YYYY-MM-DD-HHMMSS` name.
    pub stamp: String,
    /// Whether its manifest is stored: a push stores it only after every object went up
    /// without error, so a copy without one is partial and never pulled or verified.
    pub complete: bool,
}

/// The timestamped copies below `remote`, oldest first.
pub async fn copies(remote: &Remote) -> Result<Vec<Copy>> {
    let prefix = remote.list_prefix();
    let mut stamps = Vec::new();
    let mut manifests = std::collections::BTreeSet::new();
    let mut token = None;
    loop {
        let page = remote
            .client
            .list_objects_v2()
            .bucket(&remote.bucket)
            .prefix(&prefix)
            .delimiter("/")
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| remote.error("ListObjectsV2", &prefix, e))?;
        for common in page.common_prefixes.unwrap_or_default() {
            let name = common.prefix.unwrap_or_default();
            let name = name
                .strip_prefix(&prefix)
                .unwrap_or(&name)
                .trim_end_matches('/');
            stamps.extend(stamp_of(remote, name));
        }
        for object in page.contents.unwrap_or_default() {
            let key = object.key.unwrap_or_default();
            if let Some(stamp) = key
                .strip_prefix(&prefix)
                .and_then(|k| k.strip_suffix(manifest::SUFFIX))
                .and_then(|k| stamp_of(remote, k))
            {
                manifests.insert(stamp);
            }
        }
        match page.next_continuation_token {
            Some(next) if page.is_truncated == Some(true) => token = Some(next),
            _ => break,
        }
    }
    stamps.sort();
    Ok(stamps
        .into_iter()
        .map(|stamp| Copy {
            complete: manifests.contains(&stamp),
            stamp,
        })
        .collect())
}

/// The stamps of the complete copies below `remote`, oldest first.
pub async fn stamps(remote: &Remote) -> Result<Vec<String>> {
    Ok(copies(remote)
        .await?
        .into_iter()
        .filter(|c| c.complete)
        .map(|c| c.stamp)
        .collect())
}

/// The newest complete timestamped copy below `remote`.
pub async fn latest(remote: &Remote) -> Result<Remote> {
    match stamps(remote).await?.pop() {
        Some(stamp) => Ok(copy_of(remote, &stamp)),
        None => Err(Error::config(
            format!("{} with --timestamp-prefix", remote.arg),
            "has no complete YYYY-MM-DD-HHMMSS/ copy",
            "push with --timestamp-prefix first, or pull without it",
        )),
    }
}

/// Whether anything but manifests is stored below `remote` (plain or timestamped): what
/// the empty-source guard protects. One short listing.
pub async fn holds_data(remote: &Remote) -> Result<bool> {
    let prefix = remote.list_prefix();
    let mut token = None;
    loop {
        let page = remote
            .client
            .list_objects_v2()
            .bucket(&remote.bucket)
            .prefix(&prefix)
            .max_keys(100)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| remote.error("ListObjectsV2", &prefix, e))?;
        let data = page
            .contents
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| o.key)
            .any(|k| !k.ends_with(manifest::SUFFIX));
        if data {
            return Ok(true);
        }
        match page.next_continuation_token {
            Some(next) if page.is_truncated == Some(true) => token = Some(next),
            _ => return Ok(false),
        }
    }
}

/// A copy beyond `retain` that pruning left because Object Lock still holds it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Waiting {
    /// Its `YYYY-MM-DD-HHMMSS` name.
    pub copy: String,
    /// Until when (or a legal hold).
    pub held: String,
}

/// Deletes all but the newest `keep` complete copies (with their manifests), and the
/// partial copies older than the oldest one kept. Under the retention guard: more than one
/// complete copy at once is refused without the acknowledgement, and nothing is deleted.
///
/// A copy still under Object Lock is never sent a deletion: its manifest (or, for a
/// partial copy, its first object) says until when it is locked, and it waits, returned
/// here. A copy whose lock has expired is deleted version by version.
pub async fn retain(remote: &Remote, keep: usize, run: &Run) -> Result<Vec<Waiting>> {
    let all = copies(remote).await?;
    let complete: Vec<&String> = all
        .iter()
        .filter(|c| c.complete)
        .map(|c| &c.stamp)
        .collect();
    let Some(oldest_kept) = complete.get(complete.len().saturating_sub(keep)) else {
        return Ok(Vec::new());
    };
    let now = jiff::Timestamp::now();
    let (mut waiting, mut prune) = (Vec::new(), Vec::new());
    for Copy { stamp, complete } in all.iter().filter(|c| c.stamp < **oldest_kept) {
        let copy = copy_of(remote, stamp);
        let manifest = manifest::key(&copy);
        let keys = list_keys(remote, &copy.list_prefix()).await?;
        let probe = match complete {
            true => Some(manifest.clone()),
            false => keys.first().cloned(),
        };
        let (held, locked) = match &probe {
            Some(key) => lock::held(remote, key, now).await?,
            None => (None, false),
        };
        match held {
            Some(held) => {
                tracing::info!(copy = %stamp, "a copy beyond --retain is locked {held}; it waits");
                waiting.push(Waiting {
                    copy: stamp.clone(),
                    held: held.to_string(),
                });
            }
            None => prune.push(Doomed {
                stamp,
                complete: *complete,
                copy,
                manifest,
                keys,
                locked,
            }),
        }
    }
    // The guard counts the complete copies this pruning would delete: those a lock keeps
    // are not deleted, so they do not make it refuse.
    let deleting: Vec<String> = prune
        .iter()
        .filter(|d| d.complete)
        .map(|d| d.stamp.clone())
        .collect();
    run.ctx.opts.guards.may_prune(&deleting, keep)?;
    for Doomed {
        stamp,
        copy,
        manifest,
        mut keys,
        locked,
        ..
    } in prune
    {
        if run.dry() {
            run.would("delete old copy", stamp);
            continue;
        }
        keys.push(manifest.clone());
        tracing::info!(copy = %stamp, objects = keys.len(), "deleting a copy beyond --retain");
        let (_, errors) = if locked || run.ctx.opts.lock.is_some() {
            // Object Lock makes the bucket versioned: name every version (and delete
            // marker), or the data stays behind markers.
            let mut versions = list_versions(remote, &copy.list_prefix()).await?;
            versions.extend(
                list_versions(remote, &manifest)
                    .await?
                    .into_iter()
                    .filter(|(k, _)| *k == manifest),
            );
            delete_versions(remote, &versions).await
        } else {
            delete_objects(remote, &keys).await
        };
        if let Some(e) = errors.into_iter().next() {
            return Err(e);
        }
    }
    Ok(waiting)
}

/// An old copy pruning deletes.
struct Doomed<'a> {
    stamp: &'a String,
    /// Whether it has its manifest (only complete copies count for the guard).
    complete: bool,
    copy: Remote,
    manifest: String,
    /// Its objects, listed.
    keys: Vec<String>,
    /// Whether it was written with Object Lock (its bucket is then versioned).
    locked: bool,
}

/// Every key below `prefix`.
async fn list_keys(remote: &Remote, prefix: &str) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = remote
            .client
            .list_objects_v2()
            .bucket(&remote.bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| remote.error("ListObjectsV2", prefix, e))?;
        keys.extend(
            page.contents
                .unwrap_or_default()
                .into_iter()
                .filter_map(|o| o.key),
        );
        match page.next_continuation_token {
            Some(next) if page.is_truncated == Some(true) => token = Some(next),
            _ => return Ok(keys),
        }
    }
}

/// Every version and delete marker below `prefix`: (key, version id).
async fn list_versions(remote: &Remote, prefix: &str) -> Result<Vec<(String, Option<String>)>> {
    let mut out = Vec::new();
    let (mut key_marker, mut version_marker) = (None, None);
    loop {
        let page = remote
            .client
            .list_object_versions()
            .bucket(&remote.bucket)
            .prefix(prefix)
            .set_key_marker(key_marker)
            .set_version_id_marker(version_marker)
            .send()
            .await
            .map_err(|e| remote.error("ListObjectVersions", prefix, e))?;
        for v in page.versions.unwrap_or_default() {
            out.extend(v.key.map(|k| (k, v.version_id)));
        }
        for m in page.delete_markers.unwrap_or_default() {
            out.extend(m.key.map(|k| (k, m.version_id)));
        }
        if page.is_truncated != Some(true) {
            return Ok(out);
        }
        key_marker = page.next_key_marker;
        version_marker = page.next_version_id_marker;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_look_right() {
        let now = stamp_now();
        assert!(is_stamp(&now), "{now}");
        assert!(is_stamp("2026-01-02-030405"));
        assert!(!is_stamp("2026-01-02T030405"));
        assert!(!is_stamp("data"));
        assert_eq!(child("", "s"), "s");
        assert_eq!(child("a/b", "s"), "a/b/s");
    }
}
