//! What the self-managed mode tells the process it runs in: whether this instance holds the
//! Lease (the webhook's leader also runs its health checks, so one instance both repairs
//! and reports), and every caBundle it found changed by someone else and put back.

use tokio::sync::{mpsc, watch};

/// A webhook configuration whose `caBundle` differed from the published bundle and was
/// patched back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repair {
    /// `MutatingWebhookConfiguration` or `ValidatingWebhookConfiguration`.
    pub kind: String,
    /// The configuration's name.
    pub configuration: String,
    /// The webhooks of it whose `caBundle` was repaired.
    pub webhooks: Vec<String>,
}

/// The sending half, kept by the instance.
#[derive(Debug)]
pub struct Reporter {
    leader: watch::Sender<bool>,
    repairs: mpsc::UnboundedSender<Repair>,
}

/// The receiving half, for the process's health checks.
#[derive(Debug)]
pub struct Reports {
    /// True while this instance holds the Lease.
    pub leader: watch::Receiver<bool>,
    /// Each repaired drift, once.
    pub repairs: mpsc::UnboundedReceiver<Repair>,
}

/// A connected reporter and its reports.
pub fn channel() -> (Reporter, Reports) {
    let (leader_tx, leader) = watch::channel(false);
    let (repairs_tx, repairs) = mpsc::unbounded_channel();
    (
        Reporter {
            leader: leader_tx,
            repairs: repairs_tx,
        },
        Reports { leader, repairs },
    )
}

impl Reporter {
    /// Records whether this instance holds the Lease now.
    pub(crate) fn leader(&self, holds: bool) {
        self.leader.send_if_modified(|current| {
            let changed = *current != holds;
            *current = holds;
            changed
        });
    }

    /// Sends a repair; nobody listening is not an error.
    pub(crate) fn repaired(&self, repair: Repair) {
        let _ = self.repairs.send(repair);
    }
}
