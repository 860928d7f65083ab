//! `kubectl ferry status`: one row per ReplicationSource and ReplicationDestination (the
//! [`Row`]s are pure data, built by [`rows`] and printed by [`table`]), and
//! `kubectl ferry status NAME`, one object in detail ([`detail`]).

pub mod detail;
pub mod run;

use std::collections::BTreeMap;

use ferry_api::types::{LastVerified, MoverResult, SyncStats};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::{Deserialize, Serialize};

use crate::health::{self, Health};
use crate::objects::{Kind, Replication};
use crate::pods::PodFacts;
use crate::table::{self, Cell, Colour};

/// The `kind` of the `-o json|yaml` document.
pub const LIST_KIND: &str = "FerryStatusList";

/// Every row, as `-o json` and `-o yaml` print it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusList {
    /// Always [`LIST_KIND`].
    pub kind: String,
    /// When the rows were read.
    pub time: Time,
    /// One per object.
    pub items: Vec<Row>,
}

/// One object's status at a glance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// `rsync` or `rclone`, and the copy method: `rclone/Snapshot`.
    pub method: String,
    /// The replicated PVC (a destination's when `destinationPVC` names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc: Option<String>,
    /// The schedule in force (the pod's annotation, else the CR's), with its time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The pod whose sidecar acts for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_pod: Option<String>,
    /// When the last successful sync ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<Time>,
    /// How long it took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_duration: Option<String>,
    /// The latest sync's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<MoverResult>,
    /// When the next sync is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_sync_time: Option<Time>,
    /// Failed syncs in a row.
    pub consecutive_failures: i32,
    /// When a failed sync is retried (absent when it waits for a change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_retry_time: Option<Time>,
    /// Whether verification is configured.
    pub verify: bool,
    /// The last verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verified: Option<LastVerified>,
    /// Counters of the last completed sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_stats: Option<SyncStats>,
    /// The one-word health.
    pub health: Health,
    /// Why, in a few words (empty when healthy).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// The row of `cr`, whose bound pod is looked up in `pods` (the opted-in pods of its
/// namespace), at `now`.
pub fn row(cr: &Replication, pods: &BTreeMap<(String, String), PodFacts>, now: Timestamp) -> Row {
    let pod = cr
        .bound_pod()
        .and_then(|name| pods.get(&(cr.namespace.clone(), name.to_owned())));
    let verdict = health::assess(cr, pod, now);
    let schedule = health::effective_schedule(cr, pod).map(|(s, _, zone)| {
        if zone == "UTC" {
            s.to_string()
        } else {
            format!("{s} {zone}")
        }
    });
    let status = cr.status.clone().unwrap_or_default();
    Row {
        namespace: cr.namespace.clone(),
        name: cr.name.clone(),
        kind: cr.kind,
        method: cr.method(),
        pvc: cr.pvc.clone(),
        schedule,
        bound_pod: status.bound_pod,
        last_sync_time: status.last_sync_time,
        last_sync_duration: status.last_sync_duration,
        result: status.latest_mover_status.map(|m| m.result),
        next_sync_time: status.next_sync_time,
        consecutive_failures: status.consecutive_failures.unwrap_or(0),
        next_retry_time: status.next_retry_time,
        verify: cr.verify,
        last_verified: status.last_verified,
        last_sync_stats: status.last_sync_stats,
        health: verdict.health,
        reason: verdict.why,
    }
}

/// The rows of every object.
pub fn rows(
    crs: &[Replication],
    pods: &BTreeMap<(String, String), PodFacts>,
    now: Timestamp,
) -> Vec<Row> {
    crs.iter().map(|cr| row(cr, pods, now)).collect()
}

/// Which columns to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Columns {
    /// With a NAMESPACE column (`-A`).
    pub namespace: bool,
    /// With PVC, SCHEDULE, TRANSFERRED and REASON (`-o wide`).
    pub wide: bool,
}

/// The table, as `kubectl ferry status` prints it.
pub fn table(rows: &[Row], columns: Columns, now: Timestamp, colour: bool) -> String {
    let mut headers = Vec::new();
    if columns.namespace {
        headers.push("NAMESPACE");
    }
    headers.extend([
        "NAME",
        "KIND",
        "METHOD",
        "POD",
        "LAST SYNC",
        "DURATION",
        "RESULT",
        "NEXT",
        "FAILURES",
        "VERIFIED",
    ]);
    if columns.wide {
        headers.extend(["PVC", "SCHEDULE", "TRANSFERRED"]);
    }
    headers.push("HEALTH");
    if columns.wide {
        headers.push("REASON");
    }
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            let mut c = Vec::new();
            if columns.namespace {
                c.push(Cell::plain(&r.namespace));
            }
            c.push(Cell::plain(&r.name));
            c.push(Cell::plain(r.kind.short()));
            c.push(Cell::plain(&r.method));
            c.push(Cell::plain(r.bound_pod.as_deref().unwrap_or("-")));
            c.push(Cell::plain(
                r.last_sync_time
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |t| table::relative(t.0, now)),
            ));
            c.push(Cell::plain(r.last_sync_duration.as_deref().unwrap_or("-")));
            c.push(match r.result {
                Some(MoverResult::Successful) => Cell::plain("Successful"),
                Some(MoverResult::Failed) => Cell::coloured("Failed", Colour::Red),
                None => Cell::plain("-"),
            });
            c.push(Cell::plain(next(r, now)));
            c.push(Cell::plain(r.consecutive_failures.to_string()));
            c.push(verified(r, now));
            if columns.wide {
                c.push(Cell::plain(r.pvc.as_deref().unwrap_or("-")));
                c.push(Cell::plain(r.schedule.as_deref().unwrap_or("-")));
                c.push(Cell::plain(r.last_sync_stats.as_ref().map_or_else(
                    || "-".to_owned(),
                    |s| {
                        format!(
                            "{} files, {}",
                            s.files_transferred,
                            table::bytes(s.bytes_transferred)
                        )
                    },
                )));
            }
            let colour = if r.health.is_red() {
                Colour::Red
            } else if r.health.is_yellow() {
                Colour::Yellow
            } else {
                Colour::Green
            };
            c.push(Cell::coloured(r.health.word(), colour));
            if columns.wide {
                c.push(Cell::plain(&r.reason));
            }
            c
        })
        .collect();
    table::render(&headers, &cells, colour)
}

/// The NEXT cell: the retry of a failing object, else the next scheduled sync.
fn next(r: &Row, now: Timestamp) -> String {
    if r.consecutive_failures > 0 {
        return match &r.next_retry_time {
            Some(t) => format!("retry {}", table::relative(t.0, now)),
            None => "after a fix".to_owned(),
        };
    }
    match &r.next_sync_time {
        Some(t) if t.0 > now => table::relative(t.0, now),
        Some(_) => "due".to_owned(),
        None if r.schedule.is_none() => "manual".to_owned(),
        None => "-".to_owned(),
    }
}

/// The VERIFIED cell: `-` when not configured, `never` before the first, else the result
/// and its age.
fn verified(r: &Row, now: Timestamp) -> Cell {
    match (&r.last_verified, r.verify) {
        (None, false) => Cell::plain("-"),
        (None, true) => Cell::coloured("never", Colour::Yellow),
        (Some(v), _) => {
            let age = v
                .time
                .as_ref()
                .map_or_else(String::new, |t| format!(" {}", table::relative(t.0, now)));
            let colour = if v.result == "Passed" {
                Colour::Plain
            } else {
                Colour::Red
            };
            Cell::coloured(format!("{}{age}", v.result), colour)
        }
    }
}

#[cfg(test)]
mod tests;
