use std::sync::Arc;

use super::*;
use crate::ssh::server::refusal::Refusal;

fn tracker() -> (tempfile::TempDir, Arc<TransferTracker>, CompletionLog) {
    let dir = tempfile::tempdir().unwrap();
    let log = CompletionLog::new(Some(dir.path().to_path_buf()));
    (dir, TransferTracker::new(log.clone()), log)
}

#[test]
fn success_then_completion_is_recorded_once() {
    let (dir, t, log) = tracker();
    let mut rx = log.subscribe();
    t.begin(Some("s1".into())).unwrap().finish(true, 10, 2);
    let c = t.complete("s1").unwrap();
    assert_eq!((c.sync_id.as_str(), c.bytes_received), ("s1", 10));
    assert!(rx.has_changed().unwrap());
    assert_eq!(rx.borrow_and_update().clone(), Some(c.clone()));
    assert_eq!(read_marker(dir.path()).unwrap(), Some(c));
    assert_eq!(t.complete("s1").unwrap_err().code(), "completion");
}

#[test]
fn failed_or_dropped_transfers_cannot_be_completed() {
    let (dir, t, _) = tracker();
    t.begin(None).unwrap().finish(false, 5, 0);
    assert!(t.complete("x").is_err());
    drop(t.begin(Some("x".into())).unwrap());
    assert!(t.complete("x").is_err());
    assert_eq!(read_marker(dir.path()).unwrap(), None);
}

#[test]
fn only_one_transfer_at_a_time_and_no_completion_while_running() {
    let (_d, t, _) = tracker();
    let running = t.begin(None).unwrap();
    assert_eq!(t.begin(None).unwrap_err(), Refusal::Busy);
    assert!(t.complete("x").is_err());
    running.finish(true, 1, 1);
    assert!(t.complete("x").is_ok());
}

#[test]
fn ids_must_match_and_a_refused_attempt_breaks_the_chain() {
    let (_d, t, _) = tracker();
    t.begin(Some("a".into())).unwrap().finish(true, 1, 1);
    assert!(t.complete("b").is_err());
    t.refused_attempt();
    assert!(t.complete("a").is_err());
}

#[test]
fn a_new_log_starts_from_the_marker() {
    let (dir, t, _) = tracker();
    t.begin(None).unwrap().finish(true, 1, 1);
    let c = t.complete("z").unwrap();
    let reopened = CompletionLog::new(Some(dir.path().to_path_buf()));
    assert_eq!(reopened.latest(), Some(c));
}
