//! The guides' commands (`docs/*.md`), run verbatim against the real control plane, in the
//! order a reader meets them. `api/tests/docs_commands.rs` fails when a documented command
//! is not in [`GUIDE`] (or another executed file), and this test fails when a command of
//! [`GUIDE`] is no longer documented, so the two cannot drift apart.
//!
//! The guides speak of two clusters, A (the app's) and B (the standby's); here they are two
//! fresh namespaces, each the current namespace of its own kubeconfig. No webhook watches
//! them and no sidecar runs, so this proves the commands and manifests are right (names,
//! flags, JSONPaths, schema and CEL rules), not that replication happens: the replication
//! and failover end-to-end tests do that. Where a guide relies on what a sidecar would have
//! made (a destination's generated keys) or on a file the reader brings, a [`Step`] stands
//! in for it. The named blocks of the docs (`<!-- file: NAME -->`) are written into the
//! working directory beside `examples/` and `charts/`.
//!
//! `helm install` would register webhook configurations for the whole cluster that other
//! tests running in parallel would meet, so its arguments are rendered with `helm template`
//! instead (the chart's values schema and templates, with the server's version).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};
use ferry_api::docs::commands;
use ferry_e2e::{Cluster, TestNamespace, cluster::repo_root};

/// Which of the guides' clusters a command runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// The app's cluster (`prod` in the guides).
    A,
    /// The standby's cluster (`dr`).
    B,
}

/// One step of the walk through the guides.
enum Step {
    /// A documented command, verbatim (whitespace collapsed), run with `bash -o pipefail`.
    Run(Side, &'static str),
    /// The key Secret an rsync destination's sidecar generates (`ferry-rsync-src-<name>`).
    GeneratedKeys(Side, &'static str),
    /// A file the guide asks the reader to bring, with placeholder content.
    File(&'static str, &'static str),
}

use Side::{A, B};
use Step::{File, GeneratedKeys, Run};

/// Every command of the guides, in reading order.
const GUIDE: &[Step] = &[
    // install.md
    Run(A, "make images IMAGE_REGISTRY=registry.example.com/ferry"),
    Run(
        A,
        "helm install ferry charts/ferry -n ferry-system --create-namespace --set image.repository=registry.example.com/ferry/ferry-webhook --set sidecar.image.repository=registry.example.com/ferry/ferry-sidecar --set 'sidecarBindings[0].namespace=shop' --set 'sidecarBindings[0].serviceAccount=default'",
    ),
    Run(
        A,
        "helm install ferry charts/ferry -n ferry-system --create-namespace --set 'sidecarBindings[0].namespace=shop' --set 'sidecarBindings[0].serviceAccount=default'",
    ),
    Run(A, "kubectl apply -f sidecar-binding.yaml"),
    // rclone.md
    Run(
        A,
        "kubectl create secret generic rclone-secret --from-file=rclone.conf",
    ),
    Run(A, "kubectl apply -f examples/rclone-source.yaml"),
    Run(A, "kubectl apply -f examples/pod-source.yaml"),
    Run(A, "kubectl get replicationsources"),
    Run(A, "kubectl describe replicationsource data-to-s3"),
    Run(A, "kubectl apply -f restore-target.yaml"),
    Run(A, "kubectl apply -f examples/rclone-destination.yaml"),
    Run(
        A,
        r#"kubectl patch replicationdestination data-from-s3 --type merge -p '{"spec":{"trigger":{"manual":"restore-2"}}}'"#,
    ),
    Run(A, "kubectl get replicationdestinations"),
    // rsync.md
    Run(B, "kubectl apply -f examples/rsync-destination.yaml"),
    Run(B, "kubectl apply -f examples/statefulset-destination.yaml"),
    Run(
        B,
        "kubectl get replicationdestination data-from-prod -o jsonpath='{.status.rsync}'",
    ),
    GeneratedKeys(B, "ferry-rsync-src-data-from-prod"),
    Run(
        B,
        "kubectl get secret ferry-rsync-src-data-from-prod -o jsonpath='{.data.source}' | base64 -d > source",
    ),
    Run(
        B,
        r"kubectl get secret ferry-rsync-src-data-from-prod -o jsonpath='{.data.source\.pub}' | base64 -d > source.pub",
    ),
    Run(
        B,
        r"kubectl get secret ferry-rsync-src-data-from-prod -o jsonpath='{.data.destination\.pub}' | base64 -d > destination.pub",
    ),
    Run(
        A,
        "kubectl create secret generic ferry-rsync-src-data-from-prod --from-file=source --from-file=source.pub --from-file=destination.pub",
    ),
    Run(A, "kubectl apply -f examples/rsync-source.yaml"),
    Run(A, "kubectl apply -f examples/deployment-source.yaml"),
    Run(A, "ssh-keygen -t ed25519 -N '' -C data-to-nas -f nas"),
    File(
        "nas-host.pub",
        "nas.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEKEYEXAMPLEKEYEXAMPLEKEYEXAMPLEKE\n",
    ),
    Run(
        A,
        "kubectl create secret generic nas-keys --from-file=source=nas --from-file=source.pub=nas.pub --from-file=destination.pub=nas-host.pub",
    ),
    Run(A, "kubectl apply -f examples/rsync-source-plain-host.yaml"),
    // restore.md
    Run(
        B,
        "kubectl get replicationdestination data-from-prod -o jsonpath='{.status.latestImage.name}'",
    ),
    Run(B, "kubectl apply -f restore-pvc.yaml"),
    Run(B, "kubectl get volumesnapshots"),
    // failover.md: failover
    Run(
        A,
        r#"kubectl patch replicationsource data-to-dr --type merge -p '{"spec":{"trigger":{"schedule":null,"manual":"failover-1"}}}'"#,
    ),
    Run(
        A,
        "kubectl get replicationsource data-to-dr -o jsonpath='{.status.lastManualSync}'",
    ),
    Run(A, "kubectl scale deployment web --replicas=0"),
    Run(
        B,
        r#"kubectl patch replicationdestination data-from-prod --type merge -p '{"spec":{"paused":true}}'"#,
    ),
    Run(
        B,
        "kubectl get replicationdestination data-from-prod -o jsonpath='{.status.latestImage.name}'",
    ),
    Run(B, "kubectl apply -f restore-pvc.yaml"),
    Run(B, "kubectl apply -f examples/deployment-source.yaml"),
    // failover.md: reverse replication
    Run(A, "kubectl scale deployment web --replicas=0"),
    Run(A, "kubectl delete replicationsource data-to-dr"),
    Run(A, "kubectl apply -f failback-destination.yaml"),
    GeneratedKeys(A, "ferry-rsync-src-data-from-dr"),
    Run(
        A,
        "kubectl get secret ferry-rsync-src-data-from-dr -o jsonpath='{.data.source}' | base64 -d > source",
    ),
    Run(
        A,
        r"kubectl get secret ferry-rsync-src-data-from-dr -o jsonpath='{.data.source\.pub}' | base64 -d > source.pub",
    ),
    Run(
        A,
        r"kubectl get secret ferry-rsync-src-data-from-dr -o jsonpath='{.data.destination\.pub}' | base64 -d > destination.pub",
    ),
    Run(
        B,
        "kubectl create secret generic ferry-rsync-src-data-from-dr --from-file=source --from-file=source.pub --from-file=destination.pub",
    ),
    Run(
        A,
        "kubectl get replicationdestination data-from-dr -o jsonpath='{.status.rsync.address}'",
    ),
    Run(B, "kubectl apply -f failback-source.yaml"),
    // failover.md: failback
    Run(
        B,
        r#"kubectl patch replicationsource data-to-dr --type merge -p '{"spec":{"trigger":{"schedule":null,"manual":"failback-1"}}}'"#,
    ),
    Run(
        B,
        "kubectl get replicationsource data-to-dr -o jsonpath='{.status.lastManualSync}'",
    ),
    Run(B, "kubectl scale deployment web --replicas=0"),
    Run(A, "kubectl get replicationdestination data-from-dr"),
    Run(A, "kubectl delete -f failback-destination.yaml"),
    Run(A, "kubectl apply -f examples/rsync-source.yaml"),
    Run(A, "kubectl scale deployment web --replicas=1"),
    Run(B, "kubectl delete replicationsource data-to-dr"),
    Run(
        B,
        r#"kubectl patch replicationdestination data-from-prod --type merge -p '{"spec":{"paused":false}}'"#,
    ),
    // migrating-from-volsync.md
    Run(
        A,
        "kubectl apply -f examples/volsync/rsync-destination.yaml",
    ),
    // operating.md
    Run(A, "kubectl get replicationsources"),
    Run(A, "kubectl get replicationdestinations"),
    Run(
        A,
        "kubectl get events --field-selector involvedObject.name=data-to-s3",
    ),
    Run(
        A,
        "kubectl get replicationsource data-to-s3 -o jsonpath='{.status.conditions}'",
    ),
    Run(
        A,
        r#"kubectl annotate replicationsource data-to-s3 --overwrite ferry.dev/acknowledge-guards="$(date -u +%FT%TZ)""#,
    ),
    // gitops.md
    Run(A, "kubectl apply -f gitops-app.yaml"),
    Run(
        A,
        "kubectl get replicationsource shop-data -o jsonpath='{.status.lastRestore}'",
    ),
    Run(A, "kubectl describe pod -l app=shop"),
    Run(
        A,
        "kubectl get events --field-selector reason=RestoreFailed",
    ),
    Run(
        A,
        r#"kubectl patch replicationsource shop-data --type merge -p '{"spec":{"rclone":{"restoreOnEmpty":{"onFailure":"StartEmpty"}}}}'"#,
    ),
    Run(
        A,
        r#"kubectl annotate replicationsource shop-data --overwrite ferry.dev/acknowledge-guards="$(date -u +%FT%TZ)""#,
    ),
    Run(
        A,
        r#"kubectl patch replicationsource shop-data --type merge -p '{"spec":{"rclone":{"restoreOnEmpty":null}}}'"#,
    ),
    // hooks.md
    Run(A, "kubectl apply -f db-data.yaml"),
    Run(A, "kubectl apply -f examples/hooks-source.yaml"),
    Run(
        A,
        "kubectl get replicationsource db-to-s3 -o jsonpath='{.status.hooks}'",
    ),
    Run(
        A,
        "kubectl get events --field-selector involvedObject.name=db-to-s3",
    ),
    Run(
        A,
        "kubectl annotate pvc db-data volsync.backube/use-copy-trigger=",
    ),
    Run(
        A,
        "kubectl annotate pvc db-data --overwrite volsync.backube/copy-trigger=trigger-1",
    ),
];

/// The README and the pages under `docs/`, as (path from the repository root, text).
fn pages() -> anyhow::Result<Vec<(String, String)>> {
    let root = repo_root();
    let mut paths = vec![root.join("README.md")];
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)?;
            let name = path.strip_prefix(&root).unwrap_or(&path).display();
            Ok((name.to_string(), text))
        })
        .collect()
}

/// The sandbox the guides' commands run in.
struct Sandbox {
    work: tempfile::TempDir,
    path: String,
    kubeconfigs: BTreeMap<&'static str, PathBuf>,
    kube_version: String,
    cluster_state: PathBuf,
    _namespaces: Vec<TestNamespace>,
}

impl Sandbox {
    fn new(cluster: &'static Cluster, pages: &[(String, String)]) -> anyhow::Result<Sandbox> {
        let work = tempfile::tempdir()?;
        let root = repo_root();
        for dir in ["examples", "charts"] {
            std::os::unix::fs::symlink(root.join(dir), work.path().join(dir))?;
        }
        for (page, text) in pages {
            for file in commands::named_files(text) {
                std::fs::write(work.path().join(&file.name), &file.text)
                    .with_context(|| format!("{page}:{}: writing {}", file.line, file.name))?;
            }
        }
        let path = format!(
            "{}:{}",
            cluster.var("FERRY_TOOLS_BIN")?,
            std::env::var("PATH").unwrap_or_default()
        );
        let mut sandbox = Sandbox {
            work,
            path,
            kubeconfigs: BTreeMap::new(),
            kube_version: String::new(),
            cluster_state: cluster.state.clone(),
            _namespaces: Vec::new(),
        };
        for (side, prefix) in [("A", "docs-a"), ("B", "docs-b")] {
            let ns = TestNamespace::create(cluster, prefix, &[])?;
            let kubeconfig = sandbox.work.path().join(format!("kubeconfig-{side}"));
            std::fs::copy(&cluster.kubeconfig, &kubeconfig)?;
            sandbox.kubeconfigs.insert(side, kubeconfig);
            sandbox.run_args(
                side,
                "kubectl",
                &[
                    "config",
                    "set-context",
                    "--current",
                    "--namespace",
                    &ns.name,
                ],
            )?;
            sandbox._namespaces.push(ns);
        }
        let version = sandbox.run_args("A", "kubectl", &["version", "-o", "json"])?;
        let version: serde_json::Value = serde_json::from_str(&version)?;
        sandbox.kube_version = version["serverVersion"]["gitVersion"]
            .as_str()
            .context("kubectl version: no serverVersion.gitVersion")?
            .to_owned();
        Ok(sandbox)
    }

    fn side(side: Side) -> &'static str {
        match side {
            A => "A",
            B => "B",
        }
    }

    fn command(&self, side: &str, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(self.work.path())
            .env("PATH", &self.path)
            .env("KUBECONFIG", &self.kubeconfigs[side]);
        command
    }

    /// Runs `program args` on `side`; its standard output.
    fn run_args(&self, side: &str, program: &str, args: &[&str]) -> anyhow::Result<String> {
        let out = self
            .command(side, program)
            .args(args)
            .output()
            .with_context(|| format!("running {program}"))?;
        if !out.status.success() {
            bail!(
                "{program} {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs a documented command as a reader would, in bash with `pipefail`. `make` runs in
    /// the repository, as a reader runs it there; `make images` builds from the debug
    /// binaries `make test` built (a release build would take most of the run) and imports
    /// into the test node, the buildah path even where a Docker engine runs.
    fn run(&self, side: &str, line: &str) -> anyhow::Result<()> {
        let line = match line.strip_prefix("helm install ") {
            Some(rest) => format!("helm template {rest} --kube-version {}", self.kube_version),
            None => line.to_owned(),
        };
        let mut command = self.command(side, "bash");
        if line.starts_with("make ") {
            command
                .current_dir(repo_root())
                .env("IMAGE_PROFILE", "debug")
                .env("DOCKER", "false")
                .env("CLUSTER_STATE", &self.cluster_state);
        }
        let out = command.args(["-o", "pipefail", "-c", &line]).output()?;
        if !out.status.success() {
            bail!(
                "exit {:?}\nstdout:\n{}\nstderr:\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// The Secret a destination's sidecar would have generated, with fake keys.
    fn generated_keys(&self, side: &str, name: &str) -> anyhow::Result<()> {
        self.run_args(
            side,
            "kubectl",
            &[
                "create",
                "secret",
                "generic",
                name,
                &format!("--from-literal=source=private key of {name}"),
                &format!("--from-literal=source.pub=ssh-ed25519 AAAA source of {name}"),
                &format!("--from-literal=destination.pub=ssh-ed25519 AAAA host of {name}"),
            ],
        )?;
        Ok(())
    }

    /// A Secret's data, as the apiserver holds it.
    fn secret_data(&self, side: &str, name: &str) -> anyhow::Result<serde_json::Value> {
        let json = self.run_args(side, "kubectl", &["get", "secret", name, "-o", "json"])?;
        let secret: serde_json::Value = serde_json::from_str(&json)?;
        Ok(secret["data"].clone())
    }
}

#[test]
fn every_guide_command_runs_against_the_real_apiserver() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let pages = pages()?;
    let mut documented = BTreeMap::<String, String>::new();
    for (page, text) in &pages {
        for command in commands::commands(text) {
            documented
                .entry(command.text)
                .or_insert_with(|| format!("{page}:{}", command.line));
        }
    }
    let sandbox = Sandbox::new(cluster, &pages)?;
    for step in GUIDE {
        match step {
            Run(side, line) => {
                let place = documented.get(*line).with_context(|| {
                    format!("`{line}` is in GUIDE but no longer in the docs; remove it")
                })?;
                sandbox
                    .run(Sandbox::side(*side), line)
                    .with_context(|| format!("{place}: `{line}` (on {side:?})"))?;
            }
            GeneratedKeys(side, name) => sandbox.generated_keys(Sandbox::side(*side), name)?,
            File(name, text) => std::fs::write(sandbox.work.path().join(name), text)?,
        }
    }
    // The keys went through base64, files and `--from-file` unchanged.
    for (from, to, name) in [
        ("B", "A", "ferry-rsync-src-data-from-prod"),
        ("A", "B", "ferry-rsync-src-data-from-dr"),
    ] {
        assert_eq!(
            sandbox.secret_data(from, name)?,
            sandbox.secret_data(to, name)?,
            "{name} differs after the copy the guides describe"
        );
    }
    Ok(())
}

/// The walk reads every named file it applies from the docs, not from a stale copy here.
#[test]
fn guide_files_are_named_blocks_of_the_docs() -> anyhow::Result<()> {
    let pages = pages()?;
    let named: Vec<String> = pages
        .iter()
        .flat_map(|(_, text)| commands::named_files(text))
        .map(|f| f.name)
        .collect();
    for step in GUIDE {
        if let Run(_, line) = step
            && let Some(file) = line.strip_prefix("kubectl apply -f ")
            && !file.starts_with("examples/")
        {
            assert!(
                named.iter().any(|n| n == file),
                "{file} is not named in the docs"
            );
        }
    }
    Ok(())
}
