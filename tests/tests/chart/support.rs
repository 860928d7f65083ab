//! What the chart tests share: a Helm release that cleans up after itself, rendering, the
//! chart's own webhook arguments, a kubeconfig that authenticates as a ServiceAccount, and
//! polling.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine as _;
use ferry_e2e::cluster::repo_root;
use ferry_e2e::{Cluster, Output, TestNamespace};
use serde_json::{Value, json};

/// The chart under test.
pub fn chart_dir() -> String {
    repo_root().join("charts/ferry").display().to_string()
}

/// The minimal cert-manager CRDs (a test fixture), applied once and left in the test cluster.
pub fn install_cert_manager_fixture(cluster: &Cluster) -> anyhow::Result<()> {
    let fixture = repo_root().join("tests/fixtures/cert-manager-crds.test-fixture.yaml");
    let fixture = fixture.display().to_string();
    cluster
        .kubectl(["apply", "--server-side", "-f", fixture.as_str()])?
        .ok()?;
    cluster
        .kubectl([
            "wait",
            "--for=condition=Established",
            "--timeout=30s",
            "crd/issuers.cert-manager.io",
            "crd/certificates.cert-manager.io",
        ])?
        .ok()?;
    Ok(())
}

/// The apiserver's version (`v1.37.1`), for `helm template --kube-version`.
pub fn server_version(cluster: &Cluster) -> anyhow::Result<String> {
    let out = cluster.kubectl(["version", "-o", "json"])?.ok()?;
    let version: Value = serde_json::from_str(&out.stdout)?;
    Ok(version["serverVersion"]["gitVersion"]
        .as_str()
        .context("no serverVersion.gitVersion")?
        .to_owned())
}

/// Values as a file for `helm -f` (JSON is YAML), kept until dropped.
pub struct ValuesFile {
    _dir: tempfile::TempDir,
    /// The file's path.
    pub path: String,
}

impl ValuesFile {
    pub fn new(values: &Value) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("values.json");
        std::fs::write(&path, values.to_string())?;
        Ok(Self {
            path: path.display().to_string(),
            _dir: dir,
        })
    }
}

/// `helm template <release> charts/ferry -n <namespace> -f <values>` for the test cluster's
/// Kubernetes version.
pub fn template(
    cluster: &Cluster,
    release: &str,
    namespace: &str,
    values: &Value,
) -> anyhow::Result<Output> {
    let file = ValuesFile::new(values)?;
    let version = server_version(cluster)?;
    cluster.helm([
        "template",
        release,
        chart_dir().as_str(),
        "-n",
        namespace,
        "--kube-version",
        version.as_str(),
        "-f",
        file.path.as_str(),
    ])
}

/// Every document of a multi-document YAML stream, as JSON.
pub fn documents(yaml: &str) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    for value in serde_saphyr::from_multiple::<Value>(yaml)? {
        if !value.is_null() {
            out.push(value);
        }
    }
    Ok(out)
}

/// The arguments the chart gives its Deployment's container for `values`, minus those a
/// locally run webhook must set itself (listen address, log format, certificate file paths).
pub fn chart_webhook_args(
    cluster: &Cluster,
    release: &str,
    namespace: &str,
    values: &Value,
) -> anyhow::Result<Vec<String>> {
    let rendered = template(cluster, release, namespace, values)?.ok()?;
    let deployment = documents(&rendered.stdout)?
        .into_iter()
        .find(|d| d["kind"] == "Deployment")
        .context("the chart rendered no Deployment")?;
    let args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .context("no container args")?
        .iter()
        .filter_map(Value::as_str)
        .filter(|arg| {
            ![
                "--listen=",
                "--log-format=",
                "--tls-cert-file=",
                "--tls-key-file=",
            ]
            .iter()
            .any(|p| arg.starts_with(p))
        })
        .map(str::to_owned)
        .collect();
    Ok(args)
}

/// A Helm release of the chart in its own namespace. Dropping it uninstalls it and deletes
/// whatever cluster-scoped objects of the release are left (webhook configurations first),
/// even when the test failed.
pub struct Release {
    /// The release name, also the chart's name prefix for every object.
    pub name: String,
    /// The release namespace.
    pub namespace: String,
    cluster: &'static Cluster,
}

impl Release {
    /// `helm install` into `ns`, named after it.
    pub fn install(
        cluster: &'static Cluster,
        ns: &TestNamespace,
        values: &Value,
    ) -> anyhow::Result<Self> {
        let release = Self {
            name: ns.name.clone(),
            namespace: ns.name.clone(),
            cluster,
        };
        release.helm("install", values, &[])?;
        Ok(release)
    }

    /// `helm upgrade` with `values` and `flags` (e.g. `--force`).
    pub fn upgrade(&self, values: &Value, flags: &[&str]) -> anyhow::Result<Output> {
        self.helm("upgrade", values, flags)
    }

    fn helm(&self, command: &str, values: &Value, flags: &[&str]) -> anyhow::Result<Output> {
        let file = ValuesFile::new(values)?;
        let chart = chart_dir();
        let args = [
            command,
            self.name.as_str(),
            chart.as_str(),
            "-n",
            self.namespace.as_str(),
            "-f",
            file.path.as_str(),
            "--timeout",
            "60s",
        ];
        self.cluster
            .helm(args.iter().chain(flags))?
            .ok()
            .with_context(|| format!("helm {command} {}", self.name))
    }

    /// `helm uninstall`.
    pub fn uninstall(&self) -> anyhow::Result<Output> {
        self.cluster
            .helm([
                "uninstall",
                self.name.as_str(),
                "-n",
                self.namespace.as_str(),
                "--timeout",
                "60s",
            ])?
            .ok()
    }

    /// The release's objects as Helm applied them (`helm get manifest`).
    pub fn manifest(&self) -> anyhow::Result<Vec<Value>> {
        let out = self
            .cluster
            .helm([
                "get",
                "manifest",
                self.name.as_str(),
                "-n",
                self.namespace.as_str(),
            ])?
            .ok()?;
        documents(&out.stdout)
    }

    /// Every object of the release's manifest as `(kind, namespace, name)`, each checked to
    /// exist in the apiserver, managed by Helm.
    pub fn live_objects(&self) -> anyhow::Result<BTreeSet<(String, String, String)>> {
        let mut created = BTreeSet::new();
        for object in self.manifest()? {
            let kind = object["kind"].as_str().context("kind")?.to_owned();
            let name = object["metadata"]["name"]
                .as_str()
                .context("name")?
                .to_owned();
            let namespace = object["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            let mut args = vec!["get", kind.as_str(), name.as_str()];
            if !namespace.is_empty() {
                args.extend(["-n", namespace.as_str()]);
            }
            let live = get_json(self.cluster, &args)?
                .with_context(|| format!("{kind} {namespace}/{name} was not created"))?;
            if live["metadata"]["labels"]["app.kubernetes.io/managed-by"] != "Helm" {
                bail!("{kind} {namespace}/{name} is not managed by Helm");
            }
            created.insert((kind, namespace, name));
        }
        Ok(created)
    }

    /// The MutatingWebhookConfiguration's name.
    pub fn mutating(&self) -> String {
        format!("{}-inject", self.name)
    }

    /// The ValidatingWebhookConfiguration's name.
    pub fn validating(&self) -> String {
        format!("{}-validate", self.name)
    }

    /// The webhook's ServiceAccount (and Deployment, Service, ClusterRole...).
    pub fn webhook(&self) -> String {
        format!("{}-webhook", self.name)
    }

    /// The self-managed certificate Secret.
    pub fn tls_secret(&self) -> String {
        format!("{}-webhook-tls", self.name)
    }

    /// The self-managed certificate Lease.
    pub fn cert_lease(&self) -> String {
        format!("{}-webhook-certs", self.name)
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        let _ = self.cluster.helm([
            "uninstall",
            self.name.as_str(),
            "-n",
            self.namespace.as_str(),
            "--timeout",
            "30s",
        ]);
        let selector = format!("app.kubernetes.io/instance={}", self.name);
        let _ = self.cluster.kubectl([
            "delete",
            "mutatingwebhookconfigurations,validatingwebhookconfigurations,clusterrolebindings,clusterroles",
            "-l",
            selector.as_str(),
            "--ignore-not-found",
            "--wait=false",
        ]);
    }
}

/// A kubeconfig that authenticates as `namespace/service_account` with a TokenRequest token,
/// against the test cluster's apiserver: what the chart's Deployment would get in-cluster.
pub struct ServiceAccountKubeconfig {
    _dir: tempfile::TempDir,
    /// The kubeconfig's path.
    pub path: PathBuf,
}

impl ServiceAccountKubeconfig {
    pub fn new(cluster: &Cluster, namespace: &str, service_account: &str) -> anyhow::Result<Self> {
        let token = cluster
            .kubectl([
                "create",
                "token",
                service_account,
                "-n",
                namespace,
                "--duration=1h",
            ])?
            .ok()?
            .stdout
            .trim()
            .to_owned();
        let config = json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "ferry-e2e", "cluster": {
                "server": cluster.var("FERRY_API_SERVER")?,
                "certificate-authority": cluster.var("FERRY_CLUSTER_CA_CERT")?}}],
            "users": [{"name": service_account, "user": {"token": token}}],
            "contexts": [{"name": "sa", "context": {"cluster": "ferry-e2e", "user": service_account}}],
            "current-context": "sa",
        });
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, config.to_string())?;
        Ok(Self { _dir: dir, path })
    }
}

/// `kubectl get ... -o json`, or `None` when it does not exist.
pub fn get_json(cluster: &Cluster, args: &[&str]) -> anyhow::Result<Option<Value>> {
    let out = cluster.kubectl(args.iter().copied().chain(["-o", "json"]))?;
    if !out.success {
        if out.stderr.contains("NotFound") || out.stderr.contains("not found") {
            return Ok(None);
        }
        bail!("kubectl {args:?} failed: {}", out.stderr);
    }
    Ok(Some(serde_json::from_str(&out.stdout)?))
}

/// Polls `check` every 250 ms for at most `limit`.
pub async fn wait_for<T>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check()? {
            return Ok(value);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The caBundle of every webhook entry of a configuration (`None` where it has none).
pub fn ca_bundles(configuration: &Value) -> Vec<Option<String>> {
    configuration["webhooks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| w["clientConfig"]["caBundle"].as_str().map(str::to_owned))
        .collect()
}

/// A restricted-compliant pod with a PVC volume, labelled and annotated as the source of
/// `data-to-s3` (as in tests/tests/injection.rs).
pub fn pod(name: &str, labelled: bool) -> Value {
    let labels = if labelled {
        json!({"app": "web", "ferry.dev/inject": "true"})
    } else {
        json!({"app": "web"})
    };
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels, "annotations": {"ferry.dev/source": "data-to-s3"}},
        "spec": {
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "image": "busybox", "command": ["sleep", "3600"],
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
        }
    })
}

/// The `ferry-sidecar` container of a pod and the list it is in.
pub fn sidecar_of(pod: &Value) -> Option<(String, Value)> {
    ["initContainers", "containers"].iter().find_map(|list| {
        pod["spec"][*list]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == "ferry-sidecar")
            .map(|c| ((*list).to_owned(), c.clone()))
    })
}

/// Removes the ANSI colours of a plain-format log.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A pod run through admission as a server-side dry run: the pod as it would be stored, and
/// the warnings.
pub fn dry_run_pod(cluster: &Cluster, ns: &str, pod: &Value) -> anyhow::Result<(Value, String)> {
    let out = cluster.dry_run(ns, pod)?.ok()?;
    Ok((serde_json::from_str(&out.stdout)?, out.stderr))
}

/// The decoded value of `key` in a Secret as `kubectl get -o json` shows it.
pub fn secret_field(secret: &Value, key: &str) -> anyhow::Result<String> {
    let b64 = secret["data"][key]
        .as_str()
        .with_context(|| format!("the Secret has no {key}"))?;
    Ok(String::from_utf8(
        base64::engine::general_purpose::STANDARD.decode(b64)?,
    )?)
}
