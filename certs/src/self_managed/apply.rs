//! Carrying out the holder's [`Action`] on the Secret's contents (no API calls here).

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use super::material::Material;
use super::plan::Action;
use crate::Result;
use crate::generate::{Pem, generate_ca_at, issue_leaf_at};

/// What new certificates look like.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    pub ca_common_name: String,
    pub dns_names: Vec<String>,
    pub ips: Vec<IpAddr>,
    pub ca_validity: Duration,
    pub leaf_validity: Duration,
}

impl Spec {
    fn leaf(&self, ca: &Pem, now: SystemTime) -> Result<Pem> {
        issue_leaf_at(ca, &self.dns_names, &self.ips, now, self.leaf_validity)
    }

    fn ca(&self, now: SystemTime) -> Result<Pem> {
        generate_ca_at(&self.ca_common_name, now, self.ca_validity)
    }
}

/// The Secret contents after `action`, or `None` when there is nothing to write.
/// Without usable current contents every action becomes [`Action::Create`].
pub(crate) fn apply(
    action: Action,
    current: Option<&Material>,
    spec: &Spec,
    now: SystemTime,
) -> Result<Option<Material>> {
    if action == Action::Nothing {
        return Ok(None);
    }
    let Some(current) = current.filter(|_| action != Action::Create) else {
        let ca = spec.ca(now)?;
        let leaf = spec.leaf(&ca, now)?;
        let bundle = ca.cert.clone();
        return Ok(Some(Material {
            ca,
            leaf,
            bundle,
            leaf_issued_at: Some(now),
        }));
    };
    let mut next = current.clone();
    match action {
        Action::RenewLeaf => {
            next.leaf = spec.leaf(&current.ca, now)?;
            next.leaf_issued_at = Some(now);
        }
        Action::RotateCa => {
            // The leaf stays: the old CA that signed it is still in the bundle.
            next.ca = spec.ca(now)?;
            next.bundle = join(&current.bundle, &next.ca.cert);
        }
        Action::DropOldCa => next.bundle = current.ca.cert.clone(),
        Action::RepairBundle => next.bundle = join(&current.bundle, &current.ca.cert),
        Action::Create | Action::Nothing => {}
    }
    Ok(Some(next))
}

fn join(bundle: &str, cert: &str) -> String {
    let mut out = bundle.trim_end().to_owned();
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(cert);
    out
}

#[cfg(test)]
mod tests;
