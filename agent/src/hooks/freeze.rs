//! The freeze window of one sync: [`Freeze::freeze`] just before the copy is cut,
//! [`Freeze::cut`] as soon as it is, and [`Freeze::thaw`] on every way out.
//!
//! A `postSync` follows every `preSync` that was sent, succeeded or not (a freeze that timed
//! out may still have taken effect): callers call [`Freeze::thaw`] after the sync's work ends,
//! whatever its outcome, and it does nothing when [`Freeze::cut`] already thawed. While frozen,
//! the sidecar watches its own pod: a native sidecar gets SIGTERM only after the app has
//! exited, too late to thaw it, so the pod's deletion ends the freeze at once and interrupts
//! the sync, as SIGTERM does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_api::types::{FailurePolicy, HookResult, HooksStatus};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::Api;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::http::{self, CallError, Tls};
use super::trigger::{self, Trigger};
use super::{Plan, Resolved, Which};
use crate::env::Identity;
use crate::events::{Events, reason};
use crate::metrics::Metrics;
use crate::{Error, Result};

/// How many times `postSync` is called before it is reported as failed.
pub const POST_SYNC_ATTEMPTS: u32 = 3;
/// The pause before the first retry of `postSync`; it doubles after each.
const POST_SYNC_RETRY: Duration = Duration::from_millis(500);
/// How often the pod is read while frozen, to notice its deletion.
const POD_POLL: Duration = Duration::from_millis(500);

/// The hooks and copy trigger of one sync.
pub struct Freeze {
    plan: Plan,
    client: kube::Client,
    who: Identity,
    events: Events,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
    /// When `preSync` was sent, until the thaw.
    since: Option<Instant>,
    /// Whether a thaw is owed (a `preSync` was sent, or only `postSync` is set and the
    /// freeze began).
    owed: bool,
    watcher: Option<JoinHandle<()>>,
    trigger: Option<Trigger>,
    status: HooksStatus,
    ran: bool,
}

impl std::fmt::Debug for Freeze {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Freeze")
            .field("plan", &self.plan)
            .field("owed", &self.owed)
            .finish()
    }
}

impl Freeze {
    /// The freeze of one sync. `cancel` is the sync's own token: the pod's deletion during the
    /// freeze cancels it.
    pub fn new(
        plan: Plan,
        client: kube::Client,
        who: Identity,
        events: Events,
        metrics: Arc<Metrics>,
        cancel: CancellationToken,
    ) -> Freeze {
        Freeze {
            plan,
            client,
            who,
            events,
            metrics,
            cancel,
            since: None,
            owed: false,
            watcher: None,
            trigger: None,
            status: HooksStatus::default(),
            ran: false,
        }
    }

    /// The CR's Events, which the rest of the sync records too.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// What this sync's hooks did, for `status.hooks`; `None` when no hook ran.
    pub fn status(&self) -> Option<HooksStatus> {
        self.ran.then(|| self.status.clone())
    }

    /// Just before the cut: waits for the copy trigger when `pvc` (the source PVC of a
    /// Snapshot or Clone) asks for one, then sends `preSync`. With `failurePolicy: Fail` a
    /// failed `preSync` is an error (reason `HookFailed`) and the sync must not cut; the
    /// caller still calls [`Freeze::thaw`].
    pub async fn freeze(&mut self, pvc: Option<&str>) -> Result<()> {
        if let Some(pvc) = pvc {
            self.trigger = trigger::wait(&self.client, &self.who, pvc, &self.cancel).await?;
        }
        if self.plan.is_empty() {
            return Ok(());
        }
        self.ran = true;
        self.owed = true;
        self.since = Some(Instant::now());
        self.watch_pod();
        let Some(pre) = self.plan.pre.clone() else {
            return Ok(());
        };
        let started = Instant::now();
        let outcome = self.call(&pre).await;
        let took = started.elapsed();
        match outcome {
            Ok(answer) => {
                self.metrics.hook_result(Which::PreSync.as_str(), "success");
                self.status.pre_sync = Some(result(true, 1, format!("HTTP {}", answer.status)));
                let note = format!(
                    "preSync {} answered HTTP {} in {}: the app is frozen until the copy is cut",
                    pre.target,
                    answer.status,
                    crate::status::go_duration(took)
                );
                // Recorded beside the cut, not before it: an API write here would lengthen
                // the freeze.
                let events = self.events.clone();
                tokio::spawn(async move { events.normal(reason::FROZEN, note).await });
                Ok(())
            }
            Err(e) => {
                self.metrics.hook_result(Which::PreSync.as_str(), "failure");
                self.status.pre_sync = Some(result(false, 1, e.to_string()));
                let failed = format!("preSync {} failed: {e}", pre.target);
                match pre.policy {
                    FailurePolicy::Fail => Err(Error::Hook {
                        message: format!(
                            "{failed}; failurePolicy Fail: this sync was skipped, nothing was copied (postSync is still called)"
                        ),
                    }),
                    FailurePolicy::Continue => {
                        self.events
                            .warning_as(
                                reason::HOOK_FAILED,
                                "ContinuedWithoutFreeze",
                                format!(
                                    "{failed}; failurePolicy Continue: the sync goes on, and this copy is not application-consistent"
                                ),
                            )
                            .await;
                        Ok(())
                    }
                }
            }
        }
    }

    /// The copy is cut: thaws at once and completes the copy trigger.
    pub async fn cut(&mut self) -> Result<()> {
        if let Some(trigger) = self.trigger.take() {
            trigger::completed(&self.client, &self.who, &trigger).await?;
        }
        self.thaw().await
    }

    /// Sends `postSync` if a thaw is owed, retrying up to [`POST_SYNC_ATTEMPTS`] times;
    /// records the freeze's length. Does nothing when no thaw is owed (already thawed, or
    /// never frozen). A `postSync` that never succeeds is reported (Event `HookFailed`,
    /// status, metric); with `failurePolicy: Fail` it is also an error.
    pub async fn thaw(&mut self) -> Result<()> {
        if !std::mem::take(&mut self.owed) {
            return Ok(());
        }
        if let Some(watcher) = self.watcher.take() {
            watcher.abort();
        }
        let since = self.since.take();
        let Some(post) = self.plan.post.clone() else {
            self.record_freeze(since);
            return Ok(());
        };
        let mut delay = POST_SYNC_RETRY;
        let mut last = None;
        for attempt in 1..=POST_SYNC_ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            match self.call(&post).await {
                Ok(answer) => {
                    let frozen = self.record_freeze(since);
                    self.metrics
                        .hook_result(Which::PostSync.as_str(), "success");
                    self.status.post_sync =
                        Some(result(true, attempt, format!("HTTP {}", answer.status)));
                    let length = frozen
                        .map(|d| {
                            format!("; the app was frozen for {}", crate::status::go_duration(d))
                        })
                        .unwrap_or_default();
                    self.events
                        .normal(
                            reason::THAWED,
                            format!(
                                "postSync {} answered HTTP {} (attempt {attempt}){length}",
                                post.target, answer.status
                            ),
                        )
                        .await;
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(attempt, error = %e, target = %post.target, "postSync failed");
                    last = Some(e);
                }
            }
        }
        self.record_freeze(since);
        let e = last.map(|e| e.to_string()).unwrap_or_default();
        self.metrics
            .hook_result(Which::PostSync.as_str(), "failure");
        self.status.post_sync = Some(result(false, POST_SYNC_ATTEMPTS, e.clone()));
        let message = format!(
            "postSync {} failed {POST_SYNC_ATTEMPTS} times: {e}; the app may still be frozen: resume it by hand",
            post.target
        );
        self.events
            .warning_as(reason::HOOK_FAILED, "Thaw", message.clone())
            .await;
        match post.policy {
            FailurePolicy::Fail => Err(Error::Hook { message }),
            FailurePolicy::Continue => Ok(()),
        }
    }

    /// Records the freeze's length in the status and the histogram; returns it.
    fn record_freeze(&mut self, since: Option<Instant>) -> Option<Duration> {
        let frozen = since.map(|s| s.elapsed())?;
        self.metrics.freeze_seconds(frozen.as_secs_f64());
        self.status.last_freeze_duration = Some(crate::status::go_duration(frozen));
        Some(frozen)
    }

    /// One call of `hook`, with its headers and TLS read now (so a rotated Secret is used).
    async fn call(&self, hook: &Resolved) -> std::result::Result<http::Answer, CallError> {
        let headers = self.headers(hook).await?;
        let tls = self.tls(hook).await?;
        http::call(&hook.target, &headers, tls.as_ref(), hook.timeout).await
    }

    async fn headers(
        &self,
        hook: &Resolved,
    ) -> std::result::Result<Vec<(String, Vec<u8>)>, CallError> {
        let Some(name) = &hook.headers_secret else {
            return Ok(Vec::new());
        };
        let secret =
            crate::secrets::read(&self.client, &self.who, hook.which.headers_field(), name)
                .await
                .map_err(|e| CallError::Config(e.to_string()))?;
        let mut headers = Vec::new();
        for (key, value) in secret.entries() {
            ferry_api::rules::hook::header_name(key).map_err(|e| {
                CallError::Config(format!("Secret {name} key \"{key}\" as a header name: {e}"))
            })?;
            headers.push((key.to_owned(), value.to_vec()));
        }
        Ok(headers)
    }

    async fn tls(&self, hook: &Resolved) -> std::result::Result<Option<Tls>, CallError> {
        if !hook.target.https {
            return Ok(None);
        }
        let Some(tls) = &hook.tls else {
            return Err(CallError::Config(format!(
                "HTTPS needs {}: the CA that signed the app's certificate",
                hook.which.ca_field()
            )));
        };
        let ca = match (&tls.ca.secret, &tls.ca.config_map) {
            (Some(key_ref), _) => {
                let secret = crate::secrets::read(
                    &self.client,
                    &self.who,
                    hook.which.ca_field(),
                    &key_ref.name,
                )
                .await
                .map_err(|e| CallError::Config(e.to_string()))?;
                secret
                    .bytes(&key_ref.key)
                    .map_err(|e| CallError::Config(e.to_string()))?
                    .to_vec()
            }
            (None, Some(key_ref)) => {
                let maps: Api<ConfigMap> =
                    Api::namespaced(self.client.clone(), &self.who.namespace);
                let map = maps
                    .get_opt(&key_ref.name)
                    .await
                    .map_err(|e| {
                        CallError::Config(format!("reading ConfigMap {}: {e}", key_ref.name))
                    })?
                    .ok_or_else(|| {
                        CallError::Config(format!(
                            "ConfigMap {} (from {}) does not exist",
                            key_ref.name,
                            hook.which.ca_field()
                        ))
                    })?;
                map.data
                    .and_then(|d| d.get(&key_ref.key).cloned())
                    .map(String::into_bytes)
                    .or_else(|| {
                        map.binary_data
                            .and_then(|d| d.get(&key_ref.key).map(|b| b.0.clone()))
                    })
                    .ok_or_else(|| {
                        CallError::Config(format!(
                            "ConfigMap {} has no key \"{}\"",
                            key_ref.name, key_ref.key
                        ))
                    })?
            }
            (None, None) => {
                return Err(CallError::Config(format!(
                    "set {}.secret or {}.configMap",
                    hook.which.ca_field(),
                    hook.which.ca_field()
                )));
            }
        };
        let name = tls.server_name.as_deref().unwrap_or(&hook.target.host);
        Tls::new(&ca, name).map(Some)
    }

    /// While frozen, polls this pod: once it is being deleted, cancels the sync so that the
    /// thaw runs at once rather than after the app has exited.
    fn watch_pod(&mut self) {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.who.namespace);
        let name = self.who.pod_name.clone();
        let cancel = self.cancel.clone();
        self.watcher = Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(POD_POLL).await;
                match pods.get_metadata_opt(&name).await {
                    Ok(Some(pod)) if pod.metadata.deletion_timestamp.is_none() => {}
                    Ok(_) => {
                        tracing::warn!("the pod is being deleted during the freeze: thawing now");
                        cancel.cancel();
                        return;
                    }
                    Err(e) => tracing::debug!(error = %e, "reading the pod during the freeze"),
                }
            }
        }));
    }
}

impl Drop for Freeze {
    fn drop(&mut self) {
        if let Some(watcher) = self.watcher.take() {
            watcher.abort();
        }
    }
}

fn result(ok: bool, attempts: u32, message: String) -> HookResult {
    HookResult {
        time: Some(Time(Timestamp::now())),
        result: if ok { "Succeeded" } else { "Failed" }.to_owned(),
        attempts: i32::try_from(attempts).unwrap_or(i32::MAX),
        message,
    }
}
