//! The local side: a depth-first walk that reads one directory at a time, sorts it in key
//! order (a directory sorts as `name/`) and sends entries as it goes, each directory (but
//! the root) right before its content.

use std::fs::{self, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use tokio::sync::mpsc::Sender;

use super::Filter;
use crate::entry::{Kind, LINK_SUFFIX, Links, LocalEntry};
use crate::error::{Error, Result};
use crate::meta::FileMeta;

/// One directory entry, with the key it sorts by.
struct Item {
    sort_key: String,
    key: String,
    path: PathBuf,
    kind: ItemKind,
    meta: Metadata,
}

enum ItemKind {
    Dir,
    Entry(Kind),
}

/// Walks `root`, sending entries in key order. Runs on a blocking thread; stops when the
/// receiver is gone. A missing `root` is an empty tree (the caller checks sources exist).
pub fn walk(root: &Path, links: Links, filter: &Arc<Filter>, tx: &Sender<Result<LocalEntry>>) {
    let mut stack: Vec<std::vec::IntoIter<Item>> = Vec::new();
    match read_sorted(root, "", links, filter, tx) {
        Some(items) => stack.push(items.into_iter()),
        None => return,
    }
    while let Some(top) = stack.last_mut() {
        let Some(item) = top.next() else {
            stack.pop();
            continue;
        };
        match item.kind {
            ItemKind::Dir => {
                // The directory itself first: its key (`name/`) sorts before its content.
                let entry = local_entry(item.sort_key, item.path.clone(), Kind::Dir, &item.meta);
                if tx.blocking_send(Ok(entry)).is_err() {
                    return;
                }
                if let Some(items) = read_sorted(&item.path, &item.key, links, filter, tx) {
                    stack.push(items.into_iter());
                }
            }
            ItemKind::Entry(kind) => {
                let entry = local_entry(item.key, item.path, kind, &item.meta);
                if tx.blocking_send(Ok(entry)).is_err() {
                    return;
                }
            }
        }
    }
}

/// Reads and sorts one directory; errors are sent and the directory skipped.
fn read_sorted(
    dir: &Path,
    rel: &str,
    links: Links,
    filter: &Filter,
    tx: &Sender<Result<LocalEntry>>,
) -> Option<Vec<Item>> {
    let send = |e: Error| tx.blocking_send(Err(e)).is_ok();
    let reader = match fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && rel.is_empty() => {
            return Some(Vec::new());
        }
        Err(e) => return send(Error::local("read directory", dir, e)).then(Vec::new),
    };
    let mut items = Vec::new();
    for entry in reader {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                send(Error::local("read directory", dir, e));
                continue;
            }
        };
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            send(Error::Unsupported {
                key: path.display().to_string(),
                problem: String::from("name is not UTF-8; skipped (rename it)"),
            });
            continue;
        };
        let key = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let meta = match entry.metadata() {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                send(Error::local("stat", &path, e));
                continue;
            }
        };
        let file_type = meta.file_type();
        let (sort_key, key, kind) = if file_type.is_dir() {
            if filter.excludes_dir(&key) {
                continue;
            }
            (format!("{key}/"), key, ItemKind::Dir)
        } else if file_type.is_file() {
            (key.clone(), key, ItemKind::Entry(Kind::File))
        } else if file_type.is_symlink() && links == Links::Keep {
            let key = format!("{key}{LINK_SUFFIX}");
            (key.clone(), key, ItemKind::Entry(Kind::Symlink))
        } else {
            let what = if file_type.is_symlink() {
                "symlink (use --links to keep it)"
            } else {
                "special file"
            };
            tracing::warn!(path = %path.display(), "skipping {what}");
            continue;
        };
        if matches!(kind, ItemKind::Entry(_)) && filter.excludes_file(&key) {
            continue;
        }
        items.push(Item {
            sort_key,
            key,
            path,
            kind,
            meta,
        });
    }
    items.sort_unstable_by(|a, b| a.sort_key.cmp(&b.sort_key));
    Some(items)
}

/// The entry for a file, symlink or directory from its `lstat`.
pub fn local_entry(key: String, path: PathBuf, kind: Kind, meta: &Metadata) -> LocalEntry {
    LocalEntry {
        key,
        path,
        kind,
        // A directory's marker is empty, whatever the file system says of its size.
        size: if kind == Kind::Dir { 0 } else { meta.len() },
        mtime: mtime_ns(meta),
        meta: FileMeta {
            mtime: Some(mtime_ns(meta)),
            md5: None,
            mode: Some(meta.mode()),
            uid: Some(meta.uid()),
            gid: Some(meta.gid()),
            atime: Some(
                meta.atime()
                    .saturating_mul(1_000_000_000)
                    .saturating_add(meta.atime_nsec()),
            ),
            btime: meta
                .created()
                .ok()
                .and_then(|t| match t.duration_since(UNIX_EPOCH) {
                    Ok(d) => i64::try_from(d.as_nanos()).ok(),
                    Err(_) => None,
                }),
        },
    }
}

/// The modification time in nanoseconds since the epoch.
pub fn mtime_ns(meta: &Metadata) -> i64 {
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
}
