use super::*;
use k8s_openapi::api::core::v1::{PodCondition, PodStatus};

const D: Duration = Duration::from_secs(15);
const GRACE: Duration = Duration::from_secs(30);

fn held_by(h: &str) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(h.into()),
        lease_duration_seconds: Some(15),
        ..LeaseSpec::default()
    }
}

#[test]
fn renewal_steps() {
    let no_duration = LeaseSpec {
        holder_identity: Some("b".into()),
        ..LeaseSpec::default()
    };
    // (case, lease, unchanged for, expected)
    let cases: [(&str, Option<LeaseSpec>, u64, Step); 7] = [
        ("no lease", None, 0, Step::Create),
        ("ours", Some(held_by("a")), 0, Step::Renew),
        ("ours, even if stale", Some(held_by("a")), 60, Step::Renew),
        ("released", Some(held_by("")), 0, Step::TakeOver),
        ("other's, fresh", Some(held_by("b")), 14, Step::Wait),
        ("other's, expired", Some(held_by("b")), 15, Step::TakeOver),
        (
            "other's, no duration: ours applies",
            Some(no_duration),
            16,
            Step::TakeOver,
        ),
    ];
    for (case, lease, secs, want) in cases {
        assert_eq!(
            step(
                lease.as_ref(),
                "a",
                Duration::from_secs(secs),
                D,
                Evidence::Expiry,
                Duration::ZERO
            ),
            want,
            "{case}"
        );
    }
}

#[test]
fn pod_steps_take_over_only_from_a_gone_or_long_unready_holder() {
    let other = Some(held_by("web-1_u1"));
    let secs = Duration::from_secs;
    // (case, lease, unchanged for, what the holder's pod showed, expected)
    let cases: [(&str, Option<LeaseSpec>, Duration, PodSeen, Step); 12] = [
        ("no lease", None, secs(0), PodSeen::NotRead, Step::Create),
        (
            "ours, idle for an hour: kept without a write",
            Some(held_by("web-0_u0")),
            secs(3600),
            PodSeen::NotRead,
            Step::Renew,
        ),
        (
            "released",
            Some(held_by("")),
            secs(0),
            PodSeen::NotRead,
            Step::TakeOver,
        ),
        (
            "idle holder, Ready: kept however long it wrote nothing",
            other.clone(),
            secs(86_400),
            PodSeen::Ready,
            Step::Wait,
        ),
        (
            "holder gone but the record changed lately (it was acting): wait the duration",
            other.clone(),
            secs(14),
            PodSeen::Gone,
            Step::Wait,
        ),
        (
            "holder gone, record unchanged for the duration",
            other.clone(),
            secs(15),
            PodSeen::Gone,
            Step::TakeOver,
        ),
        (
            "holder not Ready, but not for the grace",
            other.clone(),
            secs(600),
            PodSeen::NotReadyFor(secs(29)),
            Step::Wait,
        ),
        (
            "holder not Ready for the grace",
            other.clone(),
            secs(600),
            PodSeen::NotReadyFor(secs(30)),
            Step::TakeOver,
        ),
        (
            "holder not Ready for the grace, but renewing (acting)",
            other.clone(),
            secs(4),
            PodSeen::NotReadyFor(secs(300)),
            Step::Wait,
        ),
        (
            "holder's pod unreadable: never act on nothing",
            other.clone(),
            secs(600),
            PodSeen::Unreadable,
            Step::Wait,
        ),
        (
            "holder's pod not read",
            other.clone(),
            secs(600),
            PodSeen::NotRead,
            Step::Wait,
        ),
        (
            "a later pod of our name is not us",
            Some(held_by("web-0_old")),
            secs(15),
            PodSeen::Gone,
            Step::TakeOver,
        ),
    ];
    for (case, lease, unchanged, seen, want) in cases {
        assert_eq!(
            step(
                lease.as_ref(),
                "web-0_u0",
                unchanged,
                D,
                Evidence::Pod(seen),
                GRACE
            ),
            want,
            "{case}"
        );
    }
}

#[test]
fn identities_name_the_pod_and_its_uid() {
    let id = pod_identity("web-0", "6c1f-77");
    assert_eq!(id, "web-0_6c1f-77");
    assert_eq!(split_identity(&id), ("web-0", Some("6c1f-77")));
    // An older sidecar wrote the pod name alone.
    assert_eq!(split_identity("web-0"), ("web-0", None));
}

fn pod(uid: &str, phase: &str, ready: Option<&str>) -> Pod {
    Pod {
        metadata: ObjectMeta {
            uid: Some(uid.into()),
            ..ObjectMeta::default()
        },
        status: Some(PodStatus {
            phase: Some(phase.into()),
            conditions: ready.map(|status| {
                vec![PodCondition {
                    type_: "Ready".into(),
                    status: status.into(),
                    ..PodCondition::default()
                }]
            }),
            ..PodStatus::default()
        }),
        ..Pod::default()
    }
}

#[test]
fn the_holders_pod_is_judged_by_uid_phase_and_readiness() {
    let ready = pod("u1", "Running", Some("True"));
    let cases: [(&str, Option<Pod>, Option<&str>, PodSeen); 8] = [
        ("deleted", None, Some("u1"), PodSeen::Gone),
        (
            "another pod of the same name",
            Some(ready.clone()),
            Some("u2"),
            PodSeen::Gone,
        ),
        (
            "the holder, Ready",
            Some(ready.clone()),
            Some("u1"),
            PodSeen::Ready,
        ),
        (
            "an older holder named without UID",
            Some(ready),
            None,
            PodSeen::Ready,
        ),
        (
            "succeeded",
            Some(pod("u1", "Succeeded", Some("False"))),
            Some("u1"),
            PodSeen::Gone,
        ),
        (
            "failed",
            Some(pod("u1", "Failed", None)),
            Some("u1"),
            PodSeen::Gone,
        ),
        (
            "running, not Ready (its node lost)",
            Some(pod("u1", "Running", Some("False"))),
            Some("u1"),
            PodSeen::NotReadyFor(Duration::ZERO),
        ),
        (
            "no conditions yet",
            Some(pod("u1", "Pending", None)),
            Some("u1"),
            PodSeen::NotReadyFor(Duration::ZERO),
        ),
    ];
    for (case, p, uid, want) in cases {
        assert_eq!(pod_seen(p.as_ref(), uid), want, "{case}");
    }
}
