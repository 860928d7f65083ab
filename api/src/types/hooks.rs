//! Consistency hooks of a ReplicationSource (`spec.hooks`) and what the sidecar reports about
//! them (`status.hooks`).
//!
//! The sidecar shares the pod's network namespace, so it can ask the app itself to pause its
//! writes (`preSync`) just before the copy is cut and to resume them (`postSync`) as soon as it
//! is cut, over the pod's loopback: no `pods/exec` right, no privileged helper.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// CEL-compatible pattern of the pod's loopback: `localhost`, 127.0.0.0/8 or `::1`.
const LOOPBACK_PATTERN: &str =
    r"^([lL][oO][cC][aA][lL][hH][oO][sS][tT]|127(\.[0-9]{1,3}){3}|::1|\[::1\])$";

/// The hooks around the cut of each sync's copy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Hooks {
    /// Called just before the copy is cut (the freeze): the app should pause its writes and
    /// answer once its files agree. With `copyMethod: Direct` the copy is the whole transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_sync: Option<Hook>,
    /// Called as soon as the copy is cut (the thaw): the VolumeSnapshot has its creation
    /// time, the clone is bound, or the Direct transfer ended. It always follows a `preSync`
    /// that was sent, whatever happened in between, and is retried a few times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_sync: Option<Hook>,
}

/// One HTTP request to the app in the same pod.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(self.tls) || (has(self.scheme) && self.scheme == 'HTTPS')").message("tls is only used with scheme: HTTPS").reason(Reason::FieldValueForbidden),
    validation = Rule::new("!has(self.scheme) || self.scheme != 'HTTPS' || has(self.tls)").message("scheme HTTPS needs tls.ca: the CA that signed the app's certificate").reason(Reason::FieldValueRequired)
)]
pub struct Hook {
    /// The pod's loopback address to call: `127.0.0.1` (default), `localhost`, another
    /// `127.x.y.z`, or `::1`. Any other host is refused: a hook calls the app in its own pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = LOOPBACK_PATTERN))]
    pub host: Option<String>,

    /// The port the app listens on.
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,

    /// The path (with an optional query), e.g. `/freeze`.
    #[serde(default = "default_path")]
    #[schemars(length(min = 1, max = 2048), regex(pattern = r"^/[^\s]*$"))]
    pub path: String,

    /// `POST` (default), `PUT` or `GET`.
    #[serde(default)]
    pub method: HookMethod,

    /// `HTTP` (default) or `HTTPS` (then `tls.ca` is required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<HookScheme>,

    /// How to trust the app's certificate with `scheme: HTTPS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<HookTls>,

    /// A Secret whose keys are header names and whose values are sent as those headers
    /// (e.g. `Authorization`). The values never reach a log, an Event or the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = super::DNS1123_SUBDOMAIN_PATTERN))]
    pub headers_secret: Option<String>,

    /// How long one call may take, in seconds (default 10). A call that takes longer fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 300))]
    pub timeout_seconds: Option<i32>,

    /// What a failed call does: `Fail` (default) skips this sync, reported as `HookFailed`;
    /// `Continue` goes on and says so in a `HookFailed` Event. An answer other than 2xx, a
    /// refused connection and a timeout are failures.
    #[serde(default)]
    pub failure_policy: FailurePolicy,
}

/// The HTTP method of a hook.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HookMethod {
    /// `GET`.
    Get,
    /// `POST`.
    #[default]
    Post,
    /// `PUT`.
    Put,
}

/// The scheme of a hook.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HookScheme {
    /// Plain HTTP over the pod's loopback.
    #[default]
    Http,
    /// HTTPS, verifying the app's certificate against `tls.ca`.
    Https,
}

/// What a failed hook call does to the sync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum FailurePolicy {
    /// Skip this sync: nothing is copied, the sync is reported failed with reason
    /// `HookFailed` and retried with back-off.
    #[default]
    Fail,
    /// Go on with the sync; a `HookFailed` Event says the copy was not frozen (or not
    /// thawed).
    Continue,
}

/// How the sidecar trusts an HTTPS hook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookTls {
    /// The PEM CA certificate(s) that signed the app's certificate.
    pub ca: CaSource,
    /// The name the app's certificate is checked against; defaults to the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub server_name: Option<String>,
}

/// Where a CA certificate is read from: a key of a Secret or of a ConfigMap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(self.secret) != has(self.configMap)").message("set exactly one of secret and configMap").reason(Reason::FieldValueInvalid)
)]
pub struct CaSource {
    /// A key of a Secret in the CR's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<KeyRef>,
    /// A key of a ConfigMap in the CR's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<KeyRef>,
}

/// A key of a Secret or ConfigMap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KeyRef {
    /// The object's name.
    #[schemars(length(min = 1, max = 253), regex(pattern = super::DNS1123_SUBDOMAIN_PATTERN))]
    pub name: String,
    /// The key, e.g. `ca.crt`.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

fn default_path() -> String {
    "/".to_owned()
}

/// What the sidecar saw of the hooks in the last sync that called them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HooksStatus {
    /// How long the app was frozen: from sending `preSync` to `postSync`'s answer, e.g.
    /// `0.42s`. Absent when the last sync froze nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_freeze_duration: Option<String>,
    /// The last `preSync` call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_sync: Option<HookResult>,
    /// The last `postSync` call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_sync: Option<HookResult>,
}

/// The outcome of one hook.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookResult {
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Time>,
    /// `Succeeded` or `Failed`.
    pub result: String,
    /// Calls made (postSync is retried).
    #[serde(default)]
    pub attempts: i32,
    /// The answer (`HTTP 200`) or the error, without header values.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}
