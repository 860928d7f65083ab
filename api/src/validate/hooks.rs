//! Validation of consistency hooks: `spec.hooks` of a ReplicationSource, and the hook
//! annotations of a pod, parsed into [`HookOverrides`].

use std::collections::BTreeMap;

use super::common::{EnumField, check_name, check_range};
use super::report::Report;
use crate::annotations as keys;
use crate::rules::hook::{self, Target};
use crate::types::{FailurePolicy, Hook, HookScheme, Hooks};

/// The enum fields of both hooks, checked by name before decoding.
pub(super) fn enum_fields() -> Vec<EnumField> {
    let mut fields = Vec::new();
    for (method, scheme, policy) in [
        (
            "/hooks/preSync/method",
            "/hooks/preSync/scheme",
            "/hooks/preSync/failurePolicy",
        ),
        (
            "/hooks/postSync/method",
            "/hooks/postSync/scheme",
            "/hooks/postSync/failurePolicy",
        ),
    ] {
        fields.push(EnumField {
            pointer: method,
            allowed: &["GET", "POST", "PUT"],
            rule: "must be GET, POST or PUT",
        });
        fields.push(EnumField {
            pointer: scheme,
            allowed: &["HTTP", "HTTPS"],
            rule: "must be HTTP or HTTPS",
        });
        fields.push(EnumField {
            pointer: policy,
            allowed: &["Fail", "Continue"],
            rule: "must be Fail (skip the sync) or Continue",
        });
    }
    fields
}

/// Checks `spec.hooks`: every hook reaches only the pod's loopback, with a valid path, port,
/// timeout, header Secret and TLS settings.
pub(super) fn check_hooks(hooks: Option<&Hooks>, report: &mut Report) {
    let Some(hooks) = hooks else { return };
    for (name, hook) in [("preSync", &hooks.pre_sync), ("postSync", &hooks.post_sync)] {
        if let Some(hook) = hook {
            check_hook(&format!("spec.hooks.{name}"), hook, report);
        }
    }
}

fn check_hook(at: &str, hook: &Hook, report: &mut Report) {
    if let Some(host) = &hook.host
        && let Err(err) = hook::loopback(host)
    {
        report.error(&format!("{at}.host"), host, err);
    }
    check_range(
        &format!("{at}.port"),
        Some(i64::from(hook.port)),
        1,
        65535,
        report,
    );
    if let Err(err) = hook::http_path(&hook.path) {
        report.error(&format!("{at}.path"), &hook.path, err);
    }
    check_range(
        &format!("{at}.timeoutSeconds"),
        hook.timeout_seconds.map(i64::from),
        1,
        i64::from(hook::MAX_TIMEOUT_SECONDS),
        report,
    );
    check_name(
        &format!("{at}.headersSecret"),
        hook.headers_secret.as_deref(),
        report,
    );
    let https = hook.scheme == Some(HookScheme::Https);
    match (&hook.tls, https) {
        (Some(_), false) => report.error(
            &format!("{at}.tls"),
            "{…}",
            "is only used with scheme: HTTPS; set scheme: HTTPS or remove tls",
        ),
        (None, true) => report.error(
            &format!("{at}.tls"),
            "",
            "required with scheme HTTPS: name the CA that signed the app's certificate in tls.ca.secret or tls.ca.configMap",
        ),
        _ => {}
    }
    if let Some(tls) = &hook.tls {
        let ca = &tls.ca;
        match (&ca.secret, &ca.config_map) {
            (Some(_), Some(_)) | (None, None) => report.error(
                &format!("{at}.tls.ca"),
                "{…}",
                "set exactly one of secret and configMap",
            ),
            _ => {}
        }
        for (kind, key_ref) in [("secret", &ca.secret), ("configMap", &ca.config_map)] {
            if let Some(key_ref) = key_ref {
                check_name(
                    &format!("{at}.tls.ca.{kind}.name"),
                    Some(&key_ref.name),
                    report,
                );
                if key_ref.key.is_empty() {
                    report.error(&format!("{at}.tls.ca.{kind}.key"), "", "required");
                }
            }
        }
    }
}

/// The hook settings a pod's annotations give, overriding `spec.hooks` for that pod.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HookOverrides {
    /// `ferry.dev/pre-sync-hook`: where the freeze goes.
    pub pre_sync: Option<Target>,
    /// `ferry.dev/post-sync-hook`: where the thaw goes.
    pub post_sync: Option<Target>,
    /// `ferry.dev/hook-timeout`, in seconds.
    pub timeout_seconds: Option<u32>,
    /// `ferry.dev/hook-failure-policy`.
    pub failure_policy: Option<FailurePolicy>,
}

/// Parses the hook annotations of a pod, recording every problem with its annotation named.
pub fn hook_overrides(
    annotations: &BTreeMap<String, String>,
    report: &mut Report,
) -> HookOverrides {
    let get = |key: &str| annotations.get(key).map(String::as_str);
    let target = |key: &str, report: &mut Report| {
        get(key).and_then(|text| {
            Target::parse(text)
                .map_err(|err| report.error(&annotation_path(key), text, err))
                .ok()
        })
    };
    let pre_sync = target(keys::PRE_SYNC_HOOK, report);
    let post_sync = target(keys::POST_SYNC_HOOK, report);
    let timeout_seconds = get(keys::HOOK_TIMEOUT).and_then(|text| {
        hook::timeout_seconds(text)
            .map_err(|err| report.error(&annotation_path(keys::HOOK_TIMEOUT), text, err))
            .ok()
    });
    let failure_policy = get(keys::HOOK_FAILURE_POLICY).and_then(|text| match text {
        "Fail" => Some(FailurePolicy::Fail),
        "Continue" => Some(FailurePolicy::Continue),
        _ => {
            report.error(
                &annotation_path(keys::HOOK_FAILURE_POLICY),
                text,
                hook::HookError::FailurePolicy,
            );
            None
        }
    });
    HookOverrides {
        pre_sync,
        post_sync,
        timeout_seconds,
        failure_policy,
    }
}

/// The field path of an annotation, as Kubernetes writes it.
fn annotation_path(key: &str) -> String {
    format!("metadata.annotations[{key}]")
}
