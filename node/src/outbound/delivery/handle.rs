//! [`DeliveryHandle`]: what the rest of the node asks of the delivery engine. Submit tells
//! it about new outbox entries; the status API and the stuck list ask what is being sent
//! now and why a recipient cannot be reached.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::SignedPackage;
use tokio::sync::mpsc;

use super::schedule::DeliveryKey;
use crate::store::OutboxEntry;

/// What the rest of the node tells the engine.
#[derive(Debug)]
pub enum DeliveryCommand {
    /// A package and its outbox entries, durably stored: the engine keeps them for their
    /// first attempts instead of reading them back.
    Submitted {
        /// The signed package.
        package: Arc<SignedPackage>,
        /// One entry per recipient.
        entries: Vec<OutboxEntry>,
    },
}

/// The delivery engine's side of the node. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DeliveryHandle {
    commands: mpsc::Sender<DeliveryCommand>,
    status: Arc<Status>,
}

/// What the engine knows that the store does not say: for the status API.
#[derive(Debug, Default)]
pub(super) struct Status {
    /// Deliveries being attempted now, for the status API's `sending`.
    sending: Mutex<HashSet<DeliveryKey>>,
    /// Recipients the engine found unreachable, with the problem its last attempt met:
    /// their other deliveries wait for the next attempt without one of their own, so their
    /// stored entries do not say why; the status API and stuck list take it from here.
    unreachable: Mutex<HashMap<OrganId, String>>,
}

impl Status {
    pub(super) fn sending(&self, key: &DeliveryKey, now: bool) {
        if let Ok(mut sending) = self.sending.lock() {
            if now {
                sending.insert(key.clone());
            } else {
                sending.remove(key);
            }
        }
    }

    /// Notes (`Some`) or clears (`None`) why `recipient` cannot be reached.
    pub(super) fn set_unreachable(&self, recipient: &OrganId, problem: Option<String>) {
        if let Ok(mut unreachable) = self.unreachable.lock() {
            match problem {
                Some(problem) => unreachable.insert(recipient.clone(), problem),
                None => unreachable.remove(recipient),
            };
        }
    }
}

impl DeliveryHandle {
    pub(super) fn new(commands: mpsc::Sender<DeliveryCommand>, status: Arc<Status>) -> Self {
        DeliveryHandle { commands, status }
    }

    /// A package and its outbox entries, durably stored: the engine tries them at once,
    /// with what submit holds. A full queue only delays them: the engine also rescans the
    /// store.
    pub(crate) fn submitted(&self, package: Arc<SignedPackage>, entries: Vec<OutboxEntry>) {
        let _ = self
            .commands
            .try_send(DeliveryCommand::Submitted { package, entries });
    }

    /// Whether a delivery is being attempted now.
    pub fn is_sending(&self, key: &DeliveryKey) -> bool {
        self.status.sending.lock().is_ok_and(|s| s.contains(key))
    }

    /// Why `recipient` cannot be reached now, if the engine found it so.
    pub fn unreachable_problem(&self, recipient: &OrganId) -> Option<String> {
        self.status.unreachable.lock().ok()?.get(recipient).cloned()
    }
}
