//! Writing the certificate Secret without overwriting anyone else's write.

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};

use super::material::Material;
use crate::{Error, Result};

/// Creates or replaces the Secret; the replace carries the resourceVersion we read, so a
/// concurrent writer makes it fail (409) instead of being overwritten.
pub(crate) async fn write_secret(
    api: &Api<Secret>,
    name: &str,
    namespace: &str,
    existing: Option<&Secret>,
    next: &Material,
) -> Result<Option<Secret>> {
    let pp = PostParams::default();
    let result = match existing {
        Some(existing) => {
            let mut metadata = existing.metadata.clone();
            metadata.managed_fields = None;
            let mut secret = next.to_secret(metadata);
            // A Secret's type is immutable; keep whatever it was created with.
            secret.type_ = existing.type_.clone().or(secret.type_);
            api.replace(name, &pp, &secret).await
        }
        None => {
            let metadata = ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(namespace.to_owned()),
                ..ObjectMeta::default()
            };
            api.create(&pp, &next.to_secret(metadata)).await
        }
    };
    match result {
        Ok(secret) => Ok(Some(secret)),
        Err(kube::Error::Api(status)) if status.code == 409 => {
            tracing::debug!("certificate Secret changed under us; will re-read");
            Ok(None)
        }
        Err(e) => Err(Error::kube("write Secret")(e)),
    }
}
