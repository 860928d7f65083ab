//! The mover pod's manifest: a pure function of [`Spec`], so every field is unit-tested.

use ferry_api::annotations::MOVER_LABEL;
use ferry_api::contract::{SidecarContainer, env};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, PersistentVolumeClaimVolumeSource, Pod, PodSpec,
    SecretVolumeSource, Volume,
};
use kube::api::ObjectMeta;

use super::{CONTAINER, Spec, VOLUME_PATH};

/// The volume of the temporary PVC.
const DATA_VOLUME: &str = "data";
/// A writable `/tmp`, since the root filesystem is read-only.
const TMP_VOLUME: &str = "tmp";

/// The name of the volume of the `index`th Secret.
fn secret_volume(index: usize) -> String {
    format!("ferry-secret-{index}")
}

/// The mover pod for `spec`: `ferry-sidecar mover` in the sidecar's image, with the temporary
/// PVC at [`VOLUME_PATH`], its Secrets read-only, the downward-API identity it needs to report
/// on itself, and restricted Pod Security unless it runs as root.
pub fn pod(spec: &Spec) -> Pod {
    let mut labels = spec.labels.clone();
    labels.insert(MOVER_LABEL.to_owned(), "true".to_owned());
    Pod {
        metadata: ObjectMeta {
            name: Some(spec.name.clone()),
            namespace: Some(spec.namespace.clone()),
            labels: Some(labels),
            owner_references: spec.owner.as_ref().map(|o| vec![o.reference()]),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            restart_policy: Some("Never".to_owned()),
            service_account_name: spec.service_account.clone(),
            // The mover reports its result through the API, whatever the account's default.
            automount_service_account_token: Some(true),
            security_context: spec.pod_security_context.clone(),
            containers: vec![container(spec)],
            volumes: Some(volumes(spec)),
            ..PodSpec::default()
        }),
        status: None,
    }
}

fn container(spec: &Spec) -> Container {
    // Root when asked for with `run_as_user: Some(0)`, or by the CR's `moverSecurityContext`;
    // it keeps the rest of the restricted context and gets only the ownership capabilities.
    let user = spec.run_as_user.or_else(|| {
        spec.pod_security_context
            .as_ref()
            .and_then(|c| c.run_as_user)
    });
    let mut built = SidecarContainer::new(CONTAINER, &spec.image, "mover")
        .envs(spec.env.iter().cloned())
        .env_from_field(env::POD_NAME, "metadata.name")
        .env_from_field(env::POD_NAMESPACE, "metadata.namespace")
        .env_from_field(env::POD_UID, "metadata.uid")
        .env_from_field(env::POD_IP, "status.podIP")
        .mount(DATA_VOLUME, VOLUME_PATH, Some(spec.read_only))
        .mount(TMP_VOLUME, "/tmp", None);
    for (i, (_, path)) in spec.secrets.iter().enumerate() {
        built = built.mount(&secret_volume(i), path, Some(true));
    }
    let mut container = built
        .resources(spec.resources.clone())
        .security(spec.run_as_user, user == Some(0))
        .build();
    // On failure the log's tail becomes the termination message, which the sidecar puts
    // in latestMoverStatus when the mover could not report anything itself.
    container.termination_message_policy = Some("FallbackToLogsOnError".to_owned());
    container
}

fn volumes(spec: &Spec) -> Vec<Volume> {
    let mut volumes = vec![
        Volume {
            name: DATA_VOLUME.to_owned(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: spec.claim.clone(),
                read_only: Some(spec.read_only),
            }),
            ..Volume::default()
        },
        Volume {
            name: TMP_VOLUME.to_owned(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        },
    ];
    volumes.extend(
        spec.secrets
            .iter()
            .enumerate()
            .map(|(i, (secret, _))| Volume {
                name: secret_volume(i),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(secret.clone()),
                    default_mode: Some(0o444),
                    // Optional, as in the injected sidecar: a missing Secret then fails the
                    // mover at once with its own message, instead of leaving the pod waiting
                    // for the volume until the sync times out.
                    optional: Some(true),
                    ..SecretVolumeSource::default()
                }),
                ..Volume::default()
            }),
    );
    volumes
}
