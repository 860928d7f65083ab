//! `kubectl ferry copies NAME`: the timestamped copies of an rclone source (or of the remote
//! a destination pulls), with size, file count and completeness, listed by a one-shot pod
//! of the sidecar image (`ferry-sidecar copies`), so this plugin never links the S3 engine.

use std::time::Duration;

use crate::client::Kube;
use crate::error::{Error, Result};
use crate::objects;
use crate::output::{self, Format};
use crate::restore::CopyInfo;
use crate::restore::run::{list_copies, remote_of};
use crate::table::{self, Cell, Colour};

/// The table of copies, oldest first.
pub fn table(copies: &[CopyInfo]) -> String {
    let rows: Vec<Vec<Cell>> = copies
        .iter()
        .map(|c| {
            vec![
                Cell::plain(&c.stamp),
                if c.complete {
                    Cell::plain("yes")
                } else {
                    Cell::coloured("partial", Colour::Red)
                },
                Cell::plain(c.files.to_string()),
                Cell::plain(table::bytes(i64::try_from(c.bytes).unwrap_or(i64::MAX))),
            ]
        })
        .collect();
    table::render(&["COPY", "COMPLETE", "FILES", "SIZE"], &rows, false)
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
        Format::Table | Format::Wide => table(&copies),
        Format::Json | Format::Yaml => output::encode(&copies, format)?,
    };
    output::print(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_copies_stand_out() {
        let copies = [
            CopyInfo {
                stamp: "2026-12-07-100000".into(),
                complete: true,
                files: 7,
                bytes: 305_062,
            },
            CopyInfo {
                stamp: "2026-12-07-110000".into(),
                complete: false,
                files: 2,
                bytes: 10,
            },
        ];
        assert_eq!(
            table(&copies),
            "COPY                COMPLETE   FILES   SIZE\n\
             2026-12-07-100000   yes        7       297.9 KiB\n\
             2026-12-07-110000   partial    2       10 B\n"
        );
    }
}
