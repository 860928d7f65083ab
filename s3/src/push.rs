//! Push: a local directory to a bucket prefix.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::cancel::Cancel;
use super::check::{Action, decide};
use super::entry::{DirMeta, Kind, LocalEntry, RemoteEntry, is_dir_key, md5_hex};
use super::error::{Error, Result};
use super::guard;
use super::list::{CHANNEL_DEPTH, local, remote as remote_list};
use super::lock::{self, Lock};
use super::manifest::{self, Line, reader::Cursor, writer::Writer};
use super::march::{March, Pair, Side};
use super::ops::orphans::abort_stale_uploads;
use super::ops::touch::{MAX_COPY, set_remote_mtime};
use super::ops::{Ctx, delete::delete_objects, upload::upload};
use super::options::{Compare, Layout, SyncOptions};
use super::pipeline::{Run, Slot, WINDOW, check_source_dir, collect};
use super::remote::Remote;
use super::snapshots;
use super::stats::{Stats, Summary};

/// Pushes `root` to `remote`.
pub async fn run(
    root: PathBuf,
    remote: Remote,
    mut opts: SyncOptions,
    stats: Arc<Stats>,
    cancel: Cancel,
) -> Result<Summary> {
    check_source_dir(&root)?;
    let lock = lock_of(&opts, &remote)?;
    remote.preflight().await?;
    if let Some(lock) = lock {
        lock::check_bucket(&remote, &lock).await?;
        opts.lock = Some(lock.fixed(jiff::Timestamp::now())?);
    }
    if let Some(refusal) = opts.guards.empty_source(
        guard::has_files(&root),
        snapshots::holds_data(&remote).await?,
        &remote.arg,
    ) {
        return Err(Error::Refused(refusal));
    }
    let base = remote.clone();
    let remote = match opts.layout {
        Layout::Plain => remote,
        Layout::Timestamped { .. } => snapshots::copy_of(&remote, &snapshots::stamp_now()),
    };
    let manifest_key = manifest::key(&remote);
    let cursor = Cursor::open(&remote, &manifest_key).await;
    let ctx = Arc::new(Ctx::new(
        remote.clone(),
        opts.clone(),
        Arc::clone(&stats),
        cancel.clone(),
    ));
    let run = Arc::new(Run::new(Arc::clone(&ctx)));

    let filter = Arc::new(opts.filter.clone());
    let (src_tx, src_rx) = mpsc::channel(CHANNEL_DEPTH);
    let (walk_root, walk_filter, links) = (root.clone(), Arc::clone(&filter), opts.links);
    let walker =
        tokio::task::spawn_blocking(move || local::walk(&walk_root, links, &walk_filter, &src_tx));
    let (dst_tx, dst_rx) = mpsc::channel(CHANNEL_DEPTH);
    let skip = manifest::inside_listing(&remote);
    let lister = tokio::spawn(remote_list::list(
        remote.clone(),
        filter,
        cursor,
        skip,
        dst_tx,
    ));

    let writer = (!run.dry()).then(|| {
        Writer::new(remote.clone(), manifest_key, Arc::clone(&stats)).locked(opts.lock.clone())
    });
    let (slot_tx, slot_rx) = mpsc::channel(WINDOW);
    let collector = collect(writer, slot_rx);
    let (mut deletions, mut markers) = (Vec::new(), Vec::new());
    // The remote's files (not directory markers), for the shrink limit.
    let mut remote_files = 0u64;
    let mut march = March::new(src_rx, dst_rx);
    while let Some(pair) = run.next_pair(&mut march, &cancel, Side::Dst).await {
        if let Pair::DstOnly(r) | Pair::Both(_, r) = &pair
            && !is_dir_key(&r.key)
        {
            remote_files += 1;
        }
        let slot = match pair {
            Pair::DstOnly(r) => {
                let line = r.known.map(|k| Line::listed(&r, k));
                match is_dir_key(&r.key) {
                    true => markers.push(r.key),
                    false => deletions.push(r.key),
                }
                Slot::Ready(line)
            }
            Pair::Both(l, r) if unchanged(&opts, &l, &r) => {
                if l.kind != Kind::Dir {
                    stats.checked();
                }
                Slot::Ready(r.known.map(|k| Line::listed(&r, k)))
            }
            pair => Slot::Pending(tokio::spawn(job(Arc::clone(&run), pair))),
        };
        if slot_tx.send(slot).await.is_err() {
            break;
        }
    }
    drop((slot_tx, march));
    let writer = collector.await.ok().flatten();
    lister.abort();
    let _ = walker.await;
    if cancel.is_set() {
        if let Some(writer) = writer {
            writer.abort().await;
        }
        return Err(Error::Cancelled);
    }
    if let Some(e) = run.take_fatal() {
        return Err(e);
    }
    if run.may_delete(deletions.len(), Some(remote_files)) {
        let keys: Vec<String> = deletions.iter().map(|k| remote.key(k)).collect();
        if run.dry() {
            deletions.iter().for_each(|k| run.would("delete", k));
            stats.deleted(keys.len() as u64);
        } else {
            let (deleted, errors) = delete_objects(&remote, &keys).await;
            stats.deleted(deleted);
            errors.into_iter().for_each(|e| run.fail(e));
        }
    }
    // Markers of directories the source no longer has go last, under the same rule: never
    // after an error (nor after a refused --max-delete, which is one). They are not files,
    // so they count neither as deletions nor against --max-delete.
    if !markers.is_empty() && stats.errors() == 0 {
        if run.dry() {
            markers
                .iter()
                .for_each(|k| run.would("delete directory", k));
        } else {
            let keys: Vec<String> = markers.iter().map(|k| remote.key(k)).collect();
            let (_, errors) = delete_objects(&remote, &keys).await;
            errors.into_iter().for_each(|e| run.fail(e));
        }
    }
    // A timestamped copy is complete once its manifest is stored: a copy with errors gets
    // none, so it is never taken for the newest complete one ([`snapshots::latest`]).
    let incomplete = matches!(opts.layout, Layout::Timestamped { .. }) && stats.errors() > 0;
    match writer {
        Some(writer) if incomplete => writer.abort().await,
        Some(writer) => {
            match writer.finish().await {
                // Without its manifest a timestamped copy does not count as complete.
                Err(e) if matches!(opts.layout, Layout::Timestamped { .. }) => run.fail(e),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot store the manifest; the next sync will HEAD instead");
                }
                Ok(()) => {}
            }
        }
        None => {}
    }
    if let (Some(age), 0, false) = (opts.abort_uploads_older_than, stats.errors(), run.dry()) {
        match abort_stale_uploads(&base, age).await {
            Ok(n) => stats.uploads_aborted(n),
            Err(e) => tracing::warn!(error = %e, "cannot sweep incomplete multipart uploads"),
        }
    }
    // Never after a failed sync; a refusal of the retention guard leaves this copy complete
    // and is reported beside it.
    let (mut retention_refused, mut waiting) = (None, Vec::new());
    if let (
        Layout::Timestamped {
            retain: Some(keep), ..
        },
        0,
    ) = (opts.layout, stats.errors())
    {
        match snapshots::retain(&base, keep, &run).await {
            Ok(left) => waiting = left,
            Err(Error::Refused(refusal)) => {
                tracing::warn!("{refusal}");
                retention_refused = Some(refusal);
            }
            Err(e) => run.fail(e),
        }
    }
    match run.take_fatal() {
        Some(e) => Err(e),
        None => {
            let mut summary = stats.summary(run.dry());
            summary.refused = retention_refused;
            summary.locked = waiting;
            summary.requests = remote.requests.snapshot();
            for path in &mut summary.unreadable_paths {
                if let Some(rel) = std::path::Path::new(path.as_str())
                    .strip_prefix(&root)
                    .ok()
                    .and_then(|p| p.to_str())
                {
                    *path = if rel.is_empty() {
                        ".".to_owned()
                    } else {
                        rel.to_owned()
                    };
                }
            }
            Ok(summary)
        }
    }
}

/// The Object Lock of this push: the CR's or the command line's, else the remote's rclone
/// keys. Refused on a plain (mirror) push, where every overwrite and deletion of a locked
/// object would fail.
fn lock_of(opts: &SyncOptions, remote: &Remote) -> Result<Option<Lock>> {
    let lock = opts
        .lock
        .clone()
        .or_else(|| remote.config.object_lock.clone());
    match (&lock, opts.layout) {
        (Some(lock), Layout::Plain) => Err(Error::config(
            &lock.setting,
            "Object Lock on a mirror (no timestamped copies): every overwrite and deletion of a locked object would fail",
            "push timestamped copies (spec.rclone.timestampPrefix: true, --timestamp-prefix), or remove the lock",
        )),
        _ => Ok(lock),
    }
}

/// S3's limit on the length of a key, in bytes.
pub const MAX_KEY: usize = 1024;

/// Fails, naming the fix, when the full key of `rel` is longer than S3 allows: the prefix
/// (and a timestamp) count too, so a path that fits a file system may not fit a key.
fn check_key_length(remote: &Remote, rel: &str) -> Result<()> {
    let len = remote.try_key(rel)?.len();
    if len <= MAX_KEY {
        return Ok(());
    }
    Err(Error::Unsupported {
        key: rel.to_owned(),
        problem: format!(
            "its key below \"{}\" is {len} bytes and S3 allows {MAX_KEY}; not stored: shorten the path, or the destination prefix",
            remote.prefix
        ),
    })
}

/// Whether the listing and the manifest already show the pair unchanged (no task needed).
fn unchanged(opts: &SyncOptions, local: &LocalEntry, remote: &RemoteEntry) -> bool {
    opts.compare == Compare::SizeAndMtime
        && local.size == remote.size
        && remote.known.is_some_and(|k| k.mtime == local.mtime)
}

async fn job(run: Arc<Run>, pair: Pair<LocalEntry, RemoteEntry>) -> Option<Line> {
    let result = match pair {
        Pair::SrcOnly(l) => copy(&run, &l).await,
        Pair::Both(l, r) => both(&run, &l, &r).await,
        Pair::DstOnly(_) => Ok(None),
    };
    result.unwrap_or_else(|e| {
        run.fail(e);
        None
    })
}

async fn both(run: &Run, local: &LocalEntry, remote: &RemoteEntry) -> Result<Option<Line>> {
    if local.kind == Kind::Dir {
        // A marker has no content to compare: a new mtime (or no manifest line) rewrites it.
        return copy(run, local).await;
    }
    run.stats().checked();
    let verdict = decide(&run.ctx, &run.checkers, local, remote).await?;
    match verdict.action {
        Action::Skip => Ok(verdict.known.map(|k| Line::listed(remote, k))),
        Action::Copy => copy(run, local).await,
        Action::Touch if local.size > MAX_COPY => copy(run, local).await,
        Action::Touch => {
            if run.dry() {
                run.would("update mtime", &local.key);
                run.stats().updated();
                return Ok(None);
            }
            let etag_is_md5 = run.ctx.remote.config.etag_is_md5();
            let md5 = verdict
                .known
                .and_then(|k| k.md5)
                .or(remote.etag_md5(etag_is_md5));
            let mut meta = local.meta.clone();
            meta.md5 = md5;
            let _slot = run
                .transfers
                .acquire()
                .await
                .map_err(|_| Error::Cancelled)?;
            let etag = set_remote_mtime(&run.ctx, &remote.key, &remote.etag, &meta).await?;
            run.stats().updated();
            Ok(Some(Line {
                key: local.key.clone(),
                size: remote.size,
                mtime: local.mtime,
                md5: md5.as_ref().map(md5_hex),
                etag,
                listed_ms: None,
                dir: None,
            }))
        }
    }
}

async fn copy(run: &Run, local: &LocalEntry) -> Result<Option<Line>> {
    check_key_length(&run.ctx.remote, &local.key)?;
    let dir = local.kind == Kind::Dir;
    if run.dry() {
        if dir {
            run.would("store directory", &local.key);
            run.stats().dir();
        } else {
            run.would("copy", &local.key);
            run.stats().queued(local.size);
            run.stats().transferred(local.size);
        }
        return Ok(None);
    }
    if !dir {
        run.stats().queued(local.size);
    }
    let _slot = run
        .transfers
        .acquire()
        .await
        .map_err(|_| Error::Cancelled)?;
    if run.cancelled() {
        return Err(Error::Cancelled);
    }
    let up = upload(&run.ctx, local).await?;
    if dir {
        run.stats().dir();
    } else {
        run.stats().transferred(up.size);
    }
    Ok(Some(Line {
        key: local.key.clone(),
        size: up.size,
        mtime: up.mtime,
        // Through crypt no hash compares with a local file (see `crypt`).
        md5: run.ctx.remote.crypt.is_none().then(|| md5_hex(&up.md5)),
        etag: up.etag,
        listed_ms: None,
        dir: dir.then(|| DirMeta::of(&local.meta)),
    }))
}
