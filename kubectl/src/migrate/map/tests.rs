use std::path::Path;

use serde_json::json;

use super::*;

fn read(dir: &str, file: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    crate::migrate::parse(&text, &path.display().to_string()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn volsyncs_rsync_and_rclone_examples_become_exactly_the_ported_examples() {
    for file in [
        "rsync-source.yaml",
        "rsync-destination.yaml",
        "rclone-source.yaml",
        "rclone-destination.yaml",
    ] {
        let volsync = read("testdata/volsync", file);
        let ported = read("../examples/volsync", file);
        assert_eq!(volsync.len(), 1, "{file}");
        let m = convert(&volsync[0], None);
        let Outcome::Converted { object, notes } = m.outcome else {
            panic!("{file}: {:?}", m.outcome);
        };
        assert_eq!(object, ported[0], "{file}");
        // Each is valid for Ferry's validation (the webhook's rules).
        let report = if m.kind == "ReplicationSource" {
            ferry_api::validate_source(&object)
        } else {
            ferry_api::validate_destination(&object)
        };
        assert!(report.is_ok(), "{file}: {:?}", report.errors);
        // A destination names what Ferry does not do: provision its PVC.
        let provisioning: Vec<&Note> = notes
            .iter()
            .filter(|n| n.field.ends_with(".capacity"))
            .collect();
        assert_eq!(
            provisioning.len(),
            usize::from(m.kind == "ReplicationDestination"),
            "{file}: {notes:?}"
        );
    }
}

#[test]
fn restic_is_named_unsupported_and_nothing_is_written() {
    for file in ["restic-source.yaml", "restic-destination.yaml"] {
        let volsync = read("testdata/volsync", file);
        let m = convert(&volsync[0], Some("elsewhere"));
        assert_eq!(
            m.outcome,
            Outcome::Unsupported {
                mover: "restic".into()
            },
            "{file}"
        );
        let report = crate::migrate::report(std::slice::from_ref(&m));
        assert!(
            report[0].contains("VolSync's restic mover is not supported"),
            "{report:?}"
        );
        assert!(report[0].contains("elsewhere/database-"), "{report:?}");
        let text =
            crate::migrate::render(std::slice::from_ref(&m), &|_| Vec::new()).unwrap_or_default();
        assert_eq!(text, "", "nothing is written for {file}");
    }
}

#[test]
fn fields_without_an_equivalent_become_notes_with_what_to_do() {
    let volsync = json!({
        "apiVersion": "volsync.backube/v1alpha1", "kind": "ReplicationSource",
        "metadata": {"name": "db", "namespace": "shop", "labels": {"app": "db"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {"sourcePVC": "data", "paused": false,
            "trigger": {"schedule": "0 * * * *", "manual": "now"},
            "rsync": {"address": "10.0.0.1", "serviceType": "ClusterIP", "copyMethod": "Snapshot",
                "moverServiceAccount": "mover", "sshKeys": "keys"}}
    });
    let m = convert(&volsync, Some("prod"));
    let Outcome::Converted { object, notes } = m.outcome else {
        panic!("{:?}", m.outcome)
    };
    assert_eq!(
        object,
        json!({"apiVersion": "replication.ferry.dev/v1alpha1", "kind": "ReplicationSource",
            "metadata": {"name": "db", "namespace": "prod", "labels": {"app": "db"}},
            "spec": {"sourcePVC": "data", "trigger": {"schedule": "0 * * * *"},
                "rsync": {"address": "10.0.0.1", "copyMethod": "Snapshot", "sshKeys": "keys"}}})
    );
    let fields: Vec<&str> = notes.iter().map(|n| n.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "spec.rsync.moverServiceAccount",
            "spec.rsync.serviceType",
            "spec.trigger.manual"
        ]
    );
    assert!(notes[0].action.contains("sidecarBindings"), "{notes:?}");
    let report = ferry_api::validate_source(&object);
    assert!(report.is_ok(), "{:?}", report.errors);
    let text = crate::migrate::render(
        &[Migration {
            kind: m.kind,
            id: m.id,
            name: m.name,
            outcome: Outcome::Converted { object, notes },
        }],
        &|_| vec!["deployment/db".to_owned()],
    )
    .unwrap_or_default();
    assert!(
        text.starts_with("---\n# ReplicationSource prod/db, from volsync.backube/v1alpha1\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "#   spec.rsync.serviceType: \"ClusterIP\"\n#     a Ferry source always pushes"
        ),
        "{text}"
    );
    assert!(
        text.contains("# Add to the pod template of deployment/db:\n#   metadata:\n#     labels:\n#       ferry.dev/inject: \"true\"\n#     annotations:\n#       ferry.dev/source: db\n"),
        "{text}"
    );
    // The output parses back to the object (comments aside).
    let back = crate::migrate::parse(&text, "output").unwrap_or_default();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0]["spec"]["rsync"]["address"], "10.0.0.1");
}

#[test]
fn what_ferry_requires_and_volsync_generated_is_named() {
    let volsync = json!({"apiVersion": "volsync.backube/v1alpha1", "kind": "ReplicationSource",
        "metadata": {"name": "db"}, "spec": {"sourcePVC": "data", "rsync": {"address": "h"}}});
    let Outcome::Converted { notes, .. } = convert(&volsync, None).outcome else {
        panic!()
    };
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].field, "spec.rsync.sshKeys");
    assert!(
        notes[0]
            .action
            .starts_with("to set before applying: required"),
        "{notes:?}"
    );
}

#[test]
fn other_objects_are_skipped() {
    let ferry = json!({"apiVersion": "replication.ferry.dev/v1alpha1", "kind": "ReplicationSource",
        "metadata": {"name": "x"}, "spec": {}});
    assert_eq!(convert(&ferry, None).outcome, Outcome::NotVolSync);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}});
    assert_eq!(convert(&pod, None).outcome, Outcome::NotVolSync);
}
