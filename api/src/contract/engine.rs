//! What the agent and the S3 engine process (`ferry-sidecar engine`) agree on beyond the
//! CR's own types. The agent does not link the engine, so what both read lives here.

/// Where on the remote a push writes. Serializable: the agent hands it to the engine
/// process inside a job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Layout {
    /// Straight into the prefix, as `rclone sync`.
    #[default]
    Plain,
    /// Each sync into a new `YYYY-MM-DD-HHMMSS/` below the prefix (UTC); a pull reads the
    /// newest. `retain` keeps that many timestamped copies (all when `None`).
    Timestamped {
        /// Copies to keep.
        retain: Option<usize>,
    },
}
