use super::*;

fn remote(section: Option<&str>) -> Remote {
    Remote {
        secret: "creds".into(),
        section: section.map(str::to_owned),
        path: "bucket/app".into(),
    }
}

fn one_shot(section: Option<&str>) -> OneShot {
    let pull = Pull {
        claim: "data-restored".into(),
        remote: remote(section),
        stamp: Some("2026-12-07-101500".into()),
    };
    OneShot {
        name: "ferry-restore-data-restored".into(),
        image: "ghcr.io/ferry-dev/ferry-sidecar:0.1.0".into(),
        remote: remote(section),
        user: 1000,
        args: pull_args(&pull),
        claim: Some("data-restored".into()),
    }
}

fn info(stamp: &str, complete: bool) -> CopyInfo {
    CopyInfo {
        stamp: stamp.into(),
        complete,
        files: 3,
        bytes: 100,
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
fn the_pull_and_the_listing_name_the_remote() {
    let named = pull_args(&Pull {
        claim: "x".into(),
        remote: remote(Some("minio")),
        stamp: Some("2026-12-07-101500".into()),
    });
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
    let mirror = pull_args(&Pull {
        claim: "x".into(),
        remote: remote(None),
        stamp: None,
    });
    assert_eq!(
        mirror,
        [
            "sync",
            "s3:bucket/app",
            "/restore",
            "--links",
            "--env-config"
        ]
    );
    assert_eq!(
        copies_args(&remote(Some("minio"))),
        [
            "copies",
            "minio:bucket/app",
            "--config",
            "/config/rclone.conf"
        ]
    );
}

#[test]
fn the_pod_is_restricted_and_mounts_the_claim_and_secret() {
    let p = pod(&one_shot(Some("minio")));
    assert_eq!(p["spec"]["restartPolicy"], "Never");
    assert_eq!(p["spec"]["securityContext"]["runAsUser"], 1000);
    let c = &p["spec"]["containers"][0];
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["command"][0], "ferry-sidecar");
    assert_eq!(
        p["spec"]["volumes"][1]["persistentVolumeClaim"]["claimName"],
        "data-restored"
    );
    assert_eq!(p["spec"]["volumes"][2]["secret"]["secretName"], "creds");
    assert_eq!(p["metadata"]["labels"][RESTORE_LABEL], "data-restored");
    let env = pod(&one_shot(None));
    assert_eq!(
        env["spec"]["containers"][0]["envFrom"][0]["secretRef"]["name"],
        "creds"
    );
}

#[test]
fn the_copy_chosen_is_complete() {
    let log = "{\"stamp\":\"2026-12-07-100000\",\"complete\":true,\"files\":3,\"bytes\":100}\nnoise\n\
               {\"stamp\":\"2026-12-07-110000\",\"complete\":false,\"files\":3,\"bytes\":100}\n";
    let copies = parse_copies(log);
    assert_eq!(
        copies,
        [
            info("2026-12-07-100000", true),
            info("2026-12-07-110000", false)
        ]
    );
    assert_eq!(
        choose(&copies, &Copy::Latest),
        Ok("2026-12-07-100000".into())
    );
    assert_eq!(
        choose(&copies, &Copy::Stamp("2026-12-07-100000".into())),
        Ok("2026-12-07-100000".into())
    );
    assert!(
        choose(&copies, &Copy::Stamp("2026-12-07-110000".into()))
            .unwrap_err()
            .contains("partial")
    );
    assert!(
        choose(&copies, &Copy::Stamp("2026-12-07-120000".into()))
            .unwrap_err()
            .contains("no copy")
    );
    assert!(choose(&[], &Copy::Latest).is_err());
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
