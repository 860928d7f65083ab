//! CSI VolumeSnapshots (`snapshot.storage.k8s.io/v1`): the point-in-time copy a source pushes
//! from, and the images a destination keeps.
//!
//! Through [`DynamicObject`] because k8s-openapi has no types for the external-snapshotter
//! CRDs, and Ferry reads only a handful of their fields.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use super::error::{Error, Result, is_already_exists, is_not_found};
use super::wait::{self, Poll};
use super::{Owner, selected};

/// The API group of snapshots and their classes.
pub const GROUP: &str = "snapshot.storage.k8s.io";
const KIND: &str = "VolumeSnapshot";
const CLASS_KIND: &str = "VolumeSnapshotClass";

fn resource(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(GROUP, "v1", kind))
}

fn api(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &resource(KIND))
}

/// Checks that the VolumeSnapshotClass named in the CR exists, so a typo is reported before
/// a snapshot sits unready until its timeout. `None` (the driver's default class) passes.
///
/// Classes are cluster-scoped, which a namespace's RoleBinding cannot grant: when the sidecar
/// may not read them, the check is skipped and a missing class shows up instead as the
/// snapshot's own error, reported by [`wait_ready`].
pub async fn check_class(client: &kube::Client, class: Option<&str>) -> Result<()> {
    let Some(name) = class else {
        return Ok(());
    };
    let classes: Api<DynamicObject> = Api::all_with(client.clone(), &resource(CLASS_KIND));
    match classes.get(name).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Err(Error::SnapshotClassMissing {
            name: name.to_owned(),
        }),
        Err(kube::Error::Api(status)) if status.is_forbidden() => {
            tracing::debug!(
                class = name,
                "may not read VolumeSnapshotClasses; not checked"
            );
            Ok(())
        }
        Err(e) => Err(Error::api("reading", CLASS_KIND, "", name)(e)),
    }
}

/// Creates a snapshot of PVC `pvc`. Creating it again is fine (a retried step), as long as
/// the snapshot there is of the same PVC.
pub async fn create(
    client: &kube::Client,
    ns: &str,
    name: &str,
    pvc: &str,
    class: Option<&str>,
    labels: &BTreeMap<String, String>,
    owner: Option<&Owner>,
) -> Result<()> {
    let api = api(client, ns);
    let mut object = DynamicObject::new(name, &resource(KIND))
        .within(ns)
        .data(json!({"spec": spec(pvc, class)}));
    object.metadata.labels = Some(labels.clone());
    object.metadata.owner_references = owner.map(|o| vec![o.reference()]);
    match api.create(&PostParams::default(), &object).await {
        Ok(_) => Ok(()),
        Err(e) if is_already_exists(&e) => {
            let there = api
                .get(name)
                .await
                .map_err(Error::api("reading", KIND, ns, name))?;
            let source = there.data["spec"]["source"]["persistentVolumeClaimName"].as_str();
            if source == Some(pvc) {
                Ok(())
            } else {
                Err(Error::AlreadyExists {
                    kind: KIND,
                    namespace: ns.to_owned(),
                    name: name.to_owned(),
                    hint: format!(
                        "it is a snapshot of {}, not of {pvc}; delete it or rename the CR",
                        source.unwrap_or("another source")
                    ),
                })
            }
        }
        Err(e) => Err(Error::api("creating", KIND, ns, name)(e)),
    }
}

fn spec(pvc: &str, class: Option<&str>) -> Value {
    let mut spec = json!({"source": {"persistentVolumeClaimName": pvc}});
    if let (Some(class), Some(map)) = (class, spec.as_object_mut()) {
        map.insert("volumeSnapshotClassName".to_owned(), json!(class));
    }
    spec
}

/// A snapshot that is ready to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// The snapshot's name.
    pub name: String,
    /// `status.restoreSize`: the smallest PVC it can be restored into.
    pub restore_size: Option<String>,
    /// `status.boundVolumeSnapshotContentName`.
    pub content: Option<String>,
}

/// Waits until the snapshot is `readyToUse`. A snapshot that is not must never be restored or
/// published (VolSync published unready ones, PR #1520), so the only ways out are ready, or an
/// error carrying the snapshot's own last error (`status.error.message`).
pub async fn wait_ready(
    client: &kube::Client,
    ns: &str,
    name: &str,
    timeout: Duration,
) -> Result<Ready> {
    let state = ("readyToUse", "became readyToUse");
    wait_for(client, ns, name, timeout, None, state, |data| {
        readiness(name, data)
    })
    .await
}

/// Waits until the snapshot is cut: its `status.creationTime` is set (the point in time it
/// holds), which comes before `readyToUse` on drivers that upload after cutting. The freeze of
/// consistency hooks ends here, not at readiness.
pub async fn wait_cut(
    client: &kube::Client,
    ns: &str,
    name: &str,
    timeout: Duration,
) -> Result<()> {
    let state = ("cut (status.creationTime)", "was cut");
    // Every tenth of a second: the app stays frozen until this wait sees the cut.
    let every = Some(Duration::from_millis(100));
    wait_for(client, ns, name, timeout, every, state, cut).await
}

/// Polls snapshot `name` (`every` so often, or backing off) until `check` says its body
/// reached `state` (what to wait for, and the words for "before it ..." when it is deleted
/// first).
async fn wait_for<T>(
    client: &kube::Client,
    ns: &str,
    name: &str,
    timeout: Duration,
    every: Option<Duration>,
    state: (&str, &str),
    check: impl Fn(&Value) -> Poll<T>,
) -> Result<T> {
    let api = &api(client, ns);
    let what = format!("{KIND} {ns}/{name} to be {}", state.0);
    let check = &check;
    let look = || async move {
        let object = api
            .get_opt(name)
            .await
            .map_err(Error::api("reading", KIND, ns, name))?;
        match object {
            Some(object) => {
                // The snapshot controller names a missing class in the snapshot's error at
                // once; waiting out the timeout would only delay the same answer.
                if let Some(class) = missing_class(&object.data) {
                    return Err(Error::SnapshotClassMissing { name: class });
                }
                Ok(check(&object.data))
            }
            None => Err(Error::SnapshotFailed {
                namespace: ns.to_owned(),
                name: name.to_owned(),
                message: format!("it was deleted before it {}", state.1),
            }),
        }
    };
    match every {
        Some(every) => wait::until_every(what, timeout, every, look).await,
        None => wait::until(what, timeout, look).await,
    }
}

/// Whether a snapshot with this body is cut; if not, its error message if it has one.
fn cut(data: &Value) -> Poll<()> {
    let status = &data["status"];
    let created = status["creationTime"]
        .as_str()
        .is_some_and(|t| !t.is_empty());
    if created || status["readyToUse"] == true {
        Poll::Done(())
    } else {
        Poll::Pending(text(&status["error"]["message"]))
    }
}

/// The class named by a snapshot whose error says its VolumeSnapshotClass does not exist.
fn missing_class(data: &Value) -> Option<String> {
    let message = data["status"]["error"]["message"].as_str()?;
    let lower = message.to_ascii_lowercase();
    if !(lower.contains("snapshot class") || lower.contains("volumesnapshotclass"))
        || !lower.contains("not found")
    {
        return None;
    }
    data["spec"]["volumeSnapshotClassName"]
        .as_str()
        .map(str::to_owned)
}

/// Whether the snapshot with this body is ready; if not, its error message if it has one.
fn readiness(name: &str, data: &Value) -> Poll<Ready> {
    let status = &data["status"];
    if status["readyToUse"] == true {
        Poll::Done(Ready {
            name: name.to_owned(),
            restore_size: text(&status["restoreSize"]),
            content: text(&status["boundVolumeSnapshotContentName"]),
        })
    } else {
        Poll::Pending(text(&status["error"]["message"]))
    }
}

/// A string field, or a number written as text (a quantity may be either in JSON).
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A snapshot as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// Its name.
    pub name: String,
    /// `metadata.creationTimestamp`.
    pub created: Option<jiff::Timestamp>,
    /// `status.readyToUse`.
    pub ready: bool,
}

/// The snapshots matching the label `selector`, oldest first (creation time, then name, so
/// snapshots made within the same second keep a stable order).
pub async fn list(client: &kube::Client, ns: &str, selector: &str) -> Result<Vec<Info>> {
    let list = api(client, ns)
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(Error::api("listing", KIND, ns, &selected(selector)))?;
    let mut infos: Vec<Info> = list
        .items
        .iter()
        .map(|o| Info {
            name: o.metadata.name.clone().unwrap_or_default(),
            created: o.metadata.creation_timestamp.as_ref().map(|t| t.0),
            ready: o.data["status"]["readyToUse"] == true,
        })
        .collect();
    infos.sort_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)));
    Ok(infos)
}

/// Deletes the ready snapshots matching `selector` that are older than the newest `keep`,
/// never `protect` (the one just published). Snapshots that are not ready are left alone:
/// they may still be in the making, and they never counted as images. Returns the deleted
/// names, oldest first.
pub async fn prune(
    client: &kube::Client,
    ns: &str,
    selector: &str,
    keep: usize,
    protect: &str,
    guards: &ferry_api::contract::guard::Guards,
) -> Result<std::result::Result<Vec<String>, ferry_api::contract::guard::Refusal>> {
    let doomed = prunable(&list(client, ns, selector).await?, keep, protect);
    if let Err(refusal) = guards.may_prune(&doomed, keep) {
        return Ok(Err(refusal));
    }
    for name in &doomed {
        delete(client, ns, name).await?;
    }
    Ok(Ok(doomed))
}

/// The names [`prune`] deletes from `infos` (sorted oldest first).
fn prunable(infos: &[Info], keep: usize, protect: &str) -> Vec<String> {
    let ready: Vec<&Info> = infos.iter().filter(|i| i.ready).collect();
    let excess = ready.len().saturating_sub(keep);
    ready
        .iter()
        .take(excess)
        .filter(|i| i.name != protect)
        .map(|i| i.name.clone())
        .collect()
}

/// Deletes a snapshot; one already gone is fine.
pub async fn delete(client: &kube::Client, ns: &str, name: &str) -> Result<()> {
    match api(client, ns).delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(Error::api("deleting", KIND, ns, name)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, second: i64, ready: bool) -> Info {
        Info {
            name: name.into(),
            created: Some(jiff::Timestamp::from_second(second).unwrap()),
            ready,
        }
    }

    #[test]
    fn a_missing_class_is_recognised_from_the_controller_message() {
        let data = serde_json::json!({
            "spec": {"volumeSnapshotClassName": "nope"},
            "status": {"error": {"message": "Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io \"nope\" not found"}},
        });
        assert_eq!(missing_class(&data).as_deref(), Some("nope"));
        let other = serde_json::json!({
            "spec": {"volumeSnapshotClassName": "fast"},
            "status": {"error": {"message": "Failed to check and update snapshot content"}},
        });
        assert_eq!(missing_class(&other), None);
    }

    #[test]
    fn only_a_ready_snapshot_is_done() {
        let ready = readiness(
            "s",
            &json!({"status": {"readyToUse": true, "restoreSize": "1Gi",
                "boundVolumeSnapshotContentName": "snapcontent-1"}}),
        );
        assert!(
            matches!(ready, Poll::Done(Ready { ref restore_size, ref content, .. })
            if restore_size.as_deref() == Some("1Gi") && content.as_deref() == Some("snapcontent-1"))
        );
        let failing = readiness(
            "s",
            &json!({"status": {"readyToUse": false, "error": {"message": "class not found"}}}),
        );
        assert!(matches!(failing, Poll::Pending(Some(ref m)) if m == "class not found"));
        assert!(matches!(readiness("s", &json!({})), Poll::Pending(None)));
        // A string "true" is not a ready snapshot.
        let odd = readiness("s", &json!({"status": {"readyToUse": "true"}}));
        assert!(matches!(odd, Poll::Pending(None)));
    }

    #[test]
    fn a_snapshot_is_cut_once_it_has_a_creation_time() {
        assert!(matches!(cut(&json!({})), Poll::Pending(None)));
        assert!(matches!(
            cut(&json!({"status": {"readyToUse": false, "creationTime": "2026-12-07T10:00:00Z"}})),
            Poll::Done(())
        ));
        assert!(matches!(
            cut(&json!({"status": {"readyToUse": true}})),
            Poll::Done(())
        ));
        assert!(matches!(
            cut(&json!({"status": {"error": {"message": "boom"}}})),
            Poll::Pending(Some(ref m)) if m == "boom"
        ));
    }

    #[test]
    fn the_spec_names_the_class_only_when_given() {
        assert_eq!(
            spec("data", None),
            json!({"source": {"persistentVolumeClaimName": "data"}})
        );
        assert_eq!(
            spec("data", Some("fast"))["volumeSnapshotClassName"],
            "fast"
        );
    }

    #[test]
    fn pruning_keeps_the_newest_ready_ones_and_the_protected_one() {
        let infos = [
            info("a", 1, true),
            info("b", 2, false),
            info("c", 3, true),
            info("d", 4, true),
            info("e", 5, true),
        ];
        assert_eq!(prunable(&infos, 2, "e"), ["a", "c"]);
        assert_eq!(prunable(&infos, 2, "a"), ["c"]);
        assert_eq!(prunable(&infos, 4, "e"), Vec::<String>::new());
        assert_eq!(prunable(&infos, 0, "e"), ["a", "c", "d"]);
        assert_eq!(prunable(&[], 1, "x"), Vec::<String>::new());
    }
}
