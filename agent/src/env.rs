//! Who this sidecar is, from the environment the webhook injects (downward API and the
//! `FERRY_*` variables of DESIGN.md §3).

use std::net::IpAddr;
use std::path::PathBuf;

use super::{Error, Result};

pub use ferry_api::contract::METRICS_PORT as DEFAULT_METRICS_PORT;
pub use ferry_api::contract::Role;
use ferry_api::contract::env;

/// Everything the sidecar knows about itself before talking to the API.
#[derive(Debug, Clone)]
pub struct Identity {
    /// `POD_NAME`.
    pub pod_name: String,
    /// `POD_NAMESPACE`.
    pub namespace: String,
    /// `POD_UID`.
    pub pod_uid: String,
    /// `POD_IP`, where the SSH server and the metrics listen.
    pub pod_ip: Option<IpAddr>,
    /// `SERVICE_ACCOUNT`, named in RBAC errors.
    pub service_account: String,
    /// `FERRY_ROLE`.
    pub role: Role,
    /// `FERRY_OBJECT`: the bound CR.
    pub object: String,
    /// `FERRY_VOLUME`: the pod volume replicated.
    pub volume: String,
    /// `FERRY_VOLUME_PATH`: where that volume is mounted in this container.
    pub volume_path: PathBuf,
    /// `FERRY_SCHEDULE`: the pod's schedule override.
    pub schedule: Option<String>,
    /// `FERRY_TIME_ZONE`: the pod's time zone override.
    pub time_zone: Option<String>,
    /// `FERRY_JITTER`: the pod's jitter override.
    pub jitter: Option<String>,
    /// `FERRY_METRICS_PORT`.
    pub metrics_port: u16,
    /// `FERRY_RSYNC`: the rsync program (default `rsync` on `PATH`).
    pub rsync: PathBuf,
    /// `FERRY_SCRATCH_DIR`: a private writable directory (keys written for rsync's
    /// transport, the SSH server's completion marker); default: the system temp directory.
    pub scratch: PathBuf,
    /// `FERRY_RESTORE*`: the restore step this container runs before the app starts.
    pub restore: Option<RestoreAsk>,
}

/// What the pod asks of its restore step, over the CR's `spec.rclone.restoreOnEmpty`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreAsk {
    /// `FERRY_RESTORE_COPY`: a timestamped copy by name.
    pub copy: Option<String>,
    /// `FERRY_RESTORE_ON_FAILURE`.
    pub on_failure: Option<ferry_api::types::RestoreFailurePolicy>,
}

impl Identity {
    /// Reads the environment through `var` (a function, so tests need no process env).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Identity> {
        let required = |name: &'static str| {
            var(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| Error::Env {
                    name,
                    problem: "is not set".to_owned(),
                })
        };
        let role = required(env::FERRY_ROLE)?;
        let role = Role::parse(&role).ok_or_else(|| Error::Env {
            name: env::FERRY_ROLE,
            problem: format!("\"{role}\" is neither \"source\" nor \"destination\""),
        })?;
        let pod_ip = match var(env::POD_IP).filter(|v| !v.is_empty()) {
            None => None,
            Some(text) => Some(text.parse::<IpAddr>().map_err(|_| Error::Env {
                name: env::POD_IP,
                problem: format!("\"{text}\" is not an IP address"),
            })?),
        };
        let metrics_port = match var(env::FERRY_METRICS_PORT).filter(|v| !v.is_empty()) {
            None => DEFAULT_METRICS_PORT,
            Some(text) => text.parse::<u16>().map_err(|_| Error::Env {
                name: env::FERRY_METRICS_PORT,
                problem: format!("\"{text}\" is not a port number"),
            })?,
        };
        let pod_uid = required(env::POD_UID)?;
        let scratch = var(env::FERRY_SCRATCH_DIR)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join(format!("ferry-{pod_uid}")));
        let volume = required(env::FERRY_VOLUME)?;
        let restore = match var(env::FERRY_RESTORE).as_deref() {
            Some("true") => Some(restore_ask(&var)?),
            None | Some("" | "false") => None,
            Some(other) => {
                return Err(Error::Env {
                    name: env::FERRY_RESTORE,
                    problem: format!("\"{other}\" is neither \"true\" nor \"false\""),
                });
            }
        };
        Ok(Identity {
            pod_name: required(env::POD_NAME)?,
            namespace: required(env::POD_NAMESPACE)?,
            pod_uid,
            pod_ip,
            service_account: var(env::SERVICE_ACCOUNT)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "default".to_owned()),
            role,
            object: required(env::FERRY_OBJECT)?,
            volume_path: var(env::FERRY_VOLUME_PATH)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(format!("{}/{volume}", ferry_api::contract::VOLUMES_DIR))
                }),
            volume,
            schedule: var(env::FERRY_SCHEDULE).filter(|v| !v.trim().is_empty()),
            time_zone: var(env::FERRY_TIME_ZONE).filter(|v| !v.trim().is_empty()),
            jitter: var(env::FERRY_JITTER).filter(|v| !v.trim().is_empty()),
            metrics_port,
            rsync: var(env::FERRY_RSYNC)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("rsync")),
            scratch,
            restore,
        })
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Identity> {
        Identity::from_vars(|name| std::env::var(name).ok())
    }
}

/// The copy and failure policy of `FERRY_RESTORE_COPY` and `FERRY_RESTORE_ON_FAILURE`.
fn restore_ask(var: &impl Fn(&str) -> Option<String>) -> Result<RestoreAsk> {
    let copy = var(env::FERRY_RESTORE_COPY).filter(|v| !v.is_empty());
    if let Some(copy) = &copy
        && let Err(e) = ferry_api::rules::stamp::parse(copy)
    {
        return Err(Error::Env {
            name: env::FERRY_RESTORE_COPY,
            problem: format!("\"{copy}\" {e}"),
        });
    }
    let on_failure = match var(env::FERRY_RESTORE_ON_FAILURE).filter(|v| !v.is_empty()) {
        None => None,
        Some(text) => Some(
            ferry_api::types::RestoreFailurePolicy::parse(&text).ok_or_else(|| Error::Env {
                name: env::FERRY_RESTORE_ON_FAILURE,
                problem: format!("\"{text}\" is neither \"Block\" nor \"StartEmpty\""),
            })?,
        ),
    };
    Ok(RestoreAsk { copy, on_failure })
}

/// The name of the binary with every subcommand (`ssh`, `engine`, `mover`, ...).
pub const SIDECAR_BINARY: &str = "ferry-sidecar";
/// The name of the injected sidecar's long-lived process, which `ferry-sidecar run` execs.
pub const AGENT_BINARY: &str = "ferry-agent";

/// `ferry-sidecar`, next to the running binary: the agent runs it for the S3 engine and as
/// rsync's transport, and the two always ship together (same directory, same image).
pub fn sidecar_binary() -> Result<PathBuf> {
    sibling(SIDECAR_BINARY)
}

/// `name` in the running binary's directory.
pub fn sibling(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|source| Error::Io {
        context: format!("locating this binary to find {name} next to it"),
        source,
    })?;
    Ok(exe.with_file_name(name))
}

// The API errors the agent reports name this pod's service account, so the constructor
// lives here, beside `Identity`, and the error module needs nothing from above it.
impl Error {
    /// An API error, turned into [`Error::Forbidden`] when the API said 403.
    pub fn api(action: impl Into<String>, source: kube::Error, who: &Identity) -> Error {
        let action = action.into();
        if let kube::Error::Api(status) = &source
            && status.code == 403
        {
            return Error::Forbidden {
                service_account: who.service_account.clone(),
                namespace: who.namespace.clone(),
                action,
            };
        }
        Error::Api { action, source }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn vars(extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut map: HashMap<String, String> = [
            ("POD_NAME", "app-0"),
            ("POD_NAMESPACE", "shop"),
            ("POD_UID", "u-1"),
            ("FERRY_ROLE", "source"),
            ("FERRY_OBJECT", "db"),
            ("FERRY_VOLUME", "data"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (k, v) in extra {
            map.insert((*k).to_owned(), (*v).to_owned());
        }
        map
    }

    #[test]
    fn defaults_fill_what_the_webhook_may_leave_out() {
        let env = vars(&[]);
        let id = Identity::from_vars(|k| env.get(k).cloned()).unwrap();
        assert_eq!(id.role, Role::Source);
        assert_eq!(id.volume_path, PathBuf::from("/ferry/volumes/data"));
        assert_eq!(id.metrics_port, DEFAULT_METRICS_PORT);
        assert_eq!(id.service_account, "default");
        assert!(id.pod_ip.is_none());
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (key, value) in [
            ("FERRY_ROLE", "both"),
            ("POD_IP", "not-an-ip"),
            ("FERRY_METRICS_PORT", "99999"),
            ("FERRY_RESTORE", "yes"),
        ] {
            let env = vars(&[(key, value)]);
            let err = Identity::from_vars(|k| env.get(k).cloned()).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
        let mut env = vars(&[]);
        env.remove("POD_UID");
        let err = Identity::from_vars(|k| env.get(k).cloned()).unwrap_err();
        assert!(err.to_string().contains("POD_UID"), "{err}");
    }
}
