//! One typed builder for the containers that run `ferry-sidecar`: the injected sidecar (the
//! webhook serialises it into its `add` patch) and the mover pod's container. Both get the
//! same command line, the downward-API variables in the same form, and the contract's
//! security context, so the two cannot drift apart again.

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, EnvVarSource, ObjectFieldSelector, ResourceRequirements,
    VolumeMount,
};

use super::security_context;

/// The program every Ferry container runs; the subcommand picks the role.
pub const PROGRAM: &str = "ferry-sidecar";

/// A `ferry-sidecar <subcommand>` container under construction.
#[derive(Debug, Clone)]
pub struct SidecarContainer(Container);

impl SidecarContainer {
    /// `ferry-sidecar <subcommand>` in `image`, named `name`, with the restricted security
    /// context (see [`SidecarContainer::security`] for root).
    pub fn new(name: &str, image: &str, subcommand: &str) -> SidecarContainer {
        SidecarContainer(Container {
            name: name.to_owned(),
            image: Some(image.to_owned()),
            command: Some(vec![PROGRAM.to_owned()]),
            args: Some(vec![subcommand.to_owned()]),
            security_context: Some(security_context(None, false)),
            ..Container::default()
        })
    }

    /// Adds a variable with a fixed value.
    #[must_use]
    pub fn env(mut self, name: &str, value: impl Into<String>) -> SidecarContainer {
        self.push_env(EnvVar {
            name: name.to_owned(),
            value: Some(value.into()),
            value_from: None,
        });
        self
    }

    /// Adds a variable the kubelet fills from the pod's own `field_path` (downward API).
    #[must_use]
    pub fn env_from_field(mut self, name: &str, field_path: &str) -> SidecarContainer {
        self.push_env(EnvVar {
            name: name.to_owned(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: None,
                    field_path: field_path.to_owned(),
                }),
                ..EnvVarSource::default()
            }),
        });
        self
    }

    /// Adds variables as they are.
    #[must_use]
    pub fn envs(mut self, vars: impl IntoIterator<Item = EnvVar>) -> SidecarContainer {
        for var in vars {
            self.push_env(var);
        }
        self
    }

    /// Mounts `volume` at `path`; `read_only` `None` leaves the field out (writable).
    #[must_use]
    pub fn mount(mut self, volume: &str, path: &str, read_only: Option<bool>) -> SidecarContainer {
        self.0
            .volume_mounts
            .get_or_insert_with(Vec::new)
            .push(VolumeMount {
                name: volume.to_owned(),
                mount_path: path.to_owned(),
                read_only,
                ..VolumeMount::default()
            });
        self
    }

    /// Runs as `run_as_user`; `root` adds the ownership capabilities (privileged-movers
    /// namespaces only).
    #[must_use]
    pub fn security(mut self, run_as_user: Option<i64>, root: bool) -> SidecarContainer {
        self.0.security_context = Some(security_context(run_as_user, root));
        self
    }

    /// The container's requests and limits.
    #[must_use]
    pub fn resources(mut self, resources: Option<ResourceRequirements>) -> SidecarContainer {
        self.0.resources = resources;
        self
    }

    /// Exposes `port` under `name` (TCP).
    #[must_use]
    pub fn port(mut self, name: &str, port: u16) -> SidecarContainer {
        self.0
            .ports
            .get_or_insert_with(Vec::new)
            .push(ContainerPort {
                name: Some(name.to_owned()),
                container_port: i32::from(port),
                protocol: Some("TCP".to_owned()),
                ..ContainerPort::default()
            });
        self
    }

    /// The finished container; the caller sets what only it needs (pull policy, restart
    /// policy of a native sidecar, termination message policy of a mover).
    pub fn build(self) -> Container {
        self.0
    }

    fn push_env(&mut self, var: EnvVar) {
        self.0.env.get_or_insert_with(Vec::new).push(var);
    }
}
