use super::*;
use serde_json::json;

fn source() -> PersistentVolumeClaim {
    serde_json::from_value(json!({"metadata": {"name": "data"}, "spec": {
        "storageClassName": "standard", "accessModes": ["ReadWriteMany"],
        "resources": {"requests": {"storage": "10Gi"}}}}))
    .unwrap()
}

#[test]
fn without_options_the_source_pvc_is_copied() {
    let t = template(&source(), &VolumeOptions::default(), None);
    assert_eq!(
        t,
        Template {
            storage_class: Some("standard".into()),
            access_modes: vec!["ReadWriteMany".into()],
            capacity: "10Gi".into(),
        }
    );
}

#[test]
fn options_override_the_source() {
    let options = VolumeOptions {
        storage_class_name: Some("fast".into()),
        access_modes: Some(vec!["ReadWriteOnce".into()]),
        capacity: Some(Quantity("20Gi".into())),
        ..VolumeOptions::default()
    };
    let t = template(&source(), &options, Some("10Gi"));
    assert_eq!(t.storage_class.as_deref(), Some("fast"));
    assert_eq!(t.access_modes, ["ReadWriteOnce"]);
    assert_eq!(t.capacity, "20Gi");
}

#[test]
fn an_empty_access_mode_list_does_not_count() {
    let options = VolumeOptions {
        access_modes: Some(vec![]),
        ..VolumeOptions::default()
    };
    assert_eq!(
        template(&source(), &options, None).access_modes,
        ["ReadWriteMany"]
    );
    let bare: PersistentVolumeClaim = serde_json::from_value(json!({"spec": {}})).unwrap();
    let t = template(&bare, &VolumeOptions::default(), None);
    assert_eq!(t.access_modes, ["ReadWriteOnce"]);
    assert_eq!(t.storage_class, None);
    assert_eq!(t.capacity, FALLBACK_CAPACITY);
}

#[test]
fn a_larger_restore_size_wins_whatever_the_units() {
    let small = VolumeOptions {
        capacity: Some(Quantity("1Gi".into())),
        ..VolumeOptions::default()
    };
    assert_eq!(template(&source(), &small, Some("2G")).capacity, "2G");
    assert_eq!(template(&source(), &small, Some("1000Mi")).capacity, "1Gi");
    assert_eq!(
        template(&source(), &VolumeOptions::default(), Some("10737418240")).capacity,
        "10Gi"
    );
    assert_eq!(
        template(&source(), &VolumeOptions::default(), Some("11Gi")).capacity,
        "11Gi"
    );
    let bare: PersistentVolumeClaim = serde_json::from_value(json!({"spec": {}})).unwrap();
    assert_eq!(
        template(&bare, &VolumeOptions::default(), Some("3Gi")).capacity,
        "3Gi"
    );
}

#[test]
fn a_restored_claim_points_at_its_snapshot() {
    let t = template(&source(), &VolumeOptions::default(), None);
    let source = TypedLocalObjectReference {
        api_group: Some(snapshot::GROUP.into()),
        kind: "VolumeSnapshot".into(),
        name: "snap".into(),
    };
    let owner = Owner {
        api_version: "replication.ferry.dev/v1alpha1".into(),
        kind: "ReplicationSource".into(),
        name: "db".into(),
        uid: "u-1".into(),
    };
    let c = claim(
        "shop",
        "tmp",
        source,
        &t,
        &owner.temporary_labels(),
        Some(&owner),
    );
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(
        v["spec"]["dataSource"],
        json!({"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "snap"})
    );
    assert_eq!(v["spec"]["resources"]["requests"]["storage"], "10Gi");
    assert_eq!(v["metadata"]["labels"]["ferry.dev/temporary-for"], "u-1");
    assert_eq!(v["metadata"]["ownerReferences"][0]["uid"], "u-1");
}
