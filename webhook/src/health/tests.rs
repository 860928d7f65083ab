//! The pure parts of the health checks: caBundle trust, version comparison, the tally and
//! the Event text.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::bundle::{Trust, ca_expiry, trust, untrusted};
use super::notes;
use super::pods::{PodFacts, State, UNKNOWN_VERSION, state, tally};

fn der(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM body")
}

#[test]
fn a_bundle_trusts_the_leaf_only_through_its_issuer() {
    let ca = ferry_certs::generate_ca("health CA", Duration::from_secs(7200)).unwrap();
    let other = ferry_certs::generate_ca("other CA", Duration::from_secs(3600)).unwrap();
    let leaf =
        ferry_certs::issue_leaf(&ca, &["w.ns.svc".to_owned()], &[], Duration::from_secs(600))
            .unwrap();
    let leaf = der(&leaf.cert);
    let (_, ca_not_after) = ferry_certs::validity(&ca.cert).unwrap();
    let both = format!("{}{}", other.cert, ca.cert);
    let cases: Vec<(&str, Option<&[u8]>, Trust)> = vec![
        (
            "the issuing CA",
            Some(ca.cert.as_bytes()),
            Trust::Trusted { ca_not_after },
        ),
        (
            "a rotation bundle",
            Some(both.as_bytes()),
            Trust::Trusted { ca_not_after },
        ),
        ("none", None, Trust::Missing),
        ("empty", Some(b""), Trust::Missing),
        ("another CA", Some(other.cert.as_bytes()), Trust::Untrusted),
        ("garbage", Some(b"not PEM"), Trust::Untrusted),
    ];
    for (case, bundle, want) in cases {
        assert_eq!(trust(bundle, &leaf), want, "{case}");
    }
}

#[test]
fn drift_names_the_webhooks_and_the_ca_expiry_is_the_earliest() {
    let t = |s| std::time::UNIX_EPOCH + Duration::from_secs(s);
    let entries = vec![
        (
            "a.ferry.dev".to_owned(),
            Trust::Trusted {
                ca_not_after: t(200),
            },
        ),
        ("b.ferry.dev".to_owned(), Trust::Untrusted),
        ("c.ferry.dev".to_owned(), Trust::Missing),
        (
            "d.ferry.dev".to_owned(),
            Trust::Trusted {
                ca_not_after: t(100),
            },
        ),
    ];
    assert_eq!(untrusted(&entries), vec!["b.ferry.dev", "c.ferry.dev"]);
    assert!(untrusted(&entries[..1]).is_empty());
    assert_eq!(ca_expiry(entries.iter().map(|(_, t)| t)), Some(t(100)));
    assert_eq!(ca_expiry(entries[1..3].iter().map(|(_, t)| t)), None);
}

#[test]
fn versions_compare_by_the_record() {
    let cases: Vec<(Option<&str>, State)> = vec![
        (None, State::NotInjected),
        (
            Some(r#"{"version":"0.4.0","container":"ferry-sidecar"}"#),
            State::Current,
        ),
        (
            Some(r#"{"version":"0.3.9"}"#),
            State::Outdated("0.3.9".into()),
        ),
        // Newer counts too: during a rollout the leader may be the older one.
        (
            Some(r#"{"version":"0.5.0"}"#),
            State::Outdated("0.5.0".into()),
        ),
        (
            Some(r#"{"container":"ferry-sidecar"}"#),
            State::Outdated(UNKNOWN_VERSION.into()),
        ),
        (Some("yes"), State::Outdated(UNKNOWN_VERSION.into())),
    ];
    for (record, want) in cases {
        assert_eq!(state(record, "0.4.0"), want, "{record:?}");
    }
}

#[test]
fn the_record_the_injector_writes_is_current() {
    // The version the patch writes is this crate's, which is what the leader compares with.
    let record = format!(r#"{{"version":"{}"}}"#, env!("CARGO_PKG_VERSION"));
    assert_eq!(
        crate::inject::recorded_version(&record).as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        state(Some(&record), env!("CARGO_PKG_VERSION")),
        State::Current
    );
}

fn pod(namespace: &str, name: &str, record: Option<&str>) -> PodFacts {
    PodFacts {
        namespace: namespace.into(),
        name: name.into(),
        uid: format!("uid-{namespace}-{name}"),
        record: record.map(str::to_owned),
        ..PodFacts::default()
    }
}

#[test]
fn the_tally_counts_selected_namespaces_and_skips_pods_being_deleted() {
    let current = r#"{"version":"1.0.0"}"#;
    let old = r#"{"version":"0.9.0"}"#;
    let mut leaving = pod("shop", "leaving", None);
    leaving.deleting = true;
    let pods = vec![
        pod("shop", "a", None),
        pod("shop", "b", None),
        pod("shop", "c", Some(current)),
        pod("shop", "d", Some(old)),
        pod("blog", "e", None),
        pod("blog", "f", Some(old)),
        pod("unselected", "g", None),
        leaving,
    ];
    let selected: BTreeSet<String> = ["shop".to_owned(), "blog".to_owned()].into();
    let out = tally(&pods, &selected, "1.0.0");
    assert_eq!(
        out.not_injected,
        BTreeMap::from([("blog".to_owned(), 1), ("shop".to_owned(), 2)])
    );
    assert_eq!(out.outdated, BTreeMap::from([("0.9.0".to_owned(), 2)]));
    let missed: Vec<&str> = out.missed.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(missed, vec!["a", "b", "e"]);
}

#[test]
fn the_fix_names_the_workload_to_restart() {
    let with_owner = |kind: &str, owner: &str, hash: Option<&str>| PodFacts {
        owner: Some((kind.into(), owner.into())),
        template_hash: hash.map(str::to_owned),
        ..pod("shop", "web-7c9d8-x2x", None)
    };
    let cases = vec![
        (
            with_owner("ReplicaSet", "web-7c9d8", Some("7c9d8")),
            "kubectl -n shop rollout restart deployment/web",
        ),
        (
            with_owner("ReplicaSet", "web-7c9d8", None),
            "kubectl -n shop delete pod web-7c9d8-x2x (ReplicaSet web-7c9d8 recreates it)",
        ),
        (
            with_owner("StatefulSet", "db", None),
            "kubectl -n shop rollout restart statefulset/db",
        ),
        (
            with_owner("DaemonSet", "agent", None),
            "kubectl -n shop rollout restart daemonset/agent",
        ),
        (
            with_owner("Job", "backup", None),
            "kubectl -n shop delete pod web-7c9d8-x2x (Job backup recreates it)",
        ),
        (
            pod("shop", "bare", None),
            "kubectl -n shop delete pod bare, then create it again",
        ),
    ];
    for (pod, want) in cases {
        assert_eq!(notes::recreate(&pod), want);
    }
}

#[test]
fn event_notes_say_what_happened_and_the_fix() {
    let bare = pod("shop", "web", None);
    let note = notes::not_injected(&bare, "ferry-inject");
    for part in [
        "labelled ferry.dev/inject=true but created while the webhook was not called",
        "MutatingWebhookConfiguration ferry-inject",
        "runs without the ferry-sidecar",
        "fix: recreate it",
        "kubectl -n shop delete pod web, then create it again",
    ] {
        assert!(note.contains(part), "{part:?} not in {note:?}");
    }
    let hooks = ["inject.ferry.dev".to_owned()];
    let repaired = notes::repaired("MutatingWebhookConfiguration", "ferry-inject", &hooks);
    assert!(repaired.starts_with(
        "caBundle of inject.ferry.dev in MutatingWebhookConfiguration ferry-inject held another CA"
    ));
    assert!(
        repaired.contains("the leader put its own back"),
        "{repaired}"
    );
    let untrusted = notes::untrusted("ValidatingWebhookConfiguration", "ferry-validate", &hooks);
    assert!(untrusted.contains("does not trust the webhook's serving certificate"));
    assert!(untrusted.contains("certs.provided.caBundle"), "{untrusted}");
    // Events hold at most 1 KiB of note.
    for note in [note, repaired, untrusted] {
        assert!(note.len() < 1024, "{} bytes: {note}", note.len());
    }
}
