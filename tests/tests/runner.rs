//! The pod runner, the test cluster's one stand-in for a kubelet: it runs the `ferry-sidecar`
//! container of a pod as a local process with the pod's volumes, environment and API access,
//! reports the pod's status, and leaves application containers alone. And `down` leaves no
//! process behind.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use ferry_e2e::local::{container_log, require_runner, volume_dir};
use ferry_e2e::wait::eventually;
use ferry_e2e::{Cluster, TestNamespace};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

const LIMIT: Duration = Duration::from_secs(60);
/// The sidecar's image: nothing is pulled, the runner runs the command from this machine.
const IMAGE: &str = "ghcr.io/ferry-dev/ferry-sidecar:test";

async fn setup(prefix: &str) -> anyhow::Result<(&'static Cluster, TestNamespace, kube::Client)> {
    let cluster = Cluster::shared();
    require_runner(cluster)?;
    let ns = TestNamespace::create(cluster, prefix, &[])?;
    let client = cluster.client().await?;
    Ok((cluster, ns, client))
}

async fn apply(client: &kube::Client, ns: &str, objects: &[Value]) -> anyhow::Result<()> {
    for object in objects {
        let kind = object["kind"].as_str().unwrap_or_default();
        let (group, version) = match object["apiVersion"]
            .as_str()
            .unwrap_or("v1")
            .split_once('/')
        {
            Some((g, v)) => (g.to_owned(), v.to_owned()),
            None => (String::new(), "v1".to_owned()),
        };
        let gvk = kube::core::GroupVersionKind::gvk(&group, &version, kind);
        let resource = kube::core::ApiResource::from_gvk(&gvk);
        let api: Api<kube::core::DynamicObject> =
            Api::namespaced_with(client.clone(), ns, &resource);
        let dynamic: kube::core::DynamicObject = serde_json::from_value(object.clone())?;
        api.create(&PostParams::default(), &dynamic)
            .await
            .with_context(|| format!("creating {kind}"))?;
    }
    Ok(())
}

fn claim(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "csi-hostpath-sc",
            "resources": {"requests": {"storage": "1Mi"}}}})
}

/// Waits until the pod's phase is one of `phases`.
async fn phase(pods: &Api<Pod>, name: &str, phases: &[&str]) -> anyhow::Result<Pod> {
    eventually(
        LIMIT,
        &format!("pod {name} in phase {phases:?}"),
        || async {
            let pod = pods.get(name).await?;
            let now = pod
                .status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_default();
            Ok(phases.contains(&now.as_str()).then_some(pod))
        },
    )
    .await
}

fn terminated(pod: &Pod, init: bool) -> Value {
    let status = serde_json::to_value(pod.status.clone()).unwrap_or_default();
    let list = if init {
        "initContainerStatuses"
    } else {
        "containerStatuses"
    };
    status[list]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["name"] == "ferry-sidecar"))
        .map(|c| c["state"]["terminated"].clone())
        .unwrap_or_default()
}

fn log_of(cluster: &Cluster, pod: &Pod) -> anyhow::Result<String> {
    let path = container_log(cluster, pod, "ferry-sidecar")?;
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

#[tokio::test]
async fn a_native_ferry_sidecar_writes_its_pod_name_into_its_claim_and_the_pod_succeeds()
-> anyhow::Result<()> {
    let (cluster, ns, client) = setup("run-write").await?;
    apply(&client, &ns.name, &[claim("data"), json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "writer"},
        "spec": {
            "initContainers": [{
                "name": "ferry-sidecar", "image": IMAGE, "restartPolicy": "Always",
                "command": ["sh", "-c", "echo \"$POD_NAME\" > /ferry/volumes/data/pod-name"],
                "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "volumeMounts": [{"name": "data", "mountPath": "/ferry/volumes/data"}]}],
            "containers": [{"name": "app", "image": "registry.invalid/app:1"}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}})])
    .await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);

    let pod = phase(&pods, "writer", &["Succeeded", "Failed"]).await?;
    let dir = volume_dir(cluster, &client, &ns.name, "data", LIMIT).await?;
    assert_eq!(std::fs::read_to_string(dir.join("pod-name"))?, "writer\n");
    assert_eq!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded")
    );
    assert_eq!(terminated(&pod, true)["exitCode"], 0);
    assert_eq!(
        pod.spec.as_ref().and_then(|s| s.node_name.as_deref()),
        Some("ferry-local")
    );
    let ip = pod
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .unwrap_or_default();
    assert!(
        ip.starts_with("127.0.") && ip != "127.0.0.1",
        "pod IP {ip:?}"
    );
    // The application container was not run and is not reported.
    let status = serde_json::to_value(&pod.status)?;
    let reported = status["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(reported.is_empty(), "{reported:?}");
    Ok(())
}

#[tokio::test]
async fn a_failing_ferry_sidecar_fails_the_pod_with_its_exit_code_and_output() -> anyhow::Result<()>
{
    let (cluster, ns, client) = setup("run-fail").await?;
    apply(
        &client,
        &ns.name,
        &[json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "failer"},
        "spec": {"restartPolicy": "Never", "containers": [
            {"name": "app", "image": "registry.invalid/app:1"},
            {"name": "ferry-sidecar", "image": IMAGE,
             "command": ["sh", "-c", "echo 'no route to the far end' >&2; exit 3"]}]}})],
    )
    .await?;
    let pods: Api<Pod> = Api::namespaced(client, &ns.name);

    let pod = phase(&pods, "failer", &["Succeeded", "Failed"]).await?;
    assert_eq!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Failed")
    );
    let t = terminated(&pod, false);
    assert_eq!(t["exitCode"], 3);
    assert_eq!(t["reason"], "Error");
    assert!(
        t["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no route to the far end"),
        "{t}"
    );
    assert!(log_of(cluster, &pod)?.contains("no route to the far end"));
    Ok(())
}

#[tokio::test]
async fn the_sidecar_reaches_the_api_as_its_own_service_account_with_its_rbac() -> anyhow::Result<()>
{
    let (cluster, ns, client) = setup("run-api").await?;
    let script = r#"
        SA=/var/run/secrets/kubernetes.io/serviceaccount
        API="https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"
        call() { curl -sS --cacert "$SA/ca.crt" -H "Authorization: Bearer $(cat "$SA/token")" "$@"; }
        code() { call -o /dev/null -w '%{http_code}' "$API/api/v1/namespaces/$(cat "$SA/namespace")/$1"; }
        echo "configmap=$(code configmaps/probe) secrets=$(code secrets)"
        echo "whoami=$(call -X POST -H 'Content-Type: application/json' \
            -d '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' \
            "$API/apis/authentication.k8s.io/v1/selfsubjectreviews" | tr -d '\n ')"
    "#;
    apply(&client, &ns.name, &[
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "reader"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe"}, "data": {"k": "v"}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "read-configmaps"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-configmaps"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": ns.name}]}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "caller"},
            "spec": {"serviceAccountName": "reader", "restartPolicy": "Never", "containers": [
                {"name": "ferry-sidecar", "image": IMAGE, "command": ["sh", "-c", script]}]}}),
    ])
    .await?;
    let pods: Api<Pod> = Api::namespaced(client, &ns.name);

    let pod = phase(&pods, "caller", &["Succeeded", "Failed"]).await?;
    let log = log_of(cluster, &pod)?;
    assert!(log.contains("configmap=200 secrets=403"), "{log}");
    let user = format!("\"username\":\"system:serviceaccount:{}:reader\"", ns.name);
    assert!(log.contains(&user), "{log}");
    // The token is bound to this pod, as a kubelet's is.
    assert!(
        log.contains("\"authentication.kubernetes.io/pod-name\":[\"caller\"]"),
        "{log}"
    );
    Ok(())
}

#[tokio::test]
async fn env_downward_api_secrets_config_maps_and_mount_options_reach_the_process()
-> anyhow::Result<()> {
    let (cluster, ns, client) = setup("run-env").await?;
    let script = r#"
        for v in POD_NAME POD_NAMESPACE POD_UID POD_IP NODE_NAME SA_NAME LABEL_APP ANNOTATION \
                 MEM_MI CPU_M GREETING FROM_CM FROM_SECRET CM_colour; do
            eval "echo $v=\${$v}"
        done
        echo "labels=$(tr '\n' ',' < /etc/podinfo/labels)"
        echo "pw_mode=$(stat -c %a /etc/secret/creds/pw) pw=$(cat /etc/secret/creds/pw)"
        echo "only_item=$(ls /etc/secret | tr '\n' ,)"
        echo "cm_file=$(cat /etc/config/colour)"
        echo "marker=$(cat /ro/marker)"
        if touch /ro/new 2>/dev/null; then echo ro=writable; else echo ro=readonly; fi
        echo scratch > /scratch/file && echo "scratch=$(cat /scratch/file)"
        echo "cwd=$(pwd)"
    "#;
    apply(
        &client,
        &ns.name,
        &[
            claim("data"),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
            "data": {"colour": "blue"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
            "stringData": {"password": "s3cret", "unused": "x"}}),
        ],
    )
    .await?;
    let dir = volume_dir(cluster, &client, &ns.name, "data", LIMIT).await?;
    std::fs::create_dir_all(dir.join("sub"))?;
    std::fs::write(dir.join("sub/marker"), "from the claim")?;
    let field = |path: &str| json!({"fieldRef": {"fieldPath": path}});
    apply(&client, &ns.name, &[json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "envy", "labels": {"app": "demo"}, "annotations": {"note": "hi"}},
        "spec": {"restartPolicy": "Never", "containers": [{
            "name": "ferry-sidecar", "image": IMAGE, "command": ["sh", "-c", script],
            "workingDir": "/scratch",
            "resources": {"limits": {"memory": "64Mi", "cpu": "500m"}},
            "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CM_"}],
            "env": [
                {"name": "POD_NAME", "valueFrom": field("metadata.name")},
                {"name": "POD_NAMESPACE", "valueFrom": field("metadata.namespace")},
                {"name": "POD_UID", "valueFrom": field("metadata.uid")},
                {"name": "POD_IP", "valueFrom": field("status.podIP")},
                {"name": "NODE_NAME", "valueFrom": field("spec.nodeName")},
                {"name": "SA_NAME", "valueFrom": field("spec.serviceAccountName")},
                {"name": "LABEL_APP", "valueFrom": field("metadata.labels['app']")},
                {"name": "ANNOTATION", "valueFrom": field("metadata.annotations['note']")},
                {"name": "MEM_MI", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                {"name": "CPU_M", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
                {"name": "GREETING", "value": "hello $(POD_NAME)"},
                {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "colour"}}},
                {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}}],
            "volumeMounts": [
                {"name": "podinfo", "mountPath": "/etc/podinfo"},
                {"name": "secret", "mountPath": "/etc/secret"},
                {"name": "config", "mountPath": "/etc/config"},
                {"name": "data", "mountPath": "/ro", "subPath": "sub", "readOnly": true},
                {"name": "scratch", "mountPath": "/scratch"}]}],
        "volumes": [
            {"name": "podinfo", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
            {"name": "secret", "secret": {"secretName": "creds", "defaultMode": 0o440,
                "items": [{"key": "password", "path": "creds/pw", "mode": 0o400}]}},
            {"name": "config", "configMap": {"name": "settings"}},
            {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
            {"name": "scratch", "emptyDir": {}}]}})])
    .await?;
    let pods: Api<Pod> = Api::namespaced(client, &ns.name);

    let pod = phase(&pods, "envy", &["Succeeded", "Failed"]).await?;
    let log = log_of(cluster, &pod)?;
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let ip = pod
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .unwrap_or_default();
    for line in [
        "POD_NAME=envy".to_owned(),
        format!("POD_NAMESPACE={}", ns.name),
        format!("POD_UID={uid}"),
        format!("POD_IP={ip}"),
        "NODE_NAME=ferry-local".into(),
        "SA_NAME=default".into(),
        "LABEL_APP=demo".into(),
        "ANNOTATION=hi".into(),
        "MEM_MI=64".into(),
        "CPU_M=500".into(),
        "GREETING=hello envy".into(),
        "FROM_CM=blue".into(),
        "FROM_SECRET=s3cret".into(),
        "CM_colour=blue".into(),
        // The kubelet writes `key="value"` lines without a final newline.
        "labels=app=\"demo\"".into(),
        "pw_mode=400 pw=s3cret".into(),
        "only_item=creds,".into(),
        "cm_file=blue".into(),
        "marker=from the claim".into(),
        "ro=readonly".into(),
        "scratch=scratch".into(),
        "cwd=/scratch".into(),
    ] {
        assert!(
            log.lines().any(|l| l == line),
            "no line {line:?} in:\n{log}"
        );
    }
    assert_eq!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded"),
        "{log}"
    );
    assert!(!dir.join("sub/new").exists());
    Ok(())
}

#[tokio::test]
async fn the_sidecar_runs_as_the_pods_user_and_can_still_use_its_volumes_and_token()
-> anyhow::Result<()> {
    let (cluster, ns, client) = setup("run-user").await?;
    let script = r#"
        echo "ids=$(id -u):$(id -g):$(id -G | tr ' ' ,)"
        if cat /var/run/secrets/kubernetes.io/serviceaccount/token >/dev/null; then echo token=readable; fi
        echo hi > /data/by-user && echo "owner=$(stat -c %u:%g /data/by-user)"
    "#;
    apply(&client, &ns.name, &[claim("data"), json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user"},
        "spec": {"restartPolicy": "Never",
            "securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000,
                "runAsNonRoot": true},
            "containers": [{"name": "ferry-sidecar", "image": IMAGE, "command": ["sh", "-c", script],
                "securityContext": {"allowPrivilegeEscalation": false},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}})])
    .await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    let pod = phase(&pods, "user", &["Succeeded", "Failed"]).await?;
    let log = log_of(cluster, &pod)?;
    for line in [
        "ids=1000:3000:3000,2000",
        "token=readable",
        "owner=1000:3000",
    ] {
        assert!(
            log.lines().any(|l| l == line),
            "no line {line:?} in:\n{log}"
        );
    }
    let dir = volume_dir(cluster, &client, &ns.name, "data", LIMIT).await?;
    assert_eq!(std::fs::read_to_string(dir.join("by-user"))?, "hi\n");
    Ok(())
}

#[tokio::test]
async fn deleting_a_running_pod_stops_its_process_gracefully_and_removes_the_pod()
-> anyhow::Result<()> {
    let (cluster, ns, client) = setup("run-delete").await?;
    let script = "trap 'echo stopped > /data/stopped; exit 0' TERM; \
                  echo started > /data/started; while true; do sleep 0.2; done";
    apply(
        &client,
        &ns.name,
        &[
            claim("data"),
            json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sleeper"},
        "spec": {"terminationGracePeriodSeconds": 20, "containers": [
            {"name": "ferry-sidecar", "image": IMAGE, "command": ["sh", "-c", script],
             "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}}),
        ],
    )
    .await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    let pod = phase(&pods, "sleeper", &["Running"]).await?;
    let ready = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.clone());
    assert_eq!(ready.as_deref(), Some("True"));
    let dir = volume_dir(cluster, &client, &ns.name, "data", LIMIT).await?;
    eventually(LIMIT, "the process to start", || async {
        Ok(dir.join("started").exists().then_some(()))
    })
    .await?;

    pods.delete("sleeper", &DeleteParams::default()).await?;
    eventually(Duration::from_secs(30), "the pod to be gone", || async {
        Ok(pods.get_opt("sleeper").await?.is_none().then_some(()))
    })
    .await?;
    assert_eq!(std::fs::read_to_string(dir.join("stopped"))?, "stopped\n");
    Ok(())
}

#[tokio::test]
async fn a_pod_the_runner_cannot_run_fails_saying_why() -> anyhow::Result<()> {
    let (_cluster, ns, client) = setup("run-unsupported").await?;
    apply(
        &client,
        &ns.name,
        &[json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nfs"},
        "spec": {"containers": [{"name": "ferry-sidecar", "image": IMAGE, "command": ["true"],
                "volumeMounts": [{"name": "share", "mountPath": "/share"}]}],
            "volumes": [{"name": "share", "nfs": {"server": "nfs.invalid", "path": "/"}}]}})],
    )
    .await?;
    let pods: Api<Pod> = Api::namespaced(client, &ns.name);
    let pod = phase(&pods, "nfs", &["Failed"]).await?;
    let status = pod.status.unwrap_or_default();
    assert_eq!(status.reason.as_deref(), Some("FerryPodRunner"));
    let message = status.message.unwrap_or_default();
    assert!(
        message.contains("volume share: only persistentVolumeClaim"),
        "{message}"
    );
    Ok(())
}

#[tokio::test]
async fn application_pods_are_left_alone() -> anyhow::Result<()> {
    let (_cluster, ns, client) = setup("run-skip").await?;
    apply(
        &client,
        &ns.name,
        &[
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app-only"},
            "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1",
                "command": ["sh", "-c", "exit 0"]}]}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ferry"},
            "spec": {"restartPolicy": "Never", "containers": [
                {"name": "ferry-sidecar", "image": IMAGE, "command": ["true"]}]}}),
        ],
    )
    .await?;
    let pods: Api<Pod> = Api::namespaced(client, &ns.name);
    // By the time the runner has run the later pod, it has seen the earlier one.
    phase(&pods, "ferry", &["Succeeded"]).await?;
    let app = pods.get("app-only").await?;
    assert_eq!(app.spec.as_ref().and_then(|s| s.node_name.clone()), None);
    let status = app.status.unwrap_or_default();
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    assert_eq!(status.pod_ip, None);
    Ok(())
}

/// Serves the pod's name to whoever connects to its pod IP on port 8080.
const SERVE_NAME: &str = r#"
import os, socket
s = socket.socket()
s.bind((os.environ["POD_IP"], 8080))
s.listen()
while True:
    c, _ = s.accept()
    c.sendall(os.environ["POD_NAME"].encode())
    c.close()
"#;

#[tokio::test]
async fn pods_listen_on_the_same_port_at_their_own_addresses() -> anyhow::Result<()> {
    let (_cluster, ns, client) = setup("run-addr").await?;
    let pod = |name: &str| {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "echo"}},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                "name": "ferry-sidecar", "image": IMAGE,
                "command": ["python3", "-c", SERVE_NAME],
                "ports": [{"containerPort": 8080, "name": "echo"}],
                "env": [
                    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}]}})
    };
    apply(&client, &ns.name, &[pod("one"), pod("two")]).await?;
    let pods: Api<Pod> = Api::namespaced(client, &ns.name);
    let mut ips = BTreeSet::new();
    for name in ["one", "two"] {
        let pod = phase(&pods, name, &["Running"]).await?;
        let ip = pod.status.and_then(|s| s.pod_ip).unwrap_or_default();
        let answer = eventually(LIMIT, &format!("{name} to answer on {ip}:8080"), || async {
            let Ok(mut stream) = tokio::net::TcpStream::connect((ip.as_str(), 8080)).await else {
                return Ok(None);
            };
            let mut text = String::new();
            stream.read_to_string(&mut text).await?;
            Ok(Some(text))
        })
        .await?;
        assert_eq!(answer, name);
        ips.insert(ip);
    }
    assert_eq!(ips.len(), 2, "distinct pod IPs: {ips:?}");

    // No EndpointSlice lists them: the apiserver refuses loopback endpoint addresses, so tests
    // reach a pod by its pod IP.
    Ok(())
}

/// Runs `up`/`down` on a state directory of its own, never the shared one.
struct OwnCluster {
    state: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl OwnCluster {
    fn script(&self, name: &str) -> anyhow::Result<std::process::Output> {
        let path = ferry_e2e::cluster::repo_root()
            .join("tests/cluster")
            .join(name);
        let mut command = std::process::Command::new(&path);
        command.arg(&self.state);
        if let Some(runner) = ferry_e2e::cluster::pod_runner_binary() {
            command.env("FERRY_POD_RUNNER", runner);
        }
        let out = command
            .output()
            .with_context(|| format!("running {}", path.display()))?;
        anyhow::ensure!(
            out.status.success(),
            "{name} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(out)
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        if self.state.exists() {
            let _ = self.script("down");
        }
    }
}

fn pids(state: &Path) -> anyhow::Result<Vec<(String, u32)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(state.join("pids"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "pid") {
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            out.push((name, std::fs::read_to_string(&path)?.trim().parse()?));
        }
    }
    Ok(out)
}

/// Processes whose command line or working directory mention `path`.
fn processes_mentioning(path: &Path) -> Vec<String> {
    let needle = path.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter_map(|e| {
            // Zombies have an empty command line and no working directory.
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let cwd = std::fs::read_link(e.path().join("cwd")).unwrap_or_default();
            (cmdline.contains(&needle) || cwd.starts_with(path))
                .then(|| format!("{}: {cmdline}", e.file_name().to_string_lossy()))
        })
        .collect()
}

#[tokio::test]
async fn cluster_down_leaves_no_process_of_ours_running() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let own = OwnCluster {
        state: dir.path().join("state"),
        _dir: dir,
    };
    own.script("up")?;
    let recorded = pids(&own.state)?;
    for name in [
        "etcd",
        "kube-apiserver",
        "csi-hostpath",
        "csi-provisioner",
        "ferry-pod-runner",
    ] {
        assert!(
            recorded.iter().any(|(n, _)| n == name),
            "{name} not in {recorded:?}"
        );
    }
    // A pod whose process the runner started, so down must stop that too.
    let env = std::fs::read_to_string(own.state.join("env"))?;
    let kubectl_path = env
        .lines()
        .find_map(|l| l.strip_prefix("export KUBECTL="))
        .context("no KUBECTL in the env file")?
        .to_owned();
    let kubectl = |args: &[&str]| -> anyhow::Result<String> {
        let out = std::process::Command::new(&kubectl_path)
            .args(args)
            .env("KUBECONFIG", own.state.join("kubeconfig"))
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "long", "namespace": "default"},
        "spec": {"containers": [{"name": "ferry-sidecar", "image": IMAGE,
            // `$$$$`: the kubelet's expansion turns `$$` into `$`, so the shell sees `$$`.
            "command": ["sh", "-c", "echo $$$$ > /work/pid; sleep 3600 & wait"],
            "volumeMounts": [{"name": "work", "mountPath": "/work"}]}],
            "volumes": [{"name": "work", "emptyDir": {}}]}});
    let file = own.state.join("pod.json");
    std::fs::write(&file, pod.to_string())?;
    kubectl(&["create", "-f", &file.to_string_lossy()])?;
    let uid = kubectl(&["get", "pod", "long", "-o", "jsonpath={.metadata.uid}"])?;
    let pid_file = own
        .state
        .join(format!("runner/pods/default_long_{uid}/volumes/work/pid"));
    let pod_pid: u32 = eventually(LIMIT, "the pod's process to start", || async {
        Ok(std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse().ok()))
    })
    .await?;
    // A zombie (exited, not yet reaped by pid 1) runs nothing.
    let alive = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
            !s.lines()
                .any(|l| l.starts_with("State:") && (l.contains("zombie") || l.contains("dead")))
        })
    };
    assert!(alive(pod_pid));
    assert!(!processes_mentioning(&own.state).is_empty());

    own.script("down")?;
    for (name, pid) in &recorded {
        assert!(!alive(*pid), "{name} (pid {pid}) still runs after down");
    }
    assert!(
        !alive(pod_pid),
        "the pod's process {pod_pid} still runs after down"
    );
    let left = processes_mentioning(&own.state);
    assert!(left.is_empty(), "processes left: {left:?}");
    assert!(!own.state.exists(), "down removes the state dir");
    Ok(())
}
