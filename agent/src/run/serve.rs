//! The rsync destination's part of the state machine: keys, Service and SSH server, then
//! one image per completed transfer. Kept apart from the schedule loop, which serves sources
//! and rclone destinations.

use ferry_api::types::MoverResult;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tokio::sync::watch;

use super::Agent;
use crate::destination::{self, Publish};
use crate::events::reason;
use crate::lease::{self, Held};
use crate::resource::{Mover, Replication};
use crate::status::SYNCHRONIZING;
use crate::{Error, Result};

impl Agent {
    /// The rsync destination: keys, Service, SSH server, and an image per completion.
    pub(super) async fn serve_rsync(
        &mut self,
        rx: &mut watch::Receiver<Option<Replication>>,
    ) -> Result<()> {
        let Some(cr) = rx.borrow_and_update().clone() else {
            return Ok(());
        };
        let Mover::DestinationRsync(spec) = &cr.mover else {
            return Ok(());
        };
        let prepared = async {
            let keys = destination::ensure_keys(&self.ctx, &cr, spec).await?;
            let endpoint = destination::ensure_service(&self.ctx, &cr, spec, &keys).await?;
            let server = destination::bind_server(&self.ctx.who, &keys).await?;
            let how = Publish::of(&cr, self.pod_claim.as_deref(), &self.ctx.who)?;
            Ok::<_, Error>((endpoint, server, how))
        }
        .await;
        let (endpoint, server, mut how) = match prepared {
            Ok(parts) => parts,
            Err(e) => {
                let message = e.to_string();
                self.model
                    .set_condition(SYNCHRONIZING, false, "Error", &message, cr.generation);
                self.apply().await;
                self.events.warning(reason::SYNC_FAILED, message).await;
                self.metrics.sync_finished(false, 0.0, 0, 0);
                self.stop.cancelled().await;
                return Err(e);
            }
        };
        let listening = format!(
            "{}:{}",
            self.ctx
                .who
                .pod_ip
                .map(|ip| ip.to_string())
                .unwrap_or_default(),
            destination::SSH_PORT
        );
        self.model.rsync = Some(endpoint);
        let mut completions = server.completions().subscribe();
        let mut seen = completions
            .borrow_and_update()
            .as_ref()
            .map(|c| c.sync_id.clone());
        let _watching = self.watch_lease();
        let stop = self.stop.clone();
        let server_task =
            tokio::spawn(async move { server.run(async move { stop.cancelled().await }).await });
        let mut current = cr;
        loop {
            if current.paused {
                self.waiting(
                    "Paused",
                    "spec.paused is true: completions are not published",
                    current.generation,
                );
            } else {
                self.waiting(
                    "WaitingForSchedule",
                    &format!("waiting for a source to push to {listening}"),
                    current.generation,
                );
            }
            self.apply().await;
            tokio::select! {
                changed = completions.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let completion = completions.borrow_and_update().clone();
                    let Some(completion) = completion else { continue };
                    if seen.as_deref() == Some(completion.sync_id.as_str()) || current.paused {
                        continue;
                    }
                    seen = Some(completion.sync_id.clone());
                    self.publish_completion(&current, &how, &completion).await;
                }
                changed = rx.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let Some(cr) = rx.borrow_and_update().clone() else {
                        tracing::info!("the CR was deleted; exiting");
                        break;
                    };
                    if let Ok(new_how) = Publish::of(&cr, self.pod_claim.as_deref(), &self.ctx.who) {
                        how = new_how;
                    }
                    current = cr;
                }
                () = self.stop.cancelled() => break,
            }
        }
        match server_task.await {
            Ok(Ok(())) | Err(_) => Ok(()),
            Ok(Err(e)) => Err(e.into()),
        }
    }

    /// While the returned guard lives, reads the Lease every [`lease::POLL_EVERY`] and stops
    /// this sidecar (so its SSH server) once another pod holds it: a standby takes over
    /// only from a pod that is gone or long not Ready, which the Service no longer routes
    /// to. Reads only: an idle destination writes nothing.
    fn watch_lease(&self) -> super::Acting {
        let lease = self.lease.clone();
        let stop = self.stop.clone();
        super::Acting(tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease::POLL_EVERY).await;
                match lease.try_acquire().await {
                    Ok(Held::ByUs) => {}
                    Ok(Held::By(other)) => {
                        tracing::error!(holder = %other, "another pod's sidecar holds the Lease now; stopping the SSH server");
                        stop.cancel();
                        return;
                    }
                    Err(e) => tracing::warn!(error = %e, "could not read the Lease"),
                }
            }
        }))
    }

    /// Publishes the image of one completed rsync transfer, holding the Lease meanwhile.
    async fn publish_completion(
        &mut self,
        cr: &Replication,
        how: &Publish,
        completion: &ferry_rsync::ssh::server::Completion,
    ) {
        let _acting = match self.acting().await {
            Ok(Some(guard)) => guard,
            Ok(None) => return,
            Err(e) => {
                let message = format!("sync {} not published: {e}", completion.sync_id);
                tracing::error!("{message}");
                self.events.warning(reason::SYNC_FAILED, message).await;
                return;
            }
        };
        let start = Timestamp::from_second(i64::try_from(completion.transfer_started).unwrap_or(0))
            .unwrap_or_else(|_| Timestamp::now());
        self.model.sync.last_sync_start_time = Some(Time(start));
        self.model.set_condition(
            SYNCHRONIZING,
            true,
            "SyncInProgress",
            &format!("publishing sync {}", completion.sync_id),
            cr.generation,
        );
        self.apply().await;
        self.events
            .normal(
                reason::SYNC_STARTED,
                format!(
                    "source completed sync {}; taking the image",
                    completion.sync_id
                ),
            )
            .await;
        let guards = cr.guards(self.model.sync.acknowledged_guards.as_deref());
        let result = destination::publish(&self.ctx, cr, how, &self.events, guards).await;
        let end = Timestamp::now();
        let seconds = end.duration_since(start).as_secs_f64().max(0.0);
        match result {
            Ok(image) => {
                let logs = format!(
                    "sync {}: {} byte(s) received",
                    completion.sync_id, completion.bytes_received
                );
                self.model
                    .finish(start, end, MoverResult::Successful, &logs);
                self.model.sync.last_sync_stats = Some(ferry_api::types::SyncStats {
                    bytes_transferred: i64::try_from(completion.bytes_received).unwrap_or(i64::MAX),
                    ..Default::default()
                });
                self.events
                    .normal(
                        reason::IMAGE_PUBLISHED,
                        format!("latestImage is {} {}", image.kind, image.name),
                    )
                    .await;
                self.model.latest_image = Some(image);
                self.last_error = None;
                if guards.acknowledged {
                    self.model.sync.acknowledged_guards = cr.acknowledgement.clone();
                }
                self.metrics
                    .sync_finished(true, seconds, completion.bytes_received, 0);
                self.events.normal(reason::SYNC_SUCCEEDED, logs).await;
            }
            Err(e) => {
                let message = e.to_string();
                self.model.finish(start, end, MoverResult::Failed, &message);
                self.last_error = Some(("Error".to_owned(), message.clone()));
                self.model
                    .set_condition(SYNCHRONIZING, false, "Error", &message, cr.generation);
                self.metrics.sync_finished(false, seconds, 0, 0);
                self.events.warning(reason::SYNC_FAILED, message).await;
            }
        }
        self.apply().await;
    }
}
