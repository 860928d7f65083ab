//! Verification of the newest complete copy against what was pushed (its manifest), for
//! `spec.rclone.verify` (DESIGN.md §8). It only lists and reads: it never changes the remote.
//!
//! - *quick*: the listing's size and ETag of each object against its manifest line;
//! - *deep*: each object (or a stable sample) downloaded and its MD5 compared with the
//!   manifest's.

use std::collections::HashMap;

use md5::{Digest, Md5};

use super::error::{Error, Result};
use super::manifest::{self, reader::Cursor};
use super::options::Layout;
use super::remote::Remote;
use super::snapshots;
pub use ferry_api::contract::engine::{VerifyJob, VerifyReport, sampled};

/// How many mismatches a report names.
pub const SHOWN: usize = 10;

/// Verifies the newest complete copy below `remote` (the prefix itself with a plain
/// layout).
pub async fn run(remote: &Remote, layout: Layout, job: VerifyJob) -> Result<VerifyReport> {
    remote.preflight().await?;
    let copy = match layout {
        // A mirror whose last push did not finish is no complete copy to verify.
        Layout::Plain => {
            manifest::in_progress::refuse(remote).await?;
            remote.clone()
        }
        Layout::Timestamped { .. } => snapshots::latest(remote).await?,
    };
    let key = manifest::key(&copy);
    let mut cursor = Cursor::open(&copy, &key).await.ok_or_else(|| {
        Error::config(
            copy.arg.clone(),
            format!("has no readable manifest ({key}) to verify against"),
            "sync once first; a copy without its manifest is not complete",
        )
    })?;
    let listed = list(&copy).await?;
    let mut report = VerifyReport {
        copy: copy.prefix.clone(),
        ..VerifyReport::default()
    };
    let note = |report: &mut VerifyReport, what: String| {
        report.mismatches += 1;
        if report.first.len() < SHOWN {
            report.first.push(what);
        }
    };
    while let Some(line) = cursor.next().await {
        report.checked += 1;
        let Some((size, etag)) = listed.get(&line.key) else {
            note(&mut report, format!("{}: missing", line.key));
            continue;
        };
        if *size != line.size {
            note(
                &mut report,
                format!("{}: size {size}, the manifest says {}", line.key, line.size),
            );
            continue;
        }
        if !job.deep {
            if *etag != line.etag {
                note(
                    &mut report,
                    format!("{}: ETag {etag}, the manifest says {}", line.key, line.etag),
                );
            }
            continue;
        }
        let Some(want) = line.md5.as_deref() else {
            continue;
        };
        if !sampled(&line.key, job.sample_percent) {
            continue;
        }
        let got = download_md5(&copy, &line.key).await?;
        if got != want {
            note(
                &mut report,
                format!("{}: MD5 {got}, the manifest says {want}", line.key),
            );
        }
    }
    Ok(report)
}

/// Every object below the copy: relative key, size and ETag.
async fn list(copy: &Remote) -> Result<HashMap<String, (u64, String)>> {
    let prefix = copy.list_prefix();
    let mut out = HashMap::new();
    let mut token = None;
    loop {
        let page = copy
            .client
            .list_objects_v2()
            .bucket(&copy.bucket)
            .prefix(&prefix)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| copy.error("ListObjectsV2", &prefix, e))?;
        for object in page.contents.unwrap_or_default() {
            let key = object.key.unwrap_or_default();
            let rel = key.strip_prefix(&prefix).unwrap_or(&key).to_owned();
            let size = u64::try_from(object.size.unwrap_or_default()).unwrap_or(0);
            out.insert(rel, (size, object.e_tag.unwrap_or_default()));
        }
        match page.next_continuation_token {
            Some(next) if page.is_truncated == Some(true) => token = Some(next),
            _ => return Ok(out),
        }
    }
}

/// The MD5 (hex) of an object's body, streamed.
async fn download_md5(copy: &Remote, rel: &str) -> Result<String> {
    let key = copy.key(rel);
    let output = copy
        .client
        .get_object()
        .bucket(&copy.bucket)
        .key(&key)
        .send()
        .await
        .map_err(|e| copy.error("GetObject", &key, e))?;
    let mut body = output.body;
    let mut hasher = Md5::new();
    while let Some(chunk) = body.try_next().await.map_err(|e| Error::Request {
        op: "GetObject",
        key: key.clone(),
        class: super::error::Class::Connection,
        message: e.to_string(),
        source: Box::new(e),
    })? {
        hasher.update(&chunk);
    }
    let digest: [u8; 16] = hasher.finalize().into();
    Ok(super::entry::md5_hex(&digest))
}
