//! The security context of the injected sidecar and of the mover pod: restricted Pod
//! Security by default; root, where a namespace allows it, with only the capabilities that
//! reading everything and preserving ownership need.

use k8s_openapi::api::core::v1::{Capabilities, SeccompProfile, SecurityContext};

/// Capabilities of a root sidecar or mover (namespaces labelled
/// `ferry.dev/privileged-movers`): enough to read every file and keep ownership.
pub const ROOT_CAPABILITIES: [&str; 5] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
];

/// Restricted Pod Security (non-root, no privilege escalation, all capabilities dropped,
/// read-only root filesystem, RuntimeDefault seccomp), running as `run_as_user` when given;
/// with `root`, the same but as root with [`ROOT_CAPABILITIES`] added.
pub fn security_context(run_as_user: Option<i64>, root: bool) -> SecurityContext {
    SecurityContext {
        run_as_user,
        run_as_non_root: Some(!root),
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_owned()]),
            add: root.then(|| ROOT_CAPABILITIES.iter().map(|c| (*c).to_owned()).collect()),
        }),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_owned(),
            localhost_profile: None,
        }),
        ..SecurityContext::default()
    }
}
