//! The `status` command's reads and prints.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{Columns, LIST_KIND, StatusList, detail, rows, table};
use crate::client::Kube;
use crate::error::Result;
use crate::output::{self, Format};
use crate::{objects, pods};

/// `status [-A]`: the table, or the rows as JSON or YAML.
pub async fn list(kube: &Kube, all: bool, format: Format, colour: bool) -> Result<()> {
    let scope = (!all).then_some(kube.namespace.as_str());
    let crs = objects::list(&kube.client, scope).await?;
    let pods = pods::opted_in(&kube.client, scope).await?;
    let now = Timestamp::now();
    let rows = rows(&crs, &pods, now);
    let text = match format {
        Format::Table | Format::Wide => {
            if rows.is_empty() {
                let place = scope.map_or_else(
                    || "any namespace".to_owned(),
                    |ns| format!("namespace {ns}"),
                );
                eprintln!("No ReplicationSource or ReplicationDestination in {place}.");
                return Ok(());
            }
            let columns = Columns {
                namespace: all,
                wide: format == Format::Wide,
            };
            table(&rows, columns, now, colour)
        }
        Format::Json | Format::Yaml => output::encode(
            &StatusList {
                kind: LIST_KIND.to_owned(),
                time: Time(now),
                items: rows,
            },
            format,
        )?,
    };
    output::print(&text)
}

/// `status NAME`.
pub async fn one(kube: &Kube, reference: &str, format: Format) -> Result<()> {
    let d = detail::fetch(&kube.client, &kube.namespace, reference).await?;
    let now = Timestamp::now();
    let text = match format {
        Format::Table | Format::Wide => detail::render(&d, now),
        Format::Json | Format::Yaml => {
            let pods = d
                .pod
                .iter()
                .map(|p| ((p.namespace.clone(), p.name.clone()), p.clone()))
                .collect();
            output::encode(&super::row(&d.cr, &pods, now), format)?
        }
    };
    output::print(&text)
}
