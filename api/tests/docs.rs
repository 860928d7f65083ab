//! The reference pages in `docs/reference/` are generated from the annotation constants and
//! the CRD schema; this fails when the committed copies are stale. Run `make docs`.

use std::path::Path;

#[test]
fn committed_reference_matches_the_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(ferry_api::docs::DIR);
    let pages = ferry_api::docs::render_all().expect("render the reference");
    for (file, fresh) in &pages {
        let committed = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|err| {
            panic!("docs/reference/{file}: {err}; run `make docs` and commit the result")
        });
        assert!(
            committed == *fresh,
            "docs/reference/{file} is stale; run `make docs` and commit the result"
        );
    }
    // A page nobody generates any more is stale too.
    for entry in std::fs::read_dir(&dir).expect("read docs/reference") {
        let name = entry.expect("dir entry").file_name();
        let name = name.to_string_lossy();
        assert!(
            pages.iter().any(|(file, _)| *file == name),
            "docs/reference/{name} is not generated; delete it or add it to ferry_api::docs"
        );
    }
}

#[test]
fn the_reference_covers_every_key_and_field() {
    let pages = ferry_api::docs::render_all().expect("render the reference");
    let page = |name: &str| {
        pages
            .iter()
            .find(|(file, _)| *file == name)
            .map(|(_, text)| text.clone())
            .expect("page rendered")
    };
    let annotations = page("annotations.md");
    for key in ferry_api::annotations::ALL
        .iter()
        .chain(&ferry_api::annotations::LABELS)
    {
        assert!(
            annotations.contains(&format!("| `{key}` |")),
            "{key} missing"
        );
    }
    let source = page("replicationsource.md");
    for field in [
        "`spec.sourcePVC`",
        "`spec.trigger.timeZone`",
        "`spec.rsync.sshKeys`",
        "`spec.rclone.rcloneDestPath`",
        "`status.lastSyncStats.bytesTransferred`",
    ] {
        assert!(source.contains(field), "{field} missing");
    }
    let destination = page("replicationdestination.md");
    for field in [
        "`spec.rsync.serviceType` | string | `ClusterIP`",
        "`spec.rsync.retain` | int32 | `1`",
        "`status.latestImage` | TypedLocalObjectReference (core/v1)",
    ] {
        assert!(destination.contains(field), "{field} missing");
    }
}
