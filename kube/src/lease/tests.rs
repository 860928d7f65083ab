use super::*;

#[test]
fn steps() {
    const D: Duration = Duration::from_secs(15);
    let held_by = |h: &str| LeaseSpec {
        holder_identity: Some(h.into()),
        lease_duration_seconds: Some(15),
        ..LeaseSpec::default()
    };
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
            step(lease.as_ref(), "a", Duration::from_secs(secs), D),
            want,
            "{case}"
        );
    }
}
