//! A pod's volumes as directories on this machine.
//!
//! - `persistentVolumeClaim`: the bound PV's directory: `<csi data dir>/<volume handle>` for
//!   the CSI hostpath driver (where it keeps each volume), or a `hostPath`/`local` PV's path;
//! - `secret`, `configMap`, `downwardAPI`, `projected` (including `serviceAccountToken`, made
//!   with a TokenRequest bound to the pod): files written once into the pod's directory,
//!   honouring `items` and `defaultMode`; not refreshed later;
//! - `emptyDir`: a directory in the pod's directory (`medium: Memory` is a plain directory);
//! - `hostPath`: that path (`DirectoryOrCreate`/`FileOrCreate` create it).
//!
//! Anything else fails the pod with a message saying so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, DownwardAPIVolumeFile, PersistentVolume, PersistentVolumeClaim, Secret,
    ServiceAccount, Volume,
};
use kube::Api;
use kube::api::PostParams;

use super::Context;
use super::downward::{self, PodFacts};
use super::error::{Error, Result};
use super::files::{self, DEFAULT_MODE, File};

/// A volume as the runner mounts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostVolume {
    /// The directory (or file) on this machine.
    pub path: PathBuf,
    /// Mounted read-only whatever the volumeMount says (Secret, ConfigMap, projected,
    /// downward API, a PVC source with `readOnly`).
    pub read_only: bool,
}

/// Makes every volume of the pod available under `pod_dir`, by name.
pub async fn prepare(
    ctx: &Context,
    facts: &PodFacts<'_>,
    pod_dir: &Path,
) -> Result<BTreeMap<String, HostVolume>> {
    let volumes = facts
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.clone())
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    for volume in &volumes {
        let dir = pod_dir.join("volumes").join(&volume.name);
        let host = prepare_one(ctx, facts, volume, &dir).await?;
        out.insert(volume.name.clone(), host);
    }
    Ok(out)
}

fn writable(path: PathBuf) -> HostVolume {
    HostVolume {
        path,
        read_only: false,
    }
}

fn read_only(path: PathBuf) -> HostVolume {
    HostVolume {
        path,
        read_only: true,
    }
}

async fn prepare_one(
    ctx: &Context,
    facts: &PodFacts<'_>,
    volume: &Volume,
    dir: &Path,
) -> Result<HostVolume> {
    let ns = facts.pod.metadata.namespace.as_deref().unwrap_or("default");
    if let Some(claim) = &volume.persistent_volume_claim {
        let path = claim_path(ctx, ns, &claim.claim_name).await?;
        return Ok(HostVolume {
            path,
            read_only: claim.read_only.unwrap_or(false),
        });
    }
    if volume.empty_dir.is_some() {
        files::make_dir(dir, 0o777)?;
        return Ok(writable(dir.to_owned()));
    }
    if let Some(host) = &volume.host_path {
        return host_path(&host.path, host.type_.as_deref()).map(writable);
    }
    let files = if let Some(s) = &volume.secret {
        let name = s.secret_name.clone().unwrap_or_default();
        let data = secret_data(ctx, ns, &name, s.optional.unwrap_or(false)).await?;
        let what = format!("Secret {ns}/{name}");
        files::select(
            &data,
            s.items.as_deref(),
            s.default_mode,
            s.optional.unwrap_or(false),
            &what,
        )?
    } else if let Some(c) = &volume.config_map {
        let data = config_map_data(ctx, ns, &c.name, c.optional.unwrap_or(false)).await?;
        let what = format!("ConfigMap {ns}/{}", c.name);
        files::select(
            &data,
            c.items.as_deref(),
            c.default_mode,
            c.optional.unwrap_or(false),
            &what,
        )?
    } else if let Some(d) = &volume.downward_api {
        let items = d.items.as_deref().unwrap_or_default();
        downward_files(facts, items, files::mode_of(d.default_mode, DEFAULT_MODE))?
    } else if let Some(p) = &volume.projected {
        projected_files(ctx, facts, p).await?
    } else {
        return Err(Error::Unsupported(format!(
            "volume {}: only persistentVolumeClaim, emptyDir, hostPath, secret, configMap, \
             downwardAPI and projected volumes are supported",
            volume.name
        )));
    };
    // Written afresh each time: a retried start sees the current objects.
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .map_err(|e| Error::io(format!("clearing {}", dir.display()), e))?;
    }
    files::write_all(dir, &files)?;
    Ok(read_only(dir.to_owned()))
}

/// The directory of the PV bound to claim `ns/name`.
async fn claim_path(ctx: &Context, ns: &str, name: &str) -> Result<PathBuf> {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), ns);
    let claim = claims
        .get_opt(name)
        .await
        .map_err(|e| Error::kube(format!("reading PVC {ns}/{name}"), e))?
        .ok_or_else(|| Error::NotReady(format!("PVC {ns}/{name} does not exist")))?;
    let phase = claim.status.as_ref().and_then(|s| s.phase.as_deref());
    let pv_name = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.clone())
        .filter(|v| !v.is_empty() && phase == Some("Bound"))
        .ok_or_else(|| Error::NotReady(format!("PVC {ns}/{name} is not Bound")))?;
    let pvs: Api<PersistentVolume> = Api::all(ctx.client.clone());
    let pv = pvs
        .get(&pv_name)
        .await
        .map_err(|e| Error::kube(format!("reading PV {pv_name}"), e))?;
    let spec = pv.spec.unwrap_or_default();
    let path = if let Some(csi) = spec.csi.filter(|c| c.driver == ctx.settings.csi_driver) {
        files::check_relative(&csi.volume_handle)?;
        ctx.settings.csi_data_dir.join(&csi.volume_handle)
    } else if let Some(host) = spec.host_path {
        PathBuf::from(host.path)
    } else if let Some(local) = spec.local {
        PathBuf::from(local.path)
    } else {
        return Err(Error::Unsupported(format!(
            "PV {pv_name} of PVC {ns}/{name}: only {} CSI, hostPath and local PVs have a \
             directory here",
            ctx.settings.csi_driver
        )));
    };
    if !path.is_dir() {
        return Err(Error::NotReady(format!(
            "the directory {} of PV {pv_name} does not exist",
            path.display()
        )));
    }
    Ok(path)
}

fn host_path(path: &str, kind: Option<&str>) -> Result<PathBuf> {
    let p = PathBuf::from(path);
    match kind.unwrap_or_default() {
        "DirectoryOrCreate" => files::make_dir(&p, 0o755)?,
        "FileOrCreate" if !p.exists() => {
            if let Some(parent) = p.parent() {
                files::make_dir(parent, 0o755)?;
            }
            std::fs::write(&p, b"").map_err(|e| Error::io(format!("creating {path}"), e))?;
        }
        "" | "FileOrCreate" => {}
        _ if !p.exists() => return Err(Error::NotReady(format!("hostPath {path} does not exist"))),
        _ => {}
    }
    Ok(p)
}

async fn secret_data(
    ctx: &Context,
    ns: &str,
    name: &str,
    optional: bool,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    match api
        .get_opt(name)
        .await
        .map_err(|e| Error::kube(format!("reading Secret {ns}/{name}"), e))?
    {
        Some(secret) => Ok(secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .chain(
                secret
                    .string_data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.into_bytes())),
            )
            .collect()),
        None if optional => Ok(BTreeMap::new()),
        None => Err(Error::NotReady(format!(
            "Secret {ns}/{name} does not exist"
        ))),
    }
}

async fn config_map_data(
    ctx: &Context,
    ns: &str,
    name: &str,
    optional: bool,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
    match api
        .get_opt(name)
        .await
        .map_err(|e| Error::kube(format!("reading ConfigMap {ns}/{name}"), e))?
    {
        Some(cm) => Ok(cm
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.into_bytes()))
            .chain(
                cm.binary_data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.0)),
            )
            .collect()),
        None if optional => Ok(BTreeMap::new()),
        None => Err(Error::NotReady(format!(
            "ConfigMap {ns}/{name} does not exist"
        ))),
    }
}

fn downward_files(
    facts: &PodFacts<'_>,
    items: &[DownwardAPIVolumeFile],
    default_mode: u32,
) -> Result<Vec<File>> {
    let containers = facts
        .pod
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    items
        .iter()
        .map(|item| {
            let value = if let Some(f) = &item.field_ref {
                downward::field(facts, f)?
            } else if let Some(r) = &item.resource_field_ref {
                let name = r.container_name.as_deref().unwrap_or_default();
                let container = containers.iter().find(|c| c.name == name).ok_or_else(|| {
                    Error::Unsupported(format!("resourceFieldRef to unknown container {name:?}"))
                })?;
                downward::resource(container, r)?
            } else {
                return Err(Error::Unsupported(format!(
                    "downward API item {} without fieldRef or resourceFieldRef",
                    item.path
                )));
            };
            Ok(File {
                path: item.path.clone(),
                data: value.into_bytes(),
                mode: files::mode_of(item.mode, default_mode),
            })
        })
        .collect()
}

async fn projected_files(
    ctx: &Context,
    facts: &PodFacts<'_>,
    projected: &k8s_openapi::api::core::v1::ProjectedVolumeSource,
) -> Result<Vec<File>> {
    let ns = facts.pod.metadata.namespace.as_deref().unwrap_or("default");
    let mode = files::mode_of(projected.default_mode, DEFAULT_MODE);
    let mut out = Vec::new();
    for source in projected.sources.as_deref().unwrap_or_default() {
        if let Some(s) = &source.secret {
            let optional = s.optional.unwrap_or(false);
            let data = secret_data(ctx, ns, &s.name, optional).await?;
            let what = format!("Secret {ns}/{}", s.name);
            out.extend(files::select(
                &data,
                s.items.as_deref(),
                Some(mode_i32(mode)),
                optional,
                &what,
            )?);
        } else if let Some(c) = &source.config_map {
            let optional = c.optional.unwrap_or(false);
            let data = config_map_data(ctx, ns, &c.name, optional).await?;
            let what = format!("ConfigMap {ns}/{}", c.name);
            out.extend(files::select(
                &data,
                c.items.as_deref(),
                Some(mode_i32(mode)),
                optional,
                &what,
            )?);
        } else if let Some(d) = &source.downward_api {
            out.extend(downward_files(
                facts,
                d.items.as_deref().unwrap_or_default(),
                mode,
            )?);
        } else if let Some(t) = &source.service_account_token {
            let token =
                service_account_token(ctx, facts, t.audience.clone(), t.expiration_seconds).await?;
            out.push(File {
                path: t.path.clone(),
                data: token.into_bytes(),
                mode,
            });
        } else {
            return Err(Error::Unsupported(
                "projected source other than secret, configMap, downwardAPI or \
                 serviceAccountToken"
                    .into(),
            ));
        }
    }
    Ok(out)
}

fn mode_i32(mode: u32) -> i32 {
    i32::try_from(mode).unwrap_or(0o644)
}

/// A token for the pod's service account, bound to the pod (TokenRequest), as the kubelet
/// asks for one.
async fn service_account_token(
    ctx: &Context,
    facts: &PodFacts<'_>,
    audience: Option<String>,
    expiration_seconds: Option<i64>,
) -> Result<String> {
    let meta = &facts.pod.metadata;
    let ns = meta.namespace.as_deref().unwrap_or("default");
    let account = facts
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.service_account_name.clone())
        .unwrap_or_else(|| "default".to_owned());
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            // None: the apiserver's own audiences, as for the kube-api-access volume.
            audiences: audience.filter(|a| !a.is_empty()).map(|a| vec![a]),
            expiration_seconds: Some(expiration_seconds.unwrap_or(3600)),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: meta.name.clone(),
                uid: meta.uid.clone(),
            }),
            ..TokenRequestSpec::default()
        }),
        ..TokenRequest::default()
    };
    let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), ns);
    let answer = api
        .create_token_request(&account, &PostParams::default(), &request)
        .await
        .map_err(|e| {
            Error::kube(
                format!("requesting a token for ServiceAccount {ns}/{account}"),
                e,
            )
        })?;
    answer
        .status
        .and_then(|s| s.token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::NotReady(format!("no token for ServiceAccount {ns}/{account}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_paths_are_created_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("a/b");
        assert_eq!(
            host_path(d.to_str().unwrap(), Some("DirectoryOrCreate")).unwrap(),
            d
        );
        assert!(d.is_dir());
        let f = dir.path().join("c/file");
        host_path(f.to_str().unwrap(), Some("FileOrCreate")).unwrap();
        assert!(f.is_file());
        let missing = dir.path().join("missing");
        assert!(matches!(
            host_path(missing.to_str().unwrap(), Some("Directory")),
            Err(Error::NotReady(_))
        ));
        assert!(host_path(missing.to_str().unwrap(), None).is_ok());
    }
}
