//! A destination's work: pull from S3 (rclone), or serve rsync over SSH and wait for a
//! source's completion signal (rsync); then publish the volume as an image: a VolumeSnapshot
//! that is ready to use (`copyMethod: Snapshot`) or the PVC itself (`Direct`), as
//! `status.latestImage`, keeping `retain` images.
//!
//! Nothing partial is published: an image is taken only after a pull that ended without
//! errors, or after a completion signal that followed an rsync that exited 0; a snapshot
//! that never becomes ready is never named in `latestImage`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use ferry_api::types::{DestinationCopyMethod, DestinationRsyncStatus};
use ferry_api::types::{ReplicationDestinationRclone, ReplicationDestinationRsync};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{
    Secret, Service, ServicePort, ServiceSpec, TypedLocalObjectReference,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, PostParams};

use super::context::{Ctx, SNAPSHOT_TIMEOUT};
use super::env::Identity;
use super::job::{Direction, Job, Layout, Outcome};
use super::resource::Replication;
use super::secrets::{self, SecretData};
use super::source::rclone_secret;
use super::{Error, Result};
use crate::objects;
use tokio_util::sync::CancellationToken;

/// The port the SSH server listens on in the pod.
pub use ferry_api::contract::SSH_PORT;

/// Pulls the CR's S3 path into the volume.
pub async fn pull_rclone(
    ctx: &Ctx,
    spec: &ReplicationDestinationRclone,
    cancel: CancellationToken,
) -> Result<Outcome> {
    let secret = rclone_secret(ctx, &spec.rclone).await?;
    let job = Job::new(
        Direction::Pull,
        &ctx.who.volume_path,
        &spec.rclone,
        Layout::Plain,
        &secret,
    );
    (ctx.engine)(job, cancel).await
}

/// The claim a destination writes into: `destinationPVC`, else the bound pod's volume.
pub fn claim_of(
    spec_claim: Option<&str>,
    pod_claim: Option<&str>,
    who: &Identity,
) -> Result<String> {
    spec_claim
        .or(pod_claim)
        .map(str::to_owned)
        .ok_or_else(|| Error::Spec {
            field: "spec.*.destinationPVC",
            problem: format!(
                "is not set and the pod volume {} is not a PVC; name the PVC to write into",
                who.volume
            ),
        })
}

/// How an image is published.
#[derive(Debug, Clone)]
pub struct Publish {
    /// Snapshot or Direct.
    pub method: DestinationCopyMethod,
    /// The claim written into.
    pub claim: String,
    /// `volumeSnapshotClassName`.
    pub class: Option<String>,
    /// Images kept.
    pub retain: usize,
}

impl Publish {
    /// The publishing settings of a destination CR.
    pub fn of(cr: &Replication, pod_claim: Option<&str>, who: &Identity) -> Result<Publish> {
        use super::resource::Mover;
        let (method, spec_claim, class, retain) = match &cr.mover {
            Mover::DestinationRclone(r) => (
                r.copy_method,
                r.destination_pvc.as_deref(),
                r.volume.volume_snapshot_class_name.clone(),
                r.retain,
            ),
            Mover::DestinationRsync(r) => (
                r.copy_method,
                r.destination_pvc.as_deref(),
                r.volume.volume_snapshot_class_name.clone(),
                r.retain,
            ),
            _ => {
                return Err(Error::Spec {
                    field: "spec",
                    problem: "a source mover on a ReplicationDestination".to_owned(),
                });
            }
        };
        Ok(Publish {
            method: method.normalized(),
            claim: claim_of(spec_claim, pod_claim, who)?,
            class,
            retain: usize::try_from(retain).unwrap_or(1).max(1),
        })
    }
}

/// Publishes the volume as the new image and prunes old ones; returns `latestImage`.
pub async fn publish(
    ctx: &Ctx,
    cr: &Replication,
    how: &Publish,
    events: &super::events::Events,
    guards: super::job::Guards,
) -> Result<TypedLocalObjectReference> {
    if how.method != DestinationCopyMethod::Snapshot {
        return Ok(TypedLocalObjectReference {
            api_group: None,
            kind: "PersistentVolumeClaim".to_owned(),
            name: how.claim.clone(),
        });
    }
    let client = &ctx.client;
    let ns = &cr.namespace;
    objects::snapshot::check_class(client, how.class.as_deref()).await?;
    let name = image_name(&cr.name, jiff::Timestamp::now());
    let owner = cr.owner();
    let labels = owner.image_labels();
    objects::snapshot::create(
        client,
        ns,
        &name,
        &how.claim,
        how.class.as_deref(),
        &labels,
        Some(&owner),
    )
    .await?;
    let ready = match objects::snapshot::wait_ready(client, ns, &name, SNAPSHOT_TIMEOUT).await {
        Ok(ready) => ready,
        Err(e) => {
            // Never leave a snapshot that is not ready where a restore could pick it.
            let _ = objects::snapshot::delete(client, ns, &name).await;
            return Err(e.into());
        }
    };
    events
        .normal(
            super::events::reason::SNAPSHOT_READY,
            format!(
                "VolumeSnapshot {} of PVC {} is ready",
                ready.name, how.claim
            ),
        )
        .await;
    let selector = format!("{}={}", objects::IMAGE_LABEL, owner.uid);
    match objects::snapshot::prune(client, ns, &selector, how.retain, &name, &guards).await {
        Ok(Err(refusal)) => {
            tracing::warn!("{refusal}");
            events
                .warning(refusal.guard.reason(), refusal.message.clone())
                .await;
        }
        Ok(Ok(pruned)) if !pruned.is_empty() => {
            events
                .normal(
                    super::events::reason::IMAGES_PRUNED,
                    format!("deleted {} (retain {})", pruned.join(", "), how.retain),
                )
                .await;
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not prune old images"),
    }
    Ok(TypedLocalObjectReference {
        api_group: Some("snapshot.storage.k8s.io".to_owned()),
        kind: "VolumeSnapshot".to_owned(),
        name,
    })
}

/// `<cr>-<YYYYMMDDhhmmss>`, a valid object name.
pub fn image_name(cr: &str, at: jiff::Timestamp) -> String {
    let stamp = at.strftime("%Y%m%d%H%M%S").to_string();
    let mut base = cr.to_owned();
    base.truncate(253 - stamp.len() - 1);
    format!("{}-{stamp}", base.trim_end_matches(['-', '.']))
}

/// The server's keys Secret and the Service of an rsync destination: `ferry-rsync-dst-<cr>`.
pub fn server_name(cr: &str) -> String {
    format!("ferry-rsync-dst-{cr}")
}

/// The keys Secret a source copies: `ferry-rsync-src-<cr>`.
pub fn source_keys_name(cr: &str) -> String {
    format!("ferry-rsync-src-{cr}")
}

/// The keys the server uses, and the Secret a source needs (when generated here).
pub struct ServerKeys {
    /// `destination`, `destination.pub`, `source.pub`.
    pub server: SecretData,
    /// The Secret a source copies, when Ferry generated the keys.
    pub for_source: Option<String>,
}

/// Ensures the keys: the CR's `sshKeys` Secret, else a generated pair of Secrets.
pub async fn ensure_keys(
    ctx: &Ctx,
    cr: &Replication,
    spec: &ReplicationDestinationRsync,
) -> Result<ServerKeys> {
    if let Some(name) = &spec.ssh_keys {
        let server = secrets::read(&ctx.client, &ctx.who, "spec.rsync.sshKeys", name).await?;
        return Ok(ServerKeys {
            server,
            for_source: None,
        });
    }
    let (dst_name, src_name) = (server_name(&cr.name), source_keys_name(&cr.name));
    let api = Api::<Secret>::namespaced(ctx.client.clone(), &cr.namespace);
    let who = &ctx.who;
    let read = |name: String| {
        let api = api.clone();
        async move {
            api.get_opt(&name)
                .await
                .map_err(|e| Error::api(format!("reading Secret {name}"), e, who))
        }
    };
    let (dst, src) = (read(dst_name.clone()).await?, read(src_name.clone()).await?);
    if let (Some(dst), Some(_)) = (&dst, &src) {
        return Ok(ServerKeys {
            server: SecretData::new("spec.rsync.sshKeys", &cr.namespace, &dst_name, data_of(dst)),
            for_source: Some(src_name),
        });
    }
    // Missing either half: a new pair for both (the halves must match).
    let keys =
        ferry_rsync::keys::ReplicationKeys::generate(&format!("{}/{}", cr.namespace, cr.name))
            .map_err(|e| Error::Spec {
                field: "spec.rsync.sshKeys",
                problem: format!("generating keys failed: {e}"),
            })?;
    let key_error = |e: ferry_rsync::keys::KeyError| Error::Spec {
        field: "spec.rsync.sshKeys",
        problem: format!("encoding keys failed: {e}"),
    };
    let server_data = keys.destination_secret_data().map_err(key_error)?;
    let source_data = keys.source_secret_data().map_err(key_error)?;
    let owner = cr.owner();
    for (name, data, existing) in [
        (&dst_name, &server_data, dst),
        (&src_name, &source_data, src),
    ] {
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(BTreeMap::from([(
                    objects::CR_LABEL.to_owned(),
                    owner.cr_label(),
                )])),
                owner_references: Some(vec![owner.reference()]),
                resource_version: existing.and_then(|s| s.metadata.resource_version),
                ..ObjectMeta::default()
            },
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.clone(), ByteString(v.clone())))
                    .collect(),
            ),
            type_: Some("Opaque".to_owned()),
            ..Secret::default()
        };
        let result = if secret.metadata.resource_version.is_some() {
            api.replace(name, &PostParams::default(), &secret).await
        } else {
            api.create(&PostParams::default(), &secret).await
        };
        result.map_err(|e| Error::api(format!("writing Secret {name}"), e, who))?;
    }
    Ok(ServerKeys {
        server: SecretData::new("spec.rsync.sshKeys", &cr.namespace, &dst_name, server_data),
        for_source: Some(src_name),
    })
}

fn data_of(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    secret
        .data
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect()
}

/// Ensures the Service that selects the bound pod; returns `status.rsync`.
pub async fn ensure_service(
    ctx: &Ctx,
    cr: &Replication,
    spec: &ReplicationDestinationRsync,
    keys: &ServerKeys,
) -> Result<DestinationRsyncStatus> {
    let service_name = server_name(&cr.name);
    let api = Api::<Service>::namespaced(ctx.client.clone(), &cr.namespace);
    let who = &ctx.who;
    let existing = api
        .get_opt(&service_name)
        .await
        .map_err(|e| Error::api(format!("reading Service {service_name}"), e, who))?;
    let owner = cr.owner();
    let wanted_spec = ServiceSpec {
        type_: Some(format!("{:?}", spec.service_type)),
        selector: Some(BTreeMap::from([(
            ferry_api::annotations::DESTINATION_LABEL.to_owned(),
            cr.name.clone(),
        )])),
        ports: Some(vec![ServicePort {
            name: Some("ssh".to_owned()),
            port: spec.port,
            target_port: Some(IntOrString::Int(i32::from(SSH_PORT))),
            protocol: Some("TCP".to_owned()),
            ..ServicePort::default()
        }]),
        ..ServiceSpec::default()
    };
    let service = match existing {
        None => {
            let service = Service {
                metadata: ObjectMeta {
                    name: Some(service_name.clone()),
                    annotations: spec.service_annotations.clone(),
                    labels: Some(BTreeMap::from([(
                        objects::CR_LABEL.to_owned(),
                        owner.cr_label(),
                    )])),
                    owner_references: Some(vec![owner.reference()]),
                    ..ObjectMeta::default()
                },
                spec: Some(wanted_spec),
                ..Service::default()
            };
            api.create(&PostParams::default(), &service)
                .await
                .map_err(|e| Error::api(format!("creating Service {service_name}"), e, who))?
        }
        Some(mut service) => {
            let mut current = service.spec.clone().unwrap_or_default();
            let differs = current.selector != wanted_spec.selector
                || current.ports.as_ref().map(|p| {
                    p.iter()
                        .map(|p| (p.port, p.target_port.clone()))
                        .collect::<Vec<_>>()
                }) != wanted_spec.ports.as_ref().map(|p| {
                    p.iter()
                        .map(|p| (p.port, p.target_port.clone()))
                        .collect::<Vec<_>>()
                })
                || current.type_ != wanted_spec.type_
                || service.metadata.annotations != spec.service_annotations;
            if differs {
                current.selector = wanted_spec.selector;
                current.ports = wanted_spec.ports;
                current.type_ = wanted_spec.type_;
                service.spec = Some(current);
                service.metadata.annotations = spec.service_annotations.clone();
                api.replace(&service_name, &PostParams::default(), &service)
                    .await
                    .map_err(|e| Error::api(format!("updating Service {service_name}"), e, who))?
            } else {
                service
            }
        }
    };
    let ingress = service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .and_then(|i| i.first())
        .and_then(|i| i.ip.clone().or_else(|| i.hostname.clone()));
    let cluster_ip = service
        .spec
        .as_ref()
        .and_then(|s| s.cluster_ip.clone())
        .filter(|ip| ip != "None");
    Ok(DestinationRsyncStatus {
        address: ingress.or(cluster_ip),
        port: Some(spec.port),
        ssh_keys: keys.for_source.clone(),
    })
}

/// Starts the SSH server on the pod IP, with the server keys; returns it bound.
pub async fn bind_server(
    who: &Identity,
    keys: &ServerKeys,
) -> Result<ferry_rsync::ssh::server::Server> {
    use ferry_rsync::ssh::keyset::{PublicKeySet, load_private_key};
    use ferry_rsync::ssh::server::{Access, Server, ServerConfig};
    let ip = who.pod_ip.ok_or_else(|| Error::Env {
        name: "POD_IP",
        problem: "is not set; the SSH server listens on the pod IP".to_owned(),
    })?;
    let dir = who.scratch.join("server");
    let host_key_file = keys.server.write(ferry_rsync::keys::DESTINATION, &dir)?;
    let host_key = load_private_key(&host_key_file)?;
    let _ = std::fs::remove_file(&host_key_file);
    let authorized = PublicKeySet::parse(
        &keys.server.text(ferry_rsync::keys::SOURCE_PUB)?,
        &format!("Secret {} key source.pub", keys.server.name()),
    )?;
    let state_dir: PathBuf = who.scratch.join("state");
    Ok(Server::bind(ServerConfig {
        listen: SocketAddr::new(ip, SSH_PORT),
        host_key,
        authorized,
        volume: who.volume_path.clone(),
        rsync: who.rsync.clone(),
        access: Access::WriteOnly,
        state_dir: Some(state_dir),
        tuning: ferry_rsync::ssh::tuning::Tuning::default(),
    })
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_are_valid_and_sortable() {
        let at: jiff::Timestamp = "2026-11-22T01:02:03Z".parse().unwrap();
        assert_eq!(image_name("db", at), "db-20261122010203");
        let long = image_name(&"a".repeat(300), at);
        assert!(long.len() <= 253);
        assert!(long.ends_with("-20261122010203"));
    }
}
