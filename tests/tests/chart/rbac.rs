//! Least privilege, asked of the real apiserver's RBAC with `kubectl auth can-i --as`: the
//! webhook reads only what its caches need and writes only its own Secret, Lease and
//! configurations; the sidecar's rights exist only for the bound service accounts, in the
//! bound namespaces.

use std::collections::BTreeSet;

use anyhow::bail;
use ferry_e2e::{Cluster, TestNamespace};
use serde_json::json;

use crate::support::Release;

/// `kubectl auth can-i <args> --as <user>`.
fn can(cluster: &Cluster, user: &str, args: &[&str]) -> anyhow::Result<bool> {
    let out = cluster.kubectl(["auth", "can-i"].iter().chain(args).chain(&["--as", user]))?;
    if out
        .stderr
        .contains("the server doesn't have a resource type")
    {
        return review(cluster, user, args);
    }
    match out.stdout.trim() {
        "yes" => Ok(true),
        answer if answer.starts_with("no") => Ok(false),
        _ => bail!(
            "kubectl auth can-i {args:?}: {}\n{}",
            out.stdout,
            out.stderr
        ),
    }
}

/// The same question as a SubjectAccessReview with the group spelt out. `kubectl auth can-i`
/// resolves `resource.group` through discovery, so it cannot ask about a CRD the cluster
/// does not serve (the VolumeSnapshot CRD where the snapshot controller is not installed):
/// it would ask about a core resource of that literal name instead.
fn review(cluster: &Cluster, user: &str, args: &[&str]) -> anyhow::Result<bool> {
    let (verb, target) = match args {
        [verb, target, ..] => (*verb, *target),
        _ => bail!("can-i {args:?}: need a verb and a resource"),
    };
    let (resource, name) = target.split_once('/').unwrap_or((target, ""));
    let (resource, group) = resource.split_once('.').unwrap_or((resource, ""));
    let namespace = args
        .iter()
        .position(|a| *a == "-n")
        .and_then(|i| args.get(i + 1))
        .copied()
        .unwrap_or("");
    let subresource = args
        .iter()
        .find_map(|a| a.strip_prefix("--subresource="))
        .unwrap_or("");
    let sa_namespace = user.split(':').nth(2).unwrap_or_default();
    let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": user,
            "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{sa_namespace}"),
                "system:authenticated"],
            "resourceAttributes": {"verb": verb, "group": group, "resource": resource,
                "name": name, "namespace": namespace, "subresource": subresource}}});
    let out = cluster
        .kubectl_stdin(["create", "-o", "json", "-f", "-"], &review.to_string())?
        .ok()?;
    let answer: serde_json::Value = serde_json::from_str(&out.stdout)?;
    Ok(answer["status"]["allowed"] == true)
}

/// Asserts every `(expected, args)` for `user`, reporting all mismatches at once.
fn expect(cluster: &Cluster, user: &str, cases: &[(bool, Vec<&str>)]) -> anyhow::Result<()> {
    let mut wrong = Vec::new();
    for (expected, args) in cases {
        if can(cluster, user, args)? != *expected {
            wrong.push(format!(
                "{user} can-i {}: expected {expected}",
                args.join(" ")
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    Ok(())
}

#[tokio::test]
async fn webhook_and_sidecar_rbac_are_least_privilege() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let rel_ns = TestNamespace::create(cluster, "chart-rbac", &[])?;
    let bound_ns = TestNamespace::create(cluster, "chart-bound", &[])?;
    let unbound_ns = TestNamespace::create(cluster, "chart-unbound", &[])?;
    let (rel, bound, unbound) = (
        rel_ns.name.as_str(),
        bound_ns.name.as_str(),
        unbound_ns.name.as_str(),
    );
    // The default mode, in the cluster: self-managed certificates, a Deployment. Its webhooks
    // see only namespaces labelled for this release (none), so they never get in the way.
    let values = json!({
        "webhook": {"namespaceSelector": {"matchLabels": {"ferry-e2e/chart": rel}}},
        "sidecar": {"clusterRoleName": format!("{rel}-sidecar")},
        "sidecarBindings": [{"namespace": bound, "serviceAccount": "mover"}],
    });
    let release = Release::install(cluster, &rel_ns, &values)?;
    // Every object exists, and these are all of them.
    let r = release.name.as_str();
    let expected: BTreeSet<(String, String, String)> = [
        ("ServiceAccount", rel, release.webhook()),
        ("Deployment", rel, release.webhook()),
        ("Service", rel, release.webhook()),
        ("PodDisruptionBudget", rel, release.webhook()),
        ("Role", rel, release.webhook()),
        ("RoleBinding", rel, release.webhook()),
        ("ClusterRole", "", release.webhook()),
        ("ClusterRoleBinding", "", release.webhook()),
        ("ClusterRole", "", format!("{r}-sidecar")),
        ("RoleBinding", bound, format!("{r}-sidecar")),
        ("MutatingWebhookConfiguration", "", release.mutating()),
        ("ValidatingWebhookConfiguration", "", release.validating()),
    ]
    .into_iter()
    .map(|(k, ns, n)| (k.to_owned(), ns.to_owned(), n))
    .collect();
    assert_eq!(release.live_objects()?, expected);

    let webhook = format!("system:serviceaccount:{rel}:{}", release.webhook());
    let secret = format!("secrets/{}", release.tls_secret());
    let lease = format!("leases.coordination.k8s.io/{}", release.cert_lease());
    let mutating = format!(
        "mutatingwebhookconfigurations.admissionregistration.k8s.io/{}",
        release.mutating()
    );
    let validating = format!(
        "validatingwebhookconfigurations.admissionregistration.k8s.io/{}",
        release.validating()
    );
    expect(
        cluster,
        &webhook,
        &[
            // What cluster.rs and the self-managed certificates need.
            (true, vec!["list", "namespaces"]),
            (true, vec!["watch", "namespaces"]),
            (
                true,
                vec!["list", "replicationsources.replication.ferry.dev", "-A"],
            ),
            (
                true,
                vec![
                    "watch",
                    "replicationdestinations.replication.ferry.dev",
                    "-A",
                ],
            ),
            (true, vec!["list", "nodes"]),
            (
                true,
                vec!["create", "subjectaccessreviews.authorization.k8s.io"],
            ),
            (true, vec!["get", secret.as_str(), "-n", rel]),
            (true, vec!["update", secret.as_str(), "-n", rel]),
            (true, vec!["create", "secrets", "-n", rel]),
            (true, vec!["get", lease.as_str(), "-n", rel]),
            (true, vec!["update", lease.as_str(), "-n", rel]),
            (true, vec!["get", mutating.as_str()]),
            (true, vec!["patch", mutating.as_str()]),
            (true, vec!["patch", validating.as_str()]),
            // The leader's health checks: labelled pods' metadata, and Warning Events.
            (true, vec!["list", "pods", "-A"]),
            (true, vec!["create", "events.events.k8s.io", "-n", bound]),
            (true, vec!["patch", "events.events.k8s.io", "-n", bound]),
            (true, vec!["create", "events", "-n", "default"]),
            // Nothing more.
            (false, vec!["get", "pods", "-n", bound]),
            (false, vec!["watch", "pods", "-A"]),
            (false, vec!["patch", "pods", "-n", bound]),
            (false, vec!["delete", "pods", "-n", bound]),
            (false, vec!["delete", "events", "-n", bound]),
            (false, vec!["get", "secrets", "-n", bound]),
            (false, vec!["get", "secrets", "-n", "kube-system"]),
            (false, vec!["get", "secrets/other", "-n", rel]),
            (false, vec!["list", "secrets", "-n", rel]),
            (false, vec!["delete", secret.as_str(), "-n", rel]),
            (false, vec!["create", "pods", "-n", rel]),
            (false, vec!["create", "pods", "-n", bound]),
            (
                false,
                vec!["update", "leases.coordination.k8s.io/other", "-n", rel],
            ),
            (
                false,
                vec![
                    "patch",
                    "mutatingwebhookconfigurations.admissionregistration.k8s.io/other",
                ],
            ),
            (false, vec!["delete", mutating.as_str()]),
            (
                false,
                vec![
                    "create",
                    "mutatingwebhookconfigurations.admissionregistration.k8s.io",
                ],
            ),
            (
                false,
                vec![
                    "get",
                    "replicationsources.replication.ferry.dev",
                    "-n",
                    bound,
                ],
            ),
            (false, vec!["patch", "namespaces"]),
            (false, vec!["get", "configmaps", "-n", rel]),
        ],
    )?;

    // The sidecar: everything it needs, for the bound service account in the bound namespace.
    let needs: Vec<Vec<&str>> = vec![
        vec!["get", "replicationsources.replication.ferry.dev"],
        vec!["watch", "replicationdestinations.replication.ferry.dev"],
        vec![
            "patch",
            "replicationsources.replication.ferry.dev",
            "--subresource=status",
        ],
        vec![
            "update",
            "replicationdestinations.replication.ferry.dev",
            "--subresource=status",
        ],
        vec!["create", "volumesnapshots.snapshot.storage.k8s.io"],
        vec!["delete", "volumesnapshots.snapshot.storage.k8s.io"],
        vec!["create", "persistentvolumeclaims"],
        vec!["delete", "persistentvolumeclaims"],
        vec!["create", "pods"],
        vec!["get", "secrets"],
        vec!["create", "secrets"],
        vec!["update", "services"],
        vec!["create", "leases.coordination.k8s.io"],
        vec!["update", "leases.coordination.k8s.io"],
        vec!["create", "events"],
        vec!["patch", "events.events.k8s.io"],
    ];
    let in_ns = |ns: &str, expected: bool| -> Vec<(bool, Vec<String>)> {
        needs
            .iter()
            .map(|args| {
                let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
                args.extend(["-n".to_owned(), ns.to_owned()]);
                (expected, args)
            })
            .collect()
    };
    let mover = format!("system:serviceaccount:{bound}:mover");
    let other_sa = format!("system:serviceaccount:{bound}:default");
    let unbound_mover = format!("system:serviceaccount:{unbound}:mover");
    for (user, cases) in [
        (&mover, in_ns(bound, true)),
        (&mover, in_ns(unbound, false)),
        (&other_sa, in_ns(bound, false)),
        (&unbound_mover, in_ns(unbound, false)),
    ] {
        let cases: Vec<(bool, Vec<&str>)> = cases
            .iter()
            .map(|(e, args)| (*e, args.iter().map(String::as_str).collect()))
            .collect();
        expect(cluster, user, &cases)?;
    }
    // ...and not a verb more.
    expect(
        cluster,
        &mover,
        &[
            (
                false,
                vec![
                    "patch",
                    "replicationsources.replication.ferry.dev",
                    "-n",
                    bound,
                ],
            ),
            (
                false,
                vec![
                    "delete",
                    "replicationsources.replication.ferry.dev",
                    "-n",
                    bound,
                ],
            ),
            (false, vec!["list", "secrets", "-n", bound]),
            (false, vec!["delete", "secrets", "-n", bound]),
            (false, vec!["delete", "services", "-n", bound]),
            (
                false,
                vec!["create", "pods", "--subresource=exec", "-n", bound],
            ),
            (false, vec!["list", "nodes"]),
            (false, vec!["get", "namespaces"]),
        ],
    )?;
    Ok(())
}
