//! The `restore` command's reads, creations and the one-shot pod's life.

use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Secret};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, LogParams, PostParams};
use kube::core::GroupVersionKind;
use serde_json::Value;

use super::{
    Claim, Copy, CopyInfo, OneShot, Pull, Remote, choose, claim, copies_args, parse_copies, pod,
    pull_args,
};
use crate::client::Kube;
use crate::error::{Error, Result};
use crate::objects::{self, Replication};

/// How `restore` runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The new PVC.
    pub to: String,
    /// `--copy`.
    pub copy: Option<String>,
    /// `--storage-class`.
    pub storage_class: Option<String>,
    /// `--size`.
    pub size: Option<String>,
    /// Print the objects, create nothing.
    pub dry_run: bool,
    /// The sidecar image for the one-shot pod (default: the bound pod's).
    pub image: Option<String>,
    /// The user the one-shot pod runs as (default: the bound pod's sidecar's).
    pub run_as_user: Option<i64>,
    /// How long the one-shot pod may take.
    pub timeout: Duration,
}

/// `restore NAME --to PVC`.
pub async fn restore(kube: &Kube, reference: &str, o: &Options) -> Result<()> {
    let client = &kube.client;
    let cr = objects::get(client, &kube.namespace, reference).await?;
    let ns = cr.namespace.clone();
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    if !o.dry_run
        && claims
            .get_opt(&o.to)
            .await
            .map_err(Error::api(format!("getting PVC {ns}/{}", o.to)))?
            .is_some()
    {
        return Err(Error::Usage(format!(
            "PVC {ns}/{} exists: restore into a new one (--to)",
            o.to
        )));
    }
    if let Some(image) = cr.latest_image.clone() {
        if o.copy.as_deref().is_some_and(|c| c != "latest") {
            return Err(Error::Usage(format!(
                "{} restores its latestImage ({}/{}); --copy names a timestamped copy of an rclone source",
                cr.id(),
                image.kind,
                image.name
            )));
        }
        return from_image(kube, &cr, &image, o).await;
    }
    if cr.rclone.is_some() {
        return from_remote(kube, &cr, o).await;
    }
    Err(Error::Usage(format!(
        "{} {} has no latestImage yet and no rclone remote: nothing to restore from (a destination publishes latestImage after its first complete sync)",
        cr.kind.as_str(),
        cr.id()
    )))
}

/// The PVC's shape from `source` (a PVC whose class, modes and size it copies), the
/// options winning, raised to `minimum` (a snapshot's restoreSize).
fn shape(
    o: &Options,
    source: Option<&PersistentVolumeClaim>,
    minimum: Option<String>,
    data_source: Option<(String, String, String)>,
) -> Result<Claim> {
    let spec = source.and_then(|c| c.spec.as_ref());
    let size = o
        .size
        .clone()
        .or(minimum)
        .or_else(|| {
            spec.and_then(|s| s.resources.as_ref()?.requests.as_ref()?.get("storage"))
                .map(|q| q.0.clone())
        })
        .ok_or_else(|| {
            Error::Usage("the size of the new PVC is unknown: pass --size (e.g. 10Gi)".to_owned())
        })?;
    Ok(Claim {
        name: o.to.clone(),
        storage_class: o
            .storage_class
            .clone()
            .or_else(|| spec.and_then(|s| s.storage_class_name.clone())),
        size,
        access_modes: spec
            .and_then(|s| s.access_modes.clone())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| vec!["ReadWriteOnce".to_owned()]),
        data_source,
    })
}

async fn pvc(
    client: &kube::Client,
    ns: &str,
    name: Option<&str>,
) -> Result<Option<PersistentVolumeClaim>> {
    let Some(name) = name else { return Ok(None) };
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    api.get_opt(name)
        .await
        .map_err(Error::api(format!("getting PVC {ns}/{name}")))
}

async fn from_image(
    kube: &Kube,
    cr: &Replication,
    image: &k8s_openapi::api::core::v1::TypedLocalObjectReference,
    o: &Options,
) -> Result<()> {
    let client = &kube.client;
    let ns = &cr.namespace;
    let (source, minimum, group) = if image.kind == "VolumeSnapshot" {
        let gvk = GroupVersionKind::gvk("snapshot.storage.k8s.io", "v1", "VolumeSnapshot");
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk(&gvk));
        let snapshot = api.get(&image.name).await.map_err(Error::api(format!(
            "getting VolumeSnapshot {ns}/{}",
            image.name
        )))?;
        let value = serde_json::to_value(&snapshot).map_err(|e| Error::Encode(e.to_string()))?;
        if value["status"]["readyToUse"] != Value::Bool(true) {
            return Err(Error::Failed(format!(
                "VolumeSnapshot {ns}/{} is not ready to use yet; try again shortly",
                image.name
            )));
        }
        let from = value["spec"]["source"]["persistentVolumeClaimName"]
            .as_str()
            .map(str::to_owned);
        let restore_size = value["status"]["restoreSize"].as_str().map(str::to_owned);
        (
            pvc(client, ns, from.as_deref()).await?,
            restore_size,
            "snapshot.storage.k8s.io".to_owned(),
        )
    } else {
        (
            pvc(client, ns, Some(&image.name)).await?,
            None,
            String::new(),
        )
    };
    let data_source = Some((group, image.kind.clone(), image.name.clone()));
    let c = claim(&shape(o, source.as_ref(), minimum, data_source)?);
    if o.dry_run {
        return crate::output::print(&yaml(&[&c])?);
    }
    create_claim(client, ns, &c).await?;
    println!(
        "PVC {ns}/{} created from {} {}/{}, the latestImage of {}.\nUse it: mount persistentVolumeClaim.claimName: {} in a pod of namespace {ns}.",
        o.to,
        image.kind,
        ns,
        image.name,
        cr.id(),
        o.to
    );
    Ok(())
}

async fn create_claim(client: &kube::Client, ns: &str, c: &Value) -> Result<()> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    let object: PersistentVolumeClaim =
        serde_json::from_value(c.clone()).map_err(|e| Error::Encode(e.to_string()))?;
    api.create(&PostParams::default(), &object)
        .await
        .map_err(Error::api(format!(
            "creating PVC {ns}/{}",
            object.metadata.name.unwrap_or_default()
        )))?;
    Ok(())
}

fn yaml(objects: &[&Value]) -> Result<String> {
    let mut out = String::new();
    for o in objects {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(o).map_err(|e| Error::Encode(e.to_string()))?);
    }
    Ok(out)
}

/// The sidecar container's image and user in the bound pod.
async fn bound_sidecar(
    client: &kube::Client,
    cr: &Replication,
) -> Result<(Option<String>, Option<i64>)> {
    let Some(name) = cr.bound_pod() else {
        return Ok((None, None));
    };
    let api: Api<Pod> = Api::namespaced(client.clone(), &cr.namespace);
    let Some(pod) = api
        .get_opt(name)
        .await
        .map_err(Error::api(format!("getting pod {}/{name}", cr.namespace)))?
    else {
        return Ok((None, None));
    };
    let Some(spec) = pod.spec else {
        return Ok((None, None));
    };
    let sidecar = spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
        .find(|c| c.name == ferry_api::contract::CONTAINER);
    let user = sidecar
        .and_then(|c| c.security_context.as_ref()?.run_as_user)
        .or_else(|| spec.security_context.as_ref()?.run_as_user);
    Ok((sidecar.and_then(|c| c.image.clone()), user))
}

/// The remote of an rclone object, as a one-shot pod reaches it, and the pod's image and
/// user.
pub async fn remote_of(
    client: &kube::Client,
    cr: &Replication,
    image: Option<String>,
    user: Option<i64>,
) -> Result<(Remote, String, i64)> {
    let ns = &cr.namespace;
    let Some(rclone) = &cr.rclone else {
        return Err(Error::Usage(format!(
            "{} {} has no rclone remote",
            cr.kind.as_str(),
            cr.id()
        )));
    };
    let (bound_image, bound_user) = bound_sidecar(client, cr).await?;
    let image = image.or(bound_image).ok_or_else(|| {
        Error::Usage(format!(
            "no pod binds {}, so the sidecar image is unknown: pass --image (the chart's sidecar.image)",
            cr.id()
        ))
    })?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret_name = &rclone.options.rclone_config;
    let secret = secrets.get(secret_name).await.map_err(Error::api(format!(
        "getting Secret {ns}/{secret_name} (spec.rclone.rcloneConfig)"
    )))?;
    // Only the keys are read, never the values.
    let has = |key: &str| secret.data.as_ref().is_some_and(|d| d.contains_key(key));
    let section = if has("rclone.conf") || !has("AWS_ACCESS_KEY_ID") {
        Some(
            rclone
                .options
                .rclone_config_section
                .clone()
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "{} has no spec.rclone.rcloneConfigSection",
                        cr.id()
                    ))
                })?,
        )
    } else {
        None
    };
    let remote = Remote {
        secret: secret_name.clone(),
        section,
        path: rclone.options.rclone_dest_path.clone(),
    };
    Ok((remote, image, user.or(bound_user).unwrap_or(65532)))
}

/// The timestamped copies of an rclone object, listed by a one-shot pod.
pub async fn list_copies(
    client: &kube::Client,
    cr: &Replication,
    remote: &Remote,
    image: &str,
    user: i64,
    timeout: Duration,
) -> Result<Vec<CopyInfo>> {
    let shot = OneShot {
        name: pod_name("ferry-copies", &cr.name),
        image: image.to_owned(),
        remote: remote.clone(),
        user,
        args: copies_args(remote),
        claim: None,
    };
    let (ok, logs) = run_once(client, &cr.namespace, &pod(&shot), timeout).await?;
    if !ok {
        return Err(Error::Failed(format!(
            "listing the copies of {} failed: {}",
            cr.id(),
            last_line(&logs)
        )));
    }
    Ok(parse_copies(&logs))
}

fn pod_name(prefix: &str, name: &str) -> String {
    let stamp = jiff::Timestamp::now().as_second();
    let mut n = format!("{prefix}-{name}");
    n.truncate(50);
    format!("{}-{stamp}", n.trim_end_matches('-'))
}

fn last_line(logs: &str) -> &str {
    logs.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no log")
}

async fn from_remote(kube: &Kube, cr: &Replication, o: &Options) -> Result<()> {
    let client = &kube.client;
    let ns = &cr.namespace;
    let timestamped = cr.rclone.as_ref().is_some_and(|r| r.timestamped);
    let copy = Copy::parse(o.copy.as_deref().unwrap_or("latest")).map_err(Error::Usage)?;
    let (remote, image, user) = remote_of(client, cr, o.image.clone(), o.run_as_user).await?;
    if matches!(copy, Copy::Stamp(_)) && !timestamped {
        return Err(Error::Usage(format!(
            "{} mirrors into {} (no spec.rclone.timestampPrefix): there are no timestamped copies; restore with --copy latest",
            cr.id(),
            remote.path
        )));
    }
    let stamp = if timestamped {
        let copies = list_copies(client, cr, &remote, &image, user, o.timeout).await?;
        let chosen = choose(&copies, &copy).map_err(|e| {
            Error::Failed(format!(
                "{}: {e}; `kubectl ferry copies {}` lists them",
                cr.id(),
                cr.name
            ))
        })?;
        Some(chosen)
    } else {
        None
    };
    let source = pvc(client, ns, cr.pvc.as_deref()).await?;
    let c = claim(&shape(o, source.as_ref(), None, None)?);
    let pull = Pull {
        claim: o.to.clone(),
        remote: remote.clone(),
        stamp: stamp.clone(),
    };
    let shot = OneShot {
        name: pod_name("ferry-restore", &o.to),
        image,
        remote,
        user,
        args: pull_args(&pull),
        claim: Some(o.to.clone()),
    };
    let p = pod(&shot);
    if o.dry_run {
        return crate::output::print(&yaml(&[&c, &p])?);
    }
    create_claim(client, ns, &c).await?;
    let which = match &stamp {
        Some(s) => format!("copy {s}"),
        None => "the mirror".to_owned(),
    };
    eprintln!(
        "pulling {which} of {} into PVC {ns}/{} (pod {})",
        pull.remote.path, o.to, shot.name
    );
    let (ok, logs) = run_once(client, ns, &p, o.timeout).await?;
    if !ok {
        return Err(Error::Failed(format!(
            "the restore pod failed: {}; PVC {ns}/{} holds what was pulled: delete it (kubectl -n {ns} delete pvc {})",
            last_line(&logs),
            o.to,
            o.to
        )));
    }
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        println!("  {line}");
    }
    println!(
        "PVC {ns}/{} holds {which} of {}.\nUse it: mount persistentVolumeClaim.claimName: {} in a pod of namespace {ns}.",
        o.to,
        cr.id(),
        o.to
    );
    Ok(())
}

/// Creates the one-shot pod, waits for it to end, reads its log and deletes it (also on
/// failure, timeout and interruption): `(succeeded, log)`.
pub async fn run_once(
    client: &kube::Client,
    ns: &str,
    pod: &Value,
    timeout: Duration,
) -> Result<(bool, String)> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let object: Pod =
        serde_json::from_value(pod.clone()).map_err(|e| Error::Encode(e.to_string()))?;
    let name = object.metadata.name.clone().unwrap_or_default();
    pods.create(&PostParams::default(), &object)
        .await
        .map_err(Error::api(format!("creating the one-shot pod {ns}/{name}")))?;
    let outcome = wait_pod(&pods, &name, timeout).await;
    let logs = pods
        .logs(&name, &LogParams::default())
        .await
        .unwrap_or_default();
    let _ = pods.delete(&name, &DeleteParams::default()).await;
    Ok((outcome?, logs))
}

/// Waits for the pod to end: `true` when it succeeded.
async fn wait_pod(pods: &Api<Pod>, name: &str, timeout: Duration) -> Result<bool> {
    let deadline = tokio::time::Instant::now() + timeout;
    let stop = ferry_kube::shutdown::signalled();
    tokio::pin!(stop);
    loop {
        let pod = pods.get_opt(name).await;
        if let Ok(Some(pod)) = pod {
            match pod.status.and_then(|s| s.phase).as_deref() {
                Some("Succeeded") => return Ok(true),
                Some("Failed") => return Ok(false),
                _ => {}
            }
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::Failed(format!(
                "the restore pod {name} did not end within {}s",
                timeout.as_secs()
            )));
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
            () = &mut stop => return Err(Error::Interrupted),
        }
    }
}
