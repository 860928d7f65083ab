use super::*;
use std::time::UNIX_EPOCH;

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A healthy Secret: CA valid 0..3000 (renew at 2000), leaf 0..300 (renew at 200).
fn healthy() -> Observed {
    Observed {
        ca: (t(0), t(3000)),
        leaf: (t(0), t(300)),
        leaf_signed_by_ca: true,
        leaf_covers_names: true,
        bundle_has_ca: true,
        bundle_has_others: false,
        leaf_issued_at: t(0),
    }
}

#[test]
fn decides_each_step_from_state_and_clock() {
    const GRACE: Duration = Duration::from_secs(20);
    let with = |f: fn(&mut Observed)| {
        let mut o = healthy();
        f(&mut o);
        Some(o)
    };
    let mid_rotation = |o: &mut Observed| {
        o.bundle_has_others = true;
        o.leaf_signed_by_ca = false;
    };
    let rotated = |o: &mut Observed| {
        o.bundle_has_others = true;
        o.leaf_issued_at = t(100);
    };
    // (case, observed, published, now, expected)
    let cases: Vec<(&str, Option<Observed>, bool, u64, Action)> = vec![
        ("no Secret", None, true, 0, Action::Create),
        (
            "no Secret, bundle unpublished",
            None,
            false,
            0,
            Action::Create,
        ),
        ("healthy", Some(healthy()), true, 100, Action::Nothing),
        (
            "healthy, bundle not yet published",
            Some(healthy()),
            false,
            100,
            Action::Nothing,
        ),
        (
            "leaf at two thirds",
            Some(healthy()),
            true,
            200,
            Action::RenewLeaf,
        ),
        (
            "leaf expired",
            Some(healthy()),
            true,
            400,
            Action::RenewLeaf,
        ),
        (
            "leaf misses a name",
            with(|o| o.leaf_covers_names = false),
            true,
            10,
            Action::RenewLeaf,
        ),
        ("CA expired", Some(healthy()), true, 3000, Action::Create),
        (
            "CA at two thirds",
            with(|o| o.leaf = (t(1990), t(2290))),
            true,
            2000,
            Action::RotateCa,
        ),
        (
            "bundle lost the CA",
            with(|o| o.bundle_has_ca = false),
            true,
            10,
            Action::RepairBundle,
        ),
        (
            "rotated CA, bundle unpublished",
            with(mid_rotation),
            false,
            10,
            Action::Nothing,
        ),
        (
            "rotated CA, bundle published",
            with(mid_rotation),
            true,
            10,
            Action::RenewLeaf,
        ),
        (
            "new leaf, within grace",
            with(rotated),
            true,
            119,
            Action::Nothing,
        ),
        (
            "new leaf, grace over",
            with(rotated),
            true,
            120,
            Action::DropOldCa,
        ),
        (
            "new leaf due while old CA kept",
            with(rotated),
            true,
            250,
            Action::RenewLeaf,
        ),
        (
            "CA due while an old CA is still kept",
            with(|o| {
                o.bundle_has_others = true;
                o.leaf = (t(2000), t(2300));
                o.leaf_issued_at = t(2000);
            }),
            true,
            2010,
            Action::Nothing,
        ),
    ];
    for (case, observed, published, now, want) in cases {
        assert_eq!(
            decide(observed.as_ref(), published, GRACE, t(now)),
            want,
            "{case}"
        );
    }
}
