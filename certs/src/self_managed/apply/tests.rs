//! Runs the holder's loop against a simulated clock through several leaf renewals and CA
//! rotations, checking at every write that nothing an instance or the apiserver may still
//! hold stops verifying.

use super::*;
use crate::chain;
use crate::self_managed::plan::decide;

const S: Duration = Duration::from_secs(1);

fn spec() -> Spec {
    Spec {
        ca_common_name: "sim CA".into(),
        dns_names: crate::service_dns_names("wh", "ns"),
        ips: vec![],
        ca_validity: 3000 * S,
        leaf_validity: 300 * S,
    }
}

/// Whether some CA in `bundle` signed `leaf_pem`.
fn trusts(bundle: &str, leaf_pem: &str) -> bool {
    let cas = chain::certs_from_pem(bundle).unwrap();
    let leaf = chain::certs_from_pem(leaf_pem).unwrap();
    chain::bundle_trusts(&cas, &chain::parse(&leaf[0]).unwrap())
}

#[test]
fn rotations_never_leave_a_served_leaf_untrusted() {
    let spec = spec();
    let grace = 20 * S;
    let tick = 5 * S;
    let start = SystemTime::now();
    let mut current: Option<Material> = None;
    let mut seen = Vec::new();
    let mut now = start;
    while now < start + 10_000 * S {
        let observed = current
            .as_ref()
            .and_then(|m| m.observe(&spec.dns_names, &spec.ips).ok());
        // Publishing succeeds within the tick that wrote the bundle.
        let action = decide(observed.as_ref(), true, grace, now);
        if let Some(next) = apply(action, current.as_ref(), &spec, now).unwrap() {
            if let Some(prev) = &current {
                assert_ne!(action, Action::Create, "only the first write creates");
                // Instances still serve the previous leaf until they poll; the apiserver may
                // still use the previous bundle until the patch lands.
                assert!(
                    trusts(&next.bundle, &prev.leaf.cert),
                    "{action:?} at {now:?}: new bundle, old leaf"
                );
                assert!(
                    trusts(&prev.bundle, &next.leaf.cert),
                    "{action:?} at {now:?}: old bundle, new leaf"
                );
            }
            seen.push(action);
            current = Some(next);
        }
        let m = current.as_ref().unwrap();
        let (_, leaf_not_after) = crate::validity(&m.leaf.cert).unwrap();
        assert!(leaf_not_after > now, "leaf expired at {now:?}");
        now += tick;
    }
    let count = |a| seen.iter().filter(|&&s| s == a).count();
    assert_eq!(count(Action::Create), 1, "{seen:?}");
    assert!(count(Action::RotateCa) >= 4, "{seen:?}");
    assert_eq!(
        count(Action::DropOldCa),
        count(Action::RotateCa),
        "{seen:?}"
    );
    assert!(count(Action::RenewLeaf) >= 30, "{seen:?}");
}

#[test]
fn drop_keeps_only_the_current_ca() {
    let spec = spec();
    let now = SystemTime::now();
    let created = apply(Action::Create, None, &spec, now).unwrap().unwrap();
    let rotated = apply(Action::RotateCa, Some(&created), &spec, now)
        .unwrap()
        .unwrap();
    assert_eq!(chain::certs_from_pem(&rotated.bundle).unwrap().len(), 2);
    assert_eq!(rotated.leaf, created.leaf, "rotation leaves the leaf alone");
    let dropped = apply(Action::DropOldCa, Some(&rotated), &spec, now)
        .unwrap()
        .unwrap();
    assert_eq!(dropped.bundle, rotated.ca.cert);
    assert!(
        apply(Action::Nothing, Some(&dropped), &spec, now)
            .unwrap()
            .is_none()
    );
}

#[test]
fn secret_round_trips_and_observes_a_fresh_pair_as_current() {
    let spec = spec();
    let now = SystemTime::now();
    let m = apply(Action::Create, None, &spec, now).unwrap().unwrap();
    let secret = m.to_secret(Default::default());
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
    let back = Material::from_secret(&secret).unwrap();
    assert_eq!(back.ca, m.ca);
    assert_eq!(back.bundle, m.bundle);
    let o = back.observe(&spec.dns_names, &spec.ips).unwrap();
    assert!(o.leaf_signed_by_ca && o.leaf_covers_names && o.bundle_has_ca && !o.bundle_has_others);
    let more = [spec.dns_names.clone(), vec!["extra.example".into()]].concat();
    assert!(!back.observe(&more, &[]).unwrap().leaf_covers_names);
    assert_eq!(
        decide(Some(&o), true, 20 * S, now + 10 * S),
        Action::Nothing
    );
}

#[test]
fn broken_secrets_are_recreated_or_repaired() {
    let spec = spec();
    let now = SystemTime::now();
    let good = apply(Action::Create, None, &spec, now).unwrap().unwrap();
    let other = apply(Action::Create, None, &spec, now).unwrap().unwrap();
    let names = (&spec.dns_names, &spec.ips);
    let decide_for = |m: &Material| {
        let o = m.observe(names.0, names.1).ok();
        decide(o.as_ref(), true, 20 * S, now + 10 * S)
    };
    type Breakage = fn(&mut Material, &Material);
    let cases: [(&str, Breakage, Action); 5] = [
        (
            "CA key from another CA",
            |m, o| m.ca.key = o.ca.key.clone(),
            Action::Create,
        ),
        (
            "garbage CA",
            |m, _| m.ca.cert = "garbage".into(),
            Action::Create,
        ),
        (
            "leaf key from another leaf",
            |m, o| m.leaf.key = o.leaf.key.clone(),
            Action::RenewLeaf,
        ),
        (
            "garbage leaf",
            |m, _| m.leaf.cert = "garbage".into(),
            Action::RenewLeaf,
        ),
        (
            "bundle without the CA",
            |m, o| m.bundle = o.bundle.clone(),
            Action::RepairBundle,
        ),
    ];
    for (case, breakage, want) in cases {
        let mut m = good.clone();
        breakage(&mut m, &other);
        assert_eq!(decide_for(&m), want, "{case}");
    }
    let mut secret = good.to_secret(Default::default());
    secret.data.as_mut().unwrap().remove("tls.key");
    assert!(
        Material::from_secret(&secret).is_err(),
        "missing key makes it unusable"
    );
}
