//! The Kubernetes objects the sidecar makes and removes around a sync: VolumeSnapshots,
//! temporary PVCs (from a snapshot or a clone), mover pods, and the clean-up of whatever a
//! crashed run left behind.
//!
//! Every temporary object carries [`TEMPORARY_LABEL`] with the UID of the CR it serves, and an
//! owner reference to that CR. The label lets the next run find and delete leftovers of a run
//! that was killed; the owner reference is the safety net when the CR itself is deleted.
//! Snapshots a destination keeps as images carry [`IMAGE_LABEL`] instead, because they must
//! outlive the run that made them.

pub mod claim;
pub mod cleanup;
pub mod error;
pub mod mover;
pub mod snapshot;
mod wait;

pub use error::{Error, Result};

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

/// Label on temporary objects: the UID of the CR whose sync made them.
pub const TEMPORARY_LABEL: &str = "ferry.dev/temporary-for";
/// Label on a destination's retained snapshots: the UID of the ReplicationDestination.
pub const IMAGE_LABEL: &str = "ferry.dev/image-of";
/// Label naming the CR (kind-lowercase/name) an object belongs to, for people and selectors.
pub const CR_LABEL: &str = "ferry.dev/replication";

/// The CR that owns the objects of a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// `replication.ferry.dev/v1alpha1`.
    pub api_version: String,
    /// `ReplicationSource` or `ReplicationDestination`.
    pub kind: String,
    /// The CR's name.
    pub name: String,
    /// The CR's UID.
    pub uid: String,
}

impl Owner {
    /// The owner reference put on temporary objects. Not a controller reference, and it does
    /// not block the owner's deletion: it only lets the garbage collector remove leftovers.
    pub fn reference(&self) -> OwnerReference {
        OwnerReference {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            uid: self.uid.clone(),
            controller: None,
            block_owner_deletion: None,
        }
    }

    /// The labels of a temporary object of this owner's sync.
    pub fn temporary_labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (TEMPORARY_LABEL.to_owned(), self.uid.clone()),
            (CR_LABEL.to_owned(), self.cr_label()),
        ])
    }

    /// The labels of a retained image (a destination's snapshot).
    pub fn image_labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (IMAGE_LABEL.to_owned(), self.uid.clone()),
            (CR_LABEL.to_owned(), self.cr_label()),
        ])
    }

    /// `kind-lowercase.name`, cut to a valid label value (63 characters).
    pub fn cr_label(&self) -> String {
        let mut value = format!("{}.{}", self.kind.to_ascii_lowercase(), self.name);
        value.truncate(63);
        value.trim_end_matches(['.', '-', '_']).to_owned()
    }
}

/// How a listing by label reads in an error, where an object's name would be.
pub(crate) fn selected(selector: &str) -> String {
    format!("* (labelled {selector})")
}
