//! The contract between Ferry's processes, one definition each so the sides cannot drift:
//! what the webhook writes into a pod and the sidecar reads back (the container name, the
//! environment, the mount paths, the ports, the role), the security context and capability
//! set the injected sidecar and the mover pod share, and what the agent hands its S3 engine
//! process ([`engine`]).

mod container;
pub mod engine;
pub mod env;
pub mod guard;
pub mod restore;
mod security;

pub use container::{PROGRAM, SidecarContainer};
pub use security::{ROOT_CAPABILITIES, security_context};

/// The injected container's name: the webhook's idempotence check and `kubectl logs -c`
/// look for it.
pub const CONTAINER: &str = "ferry-sidecar";
/// The mover pod's container name.
pub const MOVER_CONTAINER: &str = "ferry-mover";

/// Where the pod's claim volumes appear in the sidecar: `<VOLUMES_DIR>/<volume>`.
pub const VOLUMES_DIR: &str = "/ferry/volumes";
/// The sidecar's private writable directory (its root filesystem is read-only): the rsync
/// transport's key, the SSH server's completion marker.
pub const SCRATCH_DIR: &str = "/tmp";

/// The port of a destination's SSH server, and of the Service in front of it.
pub const SSH_PORT: u16 = 2222;
/// The port of the sidecar's Prometheus endpoint: one the apps we know do not use, bound
/// to the pod IP only.
pub const METRICS_PORT: u16 = 9811;

/// Which side of a replication a sidecar serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Bound to a ReplicationSource: pushes.
    Source,
    /// Bound to a ReplicationDestination: receives or pulls, then snapshots.
    Destination,
}

impl Role {
    /// The role as written in [`env::FERRY_ROLE`] and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Destination => "destination",
        }
    }

    /// The role written in [`env::FERRY_ROLE`], if it is one.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "source" => Some(Role::Source),
            "destination" => Some(Role::Destination),
            _ => None,
        }
    }

    /// The kind of CR this role binds.
    pub fn kind(self) -> &'static str {
        match self {
            Role::Source => "ReplicationSource",
            Role::Destination => "ReplicationDestination",
        }
    }
}
