//! The S3 engine's jobs: what the agent hands the engine (a [`Job`], the Secret included),
//! what the engine answers (a [`Reply`]), and the [`Outcome`] of any sync. Both processes
//! read these: the agent writes a job to its `ferry-sidecar engine` child (`engine`)
//! and the child, in `ferry-sidecar`, runs it. The mover runs a job in its own process
//! through the same [`Runner`].

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use ferry_api::types::{RcloneOptions, SyncStats};
use k8s_openapi::ByteString;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use ferry_api::contract::engine::Layout;
pub use ferry_api::contract::engine::{RestoreJob, RestoreReport, VerifyJob, VerifyReport};
pub use ferry_api::contract::guard::{Guards, Refusal};

use super::secrets::SecretData;
use super::{Error, Result};

/// The variable that tells the child its parent's pid, so it can tell whether the parent
/// died before the parent-death signal was armed.
pub const PARENT_VAR: &str = "FERRY_ENGINE_PARENT";
/// The largest job or reply read from a pipe (a job is an rclone.conf and a few options).
pub const MAX_MESSAGE: u64 = 16 * 1024 * 1024;
/// The field that names the rclone Secret, for the child's error messages.
pub const SECRET_FIELD: &str = "spec.rclone.rcloneConfig";

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The counts for `lastSyncStats`.
    pub stats: SyncStats,
    /// The log tail for `latestMoverStatus.logs`.
    pub logs: String,
    /// A guard's refusal that did not fail the sync (the retention limit: this copy is
    /// complete, the old ones stay): a Warning Event.
    pub refused: Option<Refusal>,
    /// What a verification found ([`Direction::Verify`]).
    pub verified: Option<VerifyReport>,
    /// What a restore did ([`Direction::Restore`]).
    pub restored: Option<RestoreReport>,
}

/// How a sync's S3 job runs, chosen by the entry point: the mover runs it in its own
/// process (`ferry-sidecar`'s in-process engine), the long-lived sidecar in a child
/// ([`in_child_process`](super::engine::in_child_process)). A function rather than a flag,
/// so that this crate, and with it `ferry-agent`, does not depend on the S3 engine at all:
/// its code, even untouched, would share pages with what the idle agent runs.
pub type Runner = fn(Job, CancellationToken) -> Running;

/// A job under way.
pub type Running = Pin<Box<dyn Future<Output = Result<Outcome>> + Send>>;

/// Which way the data goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    /// The directory to the remote.
    Push,
    /// The remote to the directory.
    Pull,
    /// Check the newest complete copy against its manifest ([`Job::verify`]); changes
    /// nothing.
    Verify,
    /// Pull a complete copy into the empty volume ([`Job::restore`]), or report that the
    /// remote holds none.
    Restore,
}

/// One S3 sync: everything the engine needs, Secret included.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// Push or pull.
    pub direction: Direction,
    /// The local directory.
    pub dir: PathBuf,
    /// The CR's `rclone` options.
    pub rclone: RcloneOptions,
    /// Plain, or `timestampPrefix` with its `retain` (pushes only).
    #[serde(default)]
    pub layout: Layout,
    /// The guards of this run (pushes only), acknowledged or not.
    #[serde(default)]
    pub guards: Guards,
    /// How to verify ([`Direction::Verify`] only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyJob>,
    /// Which copy to restore ([`Direction::Restore`] only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreJob>,
    /// The namespace of the Secret.
    pub secret_namespace: String,
    /// The Secret's name.
    pub secret_name: String,
    /// Its data.
    pub secret_data: BTreeMap<String, ByteString>,
}

impl std::fmt::Debug for Job {
    // The Secret's values never reach a log: only its key names.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("direction", &self.direction)
            .field("dir", &self.dir)
            .field("secret_name", &self.secret_name)
            .field("secret_keys", &self.secret_data.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Job {
    /// A job for `dir` with the Secret the sidecar read.
    pub fn new(
        direction: Direction,
        dir: &Path,
        rclone: &RcloneOptions,
        layout: Layout,
        secret: &SecretData,
    ) -> Job {
        Job {
            direction,
            dir: dir.to_path_buf(),
            rclone: rclone.clone(),
            layout,
            guards: Guards::default(),
            verify: None,
            restore: None,
            secret_namespace: secret.namespace().to_owned(),
            secret_name: secret.name().to_owned(),
            secret_data: secret
                .entries()
                .map(|(k, v)| (k.to_owned(), ByteString(v.to_vec())))
                .collect(),
        }
    }
}

/// What the child answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum Reply {
    /// The sync ended without errors.
    Done {
        /// Its counts (boxed: the other answers are small, and this one grew with every
        /// counter).
        stats: Box<SyncStats>,
        /// Its summary.
        logs: String,
        /// A guard's refusal that did not fail it (the retention limit).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refused: Option<Refusal>,
        /// What a verification found.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verified: Option<VerifyReport>,
        /// What a restore did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restored: Option<RestoreReport>,
    },
    /// SIGTERM stopped it.
    Interrupted,
    /// Some files failed; nothing was deleted.
    Partial {
        /// How many.
        errors: u64,
    },
    /// Paths of the source could not be read; nothing was deleted.
    Unreadable {
        /// How many.
        count: u64,
        /// The first of them.
        paths: Vec<String>,
    },
    /// A guard refused it before it changed the remote.
    Refused {
        /// What and why.
        refusal: Refusal,
    },
    /// It failed; the message says what to fix.
    Failed {
        /// The error's text.
        message: String,
        /// Whether only a change (spec, Secret, bucket) can fix it.
        #[serde(default)]
        needs_change: bool,
    },
}

impl Reply {
    /// The answer for what the engine did.
    pub fn of(result: Result<Outcome>) -> Reply {
        match result {
            Ok(outcome) => Reply::Done {
                stats: Box::new(outcome.stats),
                logs: outcome.logs,
                refused: outcome.refused,
                verified: outcome.verified,
                restored: outcome.restored,
            },
            Err(Error::Interrupted) => Reply::Interrupted,
            Err(Error::S3Partial { errors }) => Reply::Partial { errors },
            Err(Error::Unreadable { count, paths }) => Reply::Unreadable { count, paths },
            Err(Error::Refused(refusal)) => Reply::Refused { refusal },
            Err(e) => Reply::Failed {
                message: e.to_string(),
                needs_change: e.needs_change(),
            },
        }
    }

    /// What the answer means to the sidecar.
    pub fn into_result(self) -> Result<Outcome> {
        match self {
            Reply::Done {
                stats,
                logs,
                refused,
                verified,
                restored,
            } => Ok(Outcome {
                stats: *stats,
                logs,
                refused,
                verified,
                restored,
            }),
            Reply::Interrupted => Err(Error::Interrupted),
            Reply::Partial { errors } => Err(Error::S3Partial { errors }),
            Reply::Unreadable { count, paths } => Err(Error::Unreadable { count, paths }),
            Reply::Refused { refusal } => Err(Error::Refused(refusal)),
            Reply::Failed {
                message,
                needs_change: true,
            } => Err(Error::EngineFatal(message)),
            Reply::Failed { message, .. } => Err(Error::Engine(message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_round_trip_and_map_to_errors() {
        let done = Reply::Done {
            stats: Box::new(SyncStats {
                bytes_transferred: 10,
                ..SyncStats::default()
            }),
            logs: "ok".to_owned(),
            refused: None,
            verified: None,
            restored: None,
        };
        let text = serde_json::to_string(&done).unwrap();
        assert_eq!(serde_json::from_str::<Reply>(&text).unwrap(), done);
        assert!(matches!(
            Reply::Interrupted.into_result(),
            Err(Error::Interrupted)
        ));
        assert!(matches!(
            Reply::Partial { errors: 3 }.into_result(),
            Err(Error::S3Partial { errors: 3 })
        ));
        let failed = Reply::of(Err(Error::Spec {
            field: "spec.rclone.exclude",
            problem: "bad".to_owned(),
        }));
        assert_eq!(
            failed,
            Reply::Failed {
                message: "spec.rclone.exclude: bad".to_owned(),
                needs_change: true,
            }
        );
        match failed.into_result() {
            Err(e) => {
                assert_eq!(e.to_string(), "spec.rclone.exclude: bad");
                assert!(e.needs_change(), "a bad spec waits for a change");
            }
            Ok(_) => panic!("a failure became a success"),
        }
        let unreadable = Reply::of(Err(Error::Unreadable {
            count: 12,
            paths: vec!["a/secret".to_owned()],
        }));
        let text = serde_json::to_string(&unreadable).unwrap();
        match serde_json::from_str::<Reply>(&text).unwrap().into_result() {
            Err(e @ Error::Unreadable { .. }) => {
                let said = e.to_string();
                assert!(
                    said.contains("12 path(s)") && said.contains("a/secret and 11 more"),
                    "{said}"
                );
                assert!(said.contains("ferry.dev/privileged-movers"), "{said}");
                assert_eq!(e.reason(), "SourceUnreadable");
            }
            other => panic!("{other:?}"),
        }
        let refusal = Refusal {
            guard: ferry_api::contract::guard::Guard::SourceEmpty,
            message: "refused".to_owned(),
        };
        match Reply::of(Err(Error::Refused(refusal))).into_result() {
            Err(e) => assert_eq!(e.reason(), "SourceEmpty"),
            Ok(_) => panic!("a refusal became a success"),
        }
    }

    #[test]
    fn a_job_never_shows_its_secret() {
        let mut data = BTreeMap::new();
        data.insert(
            "rclone.conf".to_owned(),
            b"secret_access_key = hush".to_vec(),
        );
        let secret = SecretData::new(SECRET_FIELD, "ns", "creds", data);
        let job = Job::new(
            Direction::Push,
            Path::new("/data"),
            &RcloneOptions::default(),
            Layout::Timestamped {
                retain: Some(3),
                lock: None,
            },
            &secret,
        );
        let shown = format!("{job:?}");
        assert!(shown.contains("rclone.conf"), "{shown}");
        assert!(!shown.contains("hush"), "{shown}");
        let back: Job = serde_json::from_slice(&serde_json::to_vec(&job).unwrap()).unwrap();
        assert_eq!(
            back.secret_data["rclone.conf"].0,
            b"secret_access_key = hush"
        );
        assert_eq!(
            back.layout,
            Layout::Timestamped {
                retain: Some(3),
                lock: None,
            }
        );
    }
}
