//! Events on the CR, for `kubectl describe`. Publishing one is best effort: a failure to
//! record an Event is logged and never fails a sync.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

/// Reasons the sidecar records.
pub mod reason {
    /// The sidecar took the CR's Lease and acts for it.
    pub const BOUND: &str = "Bound";
    /// Another pod's sidecar acts for the CR; this one waits.
    pub const STANDBY: &str = "Standby";
    /// A sync started.
    pub const SYNC_STARTED: &str = "SyncStarted";
    /// A sync ended well.
    pub const SYNC_SUCCEEDED: &str = "SyncSucceeded";
    /// A sync failed; the note is the error.
    pub const SYNC_FAILED: &str = "SyncFailed";
    /// A VolumeSnapshot became ready.
    pub const SNAPSHOT_READY: &str = "SnapshotReady";
    /// A destination published a new image.
    pub const IMAGE_PUBLISHED: &str = "ImagePublished";
    /// Old images beyond `retain` were deleted.
    pub const IMAGES_PRUNED: &str = "ImagesPruned";
    /// A mover pod started.
    pub const MOVER_STARTED: &str = "MoverStarted";
    /// Leftovers of an interrupted run were deleted.
    pub const CLEANED_UP: &str = "CleanedUp";
    /// SIGTERM arrived during a sync.
    pub const INTERRUPTED: &str = "Interrupted";
    /// Schedule fire times passed without a sync.
    pub const MISSED_INTERVALS: &str = "MissedIntervals";
    /// `preSync` answered: the app is frozen until the copy is cut.
    pub const FROZEN: &str = "Frozen";
    /// `postSync` answered: the app was thawed; the note says how long it was frozen.
    pub const THAWED: &str = "Thawed";
    /// A hook failed; the note says what the sync did about it.
    pub const HOOK_FAILED: &str = "HookFailed";
    /// A verification found the newest copy as pushed.
    pub const VERIFY_PASSED: &str = "VerifyPassed";
    /// A verification found mismatches, or could not run.
    pub const VERIFY_FAILED: &str = "VerifyFailed";
    /// A copy was restored into the pod's empty volume before the app started.
    pub const RESTORED: &str = "Restored";
    /// No restore: the volume holds data, or the remote has no complete copy.
    pub const RESTORE_SKIPPED: &str = "RestoreSkipped";
    /// The restore failed; the note says what to fix.
    pub const RESTORE_FAILED: &str = "RestoreFailed";
}

/// Records Events on one CR.
#[derive(Clone)]
pub struct Events {
    recorder: Recorder,
    reference: ObjectReference,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("reference", &self.reference)
            .finish()
    }
}

impl Events {
    /// Events about `reference`, reported by this pod's sidecar.
    pub fn new(client: kube::Client, pod_name: &str, reference: ObjectReference) -> Events {
        let reporter = Reporter {
            controller: "ferry-sidecar".to_owned(),
            instance: Some(pod_name.to_owned()),
        };
        Events {
            recorder: Recorder::new(client, reporter),
            reference,
        }
    }

    /// A normal Event.
    pub async fn normal(&self, reason: &str, note: impl Into<String>) {
        self.publish(EventType::Normal, reason, note.into()).await;
    }

    /// A warning Event.
    pub async fn warning(&self, reason: &str, note: impl Into<String>) {
        self.publish(EventType::Warning, reason, note.into()).await;
    }

    /// A warning Event whose `action` differs from its reason. The recorder folds Events
    /// with the same reason and action into one series that keeps the first note, so an
    /// outcome that must be read apart from the others of its reason (a hook failure the
    /// sync went on after, rather than one that skipped it) needs its own action.
    pub async fn warning_as(&self, reason: &str, action: &str, note: impl Into<String>) {
        self.publish_as(EventType::Warning, reason, action, note.into())
            .await;
    }

    async fn publish(&self, type_: EventType, reason: &str, note: String) {
        self.publish_as(type_, reason, reason, note).await;
    }

    /// Also logs what the Event says, so `kubectl logs -c ferry-sidecar` tells the same
    /// story as `kubectl get events` (a sync starting, succeeding or failing).
    async fn publish_as(&self, type_: EventType, reason: &str, action: &str, note: String) {
        match type_ {
            EventType::Normal => tracing::info!(reason, "{note}"),
            EventType::Warning => tracing::warn!(reason, "{note}"),
        }
        let event = Event {
            type_,
            reason: reason.to_owned(),
            note: Some(super::status::clip(&note, 1000)),
            action: action.to_owned(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, &self.reference).await {
            tracing::warn!(reason, error = %e, "could not record an Event");
        }
    }
}
