//! Starting a container's command as a local process in a private mount namespace, and
//! stopping it.
//!
//! The process is started as
//! `setpriv --pdeathsig KILL -- unshare --mount --propagation private -- sh SCRIPT CMD...`:
//! the generated script bind-mounts each volume at its `mountPath` (read-only where asked),
//! changes to the working directory and `exec`s the command, dropping to the pod's
//! `runAsUser`/`runAsGroup` with `setpriv` where set. Every step `exec`s, so the command keeps
//! the pid the runner started; it leads its own process group, which is what is signalled. It
//! dies with the runner (parent-death signal). Missing mount points are created as empty
//! directories (or files) on this machine's filesystem; the mounts themselves are visible
//! only inside the process's namespace.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::error::{Error, Result};
use super::files::check_relative;
use super::volumes::HostVolume;

/// One bind mount inside the process's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The directory or file on this machine.
    pub source: PathBuf,
    /// The `mountPath`.
    pub target: String,
    /// Remounted read-only.
    pub read_only: bool,
}

/// The identity the command runs as, from the pod's and container's security contexts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// `runAsUser`.
    pub uid: i64,
    /// `runAsGroup`, else the uid.
    pub gid: i64,
    /// `supplementalGroups` and `fsGroup`.
    pub groups: Vec<i64>,
}

/// Everything needed to start one container.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Command and arguments, expanded.
    pub command: Vec<String>,
    /// The whole environment.
    pub env: Vec<(String, String)>,
    /// Bind mounts, parents before children.
    pub mounts: Vec<Mount>,
    /// `workingDir`, else `/`.
    pub working_dir: String,
    /// Who to run as; `None` keeps root.
    pub user: Option<User>,
}

impl Launch {
    /// Refuses a program that one of the container's own mounts would hide. The container
    /// sees this machine's filesystem, so a binary under `/tmp` vanishes once the pod mounts
    /// an emptyDir at `/tmp` (the injected sidecar does); without this check the process
    /// fails later with a bare "No such file or directory".
    pub fn check_program_visible(&self) -> Result<()> {
        let Some(program) = self.command.first().map(Path::new) else {
            return Ok(());
        };
        if !program.is_absolute() {
            return Ok(());
        }
        let hiding = self
            .mounts
            .iter()
            .find(|m| program.starts_with(&m.target) && m.source != Path::new(&m.target));
        match hiding {
            Some(m) => Err(Error::Unsupported(format!(
                "the program {} lies under the container's mount {}, which hides it; keep \
                 the binaries outside the pod's mount paths (build the repository somewhere \
                 other than {})",
                program.display(),
                m.target,
                m.target
            ))),
            None => Ok(()),
        }
    }
}

/// The container's mounts: each `volumeMount` resolved against the pod's volumes, `subPath`
/// joined, ordered so that a mount point inside another is mounted after it.
pub fn mounts(
    container: &Container,
    volumes: &std::collections::BTreeMap<String, HostVolume>,
) -> Result<Vec<Mount>> {
    let mut out = Vec::new();
    for m in container.volume_mounts.as_deref().unwrap_or_default() {
        let volume = volumes.get(&m.name).ok_or_else(|| {
            Error::Unsupported(format!("volumeMount {} names no volume of the pod", m.name))
        })?;
        if m.sub_path_expr.as_deref().is_some_and(|s| !s.is_empty()) {
            return Err(Error::Unsupported(format!(
                "volumeMount {}: subPathExpr",
                m.name
            )));
        }
        if !m.mount_path.starts_with('/') {
            return Err(Error::Unsupported(format!(
                "volumeMount {}: mountPath {:?} is not absolute",
                m.name, m.mount_path
            )));
        }
        let source = match m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            Some(sub) => {
                check_relative(sub)?;
                volume.path.join(sub)
            }
            None => volume.path.clone(),
        };
        out.push(Mount {
            source,
            target: m.mount_path.clone(),
            read_only: m.read_only.unwrap_or(false) || volume.read_only,
        });
    }
    out.sort_by_key(|m| Path::new(&m.target).components().count());
    Ok(out)
}

/// The user to run as, when the pod or container sets `runAsUser`.
pub fn user(pod: &Pod, container: &Container) -> Option<User> {
    let pod_sc = pod.spec.as_ref().and_then(|s| s.security_context.as_ref());
    let sc = container.security_context.as_ref();
    let uid = sc
        .and_then(|s| s.run_as_user)
        .or_else(|| pod_sc.and_then(|s| s.run_as_user))?;
    let gid = sc
        .and_then(|s| s.run_as_group)
        .or_else(|| pod_sc.and_then(|s| s.run_as_group))
        .unwrap_or(uid);
    let mut groups: Vec<i64> = pod_sc
        .and_then(|s| s.supplemental_groups.clone())
        .unwrap_or_default();
    groups.extend(pod_sc.and_then(|s| s.fs_group));
    groups.sort_unstable();
    groups.dedup();
    Some(User { uid, gid, groups })
}

/// Single-quotes `s` for `sh`.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The shell script run inside the new mount namespace; the command follows as `"$@"`.
pub fn script(launch: &Launch, what: &str) -> String {
    let mut s = String::from(
        "#!/bin/sh\n\
         # Written by ferry-pod-runner; runs in the process's private mount namespace.\n",
    );
    s.push_str(&format!("# {}\n", what.replace('\n', " ")));
    s.push_str(
        "set -eu\n\
         umask 022\n\
         bind() { # SOURCE TARGET ro|rw\n\
         \x20   [ -e \"$1\" ] || mkdir -p \"$1\"\n\
         \x20   if [ -d \"$1\" ]; then mkdir -p \"$2\"\n\
         \x20   else mkdir -p \"$(dirname \"$2\")\"; [ -e \"$2\" ] || : >\"$2\"; fi\n\
         \x20   mount --bind \"$1\" \"$2\"\n\
         \x20   if [ \"$3\" = ro ]; then mount -o remount,bind,ro \"$2\"; fi\n\
         }\n",
    );
    for m in &launch.mounts {
        s.push_str(&format!(
            "bind {} {} {}\n",
            quote(&m.source.display().to_string()),
            quote(&m.target),
            if m.read_only { "ro" } else { "rw" }
        ));
    }
    s.push_str(&format!("cd {}\n", quote(&launch.working_dir)));
    match &launch.user {
        None => s.push_str("exec \"$@\"\n"),
        Some(u) => {
            let groups = if u.groups.is_empty() {
                "--clear-groups".to_owned()
            } else {
                format!(
                    "--groups={}",
                    u.groups
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                )
            };
            // Changing the uid clears the parent-death signal: set it again.
            s.push_str(&format!(
                "exec setpriv --reuid={} --regid={} {groups} --pdeathsig=KILL -- \"$@\"\n",
                u.uid, u.gid
            ));
        }
    }
    s
}

/// The command line before the script and the container's command: a private mount
/// namespace for the process, which dies with its parent. Every `exec` keeps the pid, so the
/// pid started is the container command's.
pub const LAUNCHER: [&str; 9] = [
    "setpriv",
    "--pdeathsig=KILL",
    "--",
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "--",
    "/bin/sh",
];

/// A started container process.
#[derive(Debug)]
pub struct Process {
    child: tokio::process::Child,
    pgid: Pid,
}

/// Writes the script to `script_path` and starts the command, appending its output to `log`.
pub fn spawn(launch: &Launch, what: &str, script_path: &Path, log: &Path) -> Result<Process> {
    std::fs::write(script_path, script(launch, what))
        .map_err(|e| Error::io(format!("writing {}", script_path.display()), e))?;
    std::fs::set_permissions(script_path, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io(format!("chmod {}", script_path.display()), e))?;
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| Error::io(format!("opening {}", log.display()), e))?;
    let err = out
        .try_clone()
        .map_err(|e| Error::io(format!("opening {}", log.display()), e))?;
    let mut command = tokio::process::Command::new(LAUNCHER[0]);
    command
        .args(&LAUNCHER[1..])
        .arg(script_path)
        .args(&launch.command)
        .env_clear()
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0);
    let child = command
        .spawn()
        .map_err(|e| Error::io(format!("starting {what}"), e))?;
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .ok_or_else(|| Error::Config(format!("{what} has no pid")))?;
    Ok(Process {
        child,
        pgid: Pid::from_raw(pid),
    })
}

impl Process {
    /// Waits for the command to exit and returns its exit code (128 + signal when killed, as
    /// container runtimes report it). Whatever else is left in its process group is killed,
    /// as a container's are when its main process ends.
    pub async fn wait(&mut self) -> Result<i32> {
        let status = self
            .child
            .wait()
            .await
            .map_err(|e| Error::io("waiting for a container process", e))?;
        let _ = killpg(self.pgid, Signal::SIGKILL);
        Ok(status
            .code()
            .or_else(|| status.signal().map(|s| 128 + s))
            .unwrap_or(255))
    }

    /// Sends `signal` to the process group.
    pub fn signal(&self, signal: Signal) -> Result<()> {
        match killpg(self.pgid, signal) {
            Ok(()) | Err(nix::Error::ESRCH) => Ok(()),
            Err(source) => Err(Error::Signal {
                pgid: self.pgid.as_raw(),
                source,
            }),
        }
    }

    /// SIGTERM, then SIGKILL after `grace`, as the kubelet stops a container; returns the
    /// exit code.
    pub async fn stop(&mut self, grace: Duration) -> Result<i32> {
        self.signal(Signal::SIGTERM)?;
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(_) => {}
            Err(_) => self.signal(Signal::SIGKILL)?,
        }
        self.wait().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn container(value: serde_json::Value) -> Container {
        serde_json::from_value(value).unwrap()
    }

    fn volumes() -> BTreeMap<String, HostVolume> {
        [
            ("data", "/srv/pvc-1", false),
            ("token", "/run/x/token", true),
        ]
        .into_iter()
        .map(|(n, p, ro)| {
            (
                n.to_owned(),
                HostVolume {
                    path: p.into(),
                    read_only: ro,
                },
            )
        })
        .collect()
    }

    #[test]
    fn mounts_honour_sub_path_read_only_and_nesting() {
        let c = container(json!({"name": "c", "volumeMounts": [
            {"name": "data", "mountPath": "/data/inner/deeper", "subPath": "a/b"},
            {"name": "data", "mountPath": "/data", "readOnly": true},
            {"name": "token", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"},
        ]}));
        let m = mounts(&c, &volumes()).unwrap();
        assert_eq!(m[0].target, "/data");
        assert!(m[0].read_only);
        assert_eq!(m[1].source, PathBuf::from("/srv/pvc-1/a/b"));
        assert!(!m[1].read_only);
        assert_eq!(m[2].target, "/var/run/secrets/kubernetes.io/serviceaccount");
        assert!(
            m[2].read_only,
            "a token volume is read-only whatever the mount says"
        );
    }

    #[test]
    fn bad_mounts_are_refused() {
        for mount in [
            json!({"name": "nope", "mountPath": "/x"}),
            json!({"name": "data", "mountPath": "/x", "subPath": "../etc"}),
            json!({"name": "data", "mountPath": "relative"}),
            json!({"name": "data", "mountPath": "/x", "subPathExpr": "$(POD)"}),
        ] {
            let c = container(json!({"name": "c", "volumeMounts": [mount]}));
            assert!(mounts(&c, &volumes()).is_err(), "{c:?}");
        }
    }

    #[test]
    fn users_come_from_the_container_then_the_pod() {
        let pod: Pod = serde_json::from_value(json!({"spec": {"containers": [],
            "securityContext": {"runAsUser": 1000, "fsGroup": 2000, "supplementalGroups": [3000]}}}))
        .unwrap();
        let c = container(json!({"name": "c", "securityContext": {"runAsUser": 65532}}));
        assert_eq!(
            user(&pod, &c),
            Some(User {
                uid: 65532,
                gid: 65532,
                groups: vec![2000, 3000]
            })
        );
        let root: Pod = serde_json::from_value(json!({"spec": {"containers": []}})).unwrap();
        assert_eq!(user(&root, &container(json!({"name": "c"}))), None);
    }

    #[test]
    fn the_script_binds_then_execs() {
        let launch = Launch {
            command: vec!["sh".into()],
            env: vec![],
            mounts: vec![Mount {
                source: "/srv/it's".into(),
                target: "/data".into(),
                read_only: true,
            }],
            working_dir: "/data".into(),
            user: Some(User {
                uid: 1000,
                gid: 1000,
                groups: vec![],
            }),
        };
        let s = script(&launch, "ns/pod ferry-sidecar");
        assert!(s.contains(r"bind '/srv/it'\''s' '/data' ro"), "{s}");
        assert!(s.contains("cd '/data'\n"));
        assert!(s.ends_with(
            "exec setpriv --reuid=1000 --regid=1000 --clear-groups --pdeathsig=KILL -- \"$@\"\n"
        ));
    }

    #[test]
    fn a_program_under_a_mount_is_refused_with_the_fix() {
        let launch = |program: &str| Launch {
            command: vec![program.to_owned(), "run".to_owned()],
            env: Vec::new(),
            mounts: vec![Mount {
                source: "/var/lib/pods/p1/volumes/tmp".into(),
                target: "/tmp".to_owned(),
                read_only: false,
            }],
            working_dir: "/".to_owned(),
            user: None,
        };
        let err = launch("/tmp/ferry/target/debug/ferry-sidecar")
            .check_program_visible()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/tmp/ferry/target/debug/ferry-sidecar"),
            "{err}"
        );
        assert!(err.contains("somewhere other than /tmp"), "{err}");
        launch("/work/ferry/target/debug/ferry-sidecar")
            .check_program_visible()
            .unwrap();
        // Component-wise: /tmpfs is not under /tmp.
        launch("/tmpfs/ferry-sidecar")
            .check_program_visible()
            .unwrap();
        launch("sh").check_program_visible().unwrap();
    }
}
