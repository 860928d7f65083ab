//! What the injection reads of a pod, decoded straight from the AdmissionReview's bytes.
//!
//! Only these fields are built; every other field of the pod is skipped by the decoder
//! without being allocated, and strings without escapes borrow the request body. Decoding
//! the whole pod into a `serde_json::Value` first (a map node per object, a `String` per key
//! and value, and dropping them all again) was the largest part of `/mutate`'s handler time
//! in `make bench-webhook`'s profile. The patch only adds, so nothing of the pod has to be
//! carried through: what is not read here cannot be dropped by the injection.
//!
//! The apiserver sends pods serialised from its own types, so a field here never has
//! another JSON type; a request where one does is refused as malformed, naming the field.

use std::borrow::Cow;
use std::collections::BTreeMap;

use ferry_api::annotations::INJECT_LABEL;
use serde::Deserialize;
use serde::de::IgnoredAny;

/// A string of the pod: borrowed from the request body unless it holds escapes. A newtype
/// because serde borrows a `Cow` only where it is a field's whole type, never inside an
/// `Option` or a map.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Text<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Text<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// A pod, as far as the injection reads it.
#[derive(Debug, Default, Deserialize)]
pub struct Pod<'a> {
    /// Labels and annotations.
    #[serde(borrow, default)]
    pub metadata: Meta<'a>,
    /// The parts of the spec the plan and the patch look at.
    #[serde(borrow, default)]
    pub spec: Spec<'a>,
}

/// `metadata`: `None` where the pod has no such map (the patch must create it first).
#[derive(Debug, Default, Deserialize)]
pub struct Meta<'a> {
    /// `metadata.labels`.
    #[serde(borrow, default)]
    pub labels: Option<BTreeMap<Text<'a>, Text<'a>>>,
    /// `metadata.annotations`.
    #[serde(borrow, default)]
    pub annotations: Option<BTreeMap<Text<'a>, Text<'a>>>,
}

/// `spec`: `None` where the pod leaves a field out.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec<'a> {
    /// `spec.volumes`.
    #[serde(borrow, default)]
    pub volumes: Option<Vec<Volume<'a>>>,
    /// `spec.containers`: only the first one's user is read.
    #[serde(default)]
    pub containers: Option<Vec<Container>>,
    /// `spec.initContainers`: only whether the list exists.
    #[serde(default)]
    pub init_containers: Option<Vec<IgnoredAny>>,
    /// `spec.hostNetwork`.
    #[serde(default)]
    pub host_network: Option<bool>,
    /// `spec.restartPolicy`.
    #[serde(borrow, default)]
    pub restart_policy: Option<Text<'a>>,
    /// `spec.automountServiceAccountToken`.
    #[serde(default)]
    pub automount_service_account_token: Option<bool>,
    /// `spec.serviceAccountName`.
    #[serde(borrow, default)]
    pub service_account_name: Option<Text<'a>>,
    /// `spec.securityContext`.
    #[serde(default)]
    pub security_context: Option<SecurityContext>,
}

/// A pod volume: its name, and its claim if it is a PVC or ephemeral volume.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume<'a> {
    /// `name`.
    #[serde(borrow)]
    pub name: Text<'a>,
    /// `persistentVolumeClaim`.
    #[serde(borrow, default)]
    pub persistent_volume_claim: Option<Claim<'a>>,
    /// `ephemeral`: only whether it is there.
    #[serde(default)]
    pub ephemeral: Option<IgnoredAny>,
}

/// `persistentVolumeClaim` of a volume.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claim<'a> {
    /// `claimName`.
    #[serde(borrow, default)]
    pub claim_name: Option<Text<'a>>,
}

/// An app container, as far as the injection reads it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// `securityContext`.
    #[serde(default)]
    pub security_context: Option<SecurityContext>,
}

/// `securityContext` of a pod or a container.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContext {
    /// `runAsUser`.
    #[serde(default)]
    pub run_as_user: Option<i64>,
}

impl Pod<'_> {
    /// True when the pod carries the opt-in label with the value `"true"`.
    pub fn opted_in(&self) -> bool {
        self.metadata
            .labels
            .as_ref()
            .and_then(|labels| labels.get(INJECT_LABEL))
            .is_some_and(|value| &**value == "true")
    }

    /// The pod's annotations, as the annotation validator takes them.
    pub fn annotations(&self) -> BTreeMap<String, String> {
        self.metadata
            .annotations
            .iter()
            .flatten()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The volumes, empty when the pod has none.
    pub fn volumes(&self) -> &[Volume<'_>] {
        self.spec.volumes.as_deref().unwrap_or_default()
    }

    /// The user the first app container runs as, else the pod's.
    pub fn app_user(&self) -> Option<i64> {
        self.spec
            .containers
            .as_ref()
            .and_then(|c| c.first())
            .and_then(|c| c.security_context.as_ref())
            .and_then(|s| s.run_as_user)
            .or_else(|| {
                self.spec
                    .security_context
                    .as_ref()
                    .and_then(|s| s.run_as_user)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_injection_needs_and_borrows_plain_strings() {
        let body = r#"{"apiVersion":"v1","kind":"Pod",
            "metadata":{"name":"web","labels":{"ferry.dev/inject":"true","a\/b":"x"},
                "annotations":{"ferry.dev/source":"s"},"ownerReferences":[{"uid":"1"}]},
            "spec":{"containers":[{"name":"a","env":[{"name":"X","value":"1"}],
                "securityContext":{"runAsUser":1000}}],
                "securityContext":{"runAsUser":7},"hostNetwork":false,
                "volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"c"}},
                    {"name":"scratch","ephemeral":{"volumeClaimTemplate":{}}},
                    {"name":"cfg","configMap":{"name":"x"}}]}}"#;
        let pod: Pod = serde_json::from_str(body).expect("pod");
        assert!(pod.opted_in());
        assert!(matches!(pod.volumes()[0].name.0, Cow::Borrowed("data")));
        assert!(matches!(
            pod.metadata.annotations.as_ref().expect("annotations")["ferry.dev/source"].0,
            Cow::Borrowed("s")
        ));
        // An escaped key is unescaped into its own string.
        assert!(
            pod.metadata
                .labels
                .as_ref()
                .expect("labels")
                .contains_key("a/b")
        );
        assert_eq!(pod.app_user(), Some(1000));
        assert_eq!(pod.volumes().len(), 3);
        assert!(pod.volumes()[1].ephemeral.is_some());
        assert!(pod.spec.init_containers.is_none());
        assert_eq!(
            pod.annotations()
                .get("ferry.dev/source")
                .map(String::as_str),
            Some("s")
        );
    }

    #[test]
    fn missing_parts_are_none_and_a_wrong_type_names_its_field() {
        let pod: Pod =
            serde_json::from_str(r#"{"spec":{"securityContext":{"runAsUser":7}}}"#).expect("pod");
        assert!(!pod.opted_in());
        assert!(pod.metadata.annotations.is_none());
        assert_eq!(pod.app_user(), Some(7));
        let err = serde_json::from_str::<Pod>(r#"{"spec":{"hostNetwork":"yes"}}"#)
            .expect_err("a string is not a bool");
        assert!(err.to_string().contains("invalid type"), "{err}");
    }
}
