use std::collections::BTreeMap;

use ferry_api::types::{MoverStatus, SyncStatus, Trigger};

use super::*;
use crate::objects::Kind;
use crate::test_support::at;

fn cr(name: &str, status: Option<SyncStatus>) -> Replication {
    Replication {
        kind: Kind::ReplicationSource,
        namespace: "shop".into(),
        name: name.into(),
        created: Some(at("2026-12-07T08:00:00Z")),
        mover: "rclone",
        copy_method: "Snapshot".into(),
        pvc: Some("data".into()),
        trigger: Some(Trigger {
            schedule: Some("*/15 * * * *".into()),
            time_zone: Some("Europe/Berlin".into()),
            manual: None,
            jitter: None,
        }),
        paused: false,
        status,
        latest_image: None,
        rclone: None,
        verify: false,
    }
}

fn pods() -> BTreeMap<(String, String), PodFacts> {
    let pod = PodFacts {
        namespace: "shop".into(),
        name: "web".into(),
        phase: "Running".into(),
        ..PodFacts::default()
    };
    BTreeMap::from([(("shop".into(), "web".into()), pod)])
}

fn healthy() -> SyncStatus {
    SyncStatus {
        bound_pod: Some("web".into()),
        last_sync_time: Some(Time(at("2026-12-07T09:55:00Z"))),
        last_sync_duration: Some("2.5s".into()),
        next_sync_time: Some(Time(at("2026-12-07T10:15:00Z"))),
        latest_mover_status: Some(MoverStatus {
            result: MoverResult::Successful,
            logs: None,
        }),
        ..SyncStatus::default()
    }
}

fn failing() -> SyncStatus {
    SyncStatus {
        bound_pod: Some("web".into()),
        consecutive_failures: Some(2),
        latest_mover_status: Some(MoverStatus {
            result: MoverResult::Failed,
            logs: None,
        }),
        ..SyncStatus::default()
    }
}

#[test]
fn the_table_shows_one_row_per_object_with_its_health() {
    let now = at("2026-12-07T10:00:00Z");
    let crs = [
        cr("a-healthy", Some(healthy())),
        cr("b-failing", Some(failing())),
        cr("c-unbound", None),
    ];
    let rows = rows(&crs, &pods(), now);
    let text = table(
        &rows,
        Columns {
            namespace: true,
            wide: false,
        },
        now,
        false,
    );
    let expected = "\
NAMESPACE   NAME        KIND     METHOD            POD   LAST SYNC   DURATION   RESULT       NEXT          FAILURES   VERIFIED   HEALTH
shop        a-healthy   source   rclone/Snapshot   web   5m ago      2.5s       Successful   in 15m        0          -          Healthy
shop        b-failing   source   rclone/Snapshot   web   -           -          Failed       after a fix   2          -          Failing
shop        c-unbound   source   rclone/Snapshot   -     -           -          -            -             0          -          Unbound
";
    assert_eq!(text, expected);
    assert_eq!(
        rows[0].schedule.as_deref(),
        Some("*/15 * * * * Europe/Berlin")
    );
}

#[test]
fn json_round_trips() {
    let now = at("2026-12-07T10:00:00Z");
    let crs = [
        cr("a", Some(healthy())),
        cr("b", Some(failing())),
        cr("c", None),
    ];
    let list = StatusList {
        kind: LIST_KIND.into(),
        time: Time(now),
        items: rows(&crs, &pods(), now),
    };
    let json = crate::output::encode(&list, crate::output::Format::Json).unwrap_or_default();
    let back: StatusList = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(back, list);
    let yaml = crate::output::encode(&list, crate::output::Format::Yaml).unwrap_or_default();
    let back: StatusList = serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{e}: {yaml}"));
    assert_eq!(back, list);
    let health: Vec<&str> = list.items.iter().map(|r| r.health.word()).collect();
    assert_eq!(health, ["Healthy", "Failing", "Unbound"]);
}
