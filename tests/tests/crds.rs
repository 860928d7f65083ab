//! Ferry's CRDs in a real apiserver: examples apply and read back, the schema and CEL rules
//! refuse bad objects with no webhook installed, and `kubectl explain` shows the docs.

use anyhow::Context;
use ferry_e2e::{Cluster, TestNamespace, cluster::repo_root};
use serde_json::Value;

/// True when every field of `want` is in `got` with the same value (defaults may add more).
fn contains(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (_, Value::Null) => true,
        (Value::Object(got), Value::Object(want)) => want
            .iter()
            .all(|(k, v)| got.get(k).is_some_and(|g| contains(g, v))),
        // The apiserver may append to lists (a Pod gets its service-account volume).
        (Value::Array(got), Value::Array(want)) => {
            got.len() >= want.len() && got.iter().zip(want).all(|(g, w)| contains(g, w))
        }
        _ => got == want,
    }
}

#[test]
fn every_example_applies_and_reads_back() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, "examples", &[])?;
    let all = ferry_e2e::examples::all()?;
    assert!(all.len() >= 10, "found only {} examples", all.len());
    for (file, manifest) in all {
        let kind = manifest["kind"].as_str().context("kind")?.to_owned();
        let name = manifest["metadata"]["name"]
            .as_str()
            .context("name")?
            .to_owned();
        let text = serde_json::to_string(&manifest)?;
        cluster
            .kubectl_stdin(["apply", "-n", ns.name.as_str(), "-f", "-"], &text)?
            .ok()
            .with_context(|| format!("{file}: kubectl apply"))?;
        let read = cluster
            .kubectl([
                "get",
                "-n",
                ns.name.as_str(),
                kind.as_str(),
                name.as_str(),
                "-o",
                "json",
            ])?
            .ok()?;
        let read: Value = serde_json::from_str(&read.stdout)?;
        for field in ["labels", "annotations"] {
            assert!(
                contains(&read["metadata"][field], &manifest["metadata"][field]),
                "{file}: metadata.{field} differs"
            );
        }
        assert!(
            contains(&read["spec"], &manifest["spec"]),
            "{file}: read back {} differs from applied {}",
            read["spec"],
            manifest["spec"]
        );
        cluster
            .kubectl([
                "delete",
                "-n",
                ns.name.as_str(),
                kind.as_str(),
                name.as_str(),
                "--wait=false",
            ])?
            .ok()?;
    }
    Ok(())
}

fn apply_expect_refusal(cluster: &Cluster, ns: &str, manifest: &str) -> anyhow::Result<String> {
    let out = cluster.kubectl_stdin(["apply", "-n", ns, "-f", "-"], manifest)?;
    assert!(!out.success, "the apiserver accepted {manifest}");
    Ok(out.stderr)
}

#[test]
fn the_apiserver_refuses_bad_sources_without_a_webhook() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, "schema", &[])?;

    let bad_enum = r#"{"apiVersion":"replication.ferry.dev/v1alpha1","kind":"ReplicationSource",
        "metadata":{"name":"bad-enum"},
        "spec":{"sourcePVC":"data","rsync":{"address":"h","sshKeys":"k","copyMethod":"Move"}}}"#;
    let err = apply_expect_refusal(cluster, &ns.name, bad_enum)?;
    assert!(
        err.contains(r#"spec.rsync.copyMethod: Unsupported value: "Move": supported values: "Direct", "None", "Snapshot", "Clone""#),
        "{err}"
    );

    let two_movers = r#"{"apiVersion":"replication.ferry.dev/v1alpha1","kind":"ReplicationSource",
        "metadata":{"name":"two-movers"},
        "spec":{"sourcePVC":"data","rsync":{"address":"h","sshKeys":"k"},
                "rclone":{"rcloneConfig":"c","rcloneDestPath":"bucket/p"}}}"#;
    let err = apply_expect_refusal(cluster, &ns.name, two_movers)?;
    assert!(
        err.contains("spec.rsync and spec.rclone are mutually exclusive: set exactly one mover"),
        "{err}"
    );

    let no_mover = r#"{"apiVersion":"replication.ferry.dev/v1alpha1","kind":"ReplicationSource",
        "metadata":{"name":"no-mover"},"spec":{"sourcePVC":"data"}}"#;
    let err = apply_expect_refusal(cluster, &ns.name, no_mover)?;
    assert!(
        err.contains("a mover is required: set spec.rsync or spec.rclone"),
        "{err}"
    );

    let both_triggers = r#"{"apiVersion":"replication.ferry.dev/v1alpha1","kind":"ReplicationSource",
        "metadata":{"name":"both-triggers"},
        "spec":{"sourcePVC":"data","trigger":{"schedule":"@daily","manual":"now"},
                "rsync":{"address":"h","sshKeys":"k"}}}"#;
    let err = apply_expect_refusal(cluster, &ns.name, both_triggers)?;
    assert!(
        err.contains(
            "spec.trigger: Forbidden: schedule and manual are mutually exclusive: set one of them"
        ),
        "{err}"
    );

    let locked_mirror = r#"{"apiVersion":"replication.ferry.dev/v1alpha1","kind":"ReplicationSource",
        "metadata":{"name":"locked-mirror"},
        "spec":{"sourcePVC":"data","rclone":{"rcloneConfig":"c","rcloneDestPath":"bucket/p",
                "objectLock":{"mode":"Compliance","retainDays":30}}}}"#;
    let err = apply_expect_refusal(cluster, &ns.name, locked_mirror)?;
    assert!(
        err.contains("spec.rclone.objectLock needs spec.rclone.timestampPrefix: true: on a mirror every overwrite and deletion of a locked object would fail"),
        "{err}"
    );

    let bad_port = r#"{"apiVersion":"replication.ferry.dev/v1alpha1","kind":"ReplicationSource",
        "metadata":{"name":"bad-port"},
        "spec":{"sourcePVC":"data","rsync":{"address":"h","sshKeys":"k","port":70000}}}"#;
    let err = apply_expect_refusal(cluster, &ns.name, bad_port)?;
    assert!(err.contains("spec.rsync.port: Invalid value: 70000: spec.rsync.port in body should be less than or equal to 65535"), "{err}");
    Ok(())
}

#[test]
fn kubectl_explain_shows_field_descriptions() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let out = cluster
        .kubectl(["explain", "replicationsource.spec.rclone.rcloneDestPath"])?
        .ok()?;
    assert!(
        out.stdout
            .contains("Where the data lives in object storage, written `bucket[/prefix]`."),
        "{}",
        out.stdout
    );
    let out = cluster
        .kubectl(["explain", "replicationdestination.spec.rsync.retain"])?
        .ok()?;
    assert!(
        out.stdout.contains("How many published snapshots to keep"),
        "{}",
        out.stdout
    );
    Ok(())
}

#[test]
fn printer_columns_show_in_kubectl_get() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, "columns", &[])?;
    let path = repo_root().join("examples/rclone-source.yaml");
    cluster
        .kubectl([
            "apply",
            "-n",
            ns.name.as_str(),
            "-f",
            &path.display().to_string(),
        ])?
        .ok()?;
    let out = cluster
        .kubectl(["get", "-n", ns.name.as_str(), "replicationsources"])?
        .ok()?;
    let header = out.stdout.lines().next().unwrap_or_default().to_owned();
    for column in [
        "NAME",
        "SOURCE",
        "METHOD",
        "LAST SYNC",
        "DURATION",
        "NEXT SYNC",
        "STATUS",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let row = out.stdout.lines().nth(1).unwrap_or_default().to_owned();
    assert!(
        row.contains("data-to-s3") && row.contains("data") && row.contains("Direct"),
        "{row}"
    );
    Ok(())
}
