//! VolSync's copy triggers, honoured so that automation written for VolSync keeps working:
//! when the source PVC carries `volsync.backube/use-copy-trigger` (any value but `false`), a
//! Snapshot or Clone sync sets `latest-copy-status: WaitingForTrigger`, waits until
//! `copy-trigger` differs from `latest-copy-trigger`, sets `InProgress`, cuts the copy, then
//! sets `Completed` and `latest-copy-trigger` to the value it acted on. The same keys under
//! `ferry.dev/` work too. A wait over [`WAIT_WARNING`] fails the sync with a message (VolSync
//! puts an error in `latestMoverStatus` then); the next attempt waits again.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::env::Identity;
use crate::{Error, Result};

/// VolSync's prefix, and Ferry's own.
pub const PREFIXES: [&str; 2] = ["volsync.backube/", "ferry.dev/"];
/// The user's switch.
pub const USE_COPY_TRIGGER: &str = "use-copy-trigger";
/// The user's trigger value.
pub const COPY_TRIGGER: &str = "copy-trigger";
/// The trigger value the last copy acted on (written by the sidecar).
pub const LATEST_COPY_TRIGGER: &str = "latest-copy-trigger";
/// `WaitingForTrigger`, `InProgress` or `Completed` (written by the sidecar).
pub const LATEST_COPY_STATUS: &str = "latest-copy-status";
/// When the wait began, RFC 3339 (written by the sidecar, as VolSync does).
pub const WAITING_SINCE: &str = "latest-copy-trigger-waiting-since";
/// How long the sidecar waits for a trigger before it fails the sync.
pub const WAIT_WARNING: Duration = Duration::from_secs(10 * 60);
/// How often the PVC is read while waiting.
const POLL: Duration = Duration::from_secs(1);

/// A copy trigger being acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// The PVC.
    pub pvc: String,
    /// `volsync.backube/` or `ferry.dev/`.
    pub prefix: &'static str,
    /// The `copy-trigger` value acted on.
    pub value: String,
}

/// Which prefix the PVC's annotations turn copy triggers on with, if any. VolSync's wins
/// when both are set.
pub fn in_use(annotations: &BTreeMap<String, String>) -> Option<&'static str> {
    PREFIXES.into_iter().find(|prefix| {
        annotations
            .get(&format!("{prefix}{USE_COPY_TRIGGER}"))
            .is_some_and(|v| !v.eq_ignore_ascii_case("false"))
    })
}

/// The trigger to act on: `copy-trigger` when set and different from `latest-copy-trigger`.
pub fn pending(annotations: &BTreeMap<String, String>, prefix: &str) -> Option<String> {
    let trigger = annotations.get(&format!("{prefix}{COPY_TRIGGER}"))?;
    let latest = annotations.get(&format!("{prefix}{LATEST_COPY_TRIGGER}"));
    (Some(trigger) != latest).then(|| trigger.clone())
}

fn api(client: &kube::Client, who: &Identity) -> Api<PersistentVolumeClaim> {
    Api::namespaced(client.clone(), &who.namespace)
}

async fn annotations(
    client: &kube::Client,
    who: &Identity,
    pvc: &str,
) -> Result<BTreeMap<String, String>> {
    let claim = api(client, who)
        .get_metadata(pvc)
        .await
        .map_err(|e| Error::api(format!("reading PVC {pvc}"), e, who))?;
    Ok(claim.metadata.annotations.unwrap_or_default())
}

async fn annotate(
    client: &kube::Client,
    who: &Identity,
    pvc: &str,
    values: serde_json::Value,
) -> Result<()> {
    let patch = json!({"metadata": {"annotations": values}});
    api(client, who)
        .patch(pvc, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| Error::api(format!("annotating PVC {pvc}"), e, who))?;
    Ok(())
}

/// Waits for the copy trigger of `pvc` when it uses one; `None` when it does not. Sets
/// `WaitingForTrigger` while waiting and `InProgress` once triggered.
pub async fn wait(
    client: &kube::Client,
    who: &Identity,
    pvc: &str,
    cancel: &CancellationToken,
) -> Result<Option<Trigger>> {
    let found = annotations(client, who, pvc).await?;
    let Some(prefix) = in_use(&found) else {
        return Ok(None);
    };
    let status = format!("{prefix}{LATEST_COPY_STATUS}");
    let mut current = found;
    if pending(&current, prefix).is_none() {
        annotate(
            client,
            who,
            pvc,
            json!({
                &status: "WaitingForTrigger",
                format!("{prefix}{WAITING_SINCE}"): jiff::Timestamp::now().to_string(),
            }),
        )
        .await?;
        tracing::info!(pvc, "waiting for the copy trigger {prefix}{COPY_TRIGGER}");
        let started = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = cancel.cancelled() => return Err(Error::Interrupted),
            }
            current = annotations(client, who, pvc).await?;
            if pending(&current, prefix).is_some() {
                break;
            }
            if started.elapsed() >= WAIT_WARNING {
                return Err(Error::CopyTrigger {
                    message: format!(
                        "PVC {pvc} waited {} for a new {prefix}{COPY_TRIGGER} (it uses {prefix}{USE_COPY_TRIGGER}); set it to a value other than {prefix}{LATEST_COPY_TRIGGER}, or remove {prefix}{USE_COPY_TRIGGER}",
                        crate::status::go_duration(WAIT_WARNING)
                    ),
                });
            }
        }
    }
    let value = pending(&current, prefix).unwrap_or_default();
    annotate(client, who, pvc, json!({ &status: "InProgress" })).await?;
    tracing::info!(pvc, trigger = %value, "copy trigger received");
    Ok(Some(Trigger {
        pvc: pvc.to_owned(),
        prefix,
        value,
    }))
}

/// The copy is cut: `Completed`, and `latest-copy-trigger` is the value acted on.
pub async fn completed(client: &kube::Client, who: &Identity, trigger: &Trigger) -> Result<()> {
    let prefix = trigger.prefix;
    annotate(
        client,
        who,
        &trigger.pvc,
        json!({
            format!("{prefix}{LATEST_COPY_STATUS}"): "Completed",
            format!("{prefix}{LATEST_COPY_TRIGGER}"): trigger.value,
        }),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn any_value_but_false_turns_triggers_on() {
        assert_eq!(in_use(&map(&[])), None);
        assert_eq!(
            in_use(&map(&[("volsync.backube/use-copy-trigger", "")])),
            Some("volsync.backube/")
        );
        assert_eq!(
            in_use(&map(&[("volsync.backube/use-copy-trigger", "FALSE")])),
            None
        );
        assert_eq!(
            in_use(&map(&[("ferry.dev/use-copy-trigger", "true")])),
            Some("ferry.dev/")
        );
    }

    #[test]
    fn a_trigger_is_pending_until_it_was_acted_on() {
        let p = "volsync.backube/";
        assert_eq!(pending(&map(&[]), p), None);
        assert_eq!(
            pending(&map(&[("volsync.backube/copy-trigger", "t1")]), p).as_deref(),
            Some("t1")
        );
        assert_eq!(
            pending(
                &map(&[
                    ("volsync.backube/copy-trigger", "t1"),
                    ("volsync.backube/latest-copy-trigger", "t1")
                ]),
                p
            ),
            None
        );
    }
}
