//! Announcing this node to the federation: on start and whenever the roster changes, the
//! node connects to the members it knows addresses for. A node that restarted on another
//! address (or after an outage) is then known at once: its peers learn its current
//! addresses through identify, and their delivery engines retry what they hold for it the
//! moment it connects, instead of waiting out a backoff.

use std::sync::Arc;

use rand::seq::SliceRandom as _;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::context::NodeContext;

/// At most this many members are dialled per announcement: enough for a province, bounded
/// for a national federation (issue 5's relays and Kademlia cover the rest).
const MAX_ANNOUNCE: usize = 256;

/// Runs until `shutdown`.
pub(crate) async fn announce(ctx: Arc<NodeContext>, shutdown: CancellationToken) {
    let mut roster = ctx.membership.clone();
    loop {
        let members: Vec<_> = match roster.borrow_and_update().as_ref() {
            Some(m) => m
                .members()
                .iter()
                .filter(|m| m.record.organ_id != ctx.organ_id && !m.addresses.is_empty())
                .map(|m| (m.peer_id, m.addresses.clone()))
                .collect(),
            None => Vec::new(),
        };
        let mut members = members;
        members.shuffle(&mut rand::rng());
        members.truncate(MAX_ANNOUNCE);
        for (peer, addresses) in members {
            if ctx.network.add_addresses(peer, addresses).await.is_err() {
                return;
            }
            match ctx.network.connect(peer).await {
                Ok(Ok(())) => {}
                Ok(Err(reason)) => {
                    debug!(peer = %peer, reason = %reason, "cannot announce to a member")
                }
                Err(_) => return,
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = roster.changed() => if changed.is_err() { return },
        }
    }
}
