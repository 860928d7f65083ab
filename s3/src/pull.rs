//! Pull: a bucket prefix into a local directory, with the directories its markers record.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::cancel::Cancel;
use super::check::{Action, decide};
use super::entry::{Kind, Known, LocalEntry, RemoteEntry, is_dir_key};
use super::error::{Error, Result};
use super::list::{CHANNEL_DEPTH, local, remote as remote_list};
use super::manifest::{self, reader::Cursor};
use super::march::{March, Pair, Side};
use super::meta::FileMeta;
use super::ops::blocking;
use super::ops::download::{download, local_target, restore_mode_and_owner, system_time};
use super::ops::head::head;
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
        src_tx,
    ));
    let (dst_tx, dst_rx) = mpsc::channel(CHANNEL_DEPTH);
    let (walk_root, links) = (root.clone(), opts.links);
    let walker =
        tokio::task::spawn_blocking(move || local::walk(&walk_root, links, &filter, &dst_tx));

    let (slot_tx, slot_rx) = mpsc::channel(WINDOW);
    let collector = collect(None, slot_rx);
    let mut deletions = Vec::new();
    let mut dirs = Dirs::default();
    let mut march = March::new(src_rx, dst_rx);
    while let Some(pair) = run.next_pair(&mut march, &cancel, Side::Src).await {
        let slot = match pair {
            // A directory the remote does not record is left alone: it holds no data, and
            // one emptied by this sync's deletions goes with them.
            Pair::DstOnly(l) if l.kind == Kind::Dir => continue,
            Pair::DstOnly(l) => {
                deletions.push(l);
                continue;
            }
            Pair::SrcOnly(r) if is_dir_key(&r.key) => {
                dirs.add(&run, r, None);
                continue;
            }
            Pair::Both(r, l) if is_dir_key(&r.key) => {
                dirs.add(&run, r, Some(l));
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
    if run.may_delete(deletions.len(), None) {
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
    // Directories last, deepest first: files written into a directory change its mtime,
    // and a read-only mode must not stop what goes inside.
    if !run.dry() {
        for fix in dirs.finish(&run).await {
            if let Err(e) = restore_dir(&root, fix).await {
                run.fail(e);
            }
        }
    }
    if cancel.is_set() {
        return Err(Error::Cancelled);
    }
    let mut summary = stats.summary(run.dry());
    summary.requests = remote.requests.snapshot();
    Ok(summary)
}

/// What a pull must do to a directory the remote records.
#[derive(Debug)]
struct DirFix {
    /// Its relative key (with the trailing `/`).
    key: String,
    /// The mtime to set.
    mtime: i64,
    /// Mode, owner and atime to set, when known; `None` when only the mtime needs setting
    /// again (the directory was already as recorded).
    meta: Option<FileMeta>,
    /// Whether the directory is missing or differs (what the summary counts).
    changed: bool,
}

/// The directories of a pull: settled from the listing and the manifest where they can be,
/// else by a HEAD of the marker (its mode and owner are in its metadata).
#[derive(Default)]
struct Dirs {
    settled: Vec<DirFix>,
    heads: Vec<tokio::task::JoinHandle<Option<DirFix>>>,
}

impl Dirs {
    fn add(&mut self, run: &Arc<Run>, remote: RemoteEntry, local: Option<LocalEntry>) {
        let same_mtime = |mtime| local.as_ref().is_some_and(|l| l.mtime == mtime);
        if run.dry() {
            let would = match &local {
                None => Some("create directory"),
                Some(l) if remote.known.is_none_or(|k| k.mtime != l.mtime) => {
                    Some("update directory")
                }
                Some(_) => None,
            };
            if let Some(would) = would {
                run.would(would, &remote.key);
                run.stats().dir();
            }
            return;
        }
        match remote.known {
            Some(Known {
                mtime,
                dir: Some(dir),
                ..
            }) => {
                let changed = !same_mtime(mtime)
                    || local.as_ref().is_some_and(|l| {
                        l.meta.mode.map(|m| m & 0o777) != dir.mode.map(|m| m & 0o777)
                    });
                let meta = FileMeta {
                    mtime: Some(mtime),
                    mode: dir.mode,
                    uid: dir.uid,
                    gid: dir.gid,
                    ..FileMeta::default()
                };
                self.settled.push(DirFix {
                    key: remote.key,
                    mtime,
                    meta: Some(meta),
                    changed,
                });
            }
            Some(known) if same_mtime(known.mtime) => self.settled.push(DirFix {
                key: remote.key,
                mtime: known.mtime,
                meta: None,
                changed: false,
            }),
            _ => {
                let run = Arc::clone(run);
                self.heads.push(tokio::spawn(async move {
                    let _slot = run.checkers.acquire().await.ok()?;
                    match head(&run.ctx, &remote.key).await {
                        Ok(head) => Some(DirFix {
                            mtime: head.known().mtime,
                            meta: Some(head.meta),
                            key: remote.key,
                            changed: true,
                        }),
                        Err(e) => {
                            run.fail(e);
                            None
                        }
                    }
                }));
            }
        }
    }

    /// Every directory to restore, deepest first.
    async fn finish(self, run: &Run) -> Vec<DirFix> {
        let mut all = self.settled;
        for task in self.heads {
            match task.await {
                Ok(fix) => all.extend(fix),
                Err(e) => run.fail(Error::Task(e)),
            }
        }
        all.sort_unstable_by(|a, b| b.key.cmp(&a.key));
        for _ in all.iter().filter(|f| f.changed) {
            run.stats().dir();
        }
        all
    }
}

/// Creates the directory of `fix` below `root` if missing and gives it its mode, owner
/// and times.
async fn restore_dir(root: &Path, fix: DirFix) -> Result<()> {
    let path = root.join(
        fix.key
            .trim_end_matches('/')
            .split('/')
            .collect::<PathBuf>(),
    );
    blocking(move || {
        std::fs::create_dir_all(&path).map_err(|e| Error::local("create directory", &path, e))?;
        let atime = match &fix.meta {
            Some(meta) => {
                restore_mode_and_owner(&path, meta)?;
                meta.atime.unwrap_or(fix.mtime)
            }
            None => fix.mtime,
        };
        let times = |ns| filetime::FileTime::from_system_time(system_time(ns));
        filetime::set_file_times(&path, times(atime), times(fix.mtime))
            .map_err(|e| Error::local("set times", &path, e))
    })
    .await
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
