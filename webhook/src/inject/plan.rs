//! What to inject into one pod, decided from what it reads of the pod, its parsed annotations, the
//! settings and the cluster facts. Pure: table-tested without a server.

use std::fmt;

use super::pod::Pod;
use super::settings::{Facts, NativeMode, Resources, Settings};
use ferry_api::PodAnnotations;
use ferry_api::annotations::{Binding, NATIVE_SIDECAR, RUN_AS_USER, VOLUME};

/// The user a non-root sidecar falls back to when the app runs as root.
pub const FALLBACK_USER: i64 = 65_532;

/// Why a pod cannot be injected. Each names the field, the value and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The pod has no PersistentVolumeClaim or ephemeral volume.
    NoPvcVolume,
    /// `ferry.dev/volume` names a volume the pod does not have.
    UnknownVolume(String),
    /// `ferry.dev/volume` names a volume that is not a claim.
    NotAClaim(String),
    /// A destination must listen on its pod IP, which `hostNetwork` would replace.
    HostNetworkDestination,
    /// Root was asked for in a namespace that does not allow it.
    RootNotAllowed,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoPvcVolume => write!(
                f,
                "spec.volumes: \"\": no PersistentVolumeClaim volume to replicate: add a persistentVolumeClaim or ephemeral volume"
            ),
            Self::UnknownVolume(name) => write!(
                f,
                "metadata.annotations[{VOLUME}]: {name:?}: the pod has no volume {name:?}: name one of its PVC volumes"
            ),
            Self::NotAClaim(name) => write!(
                f,
                "metadata.annotations[{VOLUME}]: {name:?}: volume {name:?} is not a persistentVolumeClaim or ephemeral volume"
            ),
            Self::HostNetworkDestination => write!(
                f,
                "spec.hostNetwork: \"true\": a destination cannot use hostNetwork: its SSH server listens on the pod IP"
            ),
            Self::RootNotAllowed => write!(
                f,
                "metadata.annotations[{RUN_AS_USER}]: \"0\": root needs the namespace label ferry.dev/privileged-movers=true"
            ),
        }
    }
}

/// A pod volume the sidecar mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The pod volume's name.
    pub volume: String,
    /// Read-only for a source, read-write for a destination.
    pub read_only: bool,
}

/// How the sidecar runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// Restricted Pod Security, as this user (or the image's user when `None`).
    Restricted(Option<i64>),
    /// Root with the capabilities that preserve ownership; privileged-movers namespaces only.
    Root,
}

/// Everything the patch adds.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Source or destination, and the bound object.
    pub binding: Binding,
    /// Native sidecar (init container, `restartPolicy: Always`) or regular container.
    pub native: bool,
    /// The pod's claim volumes, mounted under `/ferry/volumes/<name>`.
    pub mounts: Vec<Mount>,
    /// The volume that is replicated.
    pub replicated: String,
    /// A projected service-account token for the sidecar alone (the pod turned automount off).
    pub token_volume: bool,
    /// The pod's `kube-api-access-*` volume, which the sidecar mounts where clients look for
    /// the token. The apiserver's ServiceAccount admission would add exactly this mount on its
    /// reinvocation pass; adding it here leaves that pass nothing to change, so the apiserver
    /// does not call the webhook a second time for the same pod (`reinvocationPolicy:
    /// IfNeeded` reinvokes when an in-tree plugin changed the object after the webhook).
    pub api_access_volume: Option<String>,
    /// The user and privileges.
    pub identity: Identity,
    /// Requests and limits.
    pub resources: Resources,
    /// The restore step the app containers wait for, if any.
    pub restore: Option<super::restore::Gate>,
    /// The parsed annotations (schedule and time zone go to the sidecar's env).
    pub annotations: PodAnnotations,
    /// What the user should know; each under 120 characters.
    pub warnings: Vec<String>,
}

/// A claim volume of the pod: `(name, claim name when known)`.
fn claim_volumes(pod: &Pod<'_>) -> Vec<(String, Option<String>)> {
    pod.volumes()
        .iter()
        .filter_map(|v| {
            let name = v.name.to_string();
            if let Some(claim) = v
                .persistent_volume_claim
                .as_ref()
                .and_then(|c| c.claim_name.as_deref())
            {
                return Some((name, Some(claim.to_owned())));
            }
            v.ephemeral.map(|_| (name, None))
        })
        .collect()
}

/// Decides the injection, or every reason it cannot be done.
pub fn plan(
    pod: &Pod<'_>,
    annotations: &PodAnnotations,
    settings: &Settings,
    facts: &Facts,
) -> Result<Plan, Vec<Denial>> {
    let mut denials = Vec::new();
    let mut warnings = facts.warnings.clone();
    let claims = claim_volumes(pod);
    let destination = matches!(annotations.binding, Binding::Destination(_));

    let replicated = choose_volume(
        pod,
        annotations,
        facts,
        &claims,
        &mut denials,
        &mut warnings,
    );
    if destination && pod.spec.host_network == Some(true) {
        denials.push(Denial::HostNetworkDestination);
    }
    let identity = identity(pod, annotations, facts, &mut denials, &mut warnings);
    if !denials.is_empty() {
        return Err(denials);
    }
    let native = match annotations.native_sidecar {
        Some(forced) => forced,
        None => match settings.native {
            NativeMode::Always => true,
            NativeMode::Never => false,
            NativeMode::Auto => facts.cluster_supports_native,
        },
    };
    if !native
        && pod
            .spec
            .restart_policy
            .as_deref()
            .is_some_and(|p| p != "Always")
    {
        warnings.push(format!("a regular sidecar keeps this pod from completing; set {NATIVE_SIDECAR}: \"true\" on 1.29+"));
    }
    let token_volume = pod.spec.automount_service_account_token == Some(false);
    let api_access_volume = if token_volume {
        None
    } else {
        api_access_volume(pod)
    };
    if facts.bound.is_none() {
        warnings.push(format!(
            "{} {:?} does not exist yet; the sidecar waits for it",
            kind(&annotations.binding),
            annotations.binding.name()
        ));
    }
    let resources = Resources {
        cpu: annotations
            .sidecar_cpu
            .clone()
            .unwrap_or_else(|| settings.resources.cpu.clone()),
        memory: annotations
            .sidecar_memory
            .clone()
            .unwrap_or_else(|| settings.resources.memory.clone()),
        // The annotation's value is the request and the limit.
        memory_limit: annotations
            .sidecar_memory
            .clone()
            .unwrap_or_else(|| settings.resources.memory_limit.clone()),
    };
    let restore = super::restore::gate(annotations, facts, &mut warnings);
    Ok(Plan {
        binding: annotations.binding.clone(),
        native,
        mounts: claims
            .iter()
            .map(|(volume, _)| Mount {
                volume: volume.clone(),
                read_only: !destination,
            })
            .collect(),
        replicated: replicated.unwrap_or_default(),
        token_volume,
        api_access_volume,
        identity,
        resources,
        restore,
        annotations: annotations.clone(),
        warnings,
    })
}

/// The prefix of the token volume the apiserver's ServiceAccount admission adds.
const API_ACCESS_PREFIX: &str = "kube-api-access-";

/// The first volume named like the ServiceAccount admission's token volume, the one that
/// plugin itself picks (it runs before webhooks, so a pod that automounts already has it).
fn api_access_volume(pod: &Pod<'_>) -> Option<String> {
    pod.volumes()
        .iter()
        .map(|v| &*v.name)
        .find(|name| name.starts_with(API_ACCESS_PREFIX))
        .map(str::to_owned)
}

fn kind(binding: &Binding) -> &'static str {
    match binding {
        Binding::Source(_) => "ReplicationSource",
        Binding::Destination(_) => "ReplicationDestination",
    }
}

/// The replicated volume: the annotation's, else the one holding the CR's PVC, else the only
/// (or first) claim volume.
fn choose_volume(
    pod: &Pod<'_>,
    annotations: &PodAnnotations,
    facts: &Facts,
    claims: &[(String, Option<String>)],
    denials: &mut Vec<Denial>,
    warnings: &mut Vec<String>,
) -> Option<String> {
    if let Some(wanted) = &annotations.volume {
        let exists = pod.volumes().iter().any(|v| *v.name == **wanted);
        if !exists {
            denials.push(Denial::UnknownVolume(wanted.clone()));
        } else if !claims.iter().any(|(name, _)| name == wanted) {
            denials.push(Denial::NotAClaim(wanted.clone()));
        }
        return Some(wanted.clone());
    }
    let Some((first, _)) = claims.first() else {
        denials.push(Denial::NoPvcVolume);
        return None;
    };
    if let Some(pvc) = facts.bound.as_ref().and_then(|b| b.pvc.as_ref()) {
        if let Some((name, _)) = claims.iter().find(|(_, claim)| claim.as_ref() == Some(pvc)) {
            return Some(name.clone());
        }
        warnings.push(format!(
            "the pod does not mount PVC {pvc:?} that the CR names; replicating volume {first:?}"
        ));
    } else if claims.len() > 1 {
        warnings.push(format!(
            "several PVC volumes; replicating {first:?}: set {VOLUME} to choose"
        ));
    }
    Some(first.clone())
}

/// The sidecar's user: the annotation's, else the app container's, else the pod's.
fn identity(
    pod: &Pod<'_>,
    annotations: &PodAnnotations,
    facts: &Facts,
    denials: &mut Vec<Denial>,
    warnings: &mut Vec<String>,
) -> Identity {
    let app_user = pod.app_user();
    match (annotations.run_as_user, facts.privileged_namespace) {
        (Some(0), false) => {
            denials.push(Denial::RootNotAllowed);
            Identity::Root
        }
        (Some(user), _) if user != 0 => Identity::Restricted(Some(user)),
        (_, true) => Identity::Root,
        (_, false) if app_user == Some(0) => {
            warnings.push(format!(
                "the app runs as root; the sidecar runs as {FALLBACK_USER}: label the namespace ferry.dev/privileged-movers=true"
            ));
            Identity::Restricted(Some(FALLBACK_USER))
        }
        (_, false) => Identity::Restricted(app_user),
    }
}
