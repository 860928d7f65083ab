//! Ferry's two kinds seen the same way: what every command needs of a ReplicationSource or
//! ReplicationDestination (mover, trigger, status), read with ferry-api's types.

use ferry_api::types::{RcloneOptions, SyncStatus, Trigger};
use ferry_api::{ReplicationDestination, ReplicationSource};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::TypedLocalObjectReference;
use kube::api::{Api, ListParams};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which of Ferry's kinds an object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    /// A ReplicationSource.
    ReplicationSource,
    /// A ReplicationDestination.
    ReplicationDestination,
}

impl Kind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ReplicationSource => "ReplicationSource",
            Kind::ReplicationDestination => "ReplicationDestination",
        }
    }

    /// The short word a table shows.
    pub fn short(self) -> &'static str {
        match self {
            Kind::ReplicationSource => "source",
            Kind::ReplicationDestination => "destination",
        }
    }

    /// Reads `source`, `destination`, their short names and kinds, in any case.
    pub fn parse(text: &str) -> Option<Kind> {
        match text.to_ascii_lowercase().as_str() {
            "source" | "src" | "rsrc" | "replicationsource" | "replicationsources" => {
                Some(Kind::ReplicationSource)
            }
            "destination"
            | "dest"
            | "dst"
            | "rdst"
            | "replicationdestination"
            | "replicationdestinations" => Some(Kind::ReplicationDestination),
            _ => None,
        }
    }
}

/// The rclone settings of an object, for `copies` and `restore`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rclone {
    /// Connection and sync options.
    pub options: RcloneOptions,
    /// Whether each sync is written under a `YYYY-MM-DD-HHMMSS/` prefix.
    pub timestamped: bool,
}

/// One ReplicationSource or ReplicationDestination.
#[derive(Clone, Debug, PartialEq)]
pub struct Replication {
    /// Its kind.
    pub kind: Kind,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created: Option<Timestamp>,
    /// `rsync` or `rclone`.
    pub mover: &'static str,
    /// `Direct`, `Snapshot` or `Clone` (VolSync's `None` shown as `Direct`).
    pub copy_method: String,
    /// The source PVC, or the destination's `destinationPVC` when set.
    pub pvc: Option<String>,
    /// `spec.trigger`.
    pub trigger: Option<Trigger>,
    /// `spec.paused`.
    pub paused: bool,
    /// The status the bound sidecar wrote (absent before any pod bound it).
    pub status: Option<SyncStatus>,
    /// A destination's `status.latestImage`.
    pub latest_image: Option<TypedLocalObjectReference>,
    /// The rclone settings, for the rclone mover.
    pub rclone: Option<Rclone>,
    /// Whether verification is configured (`spec.rclone.verify`).
    pub verify: bool,
}

impl Replication {
    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// `mover/copyMethod`, e.g. `rclone/Snapshot`.
    pub fn method(&self) -> String {
        format!("{}/{}", self.mover, self.copy_method)
    }

    /// The pod the status names as acting for the object.
    pub fn bound_pod(&self) -> Option<&str> {
        self.status.as_ref()?.bound_pod.as_deref()
    }

    /// From a typed ReplicationSource.
    pub fn from_source(cr: ReplicationSource) -> Replication {
        let spec = cr.spec;
        let (mover, copy_method, rclone, verify) = match (&spec.rsync, &spec.rclone) {
            (Some(rsync), _) => ("rsync", rsync.copy_method.normalized(), None, false),
            (None, Some(rclone)) => (
                "rclone",
                rclone.copy_method.normalized(),
                Some(Rclone {
                    options: rclone.rclone.clone(),
                    timestamped: rclone.timestamp_prefix.unwrap_or(false),
                }),
                rclone.verify.is_some(),
            ),
            (None, None) => ("none", Default::default(), None, false),
        };
        Replication {
            kind: Kind::ReplicationSource,
            namespace: cr.metadata.namespace.unwrap_or_default(),
            name: cr.metadata.name.unwrap_or_default(),
            created: cr.metadata.creation_timestamp.map(|t| t.0),
            mover,
            copy_method: format!("{copy_method:?}"),
            pvc: Some(spec.source_pvc),
            trigger: spec.trigger,
            paused: spec.paused.unwrap_or(false),
            status: cr.status.map(|s| s.sync),
            latest_image: None,
            rclone,
            verify,
        }
    }

    /// From a typed ReplicationDestination.
    pub fn from_destination(cr: ReplicationDestination) -> Replication {
        let spec = cr.spec;
        let (mover, copy_method, pvc, rclone) = match (&spec.rsync, &spec.rclone) {
            (Some(rsync), _) => (
                "rsync",
                rsync.copy_method.normalized(),
                rsync.destination_pvc.clone(),
                None,
            ),
            (None, Some(rclone)) => (
                "rclone",
                rclone.copy_method.normalized(),
                rclone.destination_pvc.clone(),
                Some(Rclone {
                    options: rclone.rclone.clone(),
                    // A destination pulls the newest copy; the layout is the source's.
                    timestamped: false,
                }),
            ),
            (None, None) => ("none", Default::default(), None, None),
        };
        let (status, latest_image) = match cr.status {
            Some(s) => (Some(s.sync), s.latest_image),
            None => (None, None),
        };
        Replication {
            kind: Kind::ReplicationDestination,
            namespace: cr.metadata.namespace.unwrap_or_default(),
            name: cr.metadata.name.unwrap_or_default(),
            created: cr.metadata.creation_timestamp.map(|t| t.0),
            mover,
            copy_method: format!("{copy_method:?}"),
            pvc,
            trigger: spec.trigger,
            paused: spec.paused.unwrap_or(false),
            status,
            latest_image,
            rclone,
            verify: false,
        }
    }
}

/// The sources' and destinations' APIs, in one namespace or all.
fn apis(
    client: &kube::Client,
    namespace: Option<&str>,
) -> (Api<ReplicationSource>, Api<ReplicationDestination>) {
    match namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        ),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    }
}

/// Every Ferry object in `namespace`, or in all namespaces, sorted by namespace, name and
/// kind.
pub async fn list(client: &kube::Client, namespace: Option<&str>) -> Result<Vec<Replication>> {
    let (sources, destinations) = apis(client, namespace);
    let scope = namespace.map_or_else(
        || "all namespaces".to_owned(),
        |ns| format!("namespace {ns}"),
    );
    let params = ListParams::default();
    let mut out: Vec<Replication> = sources
        .list(&params)
        .await
        .map_err(Error::api(format!("listing ReplicationSources in {scope}")))?
        .items
        .into_iter()
        .map(Replication::from_source)
        .collect();
    out.extend(
        destinations
            .list(&params)
            .await
            .map_err(Error::api(format!(
                "listing ReplicationDestinations in {scope}"
            )))?
            .items
            .into_iter()
            .map(Replication::from_destination),
    );
    out.sort_by(|a, b| (&a.namespace, &a.name, a.kind).cmp(&(&b.namespace, &b.name, b.kind)));
    Ok(out)
}

/// The object `reference` names in `namespace`: `NAME`, or `KIND/NAME` when both kinds
/// have that name (`source/db`, `rdst/db`).
pub async fn get(client: &kube::Client, namespace: &str, reference: &str) -> Result<Replication> {
    let (kind, name) = match reference.split_once('/') {
        Some((kind, name)) => match Kind::parse(kind) {
            Some(kind) => (Some(kind), name),
            None => {
                return Err(Error::Usage(format!(
                    "{reference:?}: {kind:?} is not a Ferry kind; write source/NAME or destination/NAME"
                )));
            }
        },
        None => (None, reference),
    };
    let (sources, destinations) = apis(client, Some(namespace));
    let doing = |k: &str| format!("getting {k} {namespace}/{name}");
    let source = if kind != Some(Kind::ReplicationDestination) {
        sources
            .get_opt(name)
            .await
            .map_err(Error::api(doing("ReplicationSource")))?
            .map(Replication::from_source)
    } else {
        None
    };
    let destination = if kind != Some(Kind::ReplicationSource) {
        destinations
            .get_opt(name)
            .await
            .map_err(Error::api(doing("ReplicationDestination")))?
            .map(Replication::from_destination)
    } else {
        None
    };
    match (source, destination) {
        (Some(_), Some(_)) => Err(Error::Ambiguous {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }),
        (Some(one), None) | (None, Some(one)) => Ok(one),
        (None, None) => Err(Error::NotFound {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }),
    }
}
