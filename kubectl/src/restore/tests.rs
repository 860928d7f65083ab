use super::*;

fn pull(copy: Copy, section: Option<&str>) -> Pull {
    Pull {
        pod: "restore-data".into(),
        claim: "data-restored".into(),
        image: "ghcr.io/ferry-dev/ferry-sidecar:0.1.0".into(),
        secret: "creds".into(),
        section: section.map(str::to_owned),
        path: "bucket/app".into(),
        copy,
        timestamped: true,
        user: 1000,
    }
}

#[test]
fn copies_are_latest_or_a_stamp() {
    assert_eq!(Copy::parse("latest"), Ok(Copy::Latest));
    assert_eq!(
        Copy::parse("2026-12-07-101500"),
        Ok(Copy::Stamp("2026-12-07-101500".into()))
    );
    for bad in ["2026-12-07", "2026-12-07T101500", "../x", ""] {
        assert!(Copy::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn the_pull_names_the_copy() {
    let named = pull_args(&pull(
        Copy::Stamp("2026-12-07-101500".into()),
        Some("minio"),
    ));
    assert_eq!(
        named,
        [
            "sync",
            "minio:bucket/app/2026-12-07-101500",
            "/restore",
            "--links",
            "--config",
            "/config/rclone.conf"
        ]
    );
    let latest = pull_args(&pull(Copy::Latest, None));
    assert_eq!(
        latest,
        [
            "sync",
            "s3:bucket/app",
            "/restore",
            "--links",
            "--env-config",
            "--timestamp-prefix"
        ]
    );
}

#[test]
fn the_pod_is_restricted_and_mounts_the_claim_and_secret() {
    let p = pod(&pull(Copy::Latest, Some("minio")));
    assert_eq!(p["spec"]["restartPolicy"], "Never");
    assert_eq!(p["spec"]["securityContext"]["runAsUser"], 1000);
    let c = &p["spec"]["containers"][0];
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["command"][0], "ferry-sidecar");
    assert_eq!(p["spec"]["volumes"][2]["secret"]["secretName"], "creds");
    assert_eq!(p["metadata"]["labels"][RESTORE_LABEL], "data-restored");
    let env = pod(&pull(Copy::Latest, None));
    assert_eq!(
        env["spec"]["containers"][0]["envFrom"][0]["secretRef"]["name"],
        "creds"
    );
}

#[test]
fn a_claim_from_a_snapshot_names_its_data_source() {
    let c = claim(&Claim {
        name: "restored".into(),
        storage_class: Some("csi-hostpath-sc".into()),
        size: "1Gi".into(),
        access_modes: vec!["ReadWriteOnce".into()],
        data_source: Some((
            "snapshot.storage.k8s.io".into(),
            "VolumeSnapshot".into(),
            "snap-1".into(),
        )),
    });
    assert_eq!(
        c["spec"]["dataSource"],
        json!({"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "snap-1"})
    );
    assert_eq!(c["spec"]["resources"]["requests"]["storage"], "1Gi");
}
