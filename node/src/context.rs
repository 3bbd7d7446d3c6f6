//! The floor every feature of a running node stands on: who it is, its settings, its store,
//! its network, the roster, its counters and its tasks.
//!
//! Nothing here belongs to one feature, and this file imports none: each feature (the
//! delivery engine, inbound acceptance, the relay server, roster sync, discovery) owns its
//! own state and offers a handle to the others (`DeliveryHandle`, `Inbound`, `RelayServer`,
//! `ReceiptsHandle`, `Outbound`). `node.rs` builds the floor, then the features on it.
//! The clock is [`crate::clock`], the wall clock, which holds no state.

use std::sync::Arc;

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::EnvelopeLimits;

use crate::config::Config;
use crate::identity::Identity;
use crate::network::NetworkHandle;
use crate::ops::metrics::Metrics;
use crate::roster::membership::{Membership, MembershipWatch, RosterKeeper};
use crate::store::Store;
use crate::tasks::Tasks;

/// What every part of one node shares. Cheap to share behind an `Arc`; nothing in it is
/// held across an `.await` under a lock.
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
    /// Every task the node runs, for features that start their own.
    pub tasks: Tasks,
}

impl NodeContext {
    /// The roster as it is now; `None` before the node is admitted.
    pub fn roster(&self) -> Option<Arc<Membership>> {
        self.membership.borrow().clone()
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
