//! One scan of the leader, and what it does with a repair: read the configurations, the
//! namespaces and the labelled pods' metadata, judge them with the pure functions, and set
//! the gauges, log and write Events.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ferry_api::annotations::{INJECT_LABEL, INJECTED};
use ferry_certs::CertStore;
use ferry_certs::self_managed::Repair;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration, WebhookClientConfig,
};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, ListParams, ObjectList};
use kube::core::PartialObjectMeta;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use super::bundle::{self, Trust};
use super::events::Events;
use super::notes::{self, reason};
use super::pods::{self, PodFacts};
use super::{HealthConfig, Reported};
use crate::metrics::{CertLabels, ConfigurationLabels, Health, NamespaceLabels, VersionLabels};

const MUTATING: &str = "MutatingWebhookConfiguration";
const VALIDATING: &str = "ValidatingWebhookConfiguration";
/// Pods listed per request: a large cluster is read in pages.
const PAGE: u32 = 500;

/// A webhook configuration as the checks see it.
#[derive(Debug)]
struct Configuration {
    kind: &'static str,
    name: String,
    /// Each webhook's name and caBundle.
    entries: Vec<(String, Option<Vec<u8>>)>,
    /// The first webhook's namespaceSelector.
    namespace_selector: Option<LabelSelector>,
}

/// The leader's checker.
pub(super) struct Checker {
    client: kube::Client,
    config: HealthConfig,
    certs: Arc<CertStore>,
    metrics: Health,
    events: Events,
    reported: Reported,
}

impl Checker {
    pub(super) fn new(
        client: kube::Client,
        config: HealthConfig,
        certs: Arc<CertStore>,
        metrics: Health,
    ) -> Self {
        Self {
            events: Events::new(client.clone(), &config.identity),
            client,
            config,
            certs,
            metrics,
            reported: Reported::default(),
        }
    }

    /// Not the leader: no health gauges from this instance.
    pub(super) fn standby(&mut self) {
        self.metrics.clear();
    }

    /// Reports a caBundle the certificate task put back.
    pub(super) async fn repaired(&mut self, repair: Repair) {
        let note = notes::repaired(&repair.kind, &repair.configuration, &repair.webhooks);
        tracing::warn!(
            configuration = %repair.configuration,
            kind = %repair.kind,
            "{note}"
        );
        self.metrics
            .drift_total
            .get_or_create(&ConfigurationLabels {
                kind: repair.kind.clone(),
                configuration: repair.configuration.clone(),
            })
            .inc();
        self.events
            .on_configuration(
                &repair.kind,
                &repair.configuration,
                reason::CA_BUNDLE_REPAIRED,
                note,
            )
            .await;
    }

    /// One scan: certificates and caBundles, then the labelled pods.
    pub(super) async fn scan(&mut self) {
        let configurations = self.configurations().await;
        self.certificates(&configurations).await;
        // Without a named injection configuration there are no pods to expect injected.
        let Some(mutating) = self.config.mutating.first().cloned() else {
            return;
        };
        match configurations
            .iter()
            .find(|c| c.name == mutating && c.kind == MUTATING)
        {
            Some(injection) => self.pods(injection).await,
            None => tracing::warn!(
                configuration = %mutating,
                "the injection's MutatingWebhookConfiguration was not found: labelled pods are \
                 not checked until it exists"
            ),
        }
    }

    /// The named configurations that exist (a failed read is logged and skipped).
    async fn configurations(&self) -> Vec<Configuration> {
        let mut out = Vec::new();
        let mutating: Api<MutatingWebhookConfiguration> = Api::all(self.client.clone());
        for name in &self.config.mutating {
            if let Some(c) = read(&mutating, name).await {
                let hooks = c.webhooks.into_iter().flatten();
                let hooks = hooks.map(|w| (w.name, w.client_config, w.namespace_selector));
                out.push(configuration(MUTATING, name, hooks));
            }
        }
        let validating: Api<ValidatingWebhookConfiguration> = Api::all(self.client.clone());
        for name in &self.config.validating {
            if let Some(c) = read(&validating, name).await {
                let hooks = c.webhooks.into_iter().flatten();
                let hooks = hooks.map(|w| (w.name, w.client_config, w.namespace_selector));
                out.push(configuration(VALIDATING, name, hooks));
            }
        }
        out
    }

    /// Expiry gauges, and whether each configuration's caBundle trusts the served leaf.
    async fn certificates(&mut self, configurations: &[Configuration]) {
        if let Some(not_after) = self.certs.not_after() {
            self.metrics
                .expiry
                .get_or_create(&CertLabels { cert: "serving" })
                .set(unix(not_after));
        }
        let Some(leaf) = self.certs.leaf_der() else {
            return;
        };
        let mut trusts = Vec::new();
        for c in configurations {
            let judged: Vec<(String, Trust)> = c
                .entries
                .iter()
                .map(|(name, b)| (name.clone(), bundle::trust(b.as_deref(), &leaf)))
                .collect();
            let bad = bundle::untrusted(&judged);
            self.drift(c, &bad).await;
            trusts.extend(judged.into_iter().map(|(_, t)| t));
        }
        if let Some(not_after) = bundle::ca_expiry(&trusts) {
            self.metrics
                .expiry
                .get_or_create(&CertLabels { cert: "ca" })
                .set(unix(not_after));
        }
    }

    /// Sets the configuration's gauge; without a repairing task, reports a configuration
    /// that stopped trusting the certificate, once until it trusts it again.
    async fn drift(&mut self, c: &Configuration, bad: &[String]) {
        let labels = ConfigurationLabels {
            kind: c.kind.to_owned(),
            configuration: c.name.clone(),
        };
        self.metrics
            .drift
            .get_or_create(&labels)
            .set(i64::from(!bad.is_empty()));
        if bad.is_empty() {
            self.reported.untrusted.remove(&labels);
            return;
        }
        if self.config.self_managed || !self.reported.untrusted.insert(labels.clone()) {
            return;
        }
        let note = notes::untrusted(c.kind, &c.name, bad);
        tracing::warn!(configuration = %c.name, kind = c.kind, "{note}");
        self.metrics.drift_total.get_or_create(&labels).inc();
        self.events
            .on_configuration(c.kind, &c.name, reason::CA_BUNDLE_UNTRUSTED, note)
            .await;
    }

    /// The labelled pods of the namespaces `injection` selects.
    async fn pods(&mut self, injection: &Configuration) {
        let (namespaces, pods) = match (self.namespaces().await, self.labelled_pods().await) {
            (Ok(n), Ok(p)) => (n, p),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "listing namespaces or labelled pods failed; retrying next scan");
                return;
            }
        };
        let selected: BTreeSet<String> = namespaces
            .into_iter()
            .filter(|(_, labels)| {
                ferry_api::selector::selects(injection.namespace_selector.as_ref(), labels)
            })
            .map(|(name, _)| name)
            .collect();
        let tally = pods::tally(&pods, &selected, &self.config.version);
        set_all(&self.metrics.not_injected, &tally.not_injected, |ns| {
            NamespaceLabels { pod_namespace: ns }
        });
        set_all(&self.metrics.outdated, &tally.outdated, |version| {
            VersionLabels { version }
        });
        let missed: BTreeSet<&str> = tally.missed.iter().map(|p| p.uid.as_str()).collect();
        self.reported
            .pods
            .retain(|uid| missed.contains(uid.as_str()));
        for pod in tally.missed {
            if !self.reported.pods.insert(pod.uid.clone()) {
                continue;
            }
            let note = notes::not_injected(pod, &injection.name);
            tracing::warn!(namespace = %pod.namespace, pod = %pod.name, "{note}");
            self.events.on_pod(pod, reason::NOT_INJECTED, note).await;
        }
        if !tally.outdated.is_empty() {
            tracing::info!(
                outdated = ?tally.outdated,
                own = %self.config.version,
                "pods run a sidecar injected by another version; a rollout restart of their \
                 workloads injects this one"
            );
        }
    }

    async fn namespaces(&self) -> kube::Result<BTreeMap<String, BTreeMap<String, String>>> {
        let list = Api::<Namespace>::all(self.client.clone())
            .list_metadata(&ListParams::default())
            .await?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|ns| Some((ns.metadata.name?, ns.metadata.labels.unwrap_or_default())))
            .collect())
    }

    async fn labelled_pods(&self) -> kube::Result<Vec<PodFacts>> {
        let api: Api<Pod> = Api::all(self.client.clone());
        let selector = format!("{INJECT_LABEL}=true");
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut params = ListParams::default().labels(&selector).limit(PAGE);
            if let Some(t) = token.take() {
                params = params.continue_token(&t);
            }
            let page: ObjectList<PartialObjectMeta<Pod>> = api.list_metadata(&params).await?;
            out.extend(page.items.into_iter().map(facts));
            match page.metadata.continue_ {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => return Ok(out),
            }
        }
    }
}

/// A configuration from its webhooks' `(name, clientConfig, namespaceSelector)`.
fn configuration(
    kind: &'static str,
    name: &str,
    hooks: impl Iterator<Item = (String, WebhookClientConfig, Option<LabelSelector>)>,
) -> Configuration {
    let mut namespace_selector = None;
    let mut entries = Vec::new();
    for (i, (hook, client, selector)) in hooks.enumerate() {
        if i == 0 {
            namespace_selector = selector;
        }
        entries.push((hook, client.ca_bundle.map(|b| b.0)));
    }
    Configuration {
        kind,
        name: name.to_owned(),
        entries,
        namespace_selector,
    }
}

/// The facts of one pod from its metadata.
fn facts(pod: PartialObjectMeta<Pod>) -> PodFacts {
    let meta = pod.metadata;
    let owner = meta
        .owner_references
        .unwrap_or_default()
        .into_iter()
        .find(|o| o.controller == Some(true))
        .map(|o| (o.kind, o.name));
    PodFacts {
        namespace: meta.namespace.unwrap_or_default(),
        name: meta.name.unwrap_or_default(),
        uid: meta.uid.unwrap_or_default(),
        record: meta.annotations.and_then(|mut a| a.remove(INJECTED)),
        owner,
        template_hash: meta.labels.and_then(|mut l| l.remove("pod-template-hash")),
        deleting: meta.deletion_timestamp.is_some(),
    }
}

/// Replaces every series of a gauge family with `values`.
fn set_all<L, K>(family: &Family<L, Gauge>, values: &BTreeMap<K, i64>, labels: impl Fn(K) -> L)
where
    L: Clone + std::hash::Hash + Eq,
    K: Clone,
{
    family.clear();
    for (key, value) in values {
        family.get_or_create(&labels(key.clone())).set(*value);
    }
}

/// Reads one configuration; `None` (logged) when it is missing or unreadable.
async fn read<K>(api: &Api<K>, name: &str) -> Option<K>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.get_opt(name).await {
        Ok(Some(c)) => Some(c),
        Ok(None) => {
            tracing::warn!(configuration = name, "webhook configuration not found");
            None
        }
        Err(e) => {
            tracing::warn!(configuration = name, error = %e, "reading a webhook configuration failed");
            None
        }
    }
}

/// Unix seconds of `t` (0 before the epoch, which no certificate of ours has).
fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
