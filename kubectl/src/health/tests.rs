use ferry_api::types::{MoverStatus, SyncStatus, Trigger};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;
use crate::objects::Kind;
use crate::test_support::{at, synchronizing};

fn cr(status: Option<SyncStatus>, schedule: Option<&str>) -> Replication {
    Replication {
        kind: Kind::ReplicationSource,
        namespace: "shop".into(),
        name: "data".into(),
        created: Some(at("2026-12-07T08:00:00Z")),
        mover: "rclone",
        copy_method: "Direct".into(),
        pvc: Some("data".into()),
        trigger: Some(Trigger {
            schedule: schedule.map(str::to_owned),
            time_zone: None,
            manual: schedule.is_none().then(|| "one".to_owned()),
            jitter: None,
        }),
        paused: false,
        status,
        latest_image: None,
        rclone: None,
        verify: false,
    }
}

fn bound(last_sync: Option<&str>) -> SyncStatus {
    SyncStatus {
        bound_pod: Some("web".into()),
        last_sync_time: last_sync.map(|t| Time(at(t))),
        latest_mover_status: last_sync.map(|_| MoverStatus {
            result: MoverResult::Successful,
            logs: None,
        }),
        ..SyncStatus::default()
    }
}

fn pod(phase: &str) -> PodFacts {
    PodFacts {
        namespace: "shop".into(),
        name: "web".into(),
        phase: phase.into(),
        ..PodFacts::default()
    }
}

const NOW: &str = "2026-12-07T10:00:30Z";

#[test]
fn no_status_or_no_live_pod_is_unbound() {
    let now = at(NOW);
    let v = assess(&cr(None, None), None, now);
    assert_eq!(v.health, Health::Unbound);
    assert!(v.why.contains("ferry.dev/source: data"), "{}", v.why);

    let status = bound(Some("2026-12-07T10:00:00Z"));
    let v = assess(&cr(Some(status.clone()), None), None, now);
    assert_eq!(
        (v.health, v.why.as_str()),
        (Health::Unbound, "bound pod web is gone")
    );

    let mut ending = pod("Running");
    ending.deleting = true;
    let v = assess(&cr(Some(status.clone()), None), Some(&ending), now);
    assert_eq!(v.why, "bound pod web is terminating");
    let v = assess(&cr(Some(status), None), Some(&pod("Failed")), now);
    assert_eq!(
        (v.health, v.why.as_str()),
        (Health::Unbound, "bound pod web is Failed")
    );
}

#[test]
fn a_failure_is_failing_with_its_reason() {
    let mut status = bound(None);
    status.consecutive_failures = Some(1);
    status.latest_mover_status = Some(MoverStatus {
        result: MoverResult::Failed,
        logs: None,
    });
    status.conditions = vec![synchronizing(
        "False",
        "Error",
        "403 Forbidden: check the keys",
    )];
    let v = assess(
        &cr(Some(status.clone()), None),
        Some(&pod("Running")),
        at(NOW),
    );
    assert_eq!(v.health, Health::Failing);
    assert_eq!(v.why, "Error: 403 Forbidden: check the keys");

    // A guard's refusal is a failure too, even before the counter moved.
    status.consecutive_failures = None;
    status.conditions = vec![synchronizing("False", "SourceEmpty", "")];
    let v = assess(&cr(Some(status), None), Some(&pod("Running")), at(NOW));
    assert_eq!((v.health, v.why.as_str()), (Health::Failing, "SourceEmpty"));
}

#[test]
fn waiting_after_a_success_is_healthy_and_before_any_is_pending() {
    let mut status = bound(Some("2026-12-07T10:00:00Z"));
    status.conditions = vec![synchronizing("False", "WaitingForManual", "")];
    let v = assess(&cr(Some(status), None), Some(&pod("Running")), at(NOW));
    assert_eq!(v.health, Health::Healthy);

    let v = assess(&cr(Some(bound(None)), None), Some(&pod("Running")), at(NOW));
    assert_eq!(v.health, Health::Pending);

    let mut running = bound(None);
    running.conditions = vec![synchronizing("True", "SyncInProgress", "")];
    let v = assess(&cr(Some(running), None), Some(&pod("Running")), at(NOW));
    assert_eq!(v.health, Health::Syncing);
}

#[test]
fn stale_only_past_two_intervals() {
    // Hourly; last sync 08:00, so 09:00 was due. At 10:00:30 it is 1h late: fine.
    let hourly = cr(Some(bound(Some("2026-12-07T08:00:00Z"))), Some("0 * * * *"));
    let v = assess(&hourly, Some(&pod("Running")), at(NOW));
    assert_eq!(v.health, Health::Healthy);
    // At 11:00:30 it is 2h00m30s late: stale.
    let v = assess(&hourly, Some(&pod("Running")), at("2026-12-07T11:00:30Z"));
    assert_eq!(v.health, Health::Stale);
    assert_eq!(v.why, "the sync due 120m ago has not run (every 60m)");
}

#[test]
fn the_pods_schedule_annotation_overrides_the_crs() {
    let hourly = cr(Some(bound(Some("2026-12-07T09:50:00Z"))), Some("0 * * * *"));
    let mut p = pod("Running");
    p.schedule = Some("*/1 * * * *".into());
    // Every minute: 09:51 was due, 9.5 minutes late at 10:00:30.
    let v = assess(&hourly, Some(&p), at(NOW));
    assert_eq!(v.health, Health::Stale);
    assert_eq!(v.why, "the sync due 9m30s ago has not run (every 60s)");
}

#[test]
fn paused_wins_over_failing() {
    let mut failing = bound(None);
    failing.consecutive_failures = Some(3);
    let mut paused = cr(Some(failing), None);
    paused.paused = true;
    let v = assess(&paused, Some(&pod("Running")), at(NOW));
    assert_eq!(v.health, Health::Paused);
    assert!(Health::Failing.is_red() && Health::Stale.is_red() && Health::Unbound.is_red());
    assert!(!Health::Healthy.is_red() && Health::Pending.is_yellow());
}
