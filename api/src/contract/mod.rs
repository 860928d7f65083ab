//! The contract between Ferry's processes: what the webhook writes into a pod and the
//! sidecar reads back, and what the agent hands its S3 engine process. One definition each,
//! so the two sides cannot drift.

pub mod engine;
