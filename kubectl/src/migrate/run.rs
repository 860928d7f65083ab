//! The `migrate volsync` command's reads and writes.

use std::collections::BTreeMap;
use std::io::Read;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::GroupVersionKind;
use serde_json::Value;

use super::map::{self, Migration, Outcome};
use crate::client::Connection;
use crate::error::{Error, Result};

/// The field manager of what `--apply` writes.
pub const FIELD_MANAGER: &str = "kubectl-ferry";

/// Where the VolSync objects come from, and what to do with the result.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Files to read (`-` is standard input); none: read the cluster.
    pub files: Vec<String>,
    /// Read every namespace of the cluster.
    pub all_namespaces: bool,
    /// Put every converted object in this namespace.
    pub to_namespace: Option<String>,
    /// Apply the converted objects.
    pub apply: bool,
    /// With `apply`: the apiserver checks everything and stores nothing.
    pub dry_run: bool,
}

/// Runs `migrate volsync`. Exit 0 when everything converted; an error naming the objects
/// whose mover Ferry lacks otherwise (after writing and, with `--apply`, applying the rest).
pub async fn volsync(connection: &Connection, options: Options) -> Result<()> {
    let need_cluster = options.files.is_empty() || options.apply;
    let kube = if need_cluster {
        Some(connection.connect().await?)
    } else {
        None
    };
    let objects = match (&kube, options.files.is_empty()) {
        (Some(kube), true) => {
            let scope = (!options.all_namespaces).then_some(kube.namespace.as_str());
            from_cluster(&kube.client, scope).await?
        }
        _ => from_files(&options.files)?,
    };
    let migrations: Vec<Migration> = objects
        .iter()
        .map(|o| map::convert(o, options.to_namespace.as_deref()))
        .collect();
    let workloads = match (&kube, options.files.is_empty()) {
        (Some(kube), true) => mounting(&kube.client, &migrations).await?,
        _ => BTreeMap::new(),
    };
    let text = super::render(&migrations, &|m| {
        workloads.get(&m.id).cloned().unwrap_or_default()
    })?;
    crate::output::print(&text)?;
    let report = super::report(&migrations);
    for line in &report {
        eprintln!("{line}");
    }
    let converted = migrations
        .iter()
        .filter(|m| matches!(m.outcome, Outcome::Converted { .. }))
        .count();
    if let (true, Some(kube)) = (options.apply, &kube) {
        for m in &migrations {
            if let Outcome::Converted { object, .. } = &m.outcome {
                apply(&kube.client, &kube.namespace, object, options.dry_run).await?;
                let how = if options.dry_run {
                    " (server dry run)"
                } else {
                    ""
                };
                eprintln!("{} {}: applied{how}", m.kind, m.id);
            }
        }
    }
    let unsupported: Vec<&Migration> = migrations
        .iter()
        .filter(|m| matches!(m.outcome, Outcome::Unsupported { .. }))
        .collect();
    if migrations.is_empty() {
        eprintln!("no VolSync ReplicationSource or ReplicationDestination found");
    }
    if unsupported.is_empty() {
        Ok(())
    } else {
        let names: Vec<String> = unsupported
            .iter()
            .map(|m| format!("{} {}", m.kind, m.id))
            .collect();
        Err(Error::Failed(format!(
            "stopped for {} object(s) whose mover Ferry lacks: {} ({converted} converted)",
            unsupported.len(),
            names.join(", ")
        )))
    }
}

fn from_files(files: &[String]) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for path in files {
        let text = if path == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Error::File {
                    path: "standard input".into(),
                    problem: e.to_string(),
                })?;
            text
        } else {
            std::fs::read_to_string(path).map_err(|e| Error::File {
                path: path.clone(),
                problem: e.to_string(),
            })?
        };
        out.extend(super::parse(&text, path)?);
    }
    Ok(out)
}

fn volsync_api(client: &kube::Client, kind: &str, namespace: Option<&str>) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(map::VOLSYNC_GROUP, "v1alpha1", kind);
    let resource = ApiResource::from_gvk(&gvk);
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

async fn from_cluster(client: &kube::Client, namespace: Option<&str>) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for kind in ["ReplicationSource", "ReplicationDestination"] {
        let list = volsync_api(client, kind, namespace)
            .list(&ListParams::default())
            .await
            .map_err(|source| match &source {
                kube::Error::Api(s) if s.code == 404 => Error::Usage(
                    "VolSync's CRDs (volsync.backube) are not installed in this cluster: there is nothing to read; pass the manifests with -f FILE".to_owned(),
                ),
                _ => Error::Api {
                    doing: format!("listing VolSync {kind}s"),
                    source,
                },
            })?;
        for item in list.items {
            let mut value =
                serde_json::to_value(&item).map_err(|e| Error::Encode(e.to_string()))?;
            value["apiVersion"] = Value::from(format!("{}/v1alpha1", map::VOLSYNC_GROUP));
            value["kind"] = Value::from(kind);
            out.push(value);
        }
    }
    Ok(out)
}

/// The Deployments and StatefulSets whose pod template mounts each converted object's PVC,
/// by the object's id.
async fn mounting(
    client: &kube::Client,
    migrations: &[Migration],
) -> Result<BTreeMap<String, Vec<String>>> {
    let mut found = BTreeMap::new();
    let mut templates: BTreeMap<String, Vec<(String, PodTemplateSpec)>> = BTreeMap::new();
    for m in migrations {
        let Outcome::Converted { object, .. } = &m.outcome else {
            continue;
        };
        let Some(ns) = object["metadata"]["namespace"].as_str() else {
            continue;
        };
        let spec = &object["spec"];
        let Some(pvc) = spec["sourcePVC"]
            .as_str()
            .or_else(|| spec["rsync"]["destinationPVC"].as_str())
            .or_else(|| spec["rclone"]["destinationPVC"].as_str())
        else {
            continue;
        };
        if !templates.contains_key(ns) {
            templates.insert(ns.to_owned(), workload_templates(client, ns).await?);
        }
        let names: Vec<String> = templates[ns]
            .iter()
            .filter(|(_, t)| {
                t.spec
                    .iter()
                    .flat_map(|s| s.volumes.iter().flatten())
                    .any(|v| {
                        v.persistent_volume_claim
                            .as_ref()
                            .is_some_and(|c| c.claim_name == pvc)
                    })
            })
            .map(|(name, _)| name.clone())
            .collect();
        found.insert(m.id.clone(), names);
    }
    Ok(found)
}

async fn workload_templates(
    client: &kube::Client,
    ns: &str,
) -> Result<Vec<(String, PodTemplateSpec)>> {
    let params = ListParams::default();
    let mut out = Vec::new();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    for d in deployments
        .list(&params)
        .await
        .map_err(Error::api(format!("listing Deployments in {ns}")))?
    {
        out.push((
            format!("deployment/{}", d.metadata.name.unwrap_or_default()),
            d.spec.template,
        ));
    }
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    for s in sets
        .list(&params)
        .await
        .map_err(Error::api(format!("listing StatefulSets in {ns}")))?
    {
        out.push((
            format!("statefulset/{}", s.metadata.name.unwrap_or_default()),
            s.spec.template,
        ));
    }
    Ok(out)
}

/// Applies one Ferry object server-side, in its namespace or `default_ns`.
async fn apply(
    client: &kube::Client,
    default_ns: &str,
    object: &Value,
    dry_run: bool,
) -> Result<()> {
    let kind = object["kind"].as_str().unwrap_or_default();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let ns = object["metadata"]["namespace"]
        .as_str()
        .unwrap_or(default_ns);
    let gvk = GroupVersionKind::gvk(ferry_api::GROUP, ferry_api::VERSION, kind);
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk(&gvk));
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.dry_run = dry_run;
    api.patch(name, &params, &Patch::Apply(object))
        .await
        .map_err(Error::api(format!("applying {kind} {ns}/{name}")))?;
    Ok(())
}
