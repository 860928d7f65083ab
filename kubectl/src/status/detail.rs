//! `kubectl ferry status NAME`: one object in detail: its health and why, the trigger,
//! the bound pod's sidecar, the last sync and its counters, the verification, the
//! conditions, the mover's last log and the last five Events.

use std::fmt::Write;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;

use crate::error::{Error, Result};
use crate::events::{self, EventLine};
use crate::health;
use crate::objects::{self, Replication};
use crate::pods::PodFacts;
use crate::table::{self, Cell};

/// How many Events the detail shows.
pub const EVENTS_SHOWN: usize = 5;

/// What the detail is made of.
#[derive(Clone, Debug)]
pub struct Detail {
    /// The object.
    pub cr: Replication,
    /// Its bound pod, when it exists.
    pub pod: Option<PodFacts>,
    /// Its Events, oldest first.
    pub events: Vec<EventLine>,
}

/// Reads the object `reference` names, its bound pod and its Events.
pub async fn fetch(client: &kube::Client, namespace: &str, reference: &str) -> Result<Detail> {
    let cr = objects::get(client, namespace, reference).await?;
    let pod = match cr.bound_pod() {
        Some(name) => {
            let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
            api.get_opt(name)
                .await
                .map_err(Error::api(format!("getting pod {namespace}/{name}")))?
                .map(|p| PodFacts::from_pod(&p))
        }
        None => None,
    };
    let events = events::of(client, &cr).await?;
    Ok(Detail { cr, pod, events })
}

/// The detail as text.
pub fn render(d: &Detail, now: Timestamp) -> String {
    let cr = &d.cr;
    let verdict = health::assess(cr, d.pod.as_ref(), now);
    let status = cr.status.clone().unwrap_or_default();
    let mut out = String::new();
    field(
        &mut out,
        "Name",
        format!("{} ({})", cr.id(), cr.kind.as_str()),
    );
    let why = if verdict.why.is_empty() {
        String::new()
    } else {
        format!(": {}", verdict.why)
    };
    field(
        &mut out,
        "Health",
        format!("{}{why}", verdict.health.word()),
    );
    let target = match &cr.rclone {
        Some(r) => format!(" → {}", r.options.rclone_dest_path),
        None => String::new(),
    };
    field(&mut out, "Method", format!("{}{target}", cr.method()));
    if let Some(pvc) = &cr.pvc {
        field(&mut out, "PVC", pvc.clone());
    }
    field(&mut out, "Trigger", trigger(cr, d.pod.as_ref()));
    field(
        &mut out,
        "Bound pod",
        bound(&status.bound_pod, d.pod.as_ref()),
    );
    if let Some(s) = d.pod.as_ref().and_then(|p| p.sidecar.as_ref()) {
        let mut line = format!(
            "{}, {}ready, {} restart(s), image {}",
            s.state,
            if s.ready { "" } else { "not " },
            s.restarts,
            s.image
        );
        if let Some(last) = &s.last_termination {
            let _ = write!(line, "; last ended {last}");
        }
        field(&mut out, "Sidecar", line);
    }
    let last = match &status.last_sync_time {
        Some(t) => format!(
            "{} ({}), took {}",
            table::relative(t.0, now),
            t.0,
            status.last_sync_duration.as_deref().unwrap_or("?")
        ),
        None => "never".to_owned(),
    };
    field(&mut out, "Last sync", last);
    if let Some(m) = &status.latest_mover_status {
        field(&mut out, "Result", format!("{:?}", m.result));
    }
    if let Some(s) = &status.last_sync_stats {
        field(
            &mut out,
            "Last stats",
            format!(
                "{} file(s) ({}) transferred, {} deleted, {} checked",
                s.files_transferred,
                table::bytes(s.bytes_transferred),
                s.files_deleted,
                s.files_checked
            ),
        );
    }
    if let Some(t) = &status.next_sync_time {
        field(
            &mut out,
            "Next sync",
            format!("{} ({})", table::relative(t.0, now), t.0),
        );
    }
    if let Some(n) = status.consecutive_failures.filter(|n| *n > 0) {
        let retry = match &status.next_retry_time {
            Some(t) => format!("retried {}", table::relative(t.0, now)),
            None => "waits for a change to the spec or its Secret".to_owned(),
        };
        field(&mut out, "Failures", format!("{n} in a row; {retry}"));
    }
    match (&status.last_verified, cr.verify) {
        (Some(v), _) => {
            let when = v
                .time
                .as_ref()
                .map_or_else(String::new, |t| format!(" {}", table::relative(t.0, now)));
            let copy = v
                .copy
                .as_deref()
                .map_or_else(String::new, |c| format!(" of {c}"));
            field(
                &mut out,
                "Verified",
                format!(
                    "{}{when} ({}{copy}: {} object(s), {} mismatch(es))",
                    v.result, v.mode, v.objects_checked, v.mismatches
                ),
            );
            for line in &v.details {
                let _ = writeln!(out, "              {line}");
            }
        }
        (None, true) => field(&mut out, "Verified", "not yet".to_owned()),
        (None, false) => {}
    }
    if let Some(image) = &cr.latest_image {
        field(
            &mut out,
            "Latest image",
            format!("{}/{}", image.kind, image.name),
        );
    }
    if !status.conditions.is_empty() {
        out.push_str("Conditions:\n");
        let rows: Vec<Vec<Cell>> = status
            .conditions
            .iter()
            .map(|c| {
                vec![
                    Cell::plain(&c.type_),
                    Cell::plain(&c.status),
                    Cell::plain(&c.reason),
                    Cell::plain(table::span(now.duration_since(c.last_transition_time.0))),
                    Cell::plain(&c.message),
                ]
            })
            .collect();
        indent(
            &mut out,
            &table::render(
                &["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"],
                &rows,
                false,
            ),
        );
    }
    if let Some(logs) = status
        .latest_mover_status
        .as_ref()
        .and_then(|m| m.logs.as_ref())
    {
        out.push_str("Last mover log:\n");
        indent(&mut out, logs);
    }
    let shown = &d.events[d.events.len().saturating_sub(EVENTS_SHOWN)..];
    if shown.is_empty() {
        out.push_str("Events:       <none>\n");
    } else {
        let _ = writeln!(out, "Events (last {}):", shown.len());
        let rows: Vec<Vec<Cell>> = shown
            .iter()
            .map(|e| {
                vec![
                    Cell::plain(
                        e.time
                            .map_or_else(|| "-".to_owned(), |t| table::span(now.duration_since(t))),
                    ),
                    Cell::plain(&e.type_),
                    Cell::plain(&e.reason),
                    Cell::plain(if e.count > 1 {
                        format!("{} (x{})", e.message, e.count)
                    } else {
                        e.message.clone()
                    }),
                ]
            })
            .collect();
        indent(
            &mut out,
            &table::render(&["AGE", "TYPE", "REASON", "MESSAGE"], &rows, false),
        );
    }
    out
}

fn field(out: &mut String, name: &str, value: String) {
    let _ = writeln!(out, "{:<14}{value}", format!("{name}:"));
}

fn indent(out: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "  {line}");
    }
}

fn trigger(cr: &Replication, pod: Option<&PodFacts>) -> String {
    if let Some((schedule, _, zone)) = health::effective_schedule(cr, pod) {
        let from = if pod.and_then(|p| p.schedule.as_ref()).is_some() {
            " (the pod's ferry.dev/schedule)"
        } else {
            ""
        };
        return format!("schedule \"{schedule}\" {zone}{from}");
    }
    match cr.trigger.as_ref().and_then(|t| t.manual.as_ref()) {
        Some(manual) => format!("manual \"{manual}\""),
        None => "continuous (no trigger)".to_owned(),
    }
}

fn bound(name: &Option<String>, pod: Option<&PodFacts>) -> String {
    match (name, pod) {
        (None, _) => "none".to_owned(),
        (Some(name), None) => format!("{name} (gone)"),
        (Some(name), Some(p)) if p.deleting => format!("{name} (terminating)"),
        (Some(name), Some(p)) => format!("{name} ({})", p.phase),
    }
}
