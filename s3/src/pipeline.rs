//! What push and pull share: the run state (limits, the first fatal error), the ordered
//! collection of per-key outcomes into the manifest, and the deletion policy.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Semaphore;
use tokio::sync::mpsc::Receiver;
use tokio::task::JoinHandle;

use super::cancel::Cancel;
use super::entry::Keyed;
use super::error::{Error, Result};
use super::manifest::Line;
use super::manifest::writer::Writer;
use super::march::{March, Pair, Side};
use super::ops::Ctx;
use super::options::{Mode, SyncOptions};
use super::remote::Remote;
use super::stats::{Stats, Summary};

/// Outcomes waiting to be collected, in key order: at most this many keys are in flight
/// between the march and the manifest, which bounds memory.
pub const WINDOW: usize = 1024;

/// One end of a sync.
#[derive(Debug)]
pub enum End {
    /// A local directory.
    Local(PathBuf),
    /// A bucket and prefix.
    Remote(Remote),
}

/// Syncs `src` to `dst`: one must be local and the other remote.
pub async fn sync(
    src: End,
    dst: End,
    opts: SyncOptions,
    stats: Arc<Stats>,
    cancel: Cancel,
) -> Result<Summary> {
    match (src, dst) {
        (End::Local(root), End::Remote(remote)) => {
            super::push::run(root, remote, opts, stats, cancel).await
        }
        (End::Remote(remote), End::Local(root)) => {
            super::pull::run(remote, root, opts, stats, cancel).await
        }
        (End::Local(_), End::Local(_)) => Err(Error::config(
            "SRC and DST",
            "are both local paths",
            "make one of them remote:bucket/prefix",
        )),
        (End::Remote(_), End::Remote(_)) => Err(Error::config(
            "SRC and DST",
            "are both remote",
            "sync between a local directory and a remote",
        )),
    }
}

/// The shared state of one run.
#[derive(Debug)]
pub struct Run {
    /// Operations' context.
    pub ctx: Arc<Ctx>,
    /// Slots for HEADs and hashing (`--checkers`).
    pub checkers: Semaphore,
    /// Slots for copies (`--transfers`).
    pub transfers: Semaphore,
    fatal: Mutex<Option<Error>>,
    cancelled: AtomicBool,
}

impl Run {
    /// A run over `ctx`.
    pub fn new(ctx: Arc<Ctx>) -> Run {
        Run {
            checkers: Semaphore::new(ctx.opts.checkers.max(1)),
            transfers: Semaphore::new(ctx.opts.transfers.max(1)),
            ctx,
            fatal: Mutex::new(None),
            cancelled: AtomicBool::new(false),
        }
    }

    /// Whether this is a dry run.
    pub fn dry(&self) -> bool {
        self.ctx.opts.mode == Mode::DryRun
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.ctx.stats
    }

    /// Records a failure: logged and counted; a fatal one stops the run.
    pub fn fail(&self, error: Error) {
        if matches!(error, Error::Cancelled) {
            return;
        }
        self.ctx.stats.error();
        if let Some(path) = error.unreadable_path() {
            self.ctx.stats.unreadable(path.display().to_string());
        }
        if error.is_fatal() {
            self.cancelled.store(true, Ordering::SeqCst);
            let mut slot = self.fatal.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                *slot = Some(error);
            }
        } else {
            tracing::error!("{error}");
        }
    }

    /// Stops the run (a signal): no new work, no deletions, no manifest.
    pub fn stop(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    /// Whether the run is stopping.
    pub fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// The fatal error that stopped the run, if any.
    pub fn take_fatal(&self) -> Option<Error> {
        self.fatal.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Whether `count` deletions of the remote's `remote_files` may run: never after errors
    /// (rclone's rule), never more than `--max-delete`, never over the shrink limit (then
    /// none at all, and that is an error). Pulls pass no guard: they delete local files.
    pub fn may_delete(&self, count: usize, remote_files: Option<u64>) -> bool {
        if count == 0 {
            return false;
        }
        if self.ctx.stats.errors() > 0 {
            tracing::error!("not deleting files as there were IO errors");
            return false;
        }
        if let Some(limit) = self.ctx.opts.max_delete
            && count as u64 > limit
        {
            self.fail(Error::MaxDelete { count, limit });
            return false;
        }
        if let Some(refusal) =
            remote_files.and_then(|total| self.ctx.opts.guards.shrink(count as u64, total))
        {
            self.fail(Error::Refused(refusal));
            return false;
        }
        true
    }

    /// The march's next pair, or `None` once it is over: both listings ended, the run was
    /// stopped, or the listing of `remote` failed (what is not listed cannot be compared).
    /// A failure on the local side (one unreadable file) is recorded, which also holds
    /// back every deletion, and the march goes on.
    pub async fn next_pair<S: Keyed, D: Keyed>(
        &self,
        march: &mut March<S, D>,
        cancel: &Cancel,
        remote: Side,
    ) -> Option<Pair<S, D>> {
        loop {
            let item = tokio::select! {
                item = march.next() => item,
                () = cancel.wait() => {
                    self.stop();
                    None
                }
            };
            if self.cancelled() {
                return None;
            }
            match item? {
                Ok(pair) => return Some(pair),
                Err((side, e)) => {
                    self.fail(e);
                    if side == remote {
                        return None;
                    }
                }
            }
        }
    }

    /// Prints a line of a dry run.
    pub fn would(&self, what: &str, key: &str) {
        println!("would {what}: {key}");
    }
}

/// A key's outcome in march order: known now, or when its task ends.
pub enum Slot {
    /// Decided without a task.
    Ready(Option<Line>),
    /// Being worked on.
    Pending(JoinHandle<Option<Line>>),
}

/// Collects outcomes in key order into `writer` (if any); returns the writer when every
/// line was written.
pub fn collect(mut writer: Option<Writer>, mut rx: Receiver<Slot>) -> JoinHandle<Option<Writer>> {
    tokio::spawn(async move {
        while let Some(slot) = rx.recv().await {
            let line = match slot {
                Slot::Ready(line) => line,
                Slot::Pending(task) => task.await.unwrap_or(None),
            };
            if let (Some(w), Some(line)) = (writer.as_mut(), line)
                && let Err(e) = w.push(&line).await
            {
                tracing::warn!(error = %e, "cannot write the manifest; the next sync will HEAD instead");
                writer = None;
            }
        }
        writer
    })
}

/// Fails unless `path` is an existing directory (a sync source).
pub fn check_source_dir(path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(Error::config(
            format!("SRC {}", path.display()),
            "is not a directory",
            "give the directory to sync",
        )),
        Err(e) => Err(Error::Config {
            setting: format!("SRC {}", path.display()),
            problem: match e.kind() {
                std::io::ErrorKind::NotFound => String::from("does not exist"),
                _ => format!("cannot be read ({e})"),
            },
            fix: String::from("create it or fix the path"),
            source: Some(Box::new(e)),
        }),
    }
}
