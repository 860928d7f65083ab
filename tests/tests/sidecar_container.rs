//! The injected sidecar as the node runs it: a container from the sidecar image, under the
//! constraints the webhook injects and the kubelet enforces.
//!
//! - In namespaces that enforce the restricted Pod Security standard, pods whose app runs as
//!   uid 1000 with a read-only root filesystem push to MinIO and, over rsync, to a
//!   destination in another namespace reached by its Service's DNS name (which resolves to
//!   the destination's `status.rsync.address`). The sidecar runs as the app's uid, with a
//!   read-only root and no capabilities; the data is read back from pods.
//! - The S3 benchmark's pushes (4 x 256 MiB, then 10,000 files of 1-64 KiB) by a sidecar with
//!   the default memory limit (128Mi, which its cgroup enforces) end Successful with no
//!   container restart. The peak of the container's cgroup memory is printed
//!   (`--nocapture` shows it).

use anyhow::ensure;
use ferry_e2e::cgroup::{self, ContainerMemory};
use ferry_e2e::replication::manifests::{self, Role};
use ferry_e2e::replication::tree::{self, noise};
use ferry_e2e::replication::{BULK_SYNC_LIMIT, LIMIT, Replication, SYNC_LIMIT, pod_name};
use ferry_e2e::wait::eventually;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

/// The injected default memory limit of the sidecar.
const DEFAULT_LIMIT: u64 = 128 << 20;

/// The app's data, written by the app itself as uid 1000.
const WRITE: &str = "set -e; mkdir -p /data/docs/deep; \
    printf 'written by the app\\n' >/data/hello.txt; \
    head -c 65536 /dev/urandom >/data/docs/random.bin; \
    head -c 3000000 /dev/urandom >/data/docs/deep/big.bin; \
    : >/data/docs/empty; echo written; \
    trap 'exit 0' TERM; while :; do sleep 1; done";

/// A restricted pod template whose app runs `script` as uid 1000 with a read-only root.
fn app_template(app: &str, role: Role, cr: &str, claim: &str, script: &str) -> Value {
    let mut template = manifests::pod_template(app, role, cr, claim);
    let container = &mut template["spec"]["containers"][0];
    container["command"] = json!(["sh", "-c", script]);
    container["securityContext"]["readOnlyRootFilesystem"] = json!(true);
    template
}

/// `kubectl exec` of `script` in `container` of `ns/pod`; its standard output.
fn exec(
    fx: &Replication,
    ns: &str,
    pod: &str,
    container: &str,
    script: &str,
) -> anyhow::Result<String> {
    Ok(fx
        .cluster
        .kubectl([
            "exec", "-n", ns, pod, "-c", container, "--", "sh", "-c", script,
        ])?
        .ok()?
        .stdout)
}

/// Waits until the app of `ns/pod` logged that it wrote its data.
async fn written(fx: &Replication, ns: &str, pod: &str) -> anyhow::Result<()> {
    eventually(
        LIMIT,
        &format!("the app of {pod} to write its data"),
        || async {
            let out = fx.cluster.kubectl(["logs", "-n", ns, pod, "-c", "app"])?;
            Ok(out.stdout.lines().any(|l| l == "written").then_some(()))
        },
    )
    .await
}

#[tokio::test]
async fn a_restricted_pod_with_a_read_only_app_syncs_to_minio_and_to_rsync_by_service_dns_name()
-> anyhow::Result<()> {
    let fx = Replication::start("ctr").await?;
    let dst = fx.namespace("ctr-dst", true).await?;
    let src = fx.namespace("ctr-src", true).await?;

    // The rsync destination, in its own namespace.
    fx.volume(&dst, "backup").await?;
    let destination = fx.rsync_destination(&dst, "from-app", "backup", 1).await?;
    fx.copy_secret(&dst, destination.keys_secret(), &src, "dst-keys", |_| {})
        .await?;
    let dns = format!("ferry-rsync-dst-from-app.{dst}.svc.cluster.local");

    // The app writes its data; its sidecar pushes it to MinIO.
    fx.volume(&src, "data").await?;
    fx.rclone_secret(&src, "rclone").await?;
    let bucket = fx.minio.bucket("ctr").await?;
    let s3 = manifests::rclone_source(
        "to-s3",
        "data",
        "rclone",
        &format!("{bucket}/app"),
        "Direct",
        None,
    );
    let app = app_template("app", Role::Source, "to-s3", "data", WRITE);
    fx.bind(&src, &s3, &manifests::pod("app", &app)).await?;
    written(&fx, &src, "app").await?;

    // The sidecar runs as the app's user, with a read-only root and no capabilities.
    let who = exec(
        &fx,
        &src,
        "app",
        "ferry-sidecar",
        "id -u; id -g; touch /probe 2>/dev/null && echo writable || echo read-only; \
         grep -E '^Cap(Eff|Prm):' /proc/self/status",
    )?;
    ensure!(
        who == "1000\n1000\nread-only\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n",
        "the sidecar container runs as:\n{who}"
    );
    let source_list = fx.listed_in(&src, "app", "app")?;
    ensure!(source_list.files.len() == 4, "{source_list:?}");

    fx.trigger(Role::Source, &src, "to-s3", "s3").await?;
    let status = fx.wait_manual(Role::Source, &src, "to-s3", "s3").await?;
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    let objects = fx.minio.list(&bucket, "app").await?;
    let expected: Vec<(String, i64)> = source_list
        .files
        .iter()
        .map(|(path, file)| Ok((path.clone(), i64::try_from(file.size)?)))
        .collect::<anyhow::Result<_>>()?;
    ensure!(
        objects.clone().into_iter().collect::<Vec<_>>() == expected,
        "MinIO holds {objects:?}, the app wrote {expected:?}"
    );

    // A second pod of the same app binds the rsync source, which names the destination's
    // Service by its DNS name: it resolves, in a pod, to what the destination published.
    let lookup = exec(&fx, &src, "app", "app", &format!("nslookup {dns}"))?;
    ensure!(
        !destination.address().is_empty() && lookup.contains(destination.address()),
        "{dns} does not resolve to status.rsync.address {}:\n{lookup}",
        destination.address()
    );
    let rsync = manifests::rsync_source(
        "to-standby",
        "data",
        &dns,
        destination.port(),
        "dst-keys",
        "Direct",
        Some(manifests::manual("rs")),
    );
    let waits = app_template(
        "app-rsync",
        Role::Source,
        "to-standby",
        "data",
        "trap 'exit 0' TERM; while :; do sleep 1; done",
    );
    fx.bind(&src, &rsync, &manifests::pod("app-rsync", &waits))
        .await?;
    let status = fx
        .wait_manual(Role::Source, &src, "to-standby", "rs")
        .await?;
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    let image = fx
        .wait_status(
            Role::Destination,
            &dst,
            "from-app",
            "latestImage",
            SYNC_LIMIT,
            |s| s["latestImage"]["name"].as_str().map(str::to_owned),
        )
        .await?;
    fx.wait_snapshot_ready(&dst, &image).await?;
    fx.create(&dst, &manifests::restored_claim("restored", &image, "1Gi"))
        .await?;
    let restored_list = fx.listed_by_a_pod(&dst, "restored").await?;
    source_list.ensure_same(&restored_list, true, "the volume restored from latestImage")?;
    fx.passed();
    Ok(())
}

/// What a push cost the sidecar's cgroup: its peak usage (page cache included, which the
/// kernel reclaims at the limit), and the largest working set and anonymous memory sampled.
struct Peaks {
    cgroup: u64,
    working_set: u64,
    anonymous: u64,
}

/// Waits for the manual sync `token` of `to-s3`, sampling the sidecar's cgroup every
/// 100 ms, and checks it succeeded without restarting the sidecar.
async fn pushed_within_the_limit(
    fx: &Replication,
    ns: &str,
    pod: &Pod,
    memory: &ContainerMemory,
    token: &str,
) -> anyhow::Result<Peaks> {
    memory.reset_peak()?;
    fx.trigger(Role::Source, ns, "to-s3", token).await?;
    let (mut working_set, mut anonymous) = (0, 0);
    let wait = fx.wait_manual_within(Role::Source, ns, "to-s3", token, BULK_SYNC_LIMIT);
    tokio::pin!(wait);
    let status = loop {
        tokio::select! {
            status = &mut wait => break status?,
            () = tokio::time::sleep(std::time::Duration::from_millis(100)) => {
                // A container killed mid-push has no cgroup left; the checks below say so.
                working_set = working_set.max(memory.working_set().unwrap_or(0));
                anonymous = anonymous.max(memory.anonymous().unwrap_or(0));
            }
        }
    };
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    let cgroup = memory.peak()?;
    let now = fx.pods(ns).get(&pod_name(pod)).await?;
    let (restarts, reason) = cgroup::restarts(&now, "ferry-sidecar");
    ensure!(
        restarts == 0,
        "the sidecar restarted {restarts} times (last: {reason:?}) during push {token}"
    );
    ensure!(
        cgroup::container_id(&now, "ferry-sidecar") == cgroup::container_id(pod, "ferry-sidecar"),
        "the sidecar container changed during push {token}"
    );
    Ok(Peaks {
        cgroup,
        working_set,
        anonymous,
    })
}

#[tokio::test]
async fn the_s3_benchmark_pushes_fit_the_sidecars_default_memory_limit() -> anyhow::Result<()> {
    let fx = Replication::start("mem").await?;
    let ns = fx.namespace("mem", true).await?;
    let data = fx.volume(&ns, "data").await?;
    for i in 0..4u64 {
        tree::write_big(&data, &format!("big-{i}.bin"), 256 << 20, i)?;
    }
    fx.rclone_secret(&ns, "rclone").await?;
    let bucket = fx.minio.bucket("mem").await?;
    let source = manifests::rclone_source(
        "to-s3",
        "data",
        "rclone",
        &format!("{bucket}/big"),
        "Direct",
        None,
    );
    let template = manifests::pod_template("app", Role::Source, "to-s3", "data");
    let pod = fx
        .bind(&ns, &source, &manifests::pod("app", &template))
        .await?
        .remove(0);
    let memory = ContainerMemory::of(fx.cluster, &pod, "ferry-sidecar")?;
    let limit = memory.limit()?;
    cgroup::ensure_limited(limit)?;
    ensure!(
        limit == DEFAULT_LIMIT,
        "the sidecar's cgroup limit is {limit}, not the injected default {DEFAULT_LIMIT}"
    );

    let big = pushed_within_the_limit(&fx, &ns, &pod, &memory, "big").await?;
    let objects = fx.minio.list(&bucket, "big").await?;
    ensure!(
        objects.len() == 4 && objects.values().all(|s| *s == 256 << 20),
        "{objects:?}"
    );

    // The 10,000-file case, an initial push to its own prefix.
    for i in 0..4 {
        std::fs::remove_file(data.join(format!("big-{i}.bin")))?;
    }
    let mut total = 0u64;
    for i in 0..10_000u64 {
        let size = 1024 + usize::try_from((i * 7919) % (63 * 1024 + 1))?;
        let rel = format!("d{:03}/s{:02}/file-{i:06}.dat", i / 1000, (i / 100) % 10);
        tree::write_file(&data, &rel, &noise(i, size), tree::now_secs())?;
        total += size as u64;
    }
    fx.patch(
        Role::Source,
        &ns,
        "to-s3",
        json!({"spec": {"rclone": {"rcloneDestPath": format!("{bucket}/small")}}}),
    )
    .await?;
    let small = pushed_within_the_limit(&fx, &ns, &pod, &memory, "small").await?;
    let objects = fx.minio.list(&bucket, "small").await?;
    ensure!(
        objects.len() == 10_000 && objects.values().map(|s| *s as u64).sum::<u64>() == total,
        "{} objects in {bucket}/small",
        objects.len()
    );
    for (case, peaks) in [("4 x 256 MiB", &big), ("10,000 files of 1-64 KiB", &small)] {
        println!(
            "sidecar container, limit {}: {case}: cgroup peak {} (page cache included), \
             working set max {}, anonymous max {} (sampled every 100 ms)",
            cgroup::mib(limit),
            cgroup::mib(peaks.cgroup),
            cgroup::mib(peaks.working_set),
            cgroup::mib(peaks.anonymous),
        );
    }
    println!(
        "10,000 files: {}; memory.failcnt {}",
        cgroup::mib(total),
        memory.failcnt()?
    );
    fx.passed();
    Ok(())
}
