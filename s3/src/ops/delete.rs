//! Deletions, run only after every transfer succeeded: objects in batches of 1,000
//! (DeleteObjects), local files one by one with their emptied directories.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use super::blocking;
use crate::error::Error;
use crate::remote::Remote;
use crate::retry::Backoff;

/// Keys per DeleteObjects request (S3's limit).
const BATCH: usize = 1000;

/// Deletes the objects at full keys `keys`; returns how many went and the errors.
pub async fn delete_objects(remote: &Remote, keys: &[String]) -> (u64, Vec<Error>) {
    let ids: Vec<(String, Option<String>)> = keys.iter().map(|k| (k.clone(), None)).collect();
    delete_versions(remote, &ids).await
}

/// Deletes objects by full key, each version named where one is given (a versioned
/// bucket, as Object Lock makes: without a version, a deletion only adds a delete marker
/// and the data stays); returns how many went and the errors.
pub async fn delete_versions(
    remote: &Remote,
    objects: &[(String, Option<String>)],
) -> (u64, Vec<Error>) {
    let backoff = Backoff::default();
    let (mut deleted, mut errors) = (0u64, Vec::new());
    for batch in objects.chunks(BATCH) {
        let ids: Vec<ObjectIdentifier> = batch
            .iter()
            .filter_map(|(k, v)| {
                ObjectIdentifier::builder()
                    .key(k)
                    .set_version_id(v.clone())
                    .build()
                    .ok()
            })
            .collect();
        let delete = match Delete::builder().set_objects(Some(ids)).quiet(true).build() {
            Ok(d) => d,
            Err(e) => {
                errors.push(Error::Unsupported {
                    key: batch[0].0.clone(),
                    problem: e.to_string(),
                });
                continue;
            }
        };
        let result = backoff
            .run("DeleteObjects", || async {
                remote
                    .client
                    .delete_objects()
                    .bucket(&remote.bucket)
                    .delete(delete.clone())
                    .send()
                    .await
                    .map_err(|e| remote.error("DeleteObjects", &remote.bucket, e))
            })
            .await;
        match result {
            Ok(out) => {
                let failed = out.errors.unwrap_or_default();
                deleted += (batch.len() - failed.len()) as u64;
                for f in failed {
                    errors.push(Error::Unsupported {
                        key: f.key.unwrap_or_default(),
                        problem: format!(
                            "not deleted: {} {}",
                            f.code.unwrap_or_default(),
                            f.message.unwrap_or_default()
                        ),
                    });
                }
            }
            Err(e) if e.is_fatal() => {
                errors.push(e);
                break;
            }
            Err(e) => errors.push(e),
        }
    }
    (deleted, errors)
}

/// Deletes local files (relative paths below `root`), then the directories this emptied.
pub async fn delete_local(root: &Path, files: Vec<PathBuf>) -> (u64, Vec<Error>) {
    let root = root.to_path_buf();
    let outcome = blocking(move || {
        let (mut deleted, mut errors) = (0u64, Vec::new());
        let mut dirs = BTreeSet::new();
        for file in files {
            match std::fs::remove_file(&file) {
                Ok(()) => deleted += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => errors.push(Error::local("delete", &file, e)),
            }
            let mut dir = file.parent();
            while let Some(d) = dir.filter(|d| d.starts_with(&root) && *d != root) {
                dirs.insert(d.to_path_buf());
                dir = d.parent();
            }
        }
        // Deepest first; a directory that is not empty stays.
        for dir in dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
        Ok((deleted, errors))
    })
    .await;
    outcome.unwrap_or_else(|e| (0, vec![e]))
}
