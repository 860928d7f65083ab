//! Publishing the CA bundle into Ferry's webhook configurations.

use base64::Engine;
use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, Patch, PatchOperation, TestOperation};
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration, WebhookClientConfig,
};
use kube::api::{Api, PatchParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use std::fmt::Debug;

use super::report::Repair;
use crate::{Error, Result};

/// What one round of publishing did.
#[derive(Debug, Default)]
pub(crate) struct Published {
    /// Whether every existing configuration now carries the bundle.
    pub complete: bool,
    /// The configurations whose webhooks held another bundle (not none) and were patched.
    pub repairs: Vec<Repair>,
}

/// Makes every webhook of the named configurations carry `bundle` as its `caBundle`.
///
/// A configuration that does not exist yet is skipped (the chart may create it later; the
/// next tick retries). Failures are logged and the rest still tried.
pub(crate) async fn publish(
    client: &Client,
    mutating: &[String],
    validating: &[String],
    bundle: &[u8],
) -> Published {
    let mut results = Vec::new();
    let mutating_api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    for name in mutating {
        let entries = |c: &MutatingWebhookConfiguration| {
            c.webhooks
                .iter()
                .flatten()
                .map(|w| (w.name.clone(), w.client_config.clone()))
                .collect()
        };
        results.push((
            name,
            publish_one(&mutating_api, name, bundle, entries).await,
        ));
    }
    let validating_api: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    for name in validating {
        let entries = |c: &ValidatingWebhookConfiguration| {
            c.webhooks
                .iter()
                .flatten()
                .map(|w| (w.name.clone(), w.client_config.clone()))
                .collect()
        };
        results.push((
            name,
            publish_one(&validating_api, name, bundle, entries).await,
        ));
    }
    let mut published = Published {
        complete: true,
        repairs: Vec::new(),
    };
    for (name, result) in results {
        match result {
            Ok(Some(repair)) => published.repairs.push(repair),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(configuration = %name, error = %e, "publishing the CA bundle failed; will retry");
                published.complete = false;
            }
        }
    }
    published
}

/// Publishes into one configuration; returns the repair when some webhook of it held
/// another bundle.
async fn publish_one<K>(
    api: &Api<K>,
    name: &str,
    bundle: &[u8],
    webhooks: impl Fn(&K) -> Vec<(String, WebhookClientConfig)>,
) -> Result<Option<Repair>>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let Some(config) = api
        .get_opt(name)
        .await
        .map_err(Error::kube("get webhook configuration"))?
    else {
        tracing::debug!(
            configuration = name,
            "webhook configuration not found yet; will retry"
        );
        return Ok(None);
    };
    let entries = webhooks(&config);
    let Some(patch) = ca_bundle_patch(&entries, bundle) else {
        return Ok(None);
    };
    api.patch(
        name,
        &PatchParams::default(),
        &kube::api::Patch::Json::<()>(patch),
    )
    .await
    .map_err(Error::kube("patch webhook caBundle"))?;
    tracing::info!(configuration = name, "published the CA bundle");
    let drifted = drifted(&entries, bundle);
    Ok((!drifted.is_empty()).then(|| Repair {
        kind: K::kind(&()).into_owned(),
        configuration: name.to_owned(),
        webhooks: drifted,
    }))
}

/// The webhooks whose `caBundle` is set to something other than `bundle`: drift, as
/// opposed to a webhook with no bundle yet (a fresh install, before the first publish).
pub(crate) fn drifted(webhooks: &[(String, WebhookClientConfig)], bundle: &[u8]) -> Vec<String> {
    webhooks
        .iter()
        .filter(|(_, c)| c.ca_bundle.as_ref().is_some_and(|b| b.0 != bundle))
        .map(|(name, _)| name.clone())
        .collect()
}

/// A JSON patch setting `caBundle` on every webhook whose bundle differs, or `None` if all
/// match. Each set is guarded by a `test` of the webhook's name, so a list reordered since
/// our read fails the patch instead of writing into the wrong entry.
pub(crate) fn ca_bundle_patch(
    webhooks: &[(String, WebhookClientConfig)],
    bundle: &[u8],
) -> Option<Patch> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bundle);
    let mut ops = Vec::new();
    for (i, (name, client_config)) in webhooks.iter().enumerate() {
        if client_config
            .ca_bundle
            .as_ref()
            .is_some_and(|b| b.0 == bundle)
        {
            continue;
        }
        let index = i.to_string();
        ops.push(PatchOperation::Test(TestOperation {
            path: PointerBuf::from_tokens(["webhooks", index.as_str(), "name"]),
            value: serde_json::Value::String(name.clone()),
        }));
        ops.push(PatchOperation::Add(AddOperation {
            path: PointerBuf::from_tokens(["webhooks", index.as_str(), "clientConfig", "caBundle"]),
            value: serde_json::Value::String(encoded.clone()),
        }));
    }
    (!ops.is_empty()).then_some(Patch(ops))
}

#[cfg(test)]
mod tests;
