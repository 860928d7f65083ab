//! The test cluster's real node: a kubelet with containerd and runc, pods on a CNI bridge,
//! Services through kube-proxy and CoreDNS, volumes published by our CSI driver's node
//! service, and images built here with buildah. Each test reads what a user would: `kubectl`,
//! pod logs, the driver's volume directory, the node's processes, mounts and cgroups.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use ferry_e2e::cluster::repo_root;
use ferry_e2e::local::volume_dir;
use ferry_e2e::process::run_within;
use ferry_e2e::wait::eventually;
use ferry_e2e::{Cluster, TestNamespace};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use serde::Deserialize;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(90);
/// The node's name (`tests/cluster/lib.sh`).
const NODE: &str = "ferry-node";
/// A uid no image knows: the app's arbitrary user.
const APP_UID: u32 = 4321;

/// What `ferry-probe write` and `ferry-probe stat` print about a file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileStat {
    size: u64,
    sha256: String,
    mode: String,
    uid: u32,
    gid: u32,
    mtime_ns: i64,
}

/// A pod for the real node (the selector and the toleration of its taint), from the test app
/// image, as `uid` with a read-only root, no capabilities and no privilege escalation.
fn node_pod(name: &str, uid: u32, args: &[&str], claim: Option<&str>) -> anyhow::Result<Value> {
    let cluster = Cluster::shared();
    let mut container = json!({
        "name": "app",
        "image": cluster.var("FERRY_TEST_APP_IMAGE")?,
        "imagePullPolicy": "Never",
        "command": args,
        "securityContext": {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]}},
    });
    let mut spec = json!({
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 1,
        "nodeSelector": {"kubernetes.io/hostname": NODE},
        "tolerations": [{"key": "ferry.dev/test-node", "operator": "Exists", "effect": "NoSchedule"}],
        "securityContext": {"runAsUser": uid, "runAsGroup": uid, "runAsNonRoot": true,
            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [],
    });
    if let Some(claim) = claim {
        container["volumeMounts"] = json!([{"name": "data", "mountPath": "/data"}]);
        spec["volumes"] = json!([{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]);
    }
    spec["containers"] = json!([container]);
    Ok(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}))
}

/// `kubectl apply` of `objects` in `ns`.
fn apply(ns: &str, objects: &[Value]) -> anyhow::Result<()> {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
    Cluster::shared()
        .kubectl_stdin(["apply", "-n", ns, "-f", "-"], &list.to_string())?
        .ok()?;
    Ok(())
}

/// Waits until pod `name` has run to completion; fails with its logs if it failed.
async fn succeeded(client: &kube::Client, ns: &str, name: &str) -> anyhow::Result<Pod> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let pod = eventually(LIMIT, &format!("pod {ns}/{name} to finish"), || async {
        let pod = pods.get(name).await?;
        let phase = pod.status.as_ref().and_then(|s| s.phase.clone());
        Ok(matches!(phase.as_deref(), Some("Succeeded" | "Failed")).then_some(pod))
    })
    .await?;
    let status = pod.status.clone().unwrap_or_default();
    if status.phase.as_deref() != Some("Succeeded") {
        bail!(
            "pod {ns}/{name} ended {:?} ({}: {}); logs:\n{}",
            status.phase,
            status.reason.unwrap_or_default(),
            status.message.unwrap_or_default(),
            logs(ns, name).unwrap_or_default()
        );
    }
    Ok(pod)
}

/// Waits until pod `name` is Ready.
async fn ready(client: &kube::Client, ns: &str, name: &str) -> anyhow::Result<()> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    eventually(LIMIT, &format!("pod {ns}/{name} to be Ready"), || async {
        let status = pods.get(name).await?.status.unwrap_or_default();
        if status.phase.as_deref() == Some("Failed") {
            bail!(
                "pod {ns}/{name} failed ({}: {})",
                status.reason.unwrap_or_default(),
                status.message.unwrap_or_default()
            );
        }
        let conditions = status.conditions.unwrap_or_default();
        Ok(conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
            .then_some(()))
    })
    .await
}

fn logs(ns: &str, name: &str) -> anyhow::Result<String> {
    Ok(Cluster::shared()
        .kubectl(["logs", "-n", ns, name])?
        .ok()?
        .stdout)
}

fn claim(name: &str, source: Option<&str>) -> Value {
    let mut claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "csi-hostpath-sc",
            "resources": {"requests": {"storage": "1Mi"}}}});
    if let Some(snapshot) = source {
        claim["spec"]["dataSource"] = json!({"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": snapshot});
    }
    claim
}

/// The file the first pod writes: content, mode and an mtime with nanoseconds.
const CONTENT: &str = "written inside a container on the real node\n";
const MODE: &str = "0640";
const MTIME: &str = "2021-03-04T05:06:07.123456789Z";
const MTIME_NS: i64 = 1_614_834_367_123_456_789;

/// A claim `data` in `ns`, and a pod that writes `/data/file.txt` into it as [`APP_UID`];
/// returns what the pod printed about the file.
async fn write_through_a_pod(client: &kube::Client, ns: &str) -> anyhow::Result<FileStat> {
    apply(
        ns,
        &[
            claim("data", None),
            node_pod(
                "writer",
                APP_UID,
                &[
                    "ferry-probe",
                    "write",
                    "/data/file.txt",
                    CONTENT,
                    MODE,
                    MTIME,
                ],
                Some("data"),
            )?,
        ],
    )?;
    succeeded(client, ns, "writer").await?;
    let out = logs(ns, "writer")?;
    serde_json::from_str(out.trim()).with_context(|| format!("the writer printed {out:?}"))
}

#[tokio::test]
async fn kubectl_shows_one_ready_node_running_containerd_2_4() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let out = cluster
        .kubectl(["get", "nodes", "-o", "wide"])?
        .ok()?
        .stdout;
    let with_runtime: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("containerd://"))
        .collect();
    assert_eq!(with_runtime.len(), 1, "nodes:\n{out}");
    let fields: Vec<&str> = with_runtime[0].split_whitespace().collect();
    assert_eq!(fields.first(), Some(&NODE), "nodes:\n{out}");
    assert_eq!(fields.get(1), Some(&"Ready"), "nodes:\n{out}");
    assert!(
        fields.iter().any(|f| f.starts_with("containerd://2.4.")),
        "nodes:\n{out}"
    );
    Ok(())
}

#[tokio::test]
async fn a_pod_writes_to_a_csi_volume_as_a_non_root_user_and_the_driver_directory_holds_it()
-> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, "node-volume", &[])?;
    let client = cluster.client().await?;
    let written = write_through_a_pod(&client, &ns.name).await?;
    assert_eq!((written.uid, written.gid), (APP_UID, APP_UID));

    let pod: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    let status = pod.get("writer").await?.status.unwrap_or_default();
    let image = status
        .container_statuses
        .unwrap_or_default()
        .first()
        .map(|c| c.image.clone())
        .unwrap_or_default();
    assert_eq!(image, cluster.var("FERRY_TEST_APP_IMAGE")?);

    let dir = volume_dir(cluster, &client, &ns.name, "data", LIMIT).await?;
    let file = dir.join("file.txt");
    assert_eq!(std::fs::read_to_string(&file)?, CONTENT);
    let meta = std::fs::metadata(&file)?;
    use std::os::unix::fs::MetadataExt;
    assert_eq!((meta.uid(), meta.gid()), (APP_UID, APP_UID));
    assert_eq!(format!("{:04o}", meta.mode() & 0o7777), MODE);
    assert_eq!(meta.mtime() * 1_000_000_000 + meta.mtime_nsec(), MTIME_NS);
    Ok(())
}

#[tokio::test]
async fn a_snapshot_restored_into_a_new_claim_gives_a_second_pod_the_file_to_the_nanosecond()
-> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, "node-restore", &[])?;
    let client = cluster.client().await?;
    let written = write_through_a_pod(&client, &ns.name).await?;
    assert_eq!(written.mtime_ns, MTIME_NS);

    apply(
        &ns.name,
        &[
            json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
            "metadata": {"name": "snap"},
            "spec": {"volumeSnapshotClassName": "csi-hostpath-snapclass",
                "source": {"persistentVolumeClaimName": "data"}}}),
        ],
    )?;
    eventually(LIMIT, "VolumeSnapshot snap readyToUse", || async {
        let out = cluster
            .kubectl([
                "get",
                "volumesnapshot",
                "snap",
                "-n",
                &ns.name,
                "-o",
                "jsonpath={.status.readyToUse}",
            ])?
            .stdout;
        Ok((out == "true").then_some(()))
    })
    .await?;
    apply(
        &ns.name,
        &[
            claim("restored", Some("snap")),
            node_pod(
                "reader",
                APP_UID,
                &["ferry-probe", "stat", "/data/file.txt"],
                Some("restored"),
            )?,
        ],
    )?;
    succeeded(&client, &ns.name, "reader").await?;
    let out = logs(&ns.name, "reader")?;
    let read: FileStat =
        serde_json::from_str(out.trim()).with_context(|| format!("the reader printed {out:?}"))?;
    assert_eq!(
        read, written,
        "the restored file differs from the written one"
    );
    assert_eq!(read.mode, MODE);
    assert_eq!(read.size, CONTENT.len() as u64);
    Ok(())
}

#[tokio::test]
async fn a_service_is_reached_by_its_dns_name_from_a_pod_in_another_namespace() -> anyhow::Result<()>
{
    let cluster = Cluster::shared();
    let server_ns = TestNamespace::create(cluster, "node-dns-server", &[])?;
    let client_ns = TestNamespace::create(cluster, "node-dns-client", &[])?;
    let client = cluster.client().await?;
    let text = format!("hello from {}", server_ns.name);
    let mut server = node_pod(
        "web",
        1000,
        &["ferry-probe", "serve", ":8080", text.as_str()],
        None,
    )?;
    server["metadata"]["labels"] = json!({"app": "web"});
    server["spec"]["restartPolicy"] = json!("Always");
    server["spec"]["containers"][0]["readinessProbe"] =
        json!({"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1});
    apply(
        &server_ns.name,
        &[
            server,
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
        ],
    )?;
    ready(&client, &server_ns.name, "web").await?;

    let url = format!("http://web.{}.svc.cluster.local/", server_ns.name);
    apply(
        &client_ns.name,
        &[node_pod(
            "client",
            1000,
            &["ferry-probe", "get", url.as_str(), "30"],
            None,
        )?],
    )?;
    succeeded(&client, &client_ns.name, "client").await?;
    assert_eq!(logs(&client_ns.name, "client")?, text);
    // The request came through the Service: the server saw it.
    assert!(
        logs(&server_ns.name, "web")?.contains("GET / from 10.244."),
        "{}",
        logs(&server_ns.name, "web")?
    );
    Ok(())
}

#[tokio::test]
async fn kubectl_logs_and_exec_work_on_a_pod_of_the_node() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, "node-exec", &[])?;
    let client = cluster.client().await?;
    let mut pod = node_pod(
        "shell",
        1000,
        &["sh", "-c", "echo started as $(id -u); exec sleep 3600"],
        None,
    )?;
    pod["spec"]["containers"][0]["readinessProbe"] =
        json!({"exec": {"command": ["true"]}, "periodSeconds": 1});
    apply(&ns.name, &[pod])?;
    ready(&client, &ns.name, "shell").await?;

    let logged = eventually(LIMIT, "the pod's first log line", || async {
        let out = logs(&ns.name, "shell")?;
        Ok((!out.is_empty()).then_some(out))
    })
    .await?;
    assert_eq!(logged, "started as 1000\n");
    let out = cluster
        .kubectl([
            "exec",
            "-n",
            &ns.name,
            "shell",
            "--",
            "sh",
            "-c",
            "id -u; echo $((6 * 7)); tr '\\0' ' ' </proc/1/cmdline; echo",
        ])?
        .ok()?
        .stdout;
    assert_eq!(out, "1000\n42\nsleep 3600 \n");
    Ok(())
}

#[tokio::test]
async fn make_images_builds_the_webhook_and_sidecar_and_a_container_of_each_prints_its_version()
-> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let version = env!("CARGO_PKG_VERSION");
    let mut make = Command::new("make");
    make.current_dir(repo_root())
        .arg("images")
        .arg("IMAGE_PROFILE=debug")
        .arg(format!("CLUSTER_STATE={}", cluster.state.display()))
        // The buildah path, even where a Docker engine runs: it is the one that imports into
        // the node.
        .arg("DOCKER=false");
    let out = run_within(&mut make, Duration::from_secs(900))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "make images failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    let ns = TestNamespace::create(cluster, "node-images", &[])?;
    let client = cluster.client().await?;
    let mut pods = Vec::new();
    for (name, uid) in [("webhook", 65532), ("sidecar", 65532)] {
        let image = format!("ghcr.io/ferry-dev/ferry-{name}:{version}");
        let mut pod = node_pod(name, uid, &[], None)?;
        let container = &mut pod["spec"]["containers"][0];
        container["image"] = json!(image);
        if let Some(c) = container.as_object_mut() {
            c.remove("command");
        }
        container["args"] = json!(["--version"]);
        pods.push(pod);
    }
    apply(&ns.name, &pods)?;
    for name in ["webhook", "sidecar"] {
        succeeded(&client, &ns.name, name).await?;
        assert_eq!(
            logs(&ns.name, name)?,
            format!("ferry-{name} {version}\n"),
            "make images said:\n{stderr}"
        );
    }
    Ok(())
}

/// A process told apart from a later one that reuses its pid (pids wrap at 32768 here): its
/// pid and its start time in clock ticks since boot.
type Process = (u32, u64);

/// The process `pid` is, if it runs: an exited one that init has not reaped yet (a zombie:
/// `setsid -f` leaves the components to init) does not.
fn process(pid: u32) -> Option<Process> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command, which is in parentheses and may hold spaces: the state
    // (field 3) first, the start time (field 22) 20th.
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split(' ').collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    let start = fields.get(19)?.parse().ok()?;
    Some((pid, start))
}

/// The processes of a state dir's `pids/*.pid`.
fn recorded_processes(state: &Path) -> anyhow::Result<Vec<Process>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(state.join("pids"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "pid") {
            let pid = std::fs::read_to_string(&path)?.trim().parse()?;
            found.extend(process(pid));
        }
    }
    Ok(found)
}

/// Processes whose command line names `needle` (the node's containerd socket: its shims).
fn processes_naming(needle: &str) -> anyhow::Result<Vec<Process>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            found.extend(process(pid));
        }
    }
    Ok(found)
}

fn mounts_under(dir: &Path) -> anyhow::Result<Vec<String>> {
    let prefix = format!("{}/", dir.display());
    Ok(std::fs::read_to_string("/proc/self/mountinfo")?
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&prefix))
        .map(str::to_owned)
        .collect())
}

fn cgroups_named(name: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/sys/fs/cgroup")? {
        let dir = entry?.path().join(name);
        if dir.exists() {
            found.push(dir);
        }
    }
    Ok(found)
}

/// The VM-wide sysctls the kubelet rewrites.
fn sysctls() -> anyhow::Result<Vec<(String, String)>> {
    [
        "vm/overcommit_memory",
        "vm/panic_on_oom",
        "kernel/panic",
        "kernel/panic_on_oops",
        "kernel/keys/root_maxkeys",
        "kernel/keys/root_maxbytes",
    ]
    .iter()
    .map(|k| {
        let v = std::fs::read_to_string(Path::new("/proc/sys").join(k))?;
        Ok(((*k).to_owned(), v.trim().to_owned()))
    })
    .collect()
}

fn env_var(state: &Path, name: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(state.join("env"))?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("export {name}=")))
        .map(|v| v.trim_matches('\'').to_owned())
        .with_context(|| format!("{name} is not in {}", state.join("env").display()))
}

#[tokio::test]
async fn down_leaves_no_process_mount_or_cgroup_and_restores_the_sysctls() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let kubectl = cluster.var("KUBECTL")?.to_owned();
    let scratch = tempfile::Builder::new()
        .prefix("ferry-down-")
        .tempdir_in("/tmp")?;
    let state = scratch.path().join("c");
    let before = sysctls()?;

    let up = run_within(
        Command::new(repo_root().join("tests/cluster/up")).arg(&state),
        Duration::from_secs(600),
    )?;
    ensure!(
        up.status.success(),
        "up failed:\n{}",
        String::from_utf8_lossy(&up.stderr)
    );
    // A pod with a volume, so that there are mounts, a shim, a pod network and pod cgroups.
    let kc = |args: &[&str], stdin: Option<&str>| -> anyhow::Result<String> {
        let mut cmd = Command::new(&kubectl);
        cmd.args(args).env("KUBECONFIG", state.join("kubeconfig"));
        if let Some(text) = stdin {
            let path = scratch.path().join("objects.json");
            std::fs::write(&path, text)?;
            cmd.arg("-f").arg(&path);
        }
        let out = run_within(&mut cmd, Duration::from_secs(120))?;
        ensure!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let pod = node_pod("held", 1000, &["sleep", "3600"], Some("held"))?;
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [claim("held", None), pod]});
    kc(&["apply", "-n", "default"], Some(&list.to_string()))?;
    kc(
        &[
            "wait",
            "-n",
            "default",
            "--for=condition=Ready",
            "pod/held",
            "--timeout=90s",
        ],
        None,
    )?;

    let containerd_socket = env_var(&state, "FERRY_NODE_CONTAINERD")?;
    let cgroup_root = env_var(&state, "FERRY_NODE_CGROUP_ROOT")?;
    let mut ours = recorded_processes(&state)?;
    let shims = processes_naming(&format!("-address\0{containerd_socket}"))?;
    ensure!(!shims.is_empty(), "no containerd shim runs the pod");
    ours.extend(shims);
    ensure!(
        !mounts_under(&state)?.is_empty(),
        "no mounts under {}",
        state.display()
    );
    ensure!(
        !cgroups_named(&cgroup_root)?.is_empty(),
        "no cgroup {cgroup_root}"
    );

    let down = run_within(
        Command::new(repo_root().join("tests/cluster/down")).arg(&state),
        Duration::from_secs(300),
    )?;
    ensure!(
        down.status.success(),
        "down failed:\n{}",
        String::from_utf8_lossy(&down.stderr)
    );
    let alive: Vec<Process> = ours
        .into_iter()
        .filter(|&(pid, start)| process(pid) == Some((pid, start)))
        .collect();
    assert!(alive.is_empty(), "still running after down: {alive:?}");
    assert!(
        processes_naming(&state.display().to_string())?.is_empty(),
        "processes naming {} remain",
        state.display()
    );
    assert_eq!(mounts_under(scratch.path())?, Vec::<String>::new());
    assert_eq!(cgroups_named(&cgroup_root)?, Vec::<PathBuf>::new());
    assert_eq!(sysctls()?, before);
    assert!(!state.exists(), "{} is still there", state.display());
    Ok(())
}
