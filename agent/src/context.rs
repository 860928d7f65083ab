//! What every sync needs besides its CR: the API client, who this pod is, how S3 jobs run
//! ([`Ctx`]), what a mover pod inherits from the sidecar's pod ([`MoverPlan`]), and how long
//! the steps of a sync may take.

use std::time::Duration;

use super::env::Identity;
use super::job::Runner;

/// How long a snapshot may take to become ready before the sync fails.
pub const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a VolumeSnapshot may take to be cut (its `creationTime` set) while the app is
/// frozen; the app is thawed when it runs out.
pub const CUT_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a mover pod may run.
pub const MOVER_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// What a sync needs besides the CR.
#[derive(Clone)]
pub struct Ctx {
    /// The API client.
    pub client: kube::Client,
    /// This pod.
    pub who: Identity,
    /// How the S3 engine runs.
    pub engine: Runner,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").field("who", &self.who).finish()
    }
}

/// What the mover pod needs from the sidecar's pod.
#[derive(Debug, Clone, Default)]
pub struct MoverPlan {
    /// The image (the sidecar's own).
    pub image: String,
    /// The service account.
    pub service_account: Option<String>,
    /// The user.
    pub run_as_user: Option<i64>,
}

/// A count for `lastSyncStats`, which holds `i64`s.
pub fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
