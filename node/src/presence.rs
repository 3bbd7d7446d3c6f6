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
use crate::relay;

/// At most this many members are dialled per announcement: enough for a province, bounded
/// for a national federation (issue 5's relays and Kademlia cover the rest).
const MAX_ANNOUNCE: usize = 256;

/// Runs until `shutdown`.
pub(crate) async fn announce(ctx: Arc<NodeContext>, shutdown: CancellationToken) {
    let mut roster = ctx.membership.clone();
    loop {
        let membership = roster.borrow_and_update().clone();
        let Some(membership) = membership else {
            tokio::select! {
                () = shutdown.cancelled() => return,
                changed = roster.changed() => if changed.is_err() { return },
            }
            continue;
        };
        let now = crate::clock::now();
        let mut members: Vec<_> = membership
            .members()
            .iter()
            .filter(|m| {
                m.record.organ_id != ctx.organ_id
                    && (!m.addresses.is_empty()
                        || !membership.relays_of(&m.record.organ_id, now).is_empty())
            })
            .collect();
        members.shuffle(&mut rand::rng());
        members.truncate(MAX_ANNOUNCE);
        for member in members {
            // Directly, or through the member's relays when it sits on another network.
            if relay::add_routes(&ctx, &membership, member).await.is_err() {
                return;
            }
            match ctx.network.connect(member.peer_id).await {
                Ok(Ok(())) => {}
                Ok(Err(reason)) => {
                    debug!(peer = %member.peer_id, reason = %reason, "cannot announce to a member")
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
