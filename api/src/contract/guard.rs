//! The guards against mass loss (DESIGN.md §8, "Trust by default"): decisions taken before
//! a sync changes the remote, as pure functions so that the S3 engine, the agent's rsync
//! push and the CLI share one rule each. They live in the contract because the agent does
//! not link the engine: the job carries [`Guards`], the answer a [`Refusal`].
//!
//! - **Empty source**: a push from an empty tree onto a remote that holds data is refused:
//!   an unmounted or wiped volume must not empty the good copy (VolSync #627, rclone #4298).
//! - **Shrink limit**: a push whose deletions exceed a share of the remote's files is
//!   refused, before any deletion, as `--max-delete` is.
//! - **Retention**: pruning never removes more than one copy beyond `retain` in one run.
//!
//! An acknowledgement (the CR's `ferry.dev/acknowledge-guards` annotation, or the CLI's
//! `--acknowledge-guards`) lifts the three for one run. `--max-delete` stays absolute.

use std::path::Path;

/// Which guard refused, as the reason the sidecar puts on its condition, Event and metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Guard {
    /// The source is empty and the remote is not.
    SourceEmpty,
    /// The deletions exceed the shrink limit.
    ShrinkLimit,
    /// Pruning would remove more than one copy beyond `retain`.
    RetentionLimit,
}

impl Guard {
    /// The reason word (`SourceEmpty`, ...).
    pub fn reason(self) -> &'static str {
        match self {
            Guard::SourceEmpty => "SourceEmpty",
            Guard::ShrinkLimit => "ShrinkLimit",
            Guard::RetentionLimit => "RetentionLimit",
        }
    }
}

/// A guard's refusal: what it refused and why, with the way to acknowledge it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{message}")]
pub struct Refusal {
    /// The guard.
    pub guard: Guard,
    /// What was refused, what the remote keeps, and how to acknowledge.
    pub message: String,
}

/// How to acknowledge, said in every refusal.
pub const ACKNOWLEDGE: &str = "if this is intended, acknowledge it once: annotate the CR with ferry.dev/acknowledge-guards set to the current time (ferry-sidecar sync: --acknowledge-guards)";

/// The guards' settings for one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Guards {
    /// Refuse an empty source over a non-empty remote (on by default).
    pub empty_source: bool,
    /// Refuse deletions above this percentage of the remote's files.
    pub max_delete_percent: Option<u8>,
    /// This run is acknowledged: the guards above and the retention limit are lifted.
    pub acknowledged: bool,
}

impl Default for Guards {
    fn default() -> Guards {
        Guards {
            empty_source: true,
            max_delete_percent: None,
            acknowledged: false,
        }
    }
}

impl Guards {
    /// The empty-source rule: `Some` refusal when the source has no file while the remote
    /// holds `remote_objects` (> 0) objects.
    pub fn empty_source(
        &self,
        source_has_files: bool,
        remote_has_data: bool,
        remote: &str,
    ) -> Option<Refusal> {
        (self.empty_source && !self.acknowledged && !source_has_files && remote_has_data).then(
            || Refusal {
                guard: Guard::SourceEmpty,
                message: format!(
                    "refused: the source is empty (no file; is the volume mounted?) and {remote} holds a copy; nothing was changed on the remote; {ACKNOWLEDGE}"
                ),
            },
        )
    }

    /// The shrink rule: `Some` refusal when `deletions` of the remote's `remote_files`
    /// exceed the limit. Checked before any deletion.
    pub fn shrink(&self, deletions: u64, remote_files: u64) -> Option<Refusal> {
        let limit = self.max_delete_percent?;
        if self.acknowledged || deletions == 0 || remote_files == 0 {
            return None;
        }
        // deletions / remote_files > limit / 100, in integers.
        let over = u128::from(deletions) * 100 > u128::from(limit) * u128::from(remote_files);
        over.then(|| Refusal {
            guard: Guard::ShrinkLimit,
            message: format!(
                "refused: {deletions} of the remote's {remote_files} files would be deleted, over maxDeletePercent {limit}%; nothing was deleted; check that the source is complete, raise the limit, or {ACKNOWLEDGE}"
            ),
        })
    }

    /// The retention rule: of `copies` (oldest first), those to prune to keep `keep`; a
    /// refusal when that is more than one copy and the run is not acknowledged.
    pub fn retention<'a>(
        &self,
        copies: &'a [String],
        keep: usize,
    ) -> Result<&'a [String], Refusal> {
        let old = &copies[..copies.len().saturating_sub(keep)];
        self.may_prune(old, keep)?;
        Ok(old)
    }

    /// The retention rule for a list already chosen (`old`, beyond `keep`): more than one
    /// at once is refused without the acknowledgement.
    pub fn may_prune(&self, old: &[String], keep: usize) -> Result<(), Refusal> {
        if old.len() > 1 && !self.acknowledged {
            return Err(Refusal {
                guard: Guard::RetentionLimit,
                message: format!(
                    "refused to prune {} copies at once to keep {keep} (at most one per sync); nothing was pruned: {}; {ACKNOWLEDGE}",
                    old.len(),
                    old.join(", ")
                ),
            });
        }
        Ok(())
    }
}

/// What the sidecar, its Events and the CLI say of source paths that cannot be read: the
/// count, the first paths (up to [`UNREADABLE_SHOWN`]), and the fix.
pub fn unreadable_text(count: u64, first: &[String]) -> String {
    let shown = first.len() as u64;
    let more = if count > shown {
        format!(" and {} more", count - shown)
    } else {
        String::new()
    };
    format!(
        "{count} path(s) of the source cannot be read: {}{more}; nothing was deleted and this copy is not complete; run the sidecar as their owner (ferry.dev/run-as-user, or the app's runAsUser) or label the namespace ferry.dev/privileged-movers=true",
        first.join(", ")
    )
}

/// How many unreadable paths are named.
pub const UNREADABLE_SHOWN: usize = 10;

/// Whether `root` holds at least one file or symlink anywhere below it (a tree of empty
/// directories, such as a fresh file system's `lost+found`, holds none). Stops at the first
/// one found. A directory that cannot be read counts as holding files: it is not known to
/// be empty, and the sync reports it as unreadable.
pub fn has_files(root: &Path) -> bool {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return dir != root || root.exists();
        };
        for entry in entries {
            let Ok(entry) = entry else { return true };
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                _ => return true,
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_source_is_refused_only_over_data_and_without_acknowledgement() {
        let on = Guards::default();
        assert_eq!(
            on.empty_source(false, true, "b/p").map(|r| r.guard),
            Some(Guard::SourceEmpty)
        );
        assert!(on.empty_source(true, true, "b/p").is_none());
        assert!(on.empty_source(false, false, "b/p").is_none());
        let acked = Guards {
            acknowledged: true,
            ..on
        };
        assert!(acked.empty_source(false, true, "b/p").is_none());
        let off = Guards {
            empty_source: false,
            ..on
        };
        assert!(off.empty_source(false, true, "b/p").is_none());
        let text = on.empty_source(false, true, "b/p").unwrap().to_string();
        assert!(text.contains("ferry.dev/acknowledge-guards"), "{text}");
    }

    #[test]
    fn the_shrink_limit_is_a_share_of_the_remote_files() {
        let g = Guards {
            max_delete_percent: Some(50),
            ..Guards::default()
        };
        assert!(g.shrink(5, 10).is_none(), "exactly the limit is allowed");
        assert_eq!(g.shrink(6, 10).map(|r| r.guard), Some(Guard::ShrinkLimit));
        assert!(g.shrink(0, 0).is_none());
        assert!(Guards::default().shrink(10, 10).is_none(), "no limit set");
        let zero = Guards {
            max_delete_percent: Some(0),
            ..Guards::default()
        };
        assert!(zero.shrink(1, 1_000_000).is_some());
        let acked = Guards {
            acknowledged: true,
            ..g
        };
        assert!(acked.shrink(10, 10).is_none());
    }

    #[test]
    fn retention_prunes_at_most_one_copy_beyond_retain_unless_acknowledged() {
        let copies: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        let g = Guards::default();
        assert_eq!(g.retention(&copies, 4).unwrap(), &copies[..1]);
        assert!(g.retention(&copies, 5).unwrap().is_empty());
        assert!(g.retention(&copies, 9).unwrap().is_empty());
        let refused = g.retention(&copies, 2).unwrap_err();
        assert_eq!(refused.guard, Guard::RetentionLimit);
        assert!(refused.message.contains("a, b, c"), "{}", refused.message);
        let acked = Guards {
            acknowledged: true,
            ..g
        };
        assert_eq!(acked.retention(&copies, 2).unwrap(), &copies[..3]);
    }

    #[test]
    fn a_tree_of_empty_directories_has_no_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!has_files(dir.path()));
        std::fs::create_dir_all(dir.path().join("lost+found/x")).unwrap();
        assert!(!has_files(dir.path()));
        std::fs::write(dir.path().join("lost+found/x/f"), b"1").unwrap();
        assert!(has_files(dir.path()));
        assert!(!has_files(&dir.path().join("missing")));
    }
}
