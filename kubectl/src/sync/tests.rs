use ferry_api::types::MoverStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;
use crate::test_support::{at, synchronizing};

fn failed(start: &str, failures: i32) -> SyncStatus {
    SyncStatus {
        last_sync_start_time: Some(Time(at(start))),
        consecutive_failures: Some(failures),
        latest_mover_status: Some(MoverStatus {
            result: MoverResult::Failed,
            logs: Some(
                "listing bucket\nAccessDenied: check the access key in Secret s3-creds\n".into(),
            ),
        }),
        conditions: vec![synchronizing(
            "False",
            "Error",
            "the S3 credentials were refused",
        )],
        ..SyncStatus::default()
    }
}

const TRIGGERED: &str = "2026-12-07T10:00:00.600Z";

#[test]
fn the_token_in_last_manual_sync_is_success() {
    let now = SyncStatus {
        last_manual_sync: Some("t1".into()),
        ..SyncStatus::default()
    };
    assert_eq!(
        progress(&SyncStatus::default(), &now, "t1", at(TRIGGERED)),
        Progress::Succeeded
    );
    assert_eq!(
        progress(&SyncStatus::default(), &now, "t2", at(TRIGGERED)),
        Progress::Running
    );
}

#[test]
fn a_failed_attempt_after_the_trigger_is_failure_with_its_reason() {
    // Started in the trigger's second (status times have whole seconds).
    let now = failed("2026-12-07T10:00:00Z", 1);
    let p = progress(&SyncStatus::default(), &now, "t1", at(TRIGGERED));
    assert_eq!(
        p,
        Progress::Failed(
            "Error: the S3 credentials were refused; mover log: AccessDenied: check the access key in Secret s3-creds".into()
        )
    );
}

#[test]
fn an_old_failure_is_not_this_syncs() {
    // The failure from before the trigger, unchanged: still running (waiting for the agent).
    let before = failed("2026-12-07T09:00:00Z", 1);
    assert_eq!(
        progress(&before, &before.clone(), "t1", at(TRIGGERED)),
        Progress::Running
    );
    // The same failure count, a newer attempt that is still running: not ended.
    let mut running = failed("2026-12-07T10:00:01Z", 1);
    running.conditions = vec![synchronizing("True", "SyncInProgress", "")];
    assert_eq!(
        progress(&before, &running, "t1", at(TRIGGERED)),
        Progress::Running
    );
    // A second failure in a row (the retry after the trigger) ends it.
    let again = failed("2026-12-07T09:00:00Z", 2);
    assert!(matches!(
        progress(&before, &again, "t1", at(TRIGGERED)),
        Progress::Failed(_)
    ));
}

#[test]
fn tokens_are_fresh_and_valid_trigger_values() {
    let t = token(at("2026-12-07T10:00:00.123456789Z"));
    assert_eq!(t, "kubectl-ferry-20261207T100000.123456789Z");
    assert!(t.len() <= 253);
}
