//! The federation's roster: who is a member, with which key, behind which relay.
//!
//! - [`membership`]: the verified roster, indexed, kept and reloaded by the node.
//! - `sync.rs`: rosters on gossip, a newer one fetched on connect, the allow list enforced,
//!   probation for unknown peers, the roster file an authority installs.
//! - [`rotation`]: switching to a rotated agency key.
//! - [`federation`]: the authority's operations: create a federation, admit nodes.

pub mod federation;
pub mod membership;
pub mod rotation;
pub(crate) mod sync;
