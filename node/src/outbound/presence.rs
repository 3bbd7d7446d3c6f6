//! Announcing this node to the federation: on start and whenever the roster changes, the
//! node connects to the members it knows addresses for. A node that restarted on another
//! address (or after an outage) is then known at once: its peers learn its current
//! addresses through identify, and their delivery engines retry what they hold for it the
//! moment it connects, instead of waiting out a backoff.

use rand::seq::SliceRandom as _;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::outbound::Outbound;
use crate::tasks::{Wake, Woken};

/// At most this many members are dialled per announcement: enough for a province, bounded
/// for a national federation.
const MAX_ANNOUNCE: usize = 128;

/// Members outside this node's province (level-one code) dialled per announcement. A node
/// exchanges mostly within its province; a national federation of a thousand nodes in
/// which each dialled hundreds of others at start held a quarter of a million connections.
/// Documents to other provinces dial their recipient when they are sent, and a few
/// connections outside keep the DHT and the national receipt topic joined up.
const MAX_ANNOUNCE_OUTSIDE: usize = 4;

/// Runs until `shutdown`.
pub(crate) async fn announce(outbound: Outbound, shutdown: CancellationToken) {
    let ctx = outbound.ctx().clone();
    let mut wake = Wake::until(shutdown)
        .at_start()
        .on_roster(ctx.membership.clone());
    while let Some(woken) = wake.next().await {
        let Some(membership) = ctx.roster() else {
            continue;
        };
        // The start's routes were given before any feature ran (`Node::spawn`); a new
        // roster's are given here, before the members it adds are dialled.
        if matches!(woken, Woken::Roster) && outbound.push_routes(&membership).await.is_err() {
            return;
        }
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
        // Own relays and own province first, then a few others.
        let province = ctx.organ_id.level_one();
        let own_relays = membership.relays_of(&ctx.organ_id, now);
        let (mut near, far): (Vec<_>, Vec<_>) = members.into_iter().partition(|m| {
            own_relays
                .iter()
                .any(|r| r.record.organ_id == m.record.organ_id)
                || (province.is_some() && m.record.organ_id.level_one() == province)
        });
        near.truncate(MAX_ANNOUNCE);
        // The province and the relays stay connected (gossip runs over them); connections
        // to the rest of the federation close once idle.
        let kept = near.iter().map(|m| m.peer_id).collect();
        if ctx.network.keep_connected(kept).await.is_err() {
            return;
        }
        near.extend(far.into_iter().take(MAX_ANNOUNCE_OUTSIDE));
        let members = near;
        for member in members {
            // Directly, or through the member's relays when it sits on another network:
            // the network has every route the roster gives.
            match ctx.network.connect(member.peer_id).await {
                Ok(Ok(())) => {}
                Ok(Err(reason)) => {
                    debug!(peer = %member.peer_id, reason = %reason, "cannot announce to a member")
                }
                Err(_) => return,
            }
        }
    }
}
