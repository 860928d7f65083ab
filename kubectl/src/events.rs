//! The Events about one object, newest last, as `kubectl describe` shows them.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};

use crate::error::{Error, Result};
use crate::objects::Replication;

/// One Event, reduced to what a person reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventLine {
    /// The last time it happened.
    pub time: Option<Timestamp>,
    /// `Normal` or `Warning`.
    pub type_: String,
    /// E.g. `SyncFailed`.
    pub reason: String,
    /// What it says.
    pub message: String,
    /// How many times it happened.
    pub count: i32,
    /// Its name, to tell Events apart while following a sync.
    pub uid: String,
}

/// The Events about `cr`, oldest first.
pub async fn of(client: &kube::Client, cr: &Replication) -> Result<Vec<EventLine>> {
    let api: Api<Event> = Api::namespaced(client.clone(), &cr.namespace);
    let params = ListParams::default().fields(&format!(
        "involvedObject.kind={},involvedObject.name={}",
        cr.kind.as_str(),
        cr.name
    ));
    let list = api
        .list(&params)
        .await
        .map_err(Error::api(format!("listing the Events of {}", cr.id())))?;
    let mut lines: Vec<EventLine> = list.items.into_iter().map(line).collect();
    lines.sort_by_key(|e| e.time);
    Ok(lines)
}

fn line(e: Event) -> EventLine {
    let time = e
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref().map(|t| t.0))
        .or_else(|| e.last_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0));
    let series = e.series.as_ref().and_then(|s| s.count).unwrap_or(0);
    EventLine {
        time,
        type_: e.type_.unwrap_or_default(),
        reason: e.reason.unwrap_or_default(),
        message: e.message.unwrap_or_default(),
        count: series.max(e.count.unwrap_or(0)).max(1),
        uid: format!(
            "{}/{}",
            e.metadata.uid.unwrap_or_default(),
            series.max(e.count.unwrap_or(0))
        ),
    }
}
