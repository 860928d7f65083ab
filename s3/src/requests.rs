//! The S3 requests of a sync, counted by operation as the server sees them: an interceptor
//! on the client counts every attempt just before it is sent, retries included, so the
//! counts match the server's own (what a provider bills) whichever code path sent them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use ferry_api::types::S3Requests;

/// The kinds of request a sync's cost is told in (what S3 providers bill by).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Listings: ListObjectsV2, ListObjectVersions, ListMultipartUploads, ListParts.
    List,
    /// HeadObject, HeadBucket.
    Head,
    /// GetObject and reads of settings (GetObjectLockConfiguration, ...).
    Get,
    /// PutObject, and the creation and completion of multipart uploads.
    Put,
    /// Multipart parts: UploadPart, UploadPartCopy.
    Part,
    /// CopyObject (mtime updates).
    Copy,
    /// DeleteObject(s), AbortMultipartUpload.
    Delete,
    /// Anything else.
    Other,
}

impl Op {
    /// Every kind, in the order they are shown.
    pub const ALL: [Op; 8] = [
        Op::List,
        Op::Head,
        Op::Get,
        Op::Put,
        Op::Part,
        Op::Copy,
        Op::Delete,
        Op::Other,
    ];

    /// The kind of the S3 operation `name` (the API's name, e.g. `PutObject`).
    pub fn of(name: &str) -> Op {
        match name {
            n if n.starts_with("List") => Op::List,
            n if n.starts_with("Head") => Op::Head,
            n if n.starts_with("Get") => Op::Get,
            "UploadPart" | "UploadPartCopy" => Op::Part,
            "CopyObject" => Op::Copy,
            n if n.starts_with("Put")
                || n == "CreateMultipartUpload"
                || n == "CompleteMultipartUpload" =>
            {
                Op::Put
            }
            n if n.starts_with("Delete") || n == "AbortMultipartUpload" => Op::Delete,
            _ => Op::Other,
        }
    }

    /// Its name in summaries, statuses and the `op` label of `ferry_s3_requests_total`.
    pub fn name(self) -> &'static str {
        match self {
            Op::List => "list",
            Op::Head => "head",
            Op::Get => "get",
            Op::Put => "put",
            Op::Part => "part",
            Op::Copy => "copy",
            Op::Delete => "delete",
            Op::Other => "other",
        }
    }
}

/// Live counts, shared by a remote's client and the sync.
#[derive(Debug, Default)]
pub struct Requests {
    counts: [AtomicU64; Op::ALL.len()],
}

impl Requests {
    /// Counts one request of operation `name`.
    pub fn count(&self, name: &str) {
        let op = Op::of(name);
        if let Some(i) = Op::ALL.iter().position(|o| *o == op) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counts now, in the form the status shows them.
    pub fn snapshot(&self) -> S3Requests {
        let get = |op: Op| {
            Op::ALL
                .iter()
                .position(|o| *o == op)
                .map_or(0, |i| self.counts[i].load(Ordering::Relaxed))
        };
        let count = |op: Op| i64::try_from(get(op)).unwrap_or(i64::MAX);
        let mut counts = S3Requests {
            list: count(Op::List),
            head: count(Op::Head),
            get: count(Op::Get),
            put: count(Op::Put),
            part: count(Op::Part),
            copy: count(Op::Copy),
            delete: count(Op::Delete),
            other: count(Op::Other),
            total: 0,
        };
        counts.total = counts.by_kind().iter().map(|(_, n)| n).sum();
        counts
    }
}

/// The interceptor that counts into a [`Requests`].
#[derive(Debug)]
pub struct Counter(pub Arc<Requests>);

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "ferry-request-counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0
            .count(cfg.load::<Metadata>().map_or("", |m| m.name()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_fall_into_their_kinds() {
        let cases = [
            ("ListObjectsV2", "list"),
            ("ListObjectVersions", "list"),
            ("ListMultipartUploads", "list"),
            ("HeadObject", "head"),
            ("GetObject", "get"),
            ("GetObjectLockConfiguration", "get"),
            ("PutObject", "put"),
            ("CreateMultipartUpload", "put"),
            ("CompleteMultipartUpload", "put"),
            ("UploadPart", "part"),
            ("CopyObject", "copy"),
            ("DeleteObjects", "delete"),
            ("AbortMultipartUpload", "delete"),
            ("", "other"),
        ];
        for (op, kind) in cases {
            assert_eq!(Op::of(op).name(), kind, "{op}");
        }
        let r = Requests::default();
        for op in ["ListObjectsV2", "ListObjectsV2", "GetObject", "PutObject"] {
            r.count(op);
        }
        let counts = r.snapshot();
        assert_eq!(counts.total, 4);
        assert_eq!(counts.to_string(), "S3 requests 4 (list 2, get 1, put 1)");
        assert_eq!(
            S3Requests::default().to_string(),
            "S3 requests 0",
            "nothing sent"
        );
    }
}
