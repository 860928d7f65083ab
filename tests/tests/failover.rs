//! The failover and failback walkthrough (`docs/failover.md`) end to end, over rsync, with two
//! namespaces standing for the guide's clusters: A (the app's, `prod`) and B (the standby's,
//! `dr`). The chart's webhook, the sidecar RBAC, CSI snapshots and the sidecar containers on
//! the node are the real ones, as in `replication_rsync.rs`.
//!
//! The test follows the guide in its order and runs its `kubectl` commands verbatim, each in
//! the namespace of its side (a kubeconfig per side whose current namespace is that side's,
//! as a reader has one per cluster), from one working directory that holds `examples/` and
//! the guide's files, as a reader's does:
//!
//! - before: `examples/rsync-destination.yaml` with the standby StatefulSet on B, its keys
//!   carried to A with the commands of `docs/rsync.md`, and `examples/rsync-source.yaml` with
//!   `examples/deployment-source.yaml` on A; one push A to B publishes B's first image;
//! - A writes more and then fails: its app's pod goes away (its Deployment scaled to zero by
//!   the test, not by a guide command), so the writes after the last sync never reach B.
//!   Step 1 is the planned failover, which the guide skips when A is gone: so does the test;
//! - steps 2 and 3 on B: pause the destination, restore `data` from `latestImage` with
//!   `restore-pvc.yaml` of `docs/restore.md`, start the app with the same Deployment before
//!   B has its ReplicationSource, and write new data into the restored volume (the test
//!   writes it as the app would, into the volume's directory);
//! - steps 4 to 7: A keeps its app down, removes its source and receives into its own PVC
//!   `data` (`failback-destination.yaml`, verbatim); the keys go to B; B's
//!   `failback-source.yaml` pushes once more on a manual trigger;
//! - step 8: A's destination published that sync; A's volume holds exactly B's data (B's
//!   new and changed files, without B's deletion and without what A alone wrote after its
//!   last sync) and only the difference crossed (A's old data was reused); the published
//!   `latestImage` (the PVC itself, `copyMethod: Direct`) clones to the same tree; and the
//!   PVC keeps it after the failback destination is deleted.
//!
//! Where the guide's manifests name things only a real cluster has, the test changes just
//! those, in its copies: the app containers run the node's app image (no registry here:
//! [`ferry_e2e::examples::for_node`]); A's source reaches B's destination by its Service's
//! DNS name in B's namespace (the example names namespace `dr`), and B's reverse source by
//! A's `status.rsync.address`, read with the guide's command; the first push is a manual
//! trigger instead of the 15-minute schedule; the restore names the real image. The files
//! in A's volume are given to the app's user (101, as in the example Deployment), as an app
//! running as that user would have left them (the CSI driver applies no `fsGroup`).

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use ferry_api::docs::commands;
use ferry_e2e::cluster::repo_root;
use ferry_e2e::replication::manifests::{self, Role};
use ferry_e2e::replication::observe;
use ferry_e2e::replication::tree::{self, Compare, Tree};
use ferry_e2e::replication::{LIMIT, Replication, SYNC_LIMIT, running};
use ferry_e2e::wait::eventually;
use ferry_e2e::{Cluster, local::volume_dir};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret, Service};
use kube::Api;
use serde_json::{Value, json};

/// The ReplicationSource both sides bind, whichever runs the app.
const SOURCE: &str = "data-to-dr";
/// B's standby destination.
const STANDBY: &str = "data-from-prod";
/// A's failback destination.
const FAILBACK: &str = "data-from-dr";
/// The failback destination's pod (`failback-destination.yaml`).
const FAILBACK_POD: &str = "failback";
/// The app's user in `examples/deployment-source.yaml` and `failback-destination.yaml`.
const APP_USER: u32 = 101;
/// Where a destination's SSH server listens, at its pod IP.
/// The bound of one guide command.
const COMMAND_LIMIT: &str = "60s";

/// One side of the guide: a namespace, and a kubeconfig whose current namespace it is.
struct Site {
    label: &'static str,
    ns: String,
    kubeconfig: PathBuf,
}

/// A reader's working directory: `examples/`, the guide's files and the key files the
/// commands write, and the tools of the test cluster on `PATH`.
struct Desk {
    work: tempfile::TempDir,
    path: String,
}

impl Desk {
    fn new(cluster: &Cluster) -> anyhow::Result<Desk> {
        let work = tempfile::tempdir()?;
        // The examples' app images (busybox, nginx) cannot be pulled here: the copy runs
        // their containers from the node's app image.
        ferry_e2e::examples::copy_for_node(&work.path().join("examples"))?;
        let path = format!(
            "{}:{}",
            cluster.var("FERRY_TOOLS_BIN")?,
            std::env::var("PATH").unwrap_or_default()
        );
        Ok(Desk { work, path })
    }

    /// A side whose commands run in `ns`.
    fn site(&self, cluster: &Cluster, label: &'static str, ns: &str) -> anyhow::Result<Site> {
        let kubeconfig = self.work.path().join(format!("kubeconfig-{label}"));
        std::fs::copy(&cluster.kubeconfig, &kubeconfig)?;
        let site = Site {
            label,
            ns: ns.to_owned(),
            kubeconfig,
        };
        self.run(
            &site,
            &format!("kubectl config set-context --current --namespace {ns}"),
        )?;
        Ok(site)
    }

    /// Runs a command of the guide on `site` as a reader would (bash with `pipefail`), for at
    /// most [`COMMAND_LIMIT`]; its standard output.
    fn run(&self, site: &Site, line: &str) -> anyhow::Result<String> {
        let out = Command::new("timeout")
            .args([
                "--kill-after=5s",
                COMMAND_LIMIT,
                "bash",
                "-o",
                "pipefail",
                "-c",
            ])
            .arg(line)
            .current_dir(self.work.path())
            .env("PATH", &self.path)
            .env("KUBECONFIG", &site.kubeconfig)
            .output()
            .with_context(|| format!("running `{line}`"))?;
        if !out.status.success() {
            bail!(
                "`{line}` on {} ({}) exited {:?}\nstdout:\n{}\nstderr:\n{}",
                site.label,
                site.ns,
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Writes a manifest the guide's commands apply.
    fn write(&self, name: &str, text: &str) -> anyhow::Result<()> {
        std::fs::write(self.work.path().join(name), text).with_context(|| format!("writing {name}"))
    }
}

/// The text of the block named `<!-- file: NAME -->` in `docs/<page>`.
fn named_block(page: &str, name: &str) -> anyhow::Result<String> {
    let path = repo_root().join("docs").join(page);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    commands::named_files(&text)
        .into_iter()
        .find(|f| f.name == name)
        .map(|f| f.text)
        .with_context(|| format!("docs/{page} has no block named {name}"))
}

/// A one-document YAML manifest as JSON.
fn manifest(text: &str, what: &str) -> anyhow::Result<Value> {
    serde_saphyr::from_str(text).with_context(|| format!("parsing {what}"))
}

/// `examples/<name>` as JSON.
fn example(name: &str) -> anyhow::Result<Value> {
    let path = repo_root().join("examples").join(name);
    manifest(&std::fs::read_to_string(&path)?, name)
}

/// Gives everything below `root` (not `root` itself, which the CSI driver made) to `uid`.
fn chown_below(root: &Path, uid: u32) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(root)? {
        let path = entry?.path();
        std::os::unix::fs::lchown(&path, Some(uid), Some(uid))
            .with_context(|| format!("chown {}", path.display()))?;
        if std::fs::symlink_metadata(&path)?.is_dir() {
            chown_below(&path, uid)?;
        }
    }
    Ok(())
}

/// The entries below `root` that `uid` does not own.
fn not_owned_by(root: &Path, uid: u32, out: &mut Vec<String>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(root)? {
        let path = entry?.path();
        let meta = std::fs::symlink_metadata(&path)?;
        if meta.uid() != uid {
            out.push(format!("{} (uid {})", path.display(), meta.uid()));
        }
        if meta.is_dir() {
            not_owned_by(&path, uid, out)?;
        }
    }
    Ok(())
}

/// Prints how long each phase took (shown with `--nocapture`, and on failure).
struct Clock {
    start: Instant,
    last: Instant,
}

impl Clock {
    fn new() -> Clock {
        let now = Instant::now();
        Clock {
            start: now,
            last: now,
        }
    }

    fn lap(&mut self, what: &str) {
        let now = Instant::now();
        eprintln!(
            "[failover {:>6.1}s] {what} ({:.1}s)",
            (now - self.start).as_secs_f64(),
            (now - self.last).as_secs_f64()
        );
        self.last = now;
    }
}

/// The second a wait starts from, for comparing with the whole seconds of status times.
fn now_second() -> anyhow::Result<k8s_openapi::jiff::Timestamp> {
    Ok(k8s_openapi::jiff::Timestamp::from_second(
        k8s_openapi::jiff::Timestamp::now().as_second(),
    )?)
}

#[tokio::test]
async fn b_takes_over_from_the_last_sync_and_replicates_back_until_a_holds_exactly_b_s_data()
-> anyhow::Result<()> {
    let mut clock = Clock::new();
    let fx = Replication::start("failover").await?;
    let b_ns = fx.namespace("failover-b", true).await?;
    let a_ns = fx.namespace("failover-a", true).await?;
    let desk = Desk::new(fx.cluster)?;
    let a = desk.site(fx.cluster, "A", &a_ns)?;
    let b = desk.site(fx.cluster, "B", &b_ns)?;
    clock.lap("webhook and namespaces");

    // ---- Before: A replicates to B, as in docs/rsync.md.
    desk.run(&b, "kubectl apply -f examples/rsync-destination.yaml")?;
    desk.run(&b, "kubectl apply -f examples/statefulset-destination.yaml")?;
    fx.running_pods(&b_ns, "app=standby", 1).await?;
    fx.wait_status(
        Role::Destination,
        &b_ns,
        STANDBY,
        "status.rsync.address and sshKeys",
        LIMIT,
        |s| (s["rsync"]["address"].is_string() && s["rsync"]["sshKeys"].is_string()).then_some(()),
    )
    .await?;
    desk.run(
        &b,
        "kubectl get secret ferry-rsync-src-data-from-prod -o jsonpath='{.data.source}' | base64 -d > source",
    )?;
    desk.run(
        &b,
        r"kubectl get secret ferry-rsync-src-data-from-prod -o jsonpath='{.data.source\.pub}' | base64 -d > source.pub",
    )?;
    desk.run(
        &b,
        r"kubectl get secret ferry-rsync-src-data-from-prod -o jsonpath='{.data.destination\.pub}' | base64 -d > destination.pub",
    )?;
    desk.run(
        &a,
        "kubectl create secret generic ferry-rsync-src-data-from-prod --from-file=source --from-file=source.pub --from-file=destination.pub",
    )?;

    let a_data = fx.volume(&a_ns, "data").await?;
    tree::write_tree(&a_data, 11)?;
    chown_below(&a_data, APP_USER)?;
    let synced = Tree::of(&a_data)?;
    let mut source = example("rsync-source.yaml")?;
    // The example names the Service in namespace `dr`; here B is the test's namespace.
    source["spec"]["rsync"]["address"] = json!(format!(
        "ferry-rsync-dst-{STANDBY}.{b_ns}.svc.cluster.local"
    ));
    source["spec"]["trigger"] = manifests::manual("before");
    fx.create(&a_ns, &source).await?;
    desk.run(&a, "kubectl apply -f examples/deployment-source.yaml")?;
    fx.running_pods(&a_ns, "app=web", 1).await?;
    let status = fx
        .wait_manual(Role::Source, &a_ns, SOURCE, "before")
        .await?;
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    let image = fx
        .wait_status(
            Role::Destination,
            &b_ns,
            STANDBY,
            "B's first latestImage",
            SYNC_LIMIT,
            |s| s["latestImage"]["name"].as_str().map(str::to_owned),
        )
        .await?;
    fx.wait_snapshot_ready(&b_ns, &image).await?;
    clock.lap("A replicated to B");

    // ---- A writes after its last sync, then fails: its app's pod goes away and no sync
    // runs again. The volume stays.
    tree::write_file(
        &a_data,
        "docs/deep/nested/leaf.txt",
        b"written on A after its last sync\n",
        tree::TREE_MTIME + 50,
    )?;
    tree::write_file(
        &a_data,
        "docs/late.txt",
        b"only A has this\n",
        tree::TREE_MTIME + 51,
    )?;
    chown_below(&a_data, APP_USER)?;
    let a_before_failure = Tree::of(&a_data)?;
    fx.cluster
        .kubectl(["scale", "-n", &a_ns, "deployment", "web", "--replicas=0"])?
        .ok()?;
    let pods = fx.pods(&a_ns);
    eventually(LIMIT, "A's app pod to be gone", || async {
        let list = pods
            .list(&kube::api::ListParams::default().labels("app=web"))
            .await?;
        Ok(list.items.is_empty().then_some(()))
    })
    .await?;
    clock.lap("A failed");

    // ---- Step 1 is the planned failover: A is gone, so it is skipped.
    // ---- Step 2, on B: pause the destination, restore `data` from latestImage.
    desk.run(
        &b,
        r#"kubectl patch replicationdestination data-from-prod --type merge -p '{"spec":{"paused":true}}'"#,
    )?;
    fx.wait_synchronizing(Role::Destination, &b_ns, STANDBY, "False", "Paused")
        .await?;
    let latest = desk.run(
        &b,
        "kubectl get replicationdestination data-from-prod -o jsonpath='{.status.latestImage.name}'",
    )?;
    ensure!(
        latest.trim() == image,
        "the guide's command read latestImage {latest:?}, the status says {image}"
    );
    let mut restore = manifest(
        &named_block("restore.md", "restore-pvc.yaml")?,
        "restore-pvc.yaml",
    )?;
    ensure!(restore["metadata"]["name"] == "data", "{restore:#}");
    restore["spec"]["dataSource"]["name"] = json!(latest.trim());
    desk.write("restore-pvc.yaml", &restore.to_string())?;
    desk.run(&b, "kubectl apply -f restore-pvc.yaml")?;
    let b_data = volume_dir(fx.cluster, &fx.client, &b_ns, "data", LIMIT).await?;
    synced.ensure_same(
        &Tree::of(&b_data)?,
        Compare::RSYNC,
        "B's data restored from latestImage (A as of its last sync)",
    )?;
    clock.lap("B restored data");

    // ---- Step 3, on B: the app starts before B has its ReplicationSource; it writes.
    desk.run(&b, "kubectl apply -f examples/deployment-source.yaml")?;
    let b_web = fx.running_pods(&b_ns, "app=web", 1).await?.remove(0);
    tree::write_file(
        &b_data,
        "docs/readme.txt",
        b"written on B after the failover\n",
        tree::TREE_MTIME + 100,
    )?;
    tree::write_file(
        &b_data,
        "added/new.bin",
        &tree::noise(23, 40_000),
        tree::TREE_MTIME + 101,
    )?;
    std::fs::remove_file(b_data.join("with space.txt"))?;
    let b_tree = Tree::of(&b_data)?;
    clock.lap("B runs the app and wrote");

    // ---- Step 4, on A once it is back: the app stays down, its source goes, A receives
    // into its own PVC.
    desk.run(&a, "kubectl scale deployment web --replicas=0")?;
    desk.run(&a, "kubectl delete replicationsource data-to-dr")?;
    desk.write(
        "failback-destination.yaml",
        &ferry_e2e::examples::text_for_node(&named_block(
            "failover.md",
            "failback-destination.yaml",
        )?)?,
    )?;
    desk.run(&a, "kubectl apply -f failback-destination.yaml")?;
    eventually(LIMIT, "the failback pod to run", || async {
        let pod = fx.pods(&a_ns).get(FAILBACK_POD).await?;
        Ok(running(&pod).then_some(()))
    })
    .await?;
    fx.wait_status(
        Role::Destination,
        &a_ns,
        FAILBACK,
        "status.rsync.address and sshKeys",
        LIMIT,
        |s| (s["rsync"]["address"].is_string() && s["rsync"]["sshKeys"].is_string()).then_some(()),
    )
    .await?;
    a_before_failure.ensure_same(
        &Tree::of(&a_data)?,
        Compare::RSYNC,
        "A's data before the reverse sync (nothing may touch it yet)",
    )?;
    clock.lap("A receives");

    // ---- Step 5: the keys, from A to B.
    desk.run(
        &a,
        "kubectl get secret ferry-rsync-src-data-from-dr -o jsonpath='{.data.source}' | base64 -d > source",
    )?;
    desk.run(
        &a,
        r"kubectl get secret ferry-rsync-src-data-from-dr -o jsonpath='{.data.source\.pub}' | base64 -d > source.pub",
    )?;
    desk.run(
        &a,
        r"kubectl get secret ferry-rsync-src-data-from-dr -o jsonpath='{.data.destination\.pub}' | base64 -d > destination.pub",
    )?;
    desk.run(
        &b,
        "kubectl create secret generic ferry-rsync-src-data-from-dr --from-file=source --from-file=source.pub --from-file=destination.pub",
    )?;

    // ---- Step 6, on B: the ReplicationSource the app already binds, pointing at A.
    let address = desk.run(
        &a,
        "kubectl get replicationdestination data-from-dr -o jsonpath='{.status.rsync.address}'",
    )?;
    let service = Api::<Service>::namespaced(fx.client.clone(), &a_ns)
        .get(&format!("ferry-rsync-dst-{FAILBACK}"))
        .await?;
    let cluster_ip = service.spec.and_then(|s| s.cluster_ip).unwrap_or_default();
    ensure!(
        !cluster_ip.is_empty() && address.trim() == cluster_ip,
        "status.rsync.address {address:?} is not the Service's address {cluster_ip:?}"
    );
    let mut reverse = manifest(
        &named_block("failover.md", "failback-source.yaml")?,
        "failback-source.yaml",
    )?;
    reverse["spec"]["rsync"]["address"] = json!(address.trim());
    desk.write("failback-source.yaml", &reverse.to_string())?;
    desk.run(&b, "kubectl apply -f failback-source.yaml")?;
    clock.lap("B's reverse source created");

    // ---- Step 7, on B: push once more, on a manual trigger, and stop.
    let since = now_second()?;
    desk.run(
        &b,
        r#"kubectl patch replicationsource data-to-dr --type merge -p '{"spec":{"trigger":{"schedule":null,"manual":"failback-1"}}}'"#,
    )?;
    let status = fx
        .wait_manual(Role::Source, &b_ns, SOURCE, "failback-1")
        .await?;
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    let done = desk.run(
        &b,
        "kubectl get replicationsource data-to-dr -o jsonpath='{.status.lastManualSync}'",
    )?;
    ensure!(done.trim() == "failback-1", "lastManualSync: {done:?}");
    // Only the difference crossed, over every sync of the reverse source: B's changed and
    // new files and A's own change reverted, not the 300 kB data.bin both already had.
    let labels = [("name", SOURCE), ("namespace", b_ns.as_str())];
    let metrics = fx
        .wait_metric(&b_web, "ferry_files_transferred_total", &labels, 3.0)
        .await?;
    let files = metrics
        .sum("ferry_files_transferred_total", &labels)
        .unwrap_or_default();
    ensure!(
        (files - 3.0).abs() < f64::EPSILON,
        "the reverse sync sent {files} files, want 3 (docs/readme.txt, added/new.bin, \
         docs/deep/nested/leaf.txt):\n{}",
        metrics.text
    );
    desk.run(&b, "kubectl scale deployment web --replicas=0")?;
    clock.lap("B pushed back to A");

    // ---- Step 8, on A: the destination published that sync; A holds exactly B's data.
    let listed = desk.run(&a, "kubectl get replicationdestination data-from-dr")?;
    ensure!(
        listed.contains(FAILBACK) && listed.contains("LAST SYNC") && listed.contains("Direct"),
        "the guide's table of the failback destination:\n{listed}"
    );
    let status = fx
        .wait_status(
            Role::Destination,
            &a_ns,
            FAILBACK,
            "a sync published after the manual trigger",
            SYNC_LIMIT,
            |s| {
                observe::time(&s["lastSyncTime"])
                    .is_some_and(|t| t >= since)
                    .then(|| s.clone())
            },
        )
        .await?;
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    ensure!(
        status["latestImage"]["kind"] == "PersistentVolumeClaim"
            && status["latestImage"]["name"] == "data",
        "copyMethod Direct publishes the PVC itself: {status:#}"
    );
    let data_bin = b_tree
        .files
        .get("data.bin")
        .context("B's tree has no data.bin")?
        .size;
    let received = status["lastSyncStats"]["bytesTransferred"]
        .as_u64()
        .unwrap_or(u64::MAX);
    ensure!(
        received < data_bin,
        "A received {received} bytes, more than data.bin ({data_bin}) alone: its old data was \
         not reused: {status:#}"
    );
    b_tree.ensure_same(
        &Tree::of(&a_data)?,
        Compare::RSYNC,
        "A's data after the reverse sync",
    )?;
    let mut foreign = Vec::new();
    not_owned_by(&a_data, APP_USER, &mut foreign)?;
    ensure!(
        foreign.is_empty(),
        "files in A's volume not owned by the app's user {APP_USER}: {foreign:?}"
    );
    fx.wait_event(Role::Destination, &a_ns, FAILBACK, "ImagePublished")
        .await?;
    // The published image restores (clones) to the same tree.
    let mut clone = manifests::claim("data-check", "1Gi");
    clone["spec"]["dataSource"] = json!({"kind": "PersistentVolumeClaim", "name": "data"});
    fx.create(&a_ns, &clone).await?;
    let cloned = volume_dir(fx.cluster, &fx.client, &a_ns, "data-check", LIMIT).await?;
    b_tree.ensure_same(
        &Tree::of(&cloned)?,
        Compare::RSYNC,
        "a clone of A's latestImage",
    )?;
    clock.lap("A holds B's data");

    // The failback destination goes; the PVC stays with B's data, the generated Secrets and
    // Service go with the destination.
    desk.run(&a, "kubectl delete -f failback-destination.yaml")?;
    let secrets = Api::<Secret>::namespaced(fx.client.clone(), &a_ns);
    let services = Api::<Service>::namespaced(fx.client.clone(), &a_ns);
    let generated = [
        format!("ferry-rsync-src-{FAILBACK}"),
        format!("ferry-rsync-dst-{FAILBACK}"),
    ];
    eventually(
        LIMIT,
        "the failback destination's Secrets and Service to be deleted",
        || async {
            let mut left = 0;
            for name in &generated {
                left += usize::from(secrets.get_opt(name).await?.is_some());
            }
            left += usize::from(services.get_opt(&generated[1]).await?.is_some());
            left += usize::from(fx.pods(&a_ns).get_opt(FAILBACK_POD).await?.is_some());
            Ok((left == 0).then_some(()))
        },
    )
    .await?;
    let claim = Api::<PersistentVolumeClaim>::namespaced(fx.client.clone(), &a_ns)
        .get("data")
        .await?;
    ensure!(
        claim.metadata.deletion_timestamp.is_none()
            && claim.status.and_then(|s| s.phase).as_deref() == Some("Bound"),
        "A's PVC data did not stay"
    );
    b_tree.ensure_same(
        &Tree::of(&a_data)?,
        Compare::RSYNC,
        "A's data after the failback destination was deleted",
    )?;
    clock.lap("failback destination removed");
    eprintln!(
        "[failover] total {:.1}s",
        clock.start.elapsed().as_secs_f64()
    );
    fx.passed();
    Ok(())
}
