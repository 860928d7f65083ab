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
        /// S3 Object Lock on each copy (`spec.rclone.objectLock`): only timestamped copies
        /// can be locked, a mirror overwrites and deletes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lock: Option<crate::types::ObjectLock>,
    },
}

/// A verification to run instead of a sync: how, and of which share of the objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyJob {
    /// Download and hash (`true`), or compare the listing only.
    pub deep: bool,
    /// With `deep`, the percentage of objects downloaded (1-100), chosen by key.
    pub sample_percent: u8,
}

/// What a verification found. It never changes the remote.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// The copy verified (its prefix).
    pub copy: String,
    /// Objects compared.
    pub checked: u64,
    /// Objects missing or different.
    pub mismatches: u64,
    /// The first of them (up to ten), each with what differs.
    pub first: Vec<String>,
}

/// A restore on first start: which copy to pull into the empty volume.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreJob {
    /// A timestamped copy by name; `None`: the newest complete one (or the plain prefix
    /// once a push stored its manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<String>,
}

/// What a restore did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    /// The copy restored (`YYYY-MM-DD-HHMMSS`, or the remote path of a plain prefix);
    /// `None` when the remote holds no complete copy: a fresh start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<String>,
    /// Why nothing was restored, or what the copy was chosen from.
    pub note: String,
}

/// Whether `key` is in the sample of `percent`: a stable choice (FNV-1a of the key), so the
/// same objects are sampled each time and a sample of 100 takes every object.
pub fn sampled(key: &str, percent: u8) -> bool {
    if percent >= 100 {
        return true;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash % 100 < u64::from(percent)
}

#[cfg(test)]
mod tests {
    use super::sampled;

    #[test]
    fn a_sample_is_stable_and_about_its_share() {
        let keys: Vec<String> = (0..10_000).map(|i| format!("dir/file-{i}")).collect();
        let n = keys.iter().filter(|k| sampled(k, 10)).count();
        assert!((800..1200).contains(&n), "{n}");
        assert!(keys.iter().all(|k| sampled(k, 100)));
        assert_eq!(sampled("a", 37), sampled("a", 37));
    }
}
