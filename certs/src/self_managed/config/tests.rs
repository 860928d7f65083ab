use super::*;

const S: Duration = Duration::from_secs(1);

#[test]
fn config_defaults_and_validation() {
    let base = SelfManagedConfig::new("ferry-system", "ferry-webhook", "ferry-webhook-0");
    assert_eq!(base.secret_name, "ferry-webhook-certs");
    assert_eq!(base.lease_duration, 15 * S);
    assert_eq!(base.grace(), 20 * S);
    assert_eq!(base.tick(), 5 * S);
    // A config for tests: renewal at ~20s, rotation at ~40s.
    let fast = SelfManagedConfig {
        ca_validity: 60 * S,
        leaf_validity: 30 * S,
        lease_duration: 3 * S,
        poll_interval: S,
        ..base.clone()
    };
    // (case, config, the setting the error must name, or None if valid)
    let cases: Vec<(&str, SelfManagedConfig, Option<&str>)> = vec![
        ("defaults", base.clone(), None),
        ("fast test settings", fast.clone(), None),
        (
            "no identity",
            SelfManagedConfig {
                identity: String::new(),
                ..base.clone()
            },
            Some("identity"),
        ),
        (
            "no namespace",
            SelfManagedConfig::default(),
            Some("namespace"),
        ),
        (
            "zero poll",
            SelfManagedConfig {
                poll_interval: Duration::ZERO,
                ..base.clone()
            },
            Some("poll_interval"),
        ),
        (
            "short lease",
            SelfManagedConfig {
                lease_duration: 2 * S,
                ..base.clone()
            },
            Some("lease_duration"),
        ),
        (
            "leaf too short",
            SelfManagedConfig {
                leaf_validity: 6 * S,
                ..fast.clone()
            },
            Some("leaf_validity"),
        ),
        (
            "CA too short",
            SelfManagedConfig {
                ca_validity: 5 * S,
                ..fast
            },
            Some("ca_validity"),
        ),
    ];
    for (case, config, want) in cases {
        match (config.validate(), want) {
            (Ok(()), None) => {}
            (Err(e), Some(field)) => assert!(e.to_string().contains(field), "{case}: {e}"),
            (got, want) => panic!("{case}: got {got:?}, want error naming {want:?}"),
        }
    }
}
