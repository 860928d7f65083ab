//! Deciding what to do with a key both sides have, as rclone does by default: equal size
//! and mtime is unchanged; equal size and MD5 with another mtime only needs the mtime
//! updated; anything else is copied. `--checksum` compares size and MD5 only.
//!
//! The remote object's mtime and MD5 come from the manifest when it is trusted, else from
//! its ETag (MD5) or a HEAD; a HEAD or a local hash waits for a checker slot.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::entry::{Known, LocalEntry, RemoteEntry};
use super::error::{Error, Result};
use super::ops::Ctx;
use super::ops::hash::local_md5;
use super::ops::head::{Head, head};
use super::options::Compare;

/// What to do with a pair.
#[derive(Clone, Debug)]
pub enum Action {
    /// Nothing: the same on both sides.
    Skip,
    /// Copy the source over the destination.
    Copy,
    /// Only set the destination's mtime to the source's.
    Touch,
}

/// A decision, with what was learnt about the remote object on the way.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// What to do.
    pub action: Action,
    /// The remote object's mtime and MD5, when known.
    pub known: Option<Known>,
    /// The HEAD answer, if one was needed.
    pub head: Option<Head>,
}

impl Verdict {
    fn copy() -> Verdict {
        Verdict {
            action: Action::Copy,
            known: None,
            head: None,
        }
    }
}

/// Compares a local entry and a remote object with the same key.
pub async fn decide(
    ctx: &Arc<Ctx>,
    checkers: &Semaphore,
    local: &LocalEntry,
    remote: &RemoteEntry,
) -> Result<Verdict> {
    if local.size != remote.size {
        return Ok(Verdict::copy());
    }
    // Through crypt the ETag is the encrypted bytes' MD5: it never matches a local file.
    let etag_md5 = remote.etag_md5(ctx.remote.config.etag_is_md5() && ctx.remote.crypt.is_none());
    let needs_md5 = ctx.opts.compare == Compare::Checksum && etag_md5.is_none();
    let (known, head) = match remote.known {
        Some(known) if !needs_md5 || known.md5.is_some() => (known, None),
        _ => {
            let _slot = checkers.acquire().await.map_err(|_| Error::Cancelled)?;
            let h = head(ctx, &remote.key).await?;
            if h.size != remote.size || h.etag != remote.etag {
                // Changed since it was listed: copy rather than trust either answer.
                return Ok(Verdict::copy());
            }
            (h.known(), Some(h))
        }
    };
    let remote_md5 = known.md5.or(etag_md5);
    let verdict = |action| {
        Ok(Verdict {
            action,
            known: Some(known),
            head: head.clone(),
        })
    };
    match ctx.opts.compare {
        Compare::SizeAndMtime if known.mtime == local.mtime => verdict(Action::Skip),
        Compare::Checksum if remote_md5.is_none() && known.mtime == local.mtime => {
            verdict(Action::Skip)
        }
        _ => {
            let Some(remote_md5) = remote_md5 else {
                return verdict(Action::Copy);
            };
            let local_md5 = {
                let _slot = checkers.acquire().await.map_err(|_| Error::Cancelled)?;
                local_md5(local).await?
            };
            match (local_md5 == remote_md5, ctx.opts.compare) {
                (false, _) => verdict(Action::Copy),
                (true, Compare::Checksum) => verdict(Action::Skip),
                (true, Compare::SizeAndMtime) => verdict(Action::Touch),
            }
        }
    }
}
