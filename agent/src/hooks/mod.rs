//! Application-consistent copies: the `preSync` (freeze) and `postSync` (thaw) HTTP calls to
//! the app over the pod's loopback, around the cut of each copy, and VolSync's PVC copy
//! triggers, which let outside automation do the same.
//!
//! The sidecar shares the pod's network namespace, so `127.0.0.1` is the app itself: no
//! `pods/exec` right is needed. The freeze lasts only until the copy is cut (the
//! VolumeSnapshot's creation time, the clone's binding, or the end of a Direct transfer), and a
//! `postSync` follows every `preSync` that was sent, whatever happened in between
//! ([`freeze::Freeze`]).
//!
//! - [`plan`]: the hooks of this pod, from `spec.hooks` and the pod's annotations;
//! - [`http`]: one call, HTTP or HTTPS with a CA, headers from a Secret;
//! - [`trigger`]: VolSync's copy-trigger annotations on the source PVC;
//! - [`freeze`]: the freeze window, with its Events, metrics and status.

pub mod freeze;
pub mod http;
pub mod trigger;

use std::time::Duration;

use ferry_api::rules::hook::{self as rules, Method, Target};
use ferry_api::types::{FailurePolicy, Hook, HookScheme, HookTls, Hooks};
use ferry_api::validate::HookOverrides;

pub use freeze::Freeze;

/// Which of the two hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// The freeze, before the cut.
    PreSync,
    /// The thaw, after the cut.
    PostSync,
}

impl Which {
    /// The name used in the spec, Events, the status and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Which::PreSync => "preSync",
            Which::PostSync => "postSync",
        }
    }

    /// The spec field naming the hook's header Secret, for error messages.
    fn headers_field(self) -> &'static str {
        match self {
            Which::PreSync => "spec.hooks.preSync.headersSecret",
            Which::PostSync => "spec.hooks.postSync.headersSecret",
        }
    }

    /// The spec field naming the hook's CA, for error messages.
    fn ca_field(self) -> &'static str {
        match self {
            Which::PreSync => "spec.hooks.preSync.tls.ca",
            Which::PostSync => "spec.hooks.postSync.tls.ca",
        }
    }
}

/// One hook, resolved: where it goes and how it behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// Which hook.
    pub which: Which,
    /// Method, scheme, loopback host, port and path.
    pub target: Target,
    /// How long one call may take.
    pub timeout: Duration,
    /// What a failure does to the sync.
    pub policy: FailurePolicy,
    /// The Secret whose keys and values are sent as headers.
    pub headers_secret: Option<String>,
    /// How an HTTPS answer is trusted.
    pub tls: Option<HookTls>,
}

/// The hooks of this pod's syncs; both absent when there are none.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// The freeze.
    pub pre: Option<Resolved>,
    /// The thaw.
    pub post: Option<Resolved>,
}

impl Plan {
    /// Whether no hook is set.
    pub fn is_empty(&self) -> bool {
        self.pre.is_none() && self.post.is_none()
    }
}

/// The hooks of this pod: `spec.hooks`, each overridden by the pod's annotations (the
/// annotation sets method and target and keeps the spec's other settings; timeout and failure
/// policy annotations apply to both hooks).
pub fn plan(spec: Option<&Hooks>, overrides: &HookOverrides) -> Plan {
    let resolve = |which: Which, hook: Option<&Hook>, target: Option<&Target>| {
        let mut resolved = match (hook, target) {
            (None, None) => return None,
            (Some(hook), _) => from_spec(which, hook),
            (None, Some(target)) => Resolved {
                which,
                target: target.clone(),
                timeout: Duration::from_secs(u64::from(rules::DEFAULT_TIMEOUT_SECONDS)),
                policy: FailurePolicy::Fail,
                headers_secret: None,
                tls: None,
            },
        };
        if let Some(target) = target {
            resolved.target = target.clone();
        }
        if let Some(seconds) = overrides.timeout_seconds {
            resolved.timeout = Duration::from_secs(u64::from(seconds));
        }
        if let Some(policy) = overrides.failure_policy {
            resolved.policy = policy;
        }
        Some(resolved)
    };
    Plan {
        pre: resolve(
            Which::PreSync,
            spec.and_then(|h| h.pre_sync.as_ref()),
            overrides.pre_sync.as_ref(),
        ),
        post: resolve(
            Which::PostSync,
            spec.and_then(|h| h.post_sync.as_ref()),
            overrides.post_sync.as_ref(),
        ),
    }
}

fn from_spec(which: Which, hook: &Hook) -> Resolved {
    let method = match hook.method {
        ferry_api::types::HookMethod::Get => Method::Get,
        ferry_api::types::HookMethod::Post => Method::Post,
        ferry_api::types::HookMethod::Put => Method::Put,
    };
    Resolved {
        which,
        target: Target {
            method,
            https: hook.scheme == Some(HookScheme::Https),
            host: hook
                .host
                .clone()
                .unwrap_or_else(|| rules::DEFAULT_HOST.to_owned()),
            port: u16::try_from(hook.port).unwrap_or(0),
            path: hook.path.clone(),
        },
        timeout: Duration::from_secs(
            hook.timeout_seconds
                .and_then(|s| u64::try_from(s).ok())
                .unwrap_or(u64::from(rules::DEFAULT_TIMEOUT_SECONDS)),
        ),
        policy: hook.failure_policy,
        headers_secret: hook.headers_secret.clone(),
        tls: hook.tls.clone(),
    }
}

/// The hook overrides among a pod's annotations. The webhook refused a pod whose hook
/// annotations are invalid; should one be invalid anyway (the webhook was bypassed), the
/// problem is logged and the spec's hooks are used.
pub fn pod_overrides(annotations: &std::collections::BTreeMap<String, String>) -> HookOverrides {
    let mut report = ferry_api::Report::default();
    let overrides = ferry_api::validate::hook_overrides(annotations, &mut report);
    for message in report.messages() {
        tracing::error!("{message}; this annotation is ignored");
    }
    overrides
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(port: i32, path: &str) -> Hook {
        serde_json::from_value(serde_json::json!({"port": port, "path": path})).unwrap()
    }

    #[test]
    fn annotations_override_the_target_and_keep_the_rest() {
        let mut pre = hook(8080, "/freeze");
        pre.timeout_seconds = Some(3);
        pre.failure_policy = FailurePolicy::Continue;
        let spec = Hooks {
            pre_sync: Some(pre),
            post_sync: Some(hook(8080, "/thaw")),
        };
        let plan = super::plan(Some(&spec), &HookOverrides::default());
        let pre = plan.pre.clone().unwrap();
        assert_eq!(pre.target.to_string(), "POST http://127.0.0.1:8080/freeze");
        assert_eq!(pre.timeout, Duration::from_secs(3));
        assert_eq!(pre.policy, FailurePolicy::Continue);

        let overrides = HookOverrides {
            pre_sync: Some(Target::parse("PUT http://localhost:9090/quiesce").unwrap()),
            failure_policy: Some(FailurePolicy::Fail),
            ..HookOverrides::default()
        };
        let plan = super::plan(Some(&spec), &overrides);
        let pre = plan.pre.unwrap();
        assert_eq!(pre.target.to_string(), "PUT http://localhost:9090/quiesce");
        assert_eq!(pre.timeout, Duration::from_secs(3));
        assert_eq!(pre.policy, FailurePolicy::Fail);
        assert_eq!(plan.post.unwrap().policy, FailurePolicy::Fail);
    }

    #[test]
    fn annotations_alone_make_hooks_and_nothing_makes_none() {
        assert!(super::plan(None, &HookOverrides::default()).is_empty());
        let overrides = HookOverrides {
            post_sync: Some(Target::parse("http://127.0.0.1:8080/thaw").unwrap()),
            timeout_seconds: Some(5),
            ..HookOverrides::default()
        };
        let plan = super::plan(None, &overrides);
        assert!(plan.pre.is_none());
        let post = plan.post.unwrap();
        assert_eq!(post.timeout, Duration::from_secs(5));
        assert_eq!(post.policy, FailurePolicy::Fail);
    }
}
