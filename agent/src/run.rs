//! `ferry-sidecar run`: the injected container's loop.
//!
//! 1. Learn who it is (env, own pod), read the CR, serve metrics.
//! 2. Take the CR's Lease, or wait as a standby while another pod's sidecar holds it. The
//!    holder writes the Lease only while it acts ([`super::lease`]): idle, it writes nothing.
//! 3. Source, and rclone destination: decide ([`super::schedule`]), sync, record, repeat.
//!    rsync destination: ensure keys and Service, serve SSH, and publish an image after each
//!    completion signal.
//! 4. On SIGTERM: stop scheduling, abort the sync in flight (the S3 engine aborts multipart
//!    uploads and deletes nothing; rsync is killed, so no completion is sent), record the
//!    interruption, release the Lease, exit.
//!
//! A failed sync is retried with back-off (15 s doubling to [`RETRY_MAX`], 30 minutes, each
//! delay shortened by a jitter of up to a quarter that is fixed per pod) or at the next fire
//! time, whichever the trigger says, and at once when the spec changes; its error stays in
//! the `Synchronizing` condition (reason: the error's, e.g. `SourceEmpty`) until the next
//! attempt, and `status.consecutiveFailures` / `nextRetryTime` show the budget. A failure
//! only a change can fix (bad credentials, a missing bucket or Secret, a host key mismatch)
//! is not retried until the spec or the Secret it names changes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ferry_api::types::MoverResult;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DynamicObject};
use tokio::sync::watch;

use super::context::{Ctx, MoverPlan};
use super::destination::{self, Publish};
use super::env::Identity;
use super::events::{Events, reason};
use super::job::Outcome;
use super::lease::{self, CrLease, Held};
use super::metrics::{self, Labels, Metrics};
use super::resource::{self, Mover, Replication};
use super::schedule::{self, Decision, Inputs, Trigger, Why};
use super::source;
use super::status::{self, Model, RECONCILED, SYNCHRONIZING};
use super::{Error, Result};
use tokio_util::sync::CancellationToken;

mod serve;

/// First retry delay after a failed sync.
pub const RETRY_FIRST: Duration = Duration::from_secs(15);
/// Longest retry delay: a volume that keeps failing is retried at least twice an hour.
pub const RETRY_MAX: Duration = Duration::from_secs(30 * 60);
/// How often a failure that waits for a change looks at the Secret it names.
const CHANGE_POLL: Duration = Duration::from_secs(20);
/// How long a sync may take to stop after SIGTERM before the sidecar exits anyway.
const STOP_GRACE: Duration = Duration::from_secs(20);

/// The sidecar's state while it acts for the CR.
struct Agent {
    ctx: Ctx,
    api: Api<DynamicObject>,
    events: Events,
    metrics: Arc<Metrics>,
    model: Model,
    applied: Option<Model>,
    plan: MoverPlan,
    pod_claim: Option<String>,
    /// The hook settings of this pod's annotations.
    hook_overrides: ferry_api::validate::HookOverrides,
    /// The CR's Lease, held by this pod: renewed while a sync runs, never while idle.
    lease: CrLease,
    stop: CancellationToken,
    started: Timestamp,
    last_end: Option<Timestamp>,
    /// The last failure's reason word and message, until a success.
    last_error: Option<(String, String)>,
    retry_at: Option<Timestamp>,
    retry: ferry_kube::Backoff,
    /// Failed syncs in a row.
    failures: u32,
    /// Set after a failure only a change can fix.
    blocked: Option<Blocked>,
}

/// A failure that waits for a change: of the spec (any new generation), or of the Secret
/// the spec names, seen by its `resourceVersion`.
struct Blocked {
    secret: Option<String>,
    version: Option<String>,
}

/// The Secret the CR's mover reads, if any.
fn secret_of(cr: &Replication) -> Option<String> {
    match &cr.mover {
        Mover::SourceRclone(r) => Some(r.rclone.rclone_config.clone()),
        Mover::DestinationRclone(r) => Some(r.rclone.rclone_config.clone()),
        Mover::SourceRsync(r) => r.ssh_keys.clone(),
        Mover::DestinationRsync(_) => None,
    }
}

/// Runs the sidecar until SIGTERM or until its CR is deleted.
pub async fn run(who: Identity) -> Result<()> {
    let client = kube::Client::try_default()
        .await
        .map_err(|source| Error::Api {
            action: "connecting to the API server (in-cluster config)".to_owned(),
            source,
        })?;
    std::fs::create_dir_all(&who.scratch).map_err(|source| Error::Io {
        context: format!("creating the scratch directory {}", who.scratch.display()),
        source,
    })?;
    let stop = CancellationToken::new();
    let stopper = stop.clone();
    tokio::spawn(async move {
        ferry_kube::shutdown::signalled().await;
        tracing::info!("SIGTERM: stopping");
        stopper.cancel();
    });
    let metrics = Arc::new(Metrics::new(Labels {
        name: who.object.clone(),
        namespace: who.namespace.clone(),
        role: who.role.as_str().to_owned(),
        method: "unknown".to_owned(),
    }));
    let ip = who.pod_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let addr = SocketAddr::new(ip, who.metrics_port);
    let served = Arc::clone(&metrics);
    tokio::spawn(async move {
        if let Err(e) = metrics::serve(addr, served).await {
            tracing::error!(%addr, error = %e, "metrics cannot listen");
        }
    });
    // A volume with data frees the app at once, before the API is even asked.
    let restoring = who.restore.clone().map(|ask| {
        let empty = super::restore::look(&who.scratch, &who.volume_path);
        (ask, empty)
    });
    let Some((facts, cr)) = prepare(&client, &who, &metrics, &stop).await? else {
        return Ok(());
    };
    metrics.set_method(cr.mover.method());
    // The restore step comes before the Lease: it fills this pod's own volume, and the
    // app containers wait for it (the startup probe), not for another pod's sidecar.
    let mut last_restore = None;
    if let Some((ask, empty)) = restoring {
        let ctx = Ctx {
            client: client.clone(),
            who: who.clone(),
            engine: super::engine::in_child_process,
        };
        match super::restore::in_sidecar(&ctx, &cr, &ask, empty, &metrics, &stop).await {
            Some(last) => last_restore = Some(last),
            None => return Ok(()),
        }
    }
    let (tx, mut rx) = watch::channel(Some(cr.clone()));
    tokio::spawn(resource::watch_cr(client.clone(), who.clone(), tx));
    let events = Events::new(client.clone(), &who.pod_name, cr.reference());
    let lease = CrLease::new(
        client.clone(),
        &who.namespace,
        lease::lease_name(who.role, &who.object),
        &who.pod_name,
        &who.pod_uid,
    );
    if !acquire(&lease, &events, &who, &stop).await? {
        return Ok(());
    }
    // The Lease is written only while this sidecar acts (see `Agent::acting`); losing it
    // ends this sidecar's turn: a standby acts and this one exits for a clean restart.
    // A child of `stop`: it fires on SIGTERM too, and its own cancel (the Lease lost) stops
    // the work without touching `stop`.
    let lost = stop.child_token();
    events
        .normal(
            reason::BOUND,
            format!(
                "sidecar of pod {} acts for this {}",
                who.pod_name,
                who.role.kind()
            ),
        )
        .await;
    let mut agent = Agent {
        ctx: Ctx {
            client: client.clone(),
            who: who.clone(),
            // The long-lived sidecar syncs in a child so that it stays small while idle.
            engine: super::engine::in_child_process,
        },
        api: resource::api(&client, who.role, &who.namespace),
        events,
        metrics,
        // The status as it is now, not as it was when this pod started: a standby may have
        // waited long for the Lease while the holder before it wrote.
        model: Model::from_status(rx.borrow().as_ref().unwrap_or(&cr).status.as_ref()),
        applied: None,
        plan: MoverPlan {
            image: facts.image.clone(),
            service_account: facts.service_account.clone(),
            run_as_user: facts.run_as_user,
        },
        pod_claim: facts.claim.clone(),
        hook_overrides: facts.hook_overrides.clone(),
        lease: lease.clone(),
        stop: lost,
        started: Timestamp::now(),
        last_end: None,
        last_error: None,
        retry_at: None,
        retry: ferry_kube::Backoff::new(RETRY_FIRST, RETRY_MAX),
        failures: 0,
        blocked: None,
    };
    agent.failures = agent
        .model
        .sync
        .consecutive_failures
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0);
    match last_restore {
        // Already written by the restore step, under its own field manager.
        Some(last) => agent.model.last_restore = Some(last),
        None => {
            // A record the holder's own manager wrote (before lastRestore had a manager of
            // its own) would go with the holder's next apply, which leaves the field out:
            // the restore step's manager takes it over first.
            if let Some(last) = &agent.model.last_restore
                && let Err(e) =
                    status::apply_last_restore(&agent.api, who.role.kind(), &who.object, last).await
            {
                let e = Error::api("keeping status.lastRestore", e, &who);
                tracing::warn!(error = %e, "status not written");
            }
            // The init container `ferry-restore` restored this pod: count it here, where
            // the metrics are served.
            if let Some(last) = agent
                .model
                .last_restore
                .as_ref()
                .filter(|l| l.pod.as_deref() == Some(who.pod_name.as_str()))
                && let Some(result) = last.result
            {
                agent
                    .metrics
                    .restored(super::restore::metric_result(result));
            }
        }
    }
    agent.model.sync.bound_pod = Some(who.pod_name.clone());
    agent.model.set_condition(
        RECONCILED,
        true,
        "Bound",
        &format!("pod {} acts for it", who.pod_name),
        cr.generation,
    );
    agent.apply().await;
    let result = match cr.mover {
        Mover::DestinationRsync(_) => agent.serve_rsync(&mut rx).await,
        _ => agent.schedule_loop(&mut rx).await,
    };
    lease.release().await;
    result
}

/// Reads the pod's facts and the CR, waiting while the CR does not exist yet (a pod may be
/// created before its CR) or the API refuses (RBAC not bound yet: each refusal is logged and
/// counted as a failed sync, since no status or Event can be written); `None` on SIGTERM.
async fn prepare(
    client: &kube::Client,
    who: &Identity,
    metrics: &Metrics,
    stop: &CancellationToken,
) -> Result<Option<(super::pod::PodFacts, Replication)>> {
    let mut backoff = ferry_kube::Backoff::new(Duration::from_secs(5), Duration::from_secs(60));
    let mut said_missing = false;
    loop {
        let attempt = async {
            let facts = super::pod::facts(client, who).await?;
            let cr = resource::fetch(client, who).await?;
            Ok::<_, Error>((facts, cr))
        };
        match attempt.await {
            Ok(found) => return Ok(Some(found)),
            Err(e @ Error::MissingResource { .. }) => {
                if !said_missing {
                    tracing::warn!(error = %e, "waiting for the CR");
                    said_missing = true;
                }
                backoff.reset();
            }
            Err(e @ (Error::Forbidden { .. } | Error::Api { .. })) => {
                tracing::error!(error = %e, "cannot start; retrying in {:?}", backoff.current());
                metrics.sync_finished(false, 0.0, 0, 0);
                backoff.advance();
            }
            Err(e) => return Err(e),
        }
        tokio::select! {
            () = tokio::time::sleep(backoff.current()) => {}
            () = stop.cancelled() => return Ok(None),
        }
    }
}

/// Takes the Lease, waiting as a standby meanwhile; `false` on SIGTERM.
async fn acquire(
    lease: &CrLease,
    events: &Events,
    who: &Identity,
    stop: &CancellationToken,
) -> Result<bool> {
    let mut standby_said = false;
    loop {
        match lease.try_acquire().await {
            Ok(Held::ByUs) => return Ok(true),
            Ok(Held::By(other)) => {
                if !standby_said {
                    tracing::info!(holder = %other, "standby: another pod's sidecar acts for the CR");
                    events
                        .normal(
                            reason::STANDBY,
                            format!(
                                "pod {} waits: pod {other} acts for this {}",
                                who.pod_name,
                                who.role.kind()
                            ),
                        )
                        .await;
                    standby_said = true;
                }
            }
            Err(e) => {
                let e = Error::api("taking the Lease", e, who);
                tracing::error!(error = %e, "cannot take the Lease; retrying");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(lease::POLL_EVERY) => {}
            () = stop.cancelled() => return Ok(false),
        }
    }
}

/// While alive, renews the Lease every [`lease::RENEW_EVERY`]; dropping it stops the
/// renewals, so an idle sidecar writes nothing.
struct Acting(tokio::task::JoinHandle<()>);

impl Drop for Acting {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Agent {
    /// Renews the Lease before this sidecar acts, and keeps renewing it while the returned
    /// guard lives. Should another pod hold it now, or the hold lapse (no renewal for
    /// [`lease::DURATION`]: a standby may act after that), `stop` is cancelled: the work
    /// stops and this sidecar exits for a clean restart. `Ok(None)`: another pod holds it.
    /// `Err`: the API refused and no earlier write backs the hold, so nothing may start.
    async fn acting(&self) -> Result<Option<Acting>> {
        match self.lease.renew().await {
            Ok(Held::ByUs) => {}
            Ok(Held::By(other)) => {
                tracing::error!(holder = %other, "another pod's sidecar holds the Lease now; stopping");
                self.stop.cancel();
                return Ok(None);
            }
            Err(e) => {
                if !self.lease.holds().await {
                    return Err(Error::api("renewing the Lease", e, &self.ctx.who));
                }
                tracing::warn!(error = %e, "could not renew the Lease; an earlier write still backs it");
            }
        }
        let lease = self.lease.clone();
        let stop = self.stop.clone();
        Ok(Some(Acting(tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease::RENEW_EVERY).await;
                // A renewal that hangs must not outlive the hold unnoticed.
                let failure = match tokio::time::timeout(lease::RENEW_EVERY, lease.renew()).await {
                    Ok(Ok(Held::ByUs)) => continue,
                    Ok(Ok(Held::By(other))) => {
                        tracing::error!(holder = %other, "lost the Lease; stopping");
                        stop.cancel();
                        return;
                    }
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => format!("no answer within {:?}", lease::RENEW_EVERY),
                };
                if lease.holds().await {
                    tracing::warn!(error = %failure, "could not renew the Lease");
                    continue;
                }
                tracing::error!(error = %failure, "could not renew the Lease for its whole duration: another pod may act now; stopping");
                stop.cancel();
                return;
            }
        }))))
    }

    /// Writes the status if it changed since the last write. A failed write is logged and
    /// retried with the next one.
    async fn apply(&mut self) {
        if self.applied.as_ref() == Some(&self.model) {
            return;
        }
        let who = &self.ctx.who;
        match status::apply(&self.api, who.role.kind(), &who.object, &self.model).await {
            Ok(()) => self.applied = Some(self.model.clone()),
            Err(e) => {
                let e = Error::api("writing the status", e, who);
                tracing::warn!(error = %e, "status not written");
            }
        }
    }

    fn waiting(&mut self, reason: &str, message: &str, generation: Option<i64>) {
        match &self.last_error {
            Some((failed, error)) if reason != "Paused" => {
                let message = format!("{error} (waiting: {message})");
                let failed = failed.clone();
                self.model
                    .set_condition(SYNCHRONIZING, false, &failed, &message, generation);
            }
            _ => self
                .model
                .set_condition(SYNCHRONIZING, false, reason, message, generation),
        }
    }

    /// The loop of a source or an rclone destination.
    async fn schedule_loop(&mut self, rx: &mut watch::Receiver<Option<Replication>>) -> Result<()> {
        let mut seen_generation = None;
        loop {
            let Some(cr) = rx.borrow_and_update().clone() else {
                tracing::info!("the CR was deleted; exiting");
                return Ok(());
            };
            if seen_generation != cr.generation {
                // A changed spec may have fixed what failed: retry without waiting.
                seen_generation = cr.generation;
                self.retry_at = None;
                self.blocked = None;
            }
            self.check_secret_changed().await;
            let who = self.ctx.who.clone();
            let trigger_spec = cr.trigger.clone().unwrap_or_default();
            let key = schedule::slot_key(&who.namespace, who.role.kind(), &who.object);
            let built = Trigger::build(&Inputs {
                paused: cr.paused,
                schedule: trigger_spec.schedule.as_deref(),
                time_zone: trigger_spec.time_zone.as_deref(),
                manual: trigger_spec.manual.as_deref(),
                last_manual: self.model.sync.last_manual_sync.as_deref(),
                pod_schedule: who.schedule.as_deref(),
                pod_time_zone: who.time_zone.as_deref(),
                jitter: trigger_spec.jitter.as_deref(),
                pod_jitter: who.jitter.as_deref(),
                key: &key,
            });
            let now = Timestamp::now();
            let anchor = self
                .last_end
                .or(self.model.sync.last_sync_time.as_ref().map(|t| t.0))
                .unwrap_or(self.started);
            let (trigger, decision) = match built {
                Ok(trigger) => {
                    let decision = schedule::decide(&trigger, anchor, now);
                    (Some(trigger), decision)
                }
                Err(e) => {
                    self.model.set_condition(
                        SYNCHRONIZING,
                        false,
                        "Error",
                        &format!("{e}; fix it"),
                        cr.generation,
                    );
                    (None, Decision::Paused)
                }
            };
            let blocked =
                self.blocked.is_some() && matches!(decision, Decision::Now(_) | Decision::At(_));
            let wake_at = match (&decision, self.retry_at) {
                _ if blocked => {
                    Some(now + jiff::SignedDuration::try_from(CHANGE_POLL).unwrap_or_default())
                }
                (Decision::Now(_), Some(retry)) if retry > now => Some(retry),
                (Decision::At(at), _) => Some(*at),
                _ => None,
            };
            let verify_at = self.verify_next(&cr);
            if let Some(at) = verify_at
                && at <= now
            {
                self.verify(&cr).await;
                continue;
            }
            if let (Decision::Now(why), None) = (&decision, wake_at) {
                let outcome = self.sync(&cr, why.clone(), trigger.as_ref()).await;
                if outcome.is_err() {
                    return Ok(());
                }
                continue;
            }
            match (&decision, trigger.is_some()) {
                (_, false) => {}
                _ if blocked => {
                    let what = match self.blocked.as_ref().and_then(|b| b.secret.as_deref()) {
                        Some(secret) => format!("the spec or Secret {secret}"),
                        None => "the spec".to_owned(),
                    };
                    self.waiting(
                        "Error",
                        &format!("not retried until {what} changes"),
                        cr.generation,
                    );
                }
                (Decision::Paused, true) => {
                    self.waiting("Paused", "spec.paused is true", cr.generation)
                }
                (Decision::WaitForManual, true) => self.waiting(
                    "WaitingForManual",
                    "set spec.trigger.manual to a new value to sync",
                    cr.generation,
                ),
                (Decision::Never, true) => self.model.set_condition(
                    SYNCHRONIZING,
                    false,
                    "Error",
                    "the schedule never fires; fix spec.trigger.schedule",
                    cr.generation,
                ),
                (Decision::At(at), true) => {
                    self.model.sync.next_sync_time = Some(Time(*at));
                    self.waiting(
                        "WaitingForSchedule",
                        &format!("next sync at {at}"),
                        cr.generation,
                    );
                }
                (Decision::Now(_), true) => {
                    let at = wake_at.unwrap_or(now);
                    self.waiting("Error", &format!("retrying at {at}"), cr.generation);
                }
            }
            if blocked || !matches!(decision, Decision::At(_)) {
                self.model.sync.next_sync_time = None;
            }
            self.apply().await;
            let sleep = match [wake_at, verify_at].into_iter().flatten().min() {
                Some(at) => Duration::try_from(at.duration_since(Timestamp::now()))
                    .unwrap_or(Duration::ZERO),
                None => Duration::from_secs(24 * 3600),
            };
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                changed = rx.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                }
                () = self.stop.cancelled() => return Ok(()),
            }
        }
    }

    /// One sync with its status, Events and metrics. `Err` means stop (SIGTERM).
    async fn sync(
        &mut self,
        cr: &Replication,
        why: Why,
        trigger: Option<&Trigger>,
    ) -> std::result::Result<(), ()> {
        // Before anything is written: another pod may hold the Lease now.
        let (_acting, unheld) = match self.acting().await {
            Ok(Some(guard)) => (Some(guard), None),
            Ok(None) => return Err(()),
            Err(e) => (None, Some(e)),
        };
        let start = Timestamp::now();
        tracing::info!(why = %describe(&why), "sync started");
        if let Why::Schedule { missed } = why
            && missed > 0
        {
            self.metrics.missed(missed);
            self.events
                .warning(reason::MISSED_INTERVALS, format!("{missed} scheduled sync(s) passed while the previous one ran; counted, not queued"))
                .await;
        }
        self.model.sync.last_sync_start_time = Some(Time(start));
        self.model.sync.next_sync_time = None;
        self.model.set_condition(
            SYNCHRONIZING,
            true,
            "SyncInProgress",
            "syncing",
            cr.generation,
        );
        self.apply().await;
        self.events
            .normal(reason::SYNC_STARTED, describe(&why))
            .await;
        let guards = cr.guards(self.model.sync.acknowledged_guards.as_deref());
        // After a failed restore let the app start empty, nothing is pushed until the
        // acknowledgement: the volume may hold nothing, or only what the app wrote since.
        let held =
            super::restore::held_refusal(self.model.last_restore.as_ref(), guards.acknowledged);
        let result = match (unheld, held) {
            (Some(e), _) => Err(e),
            (None, Some(refusal)) => Err(Error::Refused(refusal)),
            (None, None) => {
                let (result, hooks) = self.sync_once(cr, guards).await;
                if hooks.is_some() {
                    self.model.hooks = hooks;
                }
                result
            }
        };
        let end = Timestamp::now();
        self.last_end = Some(end);
        let seconds = end.duration_since(start).as_secs_f64().max(0.0);
        tracing::info!(ok = result.is_ok(), seconds, "sync ended");
        match result {
            Ok((outcome, image)) => {
                self.model
                    .finish(start, end, MoverResult::Successful, &outcome.logs);
                self.model.sync.last_sync_stats = Some(outcome.stats.clone());
                if let Some(image) = image {
                    self.events
                        .normal(
                            reason::IMAGE_PUBLISHED,
                            format!("latestImage is {} {}", image.kind, image.name),
                        )
                        .await;
                    self.model.latest_image = Some(image);
                }
                if let Why::Manual(token) = &why {
                    self.model.sync.last_manual_sync = Some(token.clone());
                }
                if guards.acknowledged {
                    // Used once: the same annotation value never lifts the guards again.
                    self.model.sync.acknowledged_guards = cr.acknowledgement.clone();
                    if let Some(last) = self.model.last_restore.as_mut()
                        && last.pushes_held.take().is_some()
                    {
                        let who = &self.ctx.who;
                        let written = status::apply_last_restore(
                            &self.api,
                            who.role.kind(),
                            &who.object,
                            last,
                        )
                        .await;
                        if let Err(e) = written {
                            let e = Error::api("releasing status.lastRestore.pushesHeld", e, who);
                            tracing::warn!(error = %e, "status not written");
                        }
                    }
                }
                if let Some(refusal) = &outcome.refused {
                    self.metrics.refused(refusal.guard.reason());
                    self.events
                        .warning(refusal.guard.reason(), refusal.message.clone())
                        .await;
                }
                self.last_error = None;
                self.retry_at = None;
                self.retry.reset();
                self.failures = 0;
                self.blocked = None;
                self.model.sync.consecutive_failures = None;
                self.model.sync.next_retry_time = None;
                self.metrics.no_failures();
                if let Some(next) = trigger.and_then(|t| schedule::next_fire(t, end)) {
                    self.model.sync.next_sync_time = Some(Time(next));
                }
                // The waiting state the trigger leads to, written with the result so that no
                // reader sees a state the next pass of the loop would change.
                let (reason, message) = match (&why, trigger) {
                    (_, Some(Trigger::Paused)) => ("Paused", "spec.paused is true".to_owned()),
                    (Why::Manual(_), _) => (
                        "WaitingForManual",
                        "set spec.trigger.manual to a new value to sync".to_owned(),
                    ),
                    (_, Some(Trigger::Cron { .. })) => match &self.model.sync.next_sync_time {
                        Some(next) => ("WaitingForSchedule", format!("next sync at {}", next.0)),
                        None => ("WaitingForSchedule", "sync done".to_owned()),
                    },
                    _ => (
                        "WaitingForSchedule",
                        "sync done; continuous: syncing again".to_owned(),
                    ),
                };
                self.model
                    .set_condition(SYNCHRONIZING, false, reason, &message, cr.generation);
                if let Some(requests) = &outcome.stats.requests {
                    self.metrics.s3_requests(requests);
                }
                self.metrics.sync_finished(
                    true,
                    seconds,
                    u64::try_from(outcome.stats.bytes_transferred).unwrap_or(0),
                    u64::try_from(outcome.stats.files_transferred).unwrap_or(0),
                );
                self.apply().await;
                self.events
                    .normal(reason::SYNC_SUCCEEDED, outcome.logs.clone())
                    .await;
                Ok(())
            }
            Err(e) => {
                let message = e.to_string();
                let why = e.reason().to_owned();
                tracing::error!(error = %message, reason = %why, "sync failed");
                self.model.finish(start, end, MoverResult::Failed, &message);
                self.model
                    .set_condition(SYNCHRONIZING, false, &why, &message, cr.generation);
                self.metrics.sync_finished(false, seconds, 0, 0);
                if matches!(e, Error::Interrupted) {
                    self.last_error = Some((why, message.clone()));
                    self.apply().await;
                    self.events.warning(reason::INTERRUPTED, message).await;
                    return Err(());
                }
                self.failures = self.failures.saturating_add(1);
                self.model.sync.consecutive_failures =
                    Some(i32::try_from(self.failures).unwrap_or(i32::MAX));
                self.metrics.failed(&why, self.failures);
                if let Error::Refused(refusal) = &e {
                    self.metrics.refused(refusal.guard.reason());
                }
                if e.needs_change() {
                    let secret = secret_of(cr);
                    let version = match &secret {
                        Some(name) => self.secret_version(name).await,
                        None => None,
                    };
                    self.blocked = Some(Blocked { secret, version });
                    self.retry_at = None;
                    self.model.sync.next_retry_time = None;
                } else {
                    let unit =
                        ferry_kube::backoff::jitter_unit(&self.ctx.who.pod_name, self.failures);
                    let delay = self.retry.jittered(unit);
                    let at = end + jiff::SignedDuration::try_from(delay).unwrap_or_default();
                    self.retry_at = Some(at);
                    self.model.sync.next_retry_time = Some(Time(at));
                    self.retry.advance();
                }
                self.last_error = Some((why.clone(), message.clone()));
                self.apply().await;
                let event_reason = match why.as_str() {
                    "Error" => reason::SYNC_FAILED,
                    _ => why.as_str(),
                };
                self.events.warning(event_reason, message).await;
                Ok(())
            }
        }
    }

    /// When the next verification is due (`spec.rclone.verify`), from the last one (or the
    /// sidecar's start); `None` without verification or while paused.
    fn verify_next(&self, cr: &Replication) -> Option<Timestamp> {
        let Mover::SourceRclone(spec) = &cr.mover else {
            return None;
        };
        let verify = spec.verify.as_ref().filter(|_| !cr.paused)?;
        let trigger = Trigger::build(&Inputs {
            paused: false,
            schedule: Some(&verify.schedule),
            time_zone: cr.trigger.as_ref().and_then(|t| t.time_zone.as_deref()),
            manual: None,
            last_manual: None,
            pod_schedule: None,
            pod_time_zone: None,
            jitter: None,
            pod_jitter: None,
            key: "",
        })
        .ok()?;
        let last = self
            .model
            .sync
            .last_verified
            .as_ref()
            .and_then(|v| v.time.as_ref())
            .map_or(self.started, |t| t.0);
        schedule::next_fire(&trigger, last)
    }

    /// Verifies the newest complete copy and records the result: `status.lastVerified`, an
    /// Event (`VerifyFailed` naming the first mismatched objects), the metrics. The remote
    /// is only read.
    async fn verify(&mut self, cr: &Replication) {
        let Mover::SourceRclone(spec) = &cr.mover else {
            return;
        };
        let Some(verify) = spec.verify.clone() else {
            return;
        };
        let deep = verify.mode == ferry_api::types::VerifyMode::Deep;
        let how = super::job::VerifyJob {
            deep,
            sample_percent: verify
                .sample_percent
                .and_then(|p| u8::try_from(p).ok())
                .unwrap_or(100),
        };
        let result = source::verify_rclone(&self.ctx, spec, how, self.stop.clone()).await;
        let now = Timestamp::now();
        let mode = if deep { "Deep" } else { "Quick" }.to_owned();
        let last = match result.map(|o| o.verified) {
            Ok(Some(report)) => {
                let passed = report.mismatches == 0;
                let summary = format!(
                    "{mode} verification of {}: {} object(s) checked, {} mismatch(es)",
                    report.copy, report.checked, report.mismatches
                );
                if passed {
                    self.metrics.verified("passed", now.as_second());
                    self.events.normal(reason::VERIFY_PASSED, summary).await;
                } else {
                    self.metrics.verified("failed", now.as_second());
                    let note = format!("{summary}: {}", report.first.join("; "));
                    tracing::error!("{note}");
                    self.events.warning(reason::VERIFY_FAILED, note).await;
                }
                ferry_api::types::LastVerified {
                    time: Some(Time(now)),
                    mode,
                    copy: Some(report.copy),
                    objects_checked: i64::try_from(report.checked).unwrap_or(i64::MAX),
                    mismatches: i64::try_from(report.mismatches).unwrap_or(i64::MAX),
                    result: if passed { "Passed" } else { "Failed" }.to_owned(),
                    details: report.first,
                }
            }
            other => {
                let message = match other {
                    Err(e) => e.to_string(),
                    Ok(_) => "the engine returned no report".to_owned(),
                };
                self.metrics.verified("error", now.as_second());
                self.events
                    .warning(
                        reason::VERIFY_FAILED,
                        format!("{mode} verification could not run: {message}"),
                    )
                    .await;
                ferry_api::types::LastVerified {
                    time: Some(Time(now)),
                    mode,
                    result: "Error".to_owned(),
                    details: vec![message],
                    ..ferry_api::types::LastVerified::default()
                }
            }
        };
        self.model.sync.last_verified = Some(last);
        self.apply().await;
    }

    /// The `resourceVersion` of Secret `name`, `None` when it is missing or unreadable.
    async fn secret_version(&self, name: &str) -> Option<String> {
        let secrets: Api<k8s_openapi::api::core::v1::Secret> =
            Api::namespaced(self.ctx.client.clone(), &self.ctx.who.namespace);
        match secrets.get_metadata_opt(name).await {
            Ok(found) => found.and_then(|m| m.metadata.resource_version),
            Err(e) => {
                tracing::debug!(error = %e, secret = name, "reading the Secret's version");
                None
            }
        }
    }

    /// Lifts the wait of a failure only a change can fix once the Secret it names changed.
    async fn check_secret_changed(&mut self) {
        let Some(Blocked {
            secret: Some(name),
            version,
        }) = &self.blocked
        else {
            return;
        };
        let (name, version) = (name.clone(), version.clone());
        let now = self.secret_version(&name).await;
        if now.is_some() && now != version {
            tracing::info!(secret = %name, "the Secret changed: retrying");
            self.blocked = None;
            self.retry_at = None;
        }
    }

    /// The work of one sync, cancelled by SIGTERM within [`STOP_GRACE`], with what its hooks
    /// did.
    async fn sync_once(
        &self,
        cr: &Replication,
        guards: super::job::Guards,
    ) -> (
        Result<(
            Outcome,
            Option<k8s_openapi::api::core::v1::TypedLocalObjectReference>,
        )>,
        Option<ferry_api::types::HooksStatus>,
    ) {
        // The sync's own token: SIGTERM cancels it, and so does the pod's deletion during a
        // freeze (see `hooks::freeze`).
        let stop = self.stop.child_token();
        let mut freeze = super::hooks::Freeze::new(
            super::hooks::plan(cr.hooks.as_ref(), &self.hook_overrides),
            self.ctx.client.clone(),
            self.ctx.who.clone(),
            self.events.clone(),
            Arc::clone(&self.metrics),
            stop.clone(),
        );
        let result = self.sync_work(cr, guards, &mut freeze, stop).await;
        (result, freeze.status())
    }

    async fn sync_work(
        &self,
        cr: &Replication,
        guards: super::job::Guards,
        freeze: &mut super::hooks::Freeze,
        stop: CancellationToken,
    ) -> Result<(
        Outcome,
        Option<k8s_openapi::api::core::v1::TypedLocalObjectReference>,
    )> {
        let work = async {
            match &cr.mover {
                Mover::DestinationRclone(spec) => {
                    let how = Publish::of(cr, self.pod_claim.as_deref(), &self.ctx.who)?;
                    let outcome = destination::pull_rclone(&self.ctx, spec, stop.clone()).await?;
                    if stop.is_cancelled() {
                        return Err(Error::Interrupted);
                    }
                    let image =
                        destination::publish(&self.ctx, cr, &how, &self.events, guards).await?;
                    Ok((outcome, Some(image)))
                }
                _ => {
                    let outcome = source::sync(
                        &self.ctx,
                        cr,
                        &self.plan,
                        self.pod_claim.as_deref(),
                        guards,
                        freeze,
                        stop.clone(),
                    )
                    .await?;
                    Ok((outcome, None))
                }
            }
        };
        tokio::pin!(work);
        tokio::select! {
            result = &mut work => result,
            () = self.stop.cancelled() => {
                // Give the work its grace period to abort cleanly, then give up on it.
                let _ = tokio::time::timeout(STOP_GRACE, &mut work).await;
                Err(Error::Interrupted)
            }
        }
    }
}

fn describe(why: &Why) -> String {
    match why {
        Why::Manual(token) => format!("manual trigger \"{token}\""),
        Why::Schedule { .. } => "scheduled sync".to_owned(),
        Why::Continuous => "continuous sync".to_owned(),
    }
}
