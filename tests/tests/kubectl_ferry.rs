//! `kubectl ferry` (issue 27) on the real cluster, run through the built `kubectl`, which
//! finds the plugin on PATH as it does for a user: `status -A` over a healthy, a failing
//! (bad credentials) and an unbound source, with `-o json` read back; `sync --wait` ending
//! 0 after a good sync and non-zero with the reason after a failing one; `migrate volsync
//! -f` on VolSync's own manifests applied to the apiserver (schema and webhook), with the
//! restic mover named unsupported.
//!
//! Results are read as a user reads them: the plugin's output and exit status, and the
//! objects in the apiserver.

use anyhow::{Context, ensure};
use ferry_e2e::cluster::repo_root;
use ferry_e2e::plugin::{kubectl_ferry, run_line};
use ferry_e2e::replication::manifests::{self, Role};
use ferry_e2e::replication::observe::{condition_is, condition_message};
use ferry_e2e::replication::{Compare, LIMIT, Replication, SYNC_LIMIT, Tree, tree};
use ferry_kubectl::health::Health;
use ferry_kubectl::restore::CopyInfo;
use ferry_kubectl::status::{LIST_KIND, StatusList};
use serde_json::{Value, json};

/// Binds an rclone source `name` of a fresh volume `claim` (with files) to a pod `pod`,
/// with the Secret `secret` holding `conf`.
async fn bound_source(
    fx: &Replication,
    ns: &str,
    bucket: &str,
    (name, claim, pod, secret): (&str, &str, &str, &str),
    conf: &str,
) -> anyhow::Result<()> {
    let data = fx.volume(ns, claim).await?;
    tree::write_tree(&data, 5)?;
    fx.create(ns, &manifests::rclone_secret(secret, conf))
        .await?;
    let source = manifests::rclone_source(
        name,
        claim,
        secret,
        &format!("{bucket}/{name}"),
        "Direct",
        Some(manifests::manual("one")),
    );
    let template = manifests::pod_template(pod, Role::Source, name, claim);
    fx.bind(ns, &source, &manifests::pod(pod, &template))
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn status_names_healthy_failing_and_unbound_and_sync_wait_ends_with_the_result()
-> anyhow::Result<()> {
    let fx = Replication::start("kfstatus").await?;
    let ns = fx.namespace("kfstatus", true).await?;
    let bucket = fx.minio.bucket("kfstatus").await?;
    let good = fx.minio.rclone_conf();
    let bad = fx.minio.rclone_conf_with("nobody", "wrong-secret-key");
    bound_source(
        &fx,
        &ns,
        &bucket,
        ("healthy", "data-a", "web-a", "good-creds"),
        &good,
    )
    .await?;
    bound_source(
        &fx,
        &ns,
        &bucket,
        ("failing", "data-b", "web-b", "bad-creds"),
        &bad,
    )
    .await?;
    // A source no pod binds.
    let unbound = manifests::rclone_source(
        "unbound",
        "data-c",
        "good-creds",
        &format!("{bucket}/unbound"),
        "Direct",
        Some(manifests::manual("one")),
    );
    fx.create(&ns, &unbound).await?;
    fx.wait_manual(Role::Source, &ns, "healthy", "one").await?;
    fx.wait_status(
        Role::Source,
        &ns,
        "failing",
        "the bad credentials refused",
        SYNC_LIMIT,
        |s| {
            (s["latestMoverStatus"]["result"] == "Failed"
                && condition_is(s, "Synchronizing", "False", "Error"))
            .then_some(())
        },
    )
    .await?;

    // -o json: three rows with their health words, and the document reads back as it was.
    let out = kubectl_ferry(fx.cluster, ["status", "-A", "-o", "json"])?.ok()?;
    let value: Value = serde_json::from_str(&out.stdout).context("status -o json")?;
    let list: StatusList = serde_json::from_value(value.clone()).context("a StatusList")?;
    ensure!(list.kind == LIST_KIND, "{}", out.stdout);
    ensure!(
        serde_json::to_value(&list)? == value,
        "-o json does not round-trip:\n{}",
        out.stdout
    );
    let mine: Vec<(&str, Health)> = list
        .items
        .iter()
        .filter(|r| r.namespace == ns)
        .map(|r| (r.name.as_str(), r.health))
        .collect();
    ensure!(
        mine == [
            ("failing", Health::Failing),
            ("healthy", Health::Healthy),
            ("unbound", Health::Unbound)
        ],
        "{mine:?}\n{}",
        out.stdout
    );
    let failing = list
        .items
        .iter()
        .find(|r| r.namespace == ns && r.name == "failing")
        .context("row")?;
    ensure!(
        failing.consecutive_failures >= 1 && failing.bound_pod.as_deref() == Some("web-b"),
        "{failing:?}"
    );

    // The table a person reads: not a terminal, so no colour codes.
    let out = run_line(fx.cluster, "kubectl ferry status -A")?.ok()?;
    // Shown with --nocapture: the README's example comes from this run.
    println!("$ kubectl ferry status -A\n{}", out.stdout);
    ensure!(
        !out.stdout.contains('\x1b'),
        "colour off a terminal:\n{}",
        out.stdout
    );
    let header = out.stdout.lines().next().unwrap_or_default();
    ensure!(
        header.split_whitespace().collect::<Vec<_>>()
            == [
                "NAMESPACE",
                "NAME",
                "KIND",
                "METHOD",
                "POD",
                "LAST",
                "SYNC",
                "DURATION",
                "RESULT",
                "NEXT",
                "FAILURES",
                "VERIFIED",
                "HEALTH"
            ],
        "{}",
        out.stdout
    );
    for (name, pod, word) in [
        ("healthy", "web-a", "Healthy"),
        ("failing", "web-b", "Failing"),
        ("unbound", "-", "Unbound"),
    ] {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{ns} ")) && l.split_whitespace().nth(1) == Some(name))
            .with_context(|| format!("no row for {name}:\n{}", out.stdout))?;
        let cells: Vec<&str> = line.split_whitespace().collect();
        ensure!(cells.last() == Some(&word) && cells[4] == pod, "{line}");
    }
    // -o yaml carries the same rows.
    let out = kubectl_ferry(fx.cluster, ["status", "-n", ns.as_str(), "-o", "yaml"])?.ok()?;
    let yaml: StatusList = serde_saphyr::from_str(&out.stdout).context("status -o yaml")?;
    ensure!(yaml.items.len() == 3, "{}", out.stdout);
    // One object in detail: health and why, the sidecar, conditions and Events.
    let out = kubectl_ferry(fx.cluster, ["status", "failing", "-n", ns.as_str()])?.ok()?;
    for want in [
        "Health:       Failing",
        "Sidecar:      running",
        "Conditions:",
        "Synchronizing",
        "Events (last",
        "SyncFailed",
    ] {
        ensure!(out.stdout.contains(want), "no {want:?} in:\n{}", out.stdout);
    }

    // sync --wait: 0 after a good sync, with its counters.
    let out = kubectl_ferry(fx.cluster, ["sync", "healthy", "-n", ns.as_str(), "--wait"])?;
    ensure!(
        out.success,
        "sync --wait healthy failed:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    let status = fx.status(Role::Source, &ns, "healthy").await?;
    let token = status["lastManualSync"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ensure!(token.starts_with("kubectl-ferry-"), "{status:#}");
    ensure!(
        out.stdout.contains(&format!("sync {token} succeeded in")),
        "{}",
        out.stdout
    );
    // Non-zero after a failing one, with the reason the status gives.
    let out = kubectl_ferry(fx.cluster, ["sync", "failing", "-n", ns.as_str(), "--wait"])?;
    ensure!(
        !out.success,
        "sync --wait of bad credentials succeeded:\n{}",
        out.stdout
    );
    let status = fx.status(Role::Source, &ns, "failing").await?;
    let message = condition_message(&status, "Synchronizing");
    ensure!(!message.is_empty(), "{status:#}");
    ensure!(
        out.stderr.contains(&format!(
            "the sync of ReplicationSource {ns}/failing failed: Error: {message}"
        )),
        "the reason is not named:\n{}\nstatus:\n{status:#}",
        out.stderr
    );
    // Nothing would run a sync of the unbound source.
    let out = kubectl_ferry(fx.cluster, ["sync", "unbound", "-n", ns.as_str(), "--wait"])?;
    ensure!(
        !out.success && out.stderr.contains("no pod binds it"),
        "{}",
        out.stderr
    );
    fx.passed();
    Ok(())
}

/// The spec the apiserver stores for the ported manifest `examples/volsync/<file>` in
/// `ns`, defaults included (a server-side dry run, before anything of that name exists).
fn ported(fx: &Replication, ns: &str, file: &str) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(repo_root().join("examples/volsync").join(file))?;
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text)?;
    let mut object = docs.into_iter().next().context("empty")?;
    if let Some(meta) = object["metadata"].as_object_mut() {
        meta.remove("namespace");
    }
    let out = fx.dry_run(ns, &object)?.ok()?;
    let stored: Value = serde_json::from_str(&out.stdout)?;
    Ok(stored["spec"].clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_volsync_examples_are_accepted_by_the_apiserver_and_restic_is_refused()
-> anyhow::Result<()> {
    let fx = Replication::start("kfmigrate").await?;
    let testdata = repo_root().join("kubectl/testdata/volsync");
    let file = |name: &str| testdata.join(name).display().to_string();
    for mover in ["rsync", "rclone"] {
        // Each namespace is seen by the chart's webhook: both the schema and the webhook
        // check what is applied.
        let ns = fx.namespace(&format!("kfmig-{mover}"), false).await?;
        let expected = [
            ported(&fx, &ns, &format!("{mover}-source.yaml"))?,
            ported(&fx, &ns, &format!("{mover}-destination.yaml"))?,
        ];
        let source = file(&format!("{mover}-source.yaml"));
        let destination = file(&format!("{mover}-destination.yaml"));
        let out = kubectl_ferry(
            fx.cluster,
            [
                "migrate",
                "volsync",
                "-f",
                &source,
                "-f",
                &destination,
                "--to-namespace",
                &ns,
                "--apply",
            ],
        )?;
        ensure!(
            out.success,
            "migrate {mover}:\n{}\n{}",
            out.stdout,
            out.stderr
        );
        ensure!(
            out.stdout.contains(
                "# Add to the pod template of the workload that mounts PVC mysql-pv-claim:"
            ) && out.stdout.contains("ferry.dev/source: database-source")
                && out
                    .stdout
                    .contains("ferry.dev/destination: database-destination"),
            "{}",
            out.stdout
        );
        ensure!(
            out.stdout.contains(&format!("#   spec.{mover}.capacity:")),
            "the destination's provisioning is named:\n{}",
            out.stdout
        );
        let names = [
            (Role::Source, "database-source"),
            (Role::Destination, "database-destination"),
        ];
        for ((role, name), expected) in names.into_iter().zip(&expected) {
            let cr = fx.cr(role, &ns, name).await?;
            ensure!(
                cr["spec"] == *expected,
                "{} {ns}/{name} is not the ported example:\n{:#}\nexpected:\n{expected:#}",
                role.kind(),
                cr["spec"]
            );
            ensure!(
                out.stderr
                    .contains(&format!("{} {ns}/{name}: applied", role.kind())),
                "{}",
                out.stderr
            );
        }
    }
    // restic: named, nothing written or applied for it, exit non-zero; the rsync source
    // beside it still converts (server dry run).
    let ns = fx.namespace("kfmig-restic", false).await?;
    let out = kubectl_ferry(
        fx.cluster,
        [
            "migrate",
            "volsync",
            "-f",
            &file("restic-source.yaml"),
            "-f",
            &file("restic-destination.yaml"),
            "-f",
            &file("rsync-source.yaml"),
            "--to-namespace",
            &ns,
            "--apply",
            "--dry-run",
        ],
    )?;
    ensure!(
        !out.success,
        "restic was accepted:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    for kind in ["ReplicationSource", "ReplicationDestination"] {
        let name = if kind == "ReplicationSource" {
            "database-source"
        } else {
            "database-destination"
        };
        ensure!(
            out.stderr.contains(&format!(
                "{kind} {ns}/{name}: VolSync's restic mover is not supported by Ferry (rsync and rclone only); nothing written for it"
            )),
            "{}",
            out.stderr
        );
    }
    ensure!(
        out.stdout.matches("\n---\n").count() + usize::from(out.stdout.starts_with("---\n")) == 1,
        "{}",
        out.stdout
    );
    ensure!(!out.stdout.contains("repository"), "{}", out.stdout);
    ensure!(
        out.stderr.contains("applied (server dry run)"),
        "{}",
        out.stderr
    );
    ensure!(
        fx.crs(Role::Source, &ns)
            .get_opt("database-source")
            .await?
            .is_none(),
        "a dry run stored the object"
    );
    fx.passed();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_from_a_named_timestamped_copy_and_from_latest_image_gives_the_source_bytes()
-> anyhow::Result<()> {
    let fx = Replication::start("kfrestore").await?;
    let ns = fx.namespace("kfrestore", true).await?;
    let bucket = fx.minio.bucket("kfrestore").await?;
    fx.rclone_secret(&ns, "creds").await?;

    // An rclone source writing timestamped copies.
    let data = fx.volume(&ns, "data").await?;
    tree::write_tree(&data, 11)?;
    let source_tree = Tree::of(&data)?;
    let mut source = manifests::rclone_source(
        "stamped",
        "data",
        "creds",
        &format!("{bucket}/app"),
        "Direct",
        Some(manifests::manual("one")),
    );
    source["spec"]["rclone"]["timestampPrefix"] = json!(true);
    let template = manifests::pod_template("web", Role::Source, "stamped", "data");
    fx.bind(&ns, &source, &manifests::pod("web", &template))
        .await?;
    fx.wait_manual(Role::Source, &ns, "stamped", "one").await?;
    let listed = fx.minio.list(&bucket, "app/").await?;
    let stamp = listed
        .keys()
        .find_map(|k| k.strip_suffix(".ferry-manifest"))
        .with_context(|| format!("no complete copy in {listed:?}"))?
        .to_owned();
    // `copies` lists it, complete, with the source's files and bytes.
    let out = kubectl_ferry(
        fx.cluster,
        ["copies", "stamped", "-n", ns.as_str(), "-o", "json"],
    )?;
    ensure!(out.success, "copies:\n{}\n{}", out.stdout, out.stderr);
    let copies: Vec<CopyInfo> = serde_json::from_str(&out.stdout).context("copies -o json")?;
    let files = u64::try_from(source_tree.files.len())?;
    ensure!(
        copies
            == [CopyInfo {
                stamp: stamp.clone(),
                complete: true,
                files,
                bytes: source_tree.bytes(),
            }],
        "{copies:?}; the source has {files} file(s), {} bytes",
        source_tree.bytes()
    );
    // The files change after the copy: the restore must give the copy, not the volume.
    tree::write_file(
        &data,
        "after-the-copy.txt",
        b"not in the copy\n",
        1_700_000_000,
    )?;

    let out = kubectl_ferry(
        fx.cluster,
        [
            "restore",
            "stamped",
            "-n",
            ns.as_str(),
            "--to",
            "from-copy",
            "--copy",
            &stamp,
        ],
    )?;
    ensure!(
        out.success,
        "restore --copy {stamp}:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    ensure!(
        out.stdout.contains(&format!(
            "PVC {ns}/from-copy holds copy {stamp} of {ns}/stamped"
        )),
        "{}",
        out.stdout
    );
    let restored =
        ferry_e2e::local::volume_dir(fx.cluster, &fx.client, &ns, "from-copy", LIMIT).await?;
    source_tree.ensure_same(
        &Tree::of(&restored)?,
        Compare::RCLONE,
        "the PVC restored from the copy",
    )?;
    // The one-shot pod is gone.
    let left = fx
        .pods(&ns)
        .list(&kube::api::ListParams::default().labels("ferry.dev/restore-to=from-copy"))
        .await?;
    ensure!(
        left.items
            .iter()
            .all(|p| p.metadata.deletion_timestamp.is_some()),
        "the restore pod was left"
    );

    // A destination pulling a mirror, publishing a snapshot as latestImage.
    let mirror_data = fx.volume(&ns, "mirror-src").await?;
    tree::write_tree(&mirror_data, 12)?;
    let mirror_tree = Tree::of(&mirror_data)?;
    let mirror = manifests::rclone_source(
        "mirror",
        "mirror-src",
        "creds",
        &format!("{bucket}/mirror"),
        "Direct",
        Some(manifests::manual("one")),
    );
    let template = manifests::pod_template("mirror-web", Role::Source, "mirror", "mirror-src");
    fx.bind(&ns, &mirror, &manifests::pod("mirror-web", &template))
        .await?;
    fx.wait_manual(Role::Source, &ns, "mirror", "one").await?;
    fx.volume(&ns, "landing").await?;
    let destination = manifests::rclone_destination(
        "landing",
        "creds",
        &format!("{bucket}/mirror"),
        1,
        Some(manifests::manual("one")),
    );
    let template = manifests::pod_template("landing", Role::Destination, "landing", "landing");
    fx.bind(&ns, &destination, &manifests::pod("landing", &template))
        .await?;
    let status = fx
        .wait_manual(Role::Destination, &ns, "landing", "one")
        .await?;
    let image = status["latestImage"]["name"]
        .as_str()
        .context("latestImage")?
        .to_owned();
    fx.wait_snapshot_ready(&ns, &image).await?;
    let dry = kubectl_ferry(
        fx.cluster,
        [
            "restore",
            "landing",
            "-n",
            ns.as_str(),
            "--to",
            "from-image",
            "--dry-run",
        ],
    )?
    .ok()?;
    ensure!(
        dry.stdout.contains(&format!("name: {image}")),
        "{}",
        dry.stdout
    );
    let out = kubectl_ferry(
        fx.cluster,
        [
            "restore",
            "landing",
            "-n",
            ns.as_str(),
            "--to",
            "from-image",
        ],
    )?;
    ensure!(
        out.success,
        "restore from latestImage:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    let restored =
        ferry_e2e::local::volume_dir(fx.cluster, &fx.client, &ns, "from-image", LIMIT).await?;
    mirror_tree.ensure_same(
        &Tree::of(&restored)?,
        Compare::RCLONE,
        "the PVC restored from latestImage",
    )?;
    fx.passed();
    Ok(())
}
