//! Validation of whole objects: every problem of a ReplicationSource, ReplicationDestination
//! or a pod's ferry annotations, at once, each as `field.path: "value": rule`.
//!
//! The CRD schema already refuses wrong types, enums and ranges; these functions repeat those
//! checks (a webhook must not trust that the schema is current) and add what a schema cannot
//! say: cron fields, time zones, quantities, paths, patterns and cross-field rules.

mod common;
mod destination;
mod hooks;
mod pod;
mod report;
mod source;

pub use destination::validate_destination;
pub use hooks::{HookOverrides, hook_overrides};
pub use pod::validate_pod_annotations;
pub use report::{FieldError, Report, WARNING_MAX_CHARS};
pub use source::validate_source;
