//! What every part of a running node shares: who it is, its settings, its store, its
//! network handle and the current roster.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::EnvelopeLimits;
use tokio::sync::mpsc;

use crate::abuse::PeerLimiter;
use crate::config::Config;
use crate::delivery::DeliveryCommand;
use crate::delivery::schedule::DeliveryKey;
use crate::identity::Identity;
use crate::membership::{Membership, MembershipWatch, RosterKeeper};
use crate::metrics::Metrics;
use crate::network::NetworkHandle;
use crate::relay::{Opening, RelayServer};
use crate::store::Store;
use crate::tasks::Tasks;

/// Shared state of one node. Cheap to share behind an `Arc`; nothing in it is held across
/// an `.await` under a lock.
#[derive(Debug)]
pub struct NodeContext {
    /// This agency's id.
    pub organ_id: OrganId,
    /// The agency key (and libp2p identity).
    pub identity: Identity,
    /// The settings the node started with.
    pub config: Config,
    /// Envelope limits derived from the config.
    pub limits: EnvelopeLimits,
    /// The durable store.
    pub store: Store,
    /// The network.
    pub network: NetworkHandle,
    /// The current roster.
    pub membership: MembershipWatch,
    /// Takes, merges and persists rosters from every source.
    pub keeper: Arc<RosterKeeper>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Per-peer limits on inbound requests.
    pub limiter: Arc<PeerLimiter>,
    /// Unknown peers given a short probation to exchange rosters.
    pub(crate) probation: crate::roster_sync::Probation,
    /// When each agency was last looked up in the DHT.
    pub(crate) lookups: crate::discovery::Lookups,
    /// Commands to the delivery engine.
    pub delivery: mpsc::Sender<DeliveryCommand>,
    /// Deliveries being attempted now, for the status API's `sending`.
    pub sending: Mutex<HashSet<DeliveryKey>>,
    /// Recipients the delivery engine found unreachable, with the problem its last attempt
    /// met: their other deliveries wait for the next attempt without one of their own, so
    /// their stored entries do not say why; the status API and stuck list take it from here.
    pub(crate) unreachable: Mutex<HashMap<OrganId, String>>,
    /// Opens packages sealed to this agency.
    pub opening: Opening,
    /// On a relay node: who it serves, and its forwarding task's wake-up.
    pub relay: Option<RelayServer>,
    /// The largest frame the network takes, which a mailbox answer must fit.
    pub max_frame_size: usize,
    /// Wakes the task that hands this agency's receipts to their addressees.
    pub receipt_delivery: Arc<tokio::sync::Notify>,
    /// Wakes the task that gossips the receipts this agency signs.
    pub receipt_gossip: Arc<tokio::sync::Notify>,
    /// Every task the node runs, for features that start their own.
    pub tasks: Tasks,
}

impl NodeContext {
    /// The roster as it is now; `None` before the node is admitted.
    pub fn roster(&self) -> Option<Arc<Membership>> {
        self.membership.borrow().clone()
    }

    /// Whether a delivery is being attempted now.
    pub fn is_sending(&self, key: &DeliveryKey) -> bool {
        self.sending.lock().is_ok_and(|s| s.contains(key))
    }

    /// Notes (`Some`) or clears (`None`) why `recipient` cannot be reached.
    pub(crate) fn set_unreachable(&self, recipient: &OrganId, problem: Option<String>) {
        if let Ok(mut unreachable) = self.unreachable.lock() {
            match problem {
                Some(problem) => unreachable.insert(recipient.clone(), problem),
                None => unreachable.remove(recipient),
            };
        }
    }

    /// Why `recipient` cannot be reached now, if the delivery engine found it so.
    pub(crate) fn unreachable_problem(&self, recipient: &OrganId) -> Option<String> {
        self.unreachable.lock().ok()?.get(recipient).cloned()
    }
}

/// Envelope limits from the config's `[limits]`.
pub fn envelope_limits(config: &Config) -> EnvelopeLimits {
    EnvelopeLimits {
        max_content_len: config.limits.max_package_size.as_u64(),
        max_recipients: config.limits.max_recipients,
        ..EnvelopeLimits::default()
    }
}
