//! Runs the real `ferry-webhook` binary on loopback with certificates made for the test, and
//! registers it with the apiserver by URL and caBundle.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine as _;
use ferry_certs::generate::{Pem, generate_ca, issue_leaf};

use crate::https::{Connection, client_config};

/// A built binary of the workspace, from the same profile as the running executable.
pub fn bin_path(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // Test executables live in `target/<profile>/deps/`, binaries like the benchmark in
    // `target/<profile>/`; the wanted binary sits in `target/<profile>/` either way.
    let candidates = exe.ancestors().skip(1).take(2).map(|dir| dir.join(name));
    for path in candidates {
        if path.is_file() {
            return Ok(path);
        }
    }
    bail!(
        "{name} is not built next to {}: run `cargo build --workspace --bins` (make test does)",
        exe.display()
    )
}

/// A free TCP port on loopback.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A CA and a leaf for `127.0.0.1` and `localhost`.
pub fn issue_for_loopback() -> anyhow::Result<(Pem, Pem)> {
    let ca = generate_ca("ferry-e2e-ca", Duration::from_secs(24 * 3600))?;
    let leaf = issue_leaf(
        &ca,
        &["localhost".to_owned()],
        &["127.0.0.1".parse()?],
        Duration::from_secs(24 * 3600),
    )?;
    Ok((ca, leaf))
}

/// A running webhook process, killed on drop.
pub struct WebhookProcess {
    /// `127.0.0.1:<port>`.
    pub addr: String,
    /// Where its certificate files live (files mode).
    pub cert_dir: tempfile::TempDir,
    /// Its log file.
    pub log: PathBuf,
    child: Child,
}

impl WebhookProcess {
    /// Starts the webhook with `args` and `env` added to a loopback listen address and the
    /// certificate files in `cert_dir` (files mode unless `args` says otherwise).
    pub fn spawn(
        cert_dir: tempfile::TempDir,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        Self::spawn_on(free_port()?, cert_dir, args, env)
    }

    /// Like [`Self::spawn`], on a given loopback port.
    pub fn spawn_on(
        port: u16,
        cert_dir: tempfile::TempDir,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let addr = format!("127.0.0.1:{port}");
        let log = cert_dir.path().join("webhook.log");
        let log_file = std::fs::File::create(&log)?;
        let child = Command::new(bin_path("ferry-webhook")?)
            .args([
                "--listen",
                &addr,
                "--log-format",
                "plain",
                "--cert-poll",
                "200ms",
            ])
            .arg("--tls-cert-file")
            .arg(cert_dir.path().join("tls.crt"))
            .arg("--tls-key-file")
            .arg(cert_dir.path().join("tls.key"))
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::from(log_file.try_clone()?))
            .stderr(Stdio::from(log_file))
            .spawn()
            .context("starting ferry-webhook")?;
        Ok(Self {
            addr,
            cert_dir,
            log,
            child,
        })
    }

    /// Starts the webhook in files mode with a fresh loopback CA; returns it with the CA.
    pub fn start_with_files(args: &[&str]) -> anyhow::Result<(Self, Pem)> {
        let dir = tempfile::tempdir()?;
        let (ca, leaf) = issue_for_loopback()?;
        write_pair(dir.path(), &leaf)?;
        Ok((Self::spawn(dir, args, &[])?, ca))
    }

    /// Waits until `/readyz` answers 200 over TLS trusted by `ca_pem`.
    pub async fn wait_ready(&self, ca_pem: &str) -> anyhow::Result<()> {
        let config = client_config(&[ca_pem])?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut conn) = Connection::open(&self.addr, "127.0.0.1", config.clone()).await
                && let Ok((200, _)) = conn.send("GET", "/readyz", Default::default()).await
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "ferry-webhook at {} not ready after 30 s:\n{}",
                    self.addr,
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The webhook's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the process now.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WebhookProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("ferry-webhook log ({}):\n{}", self.addr, self.log_text());
        }
        self.kill();
    }
}

/// Writes `tls.crt` and `tls.key` into `dir`, each replaced atomically by a rename so a
/// watcher never reads half a file.
pub fn write_pair(dir: &Path, leaf: &Pem) -> anyhow::Result<()> {
    for (name, text) in [("tls.crt", &leaf.cert), ("tls.key", &leaf.key)] {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, dir.join(name))?;
    }
    Ok(())
}

/// The base64 caBundle of one or more PEM CAs.
pub fn ca_bundle(ca_pems: &[&str]) -> String {
    base64::engine::general_purpose::STANDARD.encode(ca_pems.concat())
}

/// A ValidatingWebhookConfiguration that sends Ferry's CRs and opted-in pods of namespaces
/// labelled `ferry-e2e/webhook=<selector>` to each of `urls` (one webhook entry per URL).
pub fn validating_configuration(
    name: &str,
    selector: &str,
    urls: &[String],
    bundle: &str,
) -> serde_json::Value {
    let webhooks: Vec<serde_json::Value> = urls
        .iter()
        .enumerate()
        .flat_map(|(i, url)| {
            [
                serde_json::json!({
                    "name": format!("crs-{i}.validate.ferry.dev"),
                    "admissionReviewVersions": ["v1"],
                    "sideEffects": "None",
                    "failurePolicy": "Fail",
                    "timeoutSeconds": 5,
                    "clientConfig": {"url": format!("{url}/validate"), "caBundle": bundle},
                    "namespaceSelector": {"matchLabels": {"ferry-e2e/webhook": selector}},
                    "rules": [{
                        "apiGroups": [ferry_api::GROUP], "apiVersions": [ferry_api::VERSION],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["replicationsources", "replicationdestinations"],
                    }],
                }),
                serde_json::json!({
                    "name": format!("pods-{i}.validate.ferry.dev"),
                    "admissionReviewVersions": ["v1"],
                    "sideEffects": "None",
                    "failurePolicy": "Fail",
                    "timeoutSeconds": 5,
                    "clientConfig": {"url": format!("{url}/validate"), "caBundle": bundle},
                    "namespaceSelector": {"matchLabels": {"ferry-e2e/webhook": selector}},
                    "objectSelector": {"matchLabels": {"ferry.dev/inject": "true"}},
                    "rules": [{
                        "apiGroups": [""], "apiVersions": ["v1"],
                        "operations": ["CREATE"], "resources": ["pods"],
                    }],
                }),
            ]
        })
        .collect();
    serde_json::json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": webhooks,
    })
}

/// A MutatingWebhookConfiguration that sends opted-in pods of namespaces labelled
/// `ferry-e2e/webhook=<selector>` to `url/mutate`.
pub fn mutating_configuration(
    name: &str,
    selector: &str,
    url: &str,
    bundle: &str,
) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [{
            "name": "inject.ferry.dev",
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "failurePolicy": "Fail",
            "timeoutSeconds": 5,
            "reinvocationPolicy": "IfNeeded",
            "clientConfig": {"url": format!("{url}/mutate"), "caBundle": bundle},
            "namespaceSelector": {"matchLabels": {"ferry-e2e/webhook": selector}},
            "objectSelector": {"matchLabels": {"ferry.dev/inject": "true"}},
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}],
        }],
    })
}
