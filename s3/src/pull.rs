//! Pull: a bucket prefix into a local directory.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::cancel::Cancel;
use super::check::{Action, decide};
use super::entry::{LocalEntry, RemoteEntry};
use super::error::{Error, Result};
use super::list::{CHANNEL_DEPTH, local, remote as remote_list};
use super::manifest::{self, reader::Cursor};
use super::march::{March, Pair, Side};
use super::ops::download::{download, local_target};
use super::ops::touch::set_local_mtime;
use super::ops::{Ctx, delete::delete_local};
use super::options::{Compare, Layout, SyncOptions};
use super::pipeline::{Run, Slot, WINDOW, collect};
use super::remote::Remote;
use super::snapshots;
use super::stats::{Stats, Summary};

/// Pulls `remote` into `root` (created if missing).
pub async fn run(
    remote: Remote,
    root: PathBuf,
    opts: SyncOptions,
    stats: Arc<Stats>,
    cancel: Cancel,
) -> Result<Summary> {
    remote.preflight().await?;
    let remote = match opts.layout {
        Layout::Plain => remote,
        Layout::Timestamped { .. } => snapshots::latest(&remote).await?,
    };
    if opts.mode == super::options::Mode::Apply {
        std::fs::create_dir_all(&root).map_err(|e| Error::Config {
            setting: format!("DST {}", root.display()),
            problem: format!("cannot be created ({e})"),
            fix: String::from("fix the path or its permissions"),
            source: Some(Box::new(e)),
        })?;
    }
    let cursor = Cursor::open(&remote, &manifest::key(&remote)).await;
    stats.request();
    let ctx = Arc::new(Ctx::new(
        remote.clone(),
        opts.clone(),
        Arc::clone(&stats),
        cancel.clone(),
    ));
    let run = Arc::new(Run::new(Arc::clone(&ctx)));

    let filter = Arc::new(opts.filter.clone());
    let (src_tx, src_rx) = mpsc::channel(CHANNEL_DEPTH);
    let skip = manifest::inside_listing(&remote);
    let lister = tokio::spawn(remote_list::list(
        remote.clone(),
        Arc::clone(&filter),
        cursor,
        skip,
        Arc::clone(&stats),
        src_tx,
    ));
    let (dst_tx, dst_rx) = mpsc::channel(CHANNEL_DEPTH);
    let (walk_root, links) = (root.clone(), opts.links);
    let walker =
        tokio::task::spawn_blocking(move || local::walk(&walk_root, links, &filter, &dst_tx));

    let (slot_tx, slot_rx) = mpsc::channel(WINDOW);
    let collector = collect(None, slot_rx);
    let mut deletions = Vec::new();
    let mut march = March::new(src_rx, dst_rx);
    while let Some(pair) = run.next_pair(&mut march, &cancel, Side::Src).await {
        let slot = match pair {
            Pair::DstOnly(l) => {
                deletions.push(l);
                continue;
            }
            Pair::Both(r, l) if unchanged(&opts, &l, &r) => {
                stats.checked();
                continue;
            }
            pair => Slot::Pending(tokio::spawn(job(Arc::clone(&run), root.clone(), pair))),
        };
        if slot_tx.send(slot).await.is_err() {
            break;
        }
    }
    drop((slot_tx, march));
    let _ = collector.await;
    lister.abort();
    let _ = walker.await;
    if cancel.is_set() {
        return Err(Error::Cancelled);
    }
    if let Some(e) = run.take_fatal() {
        return Err(e);
    }
    if run.may_delete(deletions.len()) {
        if run.dry() {
            deletions.iter().for_each(|l| run.would("delete", &l.key));
            stats.deleted(deletions.len() as u64);
        } else {
            let paths = deletions.into_iter().map(|l| l.path).collect();
            let (deleted, errors) = delete_local(&root, paths).await;
            stats.deleted(deleted);
            errors.into_iter().for_each(|e| run.fail(e));
        }
    }
    Ok(stats.summary(run.dry()))
}

fn unchanged(opts: &SyncOptions, local: &LocalEntry, remote: &RemoteEntry) -> bool {
    opts.compare == Compare::SizeAndMtime
        && local.size == remote.size
        && remote.known.is_some_and(|k| k.mtime == local.mtime)
}

async fn job(
    run: Arc<Run>,
    root: PathBuf,
    pair: Pair<RemoteEntry, LocalEntry>,
) -> Option<manifest::Line> {
    let result = match pair {
        Pair::SrcOnly(r) => copy(&run, &root, &r).await,
        Pair::Both(r, l) => both(&run, &root, &r, &l).await,
        Pair::DstOnly(_) => Ok(()),
    };
    if let Err(e) = result {
        run.fail(e);
    }
    None
}

async fn both(
    run: &Run,
    root: &std::path::Path,
    remote: &RemoteEntry,
    local: &LocalEntry,
) -> Result<()> {
    run.stats().checked();
    let verdict = decide(&run.ctx, &run.checkers, local, remote).await?;
    match (verdict.action, verdict.known) {
        (Action::Skip, _) => Ok(()),
        (Action::Touch, Some(known)) => {
            if run.dry() {
                run.would("update mtime", &local.key);
            } else {
                let (path, _) = local_target(root, &remote.key, run.ctx.opts.links);
                set_local_mtime(&path, known.mtime).await?;
            }
            run.stats().updated();
            Ok(())
        }
        _ => copy(run, root, remote).await,
    }
}

async fn copy(run: &Run, root: &std::path::Path, remote: &RemoteEntry) -> Result<()> {
    run.stats().queued(remote.size);
    if run.dry() {
        run.would("copy", &remote.key);
        run.stats().transferred(remote.size);
        return Ok(());
    }
    let _slot = run
        .transfers
        .acquire()
        .await
        .map_err(|_| Error::Cancelled)?;
    if run.cancelled() {
        return Err(Error::Cancelled);
    }
    let size = download(&run.ctx, remote, root).await?;
    run.stats().transferred(size);
    Ok(())
}
