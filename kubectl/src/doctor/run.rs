//! What `doctor` looks at: Ferry's webhook configurations (one installation per pair), the
//! webhook's Service, Deployment and certificate Secret, the CRDs, the opted-in pods and
//! their service accounts' rights (SubjectAccessReview, as the apiserver decides them).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use ferry_api::{ReplicationDestination, ReplicationSource};
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration, WebhookClientConfig,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::rbac::v1::ClusterRole;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResourceExt;
use kube::api::{Api, ListParams, PostParams};

use super::{Finding, render, schema_drift, selects};
use crate::client::Kube;
use crate::error::{Error, Result};
use crate::pods::PodFacts;

/// A certificate closer to its end than this is a problem.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(7 * 24 * 3600);

/// One webhook entry of a configuration.
#[derive(Clone, Debug)]
struct Entry {
    /// `MutatingWebhookConfiguration/ferry-inject`.
    config: String,
    /// The webhook's name, e.g. `inject.ferry.dev`.
    name: String,
    client: WebhookClientConfig,
    namespaces: Option<LabelSelector>,
}

/// One installation: the configurations named `<prefix>-inject` and `<prefix>-validate`.
#[derive(Clone, Debug, Default)]
struct Install {
    prefix: String,
    release: Option<String>,
    version: Option<String>,
    mutating: Vec<Entry>,
    validating: Vec<Entry>,
}

impl Install {
    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.mutating.iter().chain(&self.validating)
    }

    /// The namespaces the injection sees (the validation's selector when the mutating
    /// configuration is gone: the chart gives both the same).
    fn namespace_selector(&self) -> Option<&LabelSelector> {
        self.mutating
            .first()
            .or(self.validating.first())
            .and_then(|e| e.namespaces.as_ref())
    }
}

/// Runs every check and prints the report; fails (exit 1) when any found a problem.
pub async fn doctor(kube: &Kube, release: Option<&str>) -> Result<()> {
    let client = &kube.client;
    let mut findings = Vec::new();
    let mut installs = installations(client).await?;
    if let Some(release) = release {
        installs.retain(|i| i.release.as_deref() == Some(release) || i.prefix == release);
    }
    if installs.is_empty() {
        let which = release.map_or_else(String::new, |r| format!(" of release {r}"));
        findings.push(Finding::problem(
            "installation",
            format!("no Ferry webhook configuration{which} (webhooks named *.ferry.dev)"),
            "install the chart: helm install ferry charts/ferry --namespace ferry-system --create-namespace",
        ));
    }
    for install in &installs {
        configurations(install, &mut findings);
        service(client, install, &mut findings).await?;
    }
    crds(client, &installs, &mut findings).await?;
    let namespaces = namespace_labels(client).await?;
    let pods = crate::pods::opted_in(&client.clone(), None).await?;
    let in_scope: Vec<&PodFacts> = pods
        .values()
        .filter(|p| {
            release.is_none()
                || installs.iter().any(|i| {
                    selects(
                        i.namespace_selector(),
                        namespaces.get(&p.namespace).unwrap_or(&BTreeMap::new()),
                    )
                })
        })
        .collect();
    not_injected(&in_scope, &installs, &namespaces, &mut findings);
    rbac(client, &in_scope, &installs, &mut findings).await?;
    let text = render(&findings);
    crate::output::print(&text)?;
    let problems = findings.iter().filter(|f| f.problem.is_some()).count();
    if problems == 0 {
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "doctor found {problem} problem(s)",
            problem = problems
        )))
    }
}

fn is_ferry(name: &str) -> bool {
    name.ends_with(".ferry.dev")
}

/// One webhook configuration reduced to what the checks read.
struct Config {
    kind: &'static str,
    name: String,
    labels: Option<BTreeMap<String, String>>,
    /// `(webhook name, clientConfig, namespaceSelector)`.
    webhooks: Vec<(String, WebhookClientConfig, Option<LabelSelector>)>,
}

async fn installations(client: &kube::Client) -> Result<Vec<Install>> {
    let params = ListParams::default();
    let mut configs = Vec::new();
    let mutating: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    for c in mutating
        .list(&params)
        .await
        .map_err(Error::api("listing MutatingWebhookConfigurations"))?
    {
        configs.push(Config {
            kind: "MutatingWebhookConfiguration",
            name: c.metadata.name.unwrap_or_default(),
            labels: c.metadata.labels,
            webhooks: c
                .webhooks
                .into_iter()
                .flatten()
                .map(|w| (w.name, w.client_config, w.namespace_selector))
                .collect(),
        });
    }
    let validating: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    for c in validating
        .list(&params)
        .await
        .map_err(Error::api("listing ValidatingWebhookConfigurations"))?
    {
        configs.push(Config {
            kind: "ValidatingWebhookConfiguration",
            name: c.metadata.name.unwrap_or_default(),
            labels: c.metadata.labels,
            webhooks: c
                .webhooks
                .into_iter()
                .flatten()
                .map(|w| (w.name, w.client_config, w.namespace_selector))
                .collect(),
        });
    }
    Ok(group(configs))
}

/// Ferry's configurations (webhooks named `*.ferry.dev`) grouped into installations by
/// name: `<prefix>-inject` and `<prefix>-validate`.
fn group(configs: Vec<Config>) -> Vec<Install> {
    let mut by_prefix: BTreeMap<String, Install> = BTreeMap::new();
    for c in configs {
        let entries: Vec<Entry> = c
            .webhooks
            .into_iter()
            .filter(|(name, _, _)| is_ferry(name))
            .map(|(name, client, namespaces)| Entry {
                config: format!("{}/{}", c.kind, c.name),
                name,
                client,
                namespaces,
            })
            .collect();
        if entries.is_empty() {
            continue;
        }
        let mutating = c.kind == "MutatingWebhookConfiguration";
        let suffix = if mutating { "-inject" } else { "-validate" };
        let prefix = c.name.strip_suffix(suffix).unwrap_or(&c.name).to_owned();
        let install = by_prefix.entry(prefix.clone()).or_default();
        install.prefix = prefix;
        labels_of(install, c.labels.as_ref());
        if mutating {
            install.mutating = entries;
        } else {
            install.validating = entries;
        }
    }
    by_prefix.into_values().collect()
}

fn labels_of(install: &mut Install, labels: Option<&BTreeMap<String, String>>) {
    let get = |k: &str| labels.and_then(|l| l.get(k)).cloned();
    install.release = install
        .release
        .take()
        .or_else(|| get("app.kubernetes.io/instance"));
    install.version = install
        .version
        .take()
        .or_else(|| get("app.kubernetes.io/version"));
}

fn helm_fix(install: &Install) -> String {
    let release = install.release.as_deref().unwrap_or(&install.prefix);
    format!(
        "helm upgrade {release} charts/ferry --reuse-values (it renders the configurations again)"
    )
}

/// Both configurations exist.
fn configurations(install: &Install, findings: &mut Vec<Finding>) {
    let check = format!("installation {}: webhook configurations", install.prefix);
    let missing = match (install.mutating.is_empty(), install.validating.is_empty()) {
        (false, false) => {
            findings.push(Finding::ok(check));
            return;
        }
        (true, _) => format!(
            "MutatingWebhookConfiguration {}-inject is missing: labelled pods are created without the sidecar",
            install.prefix
        ),
        (_, true) => format!(
            "ValidatingWebhookConfiguration {}-validate is missing: bad CRs and pod annotations are not refused",
            install.prefix
        ),
    };
    findings.push(Finding::problem(check, missing, helm_fix(install)));
}

/// The Service has ready endpoints, answers `/readyz` through the apiserver's proxy, and
/// its certificate is current and trusted by every entry's caBundle.
async fn service(
    client: &kube::Client,
    install: &Install,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    let Some(entry) = install.entries().next() else {
        return Ok(());
    };
    let Some(svc) = entry.client.service.clone() else {
        findings.push(Finding::ok(format!(
            "webhook {}: registered by URL ({}); reachability and certificate are not checked from here",
            install.prefix,
            entry.client.url.as_deref().unwrap_or("-")
        )));
        return Ok(());
    };
    let (ns, name) = (svc.namespace.clone(), svc.name.clone());
    let port = svc.port.unwrap_or(443);
    let check = format!("webhook {ns}/{name} reachable");
    let deployment_fix = format!(
        "kubectl -n {ns} rollout status deployment/{name}; kubectl -n {ns} describe deployment/{name}; kubectl -n {ns} logs deployment/{name}"
    );
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), &ns);
    let ready = slices
        .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={name}")))
        .await
        .map_err(Error::api(format!(
            "listing the EndpointSlices of Service {ns}/{name}"
        )))?
        .items
        .iter()
        .flat_map(|s| s.endpoints.iter().flatten())
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false))
        .count();
    if ready == 0 {
        findings.push(Finding::problem(
            check,
            format!("Service {ns}/{name} has no ready endpoint: the apiserver cannot call the webhook, so labelled pods and Ferry's CRs are refused (failurePolicy Fail)"),
            deployment_fix,
        ));
    } else {
        let path = format!("/api/v1/namespaces/{ns}/services/https:{name}:{port}/proxy/readyz");
        let request = http::Request::get(&path)
            .body(Vec::new())
            .map_err(|e| Error::Failed(format!("building GET {path}: {e}")))?;
        match tokio::time::timeout(Duration::from_secs(10), client.request_text(request)).await {
            Ok(Ok(_)) => findings.push(Finding::ok(format!(
                "{check} ({ready} ready endpoint(s), /readyz answers)"
            ))),
            Ok(Err(e)) => findings.push(Finding::problem(
                check,
                format!("GET /readyz through the apiserver's proxy failed: {e}"),
                deployment_fix,
            )),
            Err(_) => findings.push(Finding::problem(
                check,
                "GET /readyz through the apiserver's proxy did not answer within 10s".to_owned(),
                deployment_fix,
            )),
        }
    }
    certificate(client, install, &ns, &name, findings).await
}

/// The serving certificate's expiry, and whether each caBundle trusts it.
async fn certificate(
    client: &kube::Client,
    install: &Install,
    ns: &str,
    name: &str,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let Some(deployment) = deployments
        .get_opt(name)
        .await
        .map_err(Error::api(format!("getting Deployment {ns}/{name}")))?
    else {
        findings.push(Finding::problem(
            format!("webhook {ns}/{name} Deployment"),
            format!("Deployment {ns}/{name} (the Service's) does not exist"),
            helm_fix(install),
        ));
        return Ok(());
    };
    let Some(secret_name) = tls_secret(&deployment) else {
        findings.push(Finding::ok(format!(
            "webhook {ns}/{name}: its certificate Secret is not named in the Deployment; certificate not checked"
        )));
        return Ok(());
    };
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let cert = secrets
        .get_opt(&secret_name)
        .await
        .map_err(Error::api(format!("getting Secret {ns}/{secret_name}")))?
        .and_then(|s| {
            s.data?
                .get("tls.crt")
                .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        });
    let check = format!("certificate {ns}/{secret_name}");
    let Some(cert) = cert else {
        findings.push(Finding::problem(
            check,
            "the Secret or its tls.crt is missing: the webhook cannot serve TLS".to_owned(),
            format!("self-managed mode: kubectl -n {ns} rollout restart deployment/{name} (the leader writes it again); provided mode: create the kubernetes.io/tls Secret"),
        ));
        return Ok(());
    };
    match ferry_certs::validity(&cert) {
        Ok((_, not_after)) => {
            let left = not_after.duration_since(SystemTime::now());
            let until = jiff::Timestamp::try_from(not_after)
                .map_or_else(|_| "?".to_owned(), |t| t.to_string());
            match left {
                Ok(left) if left > EXPIRY_WARNING => {
                    findings.push(Finding::ok(format!("{check} valid until {until}")))
                }
                Ok(_) => findings.push(Finding::problem(
                    check.clone(),
                    format!("expires soon, at {until}"),
                    renew_fix(ns, name),
                )),
                Err(_) => findings.push(Finding::problem(
                    check.clone(),
                    format!("expired at {until}: the apiserver refuses the webhook's TLS"),
                    renew_fix(ns, name),
                )),
            }
        }
        Err(e) => findings.push(Finding::problem(
            check.clone(),
            format!("tls.crt does not parse: {e}"),
            renew_fix(ns, name),
        )),
    }
    for entry in install.entries() {
        let check = format!("caBundle of {} ({})", entry.config, entry.name);
        let bundle = entry
            .client
            .ca_bundle
            .as_ref()
            .map(|b| b.0.clone())
            .unwrap_or_default();
        let fix = format!(
            "self-managed mode: the webhook's leader publishes it again within a minute (check kubectl -n {ns} logs deployment/{name}); provided or cert-manager mode: {}",
            helm_fix(install)
        );
        match ferry_certs::bundle_trusts_leaf(&bundle, &cert) {
            Ok(true) => findings.push(Finding::ok(format!("{check} trusts the serving certificate"))),
            Ok(false) => findings.push(Finding::problem(
                check,
                format!("does not trust the serving certificate in Secret {ns}/{secret_name}: the apiserver cannot call the webhook"),
                fix,
            )),
            Err(_) if bundle.is_empty() => findings.push(Finding::problem(check, "is empty".to_owned(), fix)),
            Err(e) => findings.push(Finding::problem(check, format!("does not parse: {e}"), fix)),
        }
    }
    Ok(())
}

fn renew_fix(ns: &str, name: &str) -> String {
    format!(
        "self-managed mode renews it at two thirds of its life: check kubectl -n {ns} logs deployment/{name}; cert-manager: kubectl -n {ns} describe certificate; provided: replace the Secret"
    )
}

/// The Secret the webhook serves from: `--cert-secret=` (self-managed) or the `tls` volume.
fn tls_secret(deployment: &Deployment) -> Option<String> {
    let pod = deployment.spec.template.spec.as_ref()?;
    let from_args = pod
        .containers
        .iter()
        .flat_map(|c| c.args.iter().flatten())
        .find_map(|a| a.strip_prefix("--cert-secret=").map(str::to_owned));
    from_args.or_else(|| {
        pod.volumes
            .iter()
            .flatten()
            .find(|v| v.name == "tls")
            .and_then(|v| v.secret.as_ref()?.secret_name.clone())
    })
}

/// The CRDs exist, serve v1alpha1 and have this version's fields.
async fn crds(
    client: &kube::Client,
    installs: &[Install],
    findings: &mut Vec<Finding>,
) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let ours = env!("CARGO_PKG_VERSION");
    let installed: BTreeSet<&str> = installs
        .iter()
        .filter_map(|i| i.version.as_deref())
        .collect();
    let fix = "Helm installs CRDs but never upgrades them: kubectl apply --server-side --force-conflicts -f charts/ferry/crds/ (of the chart version installed)";
    for crd in [ReplicationSource::crd(), ReplicationDestination::crd()] {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let check = format!("CRD {name}");
        let Some(live) = api
            .get_opt(&name)
            .await
            .map_err(Error::api(format!("getting CRD {name}")))?
        else {
            findings.push(Finding::problem(check, "is not installed", fix));
            continue;
        };
        let version = |c: &CustomResourceDefinition| {
            c.spec
                .versions
                .iter()
                .find(|v| v.name == ferry_api::VERSION)
                .and_then(|v| v.schema.as_ref()?.open_api_v3_schema.as_ref())
                .and_then(|s| serde_json::to_value(s).ok())
        };
        let served = live
            .spec
            .versions
            .iter()
            .any(|v| v.name == ferry_api::VERSION && v.served);
        let (Some(live_schema), Some(our_schema)) = (version(&live), version(&crd)) else {
            findings.push(Finding::problem(
                check,
                format!("does not serve {}", ferry_api::VERSION),
                fix,
            ));
            continue;
        };
        if !served {
            findings.push(Finding::problem(
                check,
                format!("does not serve {}", ferry_api::VERSION),
                fix,
            ));
            continue;
        }
        let mismatch = installed.iter().any(|v| *v != ours);
        match schema_drift(&live_schema, &our_schema, 5) {
            None => findings.push(Finding::ok(format!("{check} matches Ferry {ours}"))),
            Some(drift) if mismatch => findings.push(Finding::problem(
                check,
                format!(
                    "differs from Ferry {ours} (this plugin; the installation is {}): {drift}",
                    installed.iter().copied().collect::<Vec<_>>().join(", ")
                ),
                "use the kubectl-ferry of the installed version, or upgrade the chart and its CRDs",
            )),
            Some(drift) => findings.push(Finding::problem(
                check,
                format!("is not Ferry {ours}'s: {drift}"),
                fix,
            )),
        }
    }
    Ok(())
}

async fn namespace_labels(
    client: &kube::Client,
) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let api: Api<Namespace> = Api::all(client.clone());
    Ok(api
        .list(&ListParams::default())
        .await
        .map_err(Error::api("listing namespaces"))?
        .items
        .into_iter()
        .map(|n| {
            (
                n.metadata.name.unwrap_or_default(),
                n.metadata.labels.unwrap_or_default(),
            )
        })
        .collect())
}

/// Labelled pods without the sidecar.
fn not_injected(
    pods: &[&PodFacts],
    installs: &[Install],
    namespaces: &BTreeMap<String, BTreeMap<String, String>>,
    findings: &mut Vec<Finding>,
) {
    let mut bad = 0;
    for p in pods.iter().filter(|p| {
        !p.injected && !p.deleting && !matches!(p.phase.as_str(), "Succeeded" | "Failed")
    }) {
        bad += 1;
        let labels = namespaces.get(&p.namespace).cloned().unwrap_or_default();
        let seen = installs
            .iter()
            .any(|i| selects(i.namespace_selector(), &labels));
        let (what, fix) = if seen {
            (
                "is labelled ferry.dev/inject=true but has no ferry-sidecar: it was created while the webhook was not called (unregistered or down)".to_owned(),
                format!("once the webhook checks pass, recreate it: kubectl -n {} delete pod {} (its controller makes a new, injected one)", p.namespace, p.name),
            )
        } else {
            (
                format!(
                    "is labelled ferry.dev/inject=true but no Ferry injection webhook selects namespace {}",
                    p.namespace
                ),
                format!(
                    "label namespace {} to match the webhook's namespaceSelector (Helm value webhook.namespaceSelector), then recreate the pod",
                    p.namespace
                ),
            )
        };
        findings.push(Finding::problem(
            format!("pod {}/{}", p.namespace, p.name),
            what,
            fix,
        ));
    }
    if bad == 0 {
        findings.push(Finding::ok(format!(
            "{} labelled pod(s) injected",
            pods.len()
        )));
    }
}

/// What the sidecar must be allowed, checked for each service account of a pod that binds
/// a CR: (verb, group, resource, subresource).
const SIDECAR_RIGHTS: [(&str, &str, &str, &str); 4] = [
    ("get", ferry_api::GROUP, "", ""),
    ("patch", ferry_api::GROUP, "", "status"),
    ("create", "", "events", ""),
    ("update", "coordination.k8s.io", "leases", ""),
];

async fn rbac(
    client: &kube::Client,
    pods: &[&PodFacts],
    installs: &[Install],
    findings: &mut Vec<Finding>,
) -> Result<()> {
    // (namespace, service account, plural) -> pods
    let mut accounts: BTreeMap<(String, String, &str), Vec<String>> = BTreeMap::new();
    for p in pods {
        let plural = match (&p.source, &p.destination) {
            (Some(_), _) => ferry_api::types::SOURCE_PLURAL,
            (None, Some(_)) => ferry_api::types::DESTINATION_PLURAL,
            (None, None) => continue,
        };
        accounts
            .entry((p.namespace.clone(), p.service_account.clone(), plural))
            .or_default()
            .push(p.name.clone());
    }
    let roles = sidecar_roles(client, installs).await?;
    let role = match roles.as_slice() {
        [one] => one.clone(),
        _ => "<the sidecar ClusterRole of your release>".to_owned(),
    };
    let api: Api<SubjectAccessReview> = Api::all(client.clone());
    for ((ns, sa, plural), pod_names) in &accounts {
        let mut denied = Vec::new();
        for (verb, group, resource, sub) in SIDECAR_RIGHTS {
            let resource = if resource.is_empty() {
                *plural
            } else {
                resource
            };
            let review = SubjectAccessReview {
                spec: SubjectAccessReviewSpec {
                    user: Some(format!("system:serviceaccount:{ns}:{sa}")),
                    groups: Some(vec![
                        "system:serviceaccounts".to_owned(),
                        format!("system:serviceaccounts:{ns}"),
                    ]),
                    resource_attributes: Some(ResourceAttributes {
                        namespace: Some(ns.clone()),
                        group: Some(group.to_owned()),
                        resource: Some(resource.to_owned()),
                        subresource: (!sub.is_empty()).then(|| sub.to_owned()),
                        verb: Some(verb.to_owned()),
                        ..ResourceAttributes::default()
                    }),
                    ..SubjectAccessReviewSpec::default()
                },
                ..SubjectAccessReview::default()
            };
            let answer = api
                .create(&PostParams::default(), &review)
                .await
                .map_err(Error::api("creating a SubjectAccessReview"))?;
            if !answer.status.is_some_and(|s| s.allowed) {
                let what = if sub.is_empty() {
                    resource.to_owned()
                } else {
                    format!("{resource}/{sub}")
                };
                denied.push(format!("{verb} {what}"));
            }
        }
        let check = format!(
            "sidecar RBAC of service account {ns}/{sa} (pods {})",
            pod_names.join(", ")
        );
        if denied.is_empty() {
            findings.push(Finding::ok(check));
        } else {
            findings.push(Finding::problem(
                check,
                format!("cannot {}: the sidecar cannot read its CR or report", denied.join(", ")),
                format!(
                    "kubectl -n {ns} create rolebinding {role} --clusterrole={role} --serviceaccount={ns}:{sa} (or add {{namespace: {ns}, serviceAccount: {sa}}} to the Helm value sidecarBindings)"
                ),
            ));
        }
    }
    Ok(())
}

/// The sidecar ClusterRoles of the installations (label component=sidecar, the release's
/// instance label).
async fn sidecar_roles(client: &kube::Client, installs: &[Install]) -> Result<Vec<String>> {
    let api: Api<ClusterRole> = Api::all(client.clone());
    let list = api
        .list(
            &ListParams::default()
                .labels("app.kubernetes.io/component=sidecar,app.kubernetes.io/part-of=ferry"),
        )
        .await
        .map_err(Error::api("listing ClusterRoles"))?;
    let releases: BTreeSet<&str> = installs
        .iter()
        .filter_map(|i| i.release.as_deref())
        .collect();
    Ok(list
        .items
        .into_iter()
        .filter(|r| {
            r.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("app.kubernetes.io/instance"))
                .is_some_and(|i| releases.contains(i.as_str()))
        })
        .filter_map(|r| r.metadata.name)
        .collect())
}
