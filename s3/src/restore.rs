//! Restore on first start: which copy a restore may take. Only a complete copy is ever
//! restored, "complete" as the push itself publishes it: a timestamped copy once its
//! manifest is stored (a push with errors stores none), a plain prefix once a push stored
//! its manifest beside it. A remote without one means a fresh start, not an error.

use super::error::{Error, Result};
use super::manifest;
use super::options::Layout;
use super::remote::Remote;
use super::snapshots;

/// What a restore takes.
#[derive(Debug)]
pub enum Choice {
    /// This copy: pull it as a plain prefix.
    Copy {
        /// The remote at the copy's prefix.
        remote: Remote,
        /// Its name: the stamp, or the remote path of a plain prefix.
        name: String,
    },
    /// Nothing complete to restore: the app starts fresh. Why, for the status and Event.
    Nothing(String),
}

/// Chooses the copy of `remote` to restore: `wanted` by name (timestamped layouts only),
/// else the newest complete one. A named copy that is missing or partial is an error that
/// names the complete ones; so is a name without `timestampPrefix`.
pub async fn choose(remote: &Remote, layout: Layout, wanted: Option<&str>) -> Result<Choice> {
    match (layout, wanted) {
        (Layout::Plain, Some(name)) => Err(Error::config(
            format!("the copy \"{name}\" to restore"),
            "names a timestamped copy, but this source pushes to a plain prefix",
            "set spec.rclone.timestampPrefix: true, or remove the copy's name to restore the prefix",
        )),
        (Layout::Plain, None) => plain(remote).await,
        (Layout::Timestamped { .. }, wanted) => timestamped(remote, wanted).await,
    }
}

async fn plain(remote: &Remote) -> Result<Choice> {
    let key = manifest::key(remote);
    let head = remote
        .client
        .head_object()
        .bucket(&remote.bucket)
        .key(&key)
        .send()
        .await;
    match head {
        Ok(_) => Ok(Choice::Copy {
            remote: remote.clone(),
            name: path_of(remote),
        }),
        Err(e) => {
            let e = remote.error("HeadObject", &key, e);
            if !e.is_not_found() {
                return Err(e);
            }
            let why = if snapshots::holds_data(remote).await? {
                format!(
                    "{} holds objects but no manifest: no complete push by Ferry is stored there, so nothing was restored",
                    remote.arg
                )
            } else {
                format!("{} is empty: nothing to restore", remote.arg)
            };
            Ok(Choice::Nothing(why))
        }
    }
}

/// `bucket/prefix` (or the bucket), as `rcloneDestPath` writes it.
fn path_of(remote: &Remote) -> String {
    if remote.prefix.is_empty() {
        remote.bucket.clone()
    } else {
        format!("{}/{}", remote.bucket, remote.prefix)
    }
}

async fn timestamped(remote: &Remote, wanted: Option<&str>) -> Result<Choice> {
    let copies = snapshots::copies(remote).await?;
    let complete: Vec<&str> = copies
        .iter()
        .filter(|c| c.complete)
        .map(|c| c.stamp.as_str())
        .collect();
    let listed = || match complete.as_slice() {
        [] => "there is no complete copy".to_owned(),
        names => format!("complete copies: {}", names.join(", ")),
    };
    let at = |stamp: &str| remote.with_prefix(snapshots::child(&remote.prefix, stamp));
    match wanted {
        Some(name) => match copies.iter().find(|c| c.stamp == name) {
            Some(c) if c.complete => Ok(Choice::Copy {
                remote: at(name),
                name: name.to_owned(),
            }),
            found => Err(Error::config(
                format!("the copy \"{name}\" to restore"),
                format!(
                    "{} below {}",
                    if found.is_some() {
                        "is partial (its push did not finish; it has no manifest) and is never restored"
                    } else {
                        "does not exist"
                    },
                    remote.arg
                ),
                format!("name a complete copy ({})", listed()),
            )),
        },
        None => match complete.last() {
            Some(newest) => Ok(Choice::Copy {
                remote: at(newest),
                name: (*newest).to_owned(),
            }),
            None => {
                let partial = copies.len();
                Ok(Choice::Nothing(if partial == 0 {
                    format!(
                        "{} holds no timestamped copy: nothing to restore",
                        remote.arg
                    )
                } else {
                    format!(
                        "{} holds no complete copy ({partial} partial, never restored): nothing to restore",
                        remote.arg
                    )
                }))
            }
        },
    }
}
