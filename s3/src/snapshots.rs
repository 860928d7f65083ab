//! `--timestamp-prefix` and `--retain`: each push into a new `YYYY-MM-DD-HHMMSS/` (UTC)
//! below the prefix, pulls from the newest, and only the newest `retain` kept.

use super::error::{Error, Result};
use super::manifest;
use super::ops::delete::delete_objects;
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
            if is_stamp(name) {
                stamps.push(name.to_owned());
            }
        }
        for object in page.contents.unwrap_or_default() {
            let key = object.key.unwrap_or_default();
            if let Some(stamp) = key
                .strip_prefix(&prefix)
                .and_then(|k| k.strip_suffix(manifest::SUFFIX))
                .filter(|k| is_stamp(k))
            {
                manifests.insert(stamp.to_owned());
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
        Some(stamp) => Ok(remote.with_prefix(child(&remote.prefix, &stamp))),
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

/// Deletes all but the newest `keep` complete copies (with their manifests), and the
/// partial copies older than the oldest one kept. Under the retention guard: more than one
/// complete copy at once is refused without the acknowledgement, and nothing is deleted.
pub async fn retain(remote: &Remote, keep: usize, run: &Run) -> Result<()> {
    let all = copies(remote).await?;
    let complete: Vec<String> = all
        .iter()
        .filter(|c| c.complete)
        .map(|c| c.stamp.clone())
        .collect();
    run.ctx.opts.guards.retention(&complete, keep)?;
    let Some(oldest_kept) = complete.get(complete.len().saturating_sub(keep)) else {
        return Ok(());
    };
    let old = all.iter().filter(|c| c.stamp < *oldest_kept);
    for Copy { stamp, .. } in old {
        let copy = remote.with_prefix(child(&remote.prefix, stamp));
        let mut keys = vec![manifest::key(&copy)];
        let prefix = copy.list_prefix();
        let mut token = None;
        loop {
            let page = remote
                .client
                .list_objects_v2()
                .bucket(&remote.bucket)
                .prefix(&prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| remote.error("ListObjectsV2", &prefix, e))?;
            keys.extend(
                page.contents
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|o| o.key),
            );
            match page.next_continuation_token {
                Some(next) if page.is_truncated == Some(true) => token = Some(next),
                _ => break,
            }
        }
        if run.dry() {
            run.would("delete old copy", stamp);
            continue;
        }
        tracing::info!(copy = %stamp, objects = keys.len(), "deleting a copy beyond --retain");
        let (_, errors) = delete_objects(remote, &keys).await;
        if let Some(e) = errors.into_iter().next() {
            return Err(e);
        }
    }
    Ok(())
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
