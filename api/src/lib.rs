//! Ferry's API: the `replication.ferry.dev/v1alpha1` custom resources, the pod annotation
//! keys, and the pure validation that the webhook and the CRD schema share.
//!
//! Nothing here talks to a server. The webhook decodes an AdmissionReview and hands the raw
//! object to [`validate_source`], [`validate_destination`] or [`validate_pod_annotations`];
//! every problem comes back at once so a user fixes a manifest in one round trip.

pub mod annotations;
pub mod contract;
pub mod crd;
pub mod docs;
pub mod json;
pub mod rules;
pub mod selector;
pub mod stable_hash;
pub mod types;
pub mod validate;

pub use annotations::PodAnnotations;
pub use types::{
    ReplicationDestination, ReplicationDestinationSpec, ReplicationDestinationStatus,
    ReplicationSource, ReplicationSourceSpec, ReplicationSourceStatus,
};
pub use validate::{
    FieldError, Report, validate_destination, validate_pod_annotations, validate_source,
};

/// The API group of Ferry's custom resources.
pub const GROUP: &str = "replication.ferry.dev";
/// The API version of Ferry's custom resources.
pub const VERSION: &str = "v1alpha1";
