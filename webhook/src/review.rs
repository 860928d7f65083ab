//! The decision for one admission request, as a pure function of the request: the handler
//! only decodes, calls this, and encodes.

use ferry_api::annotations::{self, INJECT_LABEL};
use serde_json::Value;

use crate::admission::{Request, Response};

/// What kind of object a request is about, as the metrics label it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A ReplicationSource.
    Source,
    /// A ReplicationDestination.
    Destination,
    /// A Pod.
    Pod,
    /// Anything else; admitted untouched.
    Other,
}

impl Subject {
    /// The label value in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Source => "ReplicationSource",
            Self::Destination => "ReplicationDestination",
            Self::Pod => "Pod",
            Self::Other => "other",
        }
    }

    /// Classifies a request by the group and kind of its object.
    pub fn of<O>(request: &Request<O>) -> Self {
        match (request.kind.group.as_str(), request.kind.kind.as_str()) {
            (ferry_api::GROUP, "ReplicationSource") => Self::Source,
            (ferry_api::GROUP, "ReplicationDestination") => Self::Destination,
            ("", "Pod") => Self::Pod,
            _ => Self::Other,
        }
    }
}

/// Validates one request: every problem refuses it, with all of them listed.
pub fn validate(request: &Request) -> Response {
    let subject = Subject::of(request);
    if !matches!(request.operation.as_str(), "CREATE" | "UPDATE") || subject == Subject::Other {
        return Response::allow(&request.uid);
    }
    let Some(object) = &request.object else {
        return Response::deny(
            &request.uid,
            400,
            &["request.object: \"\": required for CREATE and UPDATE".to_owned()],
        );
    };
    let report = match subject {
        Subject::Source => ferry_api::validate_source(object),
        Subject::Destination => ferry_api::validate_destination(object),
        Subject::Pod if opted_in(object) => {
            let (_, report) =
                ferry_api::validate_pod_annotations(&annotations::from_pod_json(object));
            report
        }
        Subject::Pod | Subject::Other => return Response::allow(&request.uid),
    };
    if report.is_ok() {
        Response::allow(&request.uid).with_warnings(report.warnings)
    } else {
        Response::deny(&request.uid, 400, &report.messages()).with_warnings(report.warnings)
    }
}

/// True when the pod carries the opt-in label with the value `"true"`.
pub fn opted_in(pod: &Value) -> bool {
    ferry_api::json::get(pod, "/metadata/labels")
        .and_then(|labels| labels.get(INJECT_LABEL))
        .and_then(Value::as_str)
        == Some("true")
}

#[cfg(test)]
mod tests;
