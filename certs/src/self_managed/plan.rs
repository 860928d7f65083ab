//! What the lease holder does next, decided from the Secret's state and the clock alone.
//!
//! The CA rotation rule, in order of the steps it takes:
//! 1. At two thirds of the CA's lifetime, [`Action::RotateCa`]: a new CA becomes `ca.crt`, and
//!    `ca-bundle.crt` holds old and new. The leaf is untouched, still signed by the old CA,
//!    which the published bundle still trusts.
//! 2. Once that bundle is in every existing webhook configuration, [`Action::RenewLeaf`]
//!    issues a leaf from the new CA. Before it is published, nothing happens, so the apiserver
//!    never meets a leaf it cannot verify.
//! 3. Instances load the new leaf on their next poll (at most `poll_interval` later).
//!    [`Action::DropOldCa`] waits `grace` (twice `poll_interval`) after the leaf was written,
//!    then leaves only the new CA in the bundle.
//!
//! A leaf signed by the current CA renews at two thirds of its lifetime, or sooner when it
//! lacks a configured name.

use std::time::{Duration, SystemTime};

use crate::validity::renew_at;

/// What the holder found in the Secret, reduced to what the decision needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// `(not_before, not_after)` of `ca.crt`.
    pub ca: (SystemTime, SystemTime),
    /// `(not_before, not_after)` of `tls.crt`.
    pub leaf: (SystemTime, SystemTime),
    /// `tls.crt` was signed by `ca.crt`.
    pub leaf_signed_by_ca: bool,
    /// `tls.crt` carries every DNS name and IP the configuration asks for.
    pub leaf_covers_names: bool,
    /// `ca-bundle.crt` contains `ca.crt`.
    pub bundle_has_ca: bool,
    /// `ca-bundle.crt` also holds other CAs (an old one, mid-rotation).
    pub bundle_has_others: bool,
    /// When the current leaf was written to the Secret.
    pub leaf_issued_at: SystemTime,
}

/// One step of the holder's work; at most one per tick, so every step is written (and
/// published) before the next is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// No usable Secret (absent, incomplete, or its CA expired): a new CA and leaf.
    Create,
    /// A new leaf from the current CA.
    RenewLeaf,
    /// A new CA, added to the bundle next to the old one; the leaf follows later.
    RotateCa,
    /// The bundle shrinks to the current CA, the old one's leaves being gone everywhere.
    DropOldCa,
    /// The bundle lost the current CA (edited by hand): add it back.
    RepairBundle,
    /// Everything is current.
    Nothing,
}

/// Decides the holder's next step.
///
/// `observed` is `None` when the Secret is missing or unusable. `published` says whether
/// the Secret's current bundle is in every existing webhook configuration. `grace` is how
/// long an old CA stays in the bundle after a leaf from the new CA was written.
pub fn decide(
    observed: Option<&Observed>,
    published: bool,
    grace: Duration,
    now: SystemTime,
) -> Action {
    let Some(o) = observed else {
        return Action::Create;
    };
    if now >= o.ca.1 {
        // Nothing signed by an expired CA verifies; there is nothing left to keep.
        return Action::Create;
    }
    if !o.bundle_has_ca {
        return Action::RepairBundle;
    }
    if !o.leaf_signed_by_ca {
        // Mid-rotation: the new leaf must wait until the apiserver trusts its CA.
        return if published {
            Action::RenewLeaf
        } else {
            Action::Nothing
        };
    }
    if now >= renew_at(o.leaf.0, o.leaf.1) || !o.leaf_covers_names {
        return Action::RenewLeaf;
    }
    if o.bundle_has_others {
        return if now >= o.leaf_issued_at + grace {
            Action::DropOldCa
        } else {
            Action::Nothing
        };
    }
    if now >= renew_at(o.ca.0, o.ca.1) {
        return Action::RotateCa;
    }
    Action::Nothing
}

#[cfg(test)]
mod tests;
