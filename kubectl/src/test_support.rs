//! Builders the unit tests share.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// A timestamp from RFC 3339 text.
pub fn at(text: &str) -> Timestamp {
    text.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A `Synchronizing` condition.
pub fn synchronizing(status: &str, reason: &str, message: &str) -> Condition {
    Condition {
        type_: "Synchronizing".into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: None,
        last_transition_time: Time(at("2026-12-07T10:00:05Z")),
    }
}
