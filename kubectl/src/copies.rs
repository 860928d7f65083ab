//! `kubectl ferry copies NAME`: the timestamped copies of an rclone source (or of the remote
//! a destination pulls), with size, file count and completeness, and, where the bucket has
//! Object Lock enabled, each copy's lock (mode, retain-until, legal hold), listed by a
//! one-shot pod of the sidecar image (`ferry-sidecar copies`), so this plugin never links
//! the S3 engine.

use std::time::Duration;

use jiff::Timestamp;

use crate::client::Kube;
use crate::error::{Error, Result};
use crate::objects;
use crate::output::{self, Format};
use crate::restore::run::{list_copies, remote_of};
use crate::restore::{CopyInfo, CopyLock};
use crate::table::{self, Cell, Colour};

/// The table of copies, oldest first, at `now`. The LOCK column appears only when the
/// listing carries locks, i.e. the bucket has Object Lock enabled.
pub fn table(copies: &[CopyInfo], now: Timestamp) -> String {
    let locking = copies.iter().any(|c| c.lock.is_some());
    let rows: Vec<Vec<Cell>> = copies
        .iter()
        .map(|c| {
            let mut row = vec![
                Cell::plain(&c.stamp),
                if c.complete {
                    Cell::plain("yes")
                } else {
                    Cell::coloured("partial", Colour::Red)
                },
                Cell::plain(c.files.to_string()),
                Cell::plain(table::bytes(i64::try_from(c.bytes).unwrap_or(i64::MAX))),
            ];
            if locking {
                row.push(Cell::plain(lock_cell(c.lock.as_ref(), now)));
            }
            row
        })
        .collect();
    let mut headers = vec!["COPY", "COMPLETE", "FILES", "SIZE"];
    if locking {
        headers.push("LOCK");
    }
    table::render(&headers, &rows, false)
}

/// The LOCK cell: `Governance until 2026-12-08T10:00:00Z (in 23h)`, `(expired)` once the
/// date has passed, `, legal hold` when one is on, `none` for an unlocked copy.
fn lock_cell(lock: Option<&CopyLock>, now: Timestamp) -> String {
    let Some(lock) = lock else {
        return "none".to_owned();
    };
    let mut parts = Vec::new();
    match (&lock.mode, &lock.retain_until) {
        (Some(mode), Some(until)) => parts.push(format!("{mode} until {}", until_text(until, now))),
        (Some(mode), None) => parts.push(mode.clone()),
        (None, Some(until)) => parts.push(format!("until {}", until_text(until, now))),
        (None, None) => {}
    }
    if lock.legal_hold {
        parts.push("legal hold".to_owned());
    }
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}

/// A retain-until date and how far it is from `now` (as written when it does not parse).
fn until_text(until: &str, now: Timestamp) -> String {
    match until.parse::<Timestamp>() {
        Ok(t) if t > now => format!("{t} ({})", table::relative(t, now)),
        Ok(t) => format!("{t} (expired)"),
        Err(_) => until.to_owned(),
    }
}

/// `copies NAME`.
pub async fn run(
    kube: &Kube,
    reference: &str,
    format: Format,
    image: Option<String>,
    timeout: Duration,
) -> Result<()> {
    let cr = objects::get(&kube.client, &kube.namespace, reference).await?;
    if !cr.rclone.as_ref().is_some_and(|r| r.timestamped) {
        return Err(Error::Usage(format!(
            "{} {} writes no timestamped copies (spec.rclone.timestampPrefix is not set)",
            cr.kind.as_str(),
            cr.id()
        )));
    }
    let (remote, image, user) = remote_of(&kube.client, &cr, image, None).await?;
    let copies = list_copies(&kube.client, &cr, &remote, &image, user, timeout).await?;
    let text = match format {
        Format::Table | Format::Wide if copies.is_empty() => {
            format!("No copy below {} yet.\n", remote.path)
        }
        Format::Table | Format::Wide => table(&copies, Timestamp::now()),
        Format::Json | Format::Yaml => output::encode(&copies, format)?,
    };
    output::print(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(stamp: &str, complete: bool, lock: Option<CopyLock>) -> CopyInfo {
        CopyInfo {
            stamp: stamp.into(),
            complete,
            files: if complete { 7 } else { 2 },
            bytes: if complete { 305_062 } else { 10 },
            lock,
        }
    }

    fn now() -> Timestamp {
        "2026-12-07T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn partial_copies_stand_out_and_no_lock_column_without_object_lock() {
        let copies = [
            copy("2026-12-07-100000", true, None),
            copy("2026-12-07-110000", false, None),
        ];
        assert_eq!(
            table(&copies, now()),
            "COPY                COMPLETE   FILES   SIZE\n\
             2026-12-07-100000   yes        7       297.9 KiB\n\
             2026-12-07-110000   partial    2       10 B\n"
        );
    }

    #[test]
    fn a_locking_bucket_shows_each_copy_lock() {
        let lock = |mode: Option<&str>, until: Option<&str>, legal_hold| {
            Some(CopyLock {
                mode: mode.map(str::to_owned),
                retain_until: until.map(str::to_owned),
                legal_hold,
            })
        };
        let copies = [
            copy(
                "2026-12-05-100000",
                true,
                lock(Some("Compliance"), Some("2026-12-06T10:00:00Z"), false),
            ),
            copy("2026-12-06-100000", true, lock(None, None, false)),
            copy("2026-12-06-110000", true, lock(None, None, true)),
            copy(
                "2026-12-07-100000",
                true,
                lock(Some("Governance"), Some("2026-12-08T10:00:00Z"), true),
            ),
        ];
        assert_eq!(
            table(&copies, now()),
            "COPY                COMPLETE   FILES   SIZE        LOCK\n\
             2026-12-05-100000   yes        7       297.9 KiB   Compliance until 2026-12-06T10:00:00Z (expired)\n\
             2026-12-06-100000   yes        7       297.9 KiB   none\n\
             2026-12-06-110000   yes        7       297.9 KiB   legal hold\n\
             2026-12-07-100000   yes        7       297.9 KiB   Governance until 2026-12-08T10:00:00Z (in 22h), legal hold\n"
        );
    }

    #[test]
    fn the_listing_lines_carry_the_lock() {
        let log = "{\"stamp\":\"2026-12-07-100000\",\"complete\":true,\"files\":7,\"bytes\":305062,\
                   \"lock\":{\"mode\":\"Governance\",\"retainUntil\":\"2026-12-08T10:00:00Z\"}}\n\
                   {\"stamp\":\"2026-12-07-110000\",\"complete\":false,\"files\":2,\"bytes\":10,\"lock\":{}}\n";
        assert_eq!(
            crate::restore::parse_copies(log),
            [
                copy(
                    "2026-12-07-100000",
                    true,
                    Some(CopyLock {
                        mode: Some("Governance".into()),
                        retain_until: Some("2026-12-08T10:00:00Z".into()),
                        legal_hold: false,
                    })
                ),
                copy("2026-12-07-110000", false, Some(CopyLock::default())),
            ]
        );
    }
}
