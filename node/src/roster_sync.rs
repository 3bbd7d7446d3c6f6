//! Keeping the whole federation on the newest roster, and enforcing it.
//!
//! - Rosters spread on the gossip topic `lienthong/roster/1`: a node that takes a roster
//!   from its authority's file, or from a peer, publishes it; a node that receives one
//!   checks it before gossipsub forwards it further, so forged or stale rosters stop at the
//!   first honest node.
//! - On every new connection the node tells the peer which roster it has; a peer with a
//!   newer one answers with it.
//! - The network admits connections only from active members' nodes, recomputed whenever
//!   the roster changes and every minute (validity windows and key grace periods end by
//!   themselves).
//! - Peers that violate the wire protocol are blocked for `security.garbage_ban`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use libp2p::PeerId;
use lienthong_protocol::roster::RosterError;
use lienthong_protocol::wire::{Request, Response};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::clock;
use crate::context::NodeContext;
use crate::inbound::block_peer;
use crate::membership::{Membership, MembershipError, RosterSource};
use crate::metrics::Reason;
use crate::network::{GossipAcceptance, GossipMessage, NetworkEvent, RefusedReason};

/// The gossip topic of rosters.
pub const ROSTER_TOPIC: &str = "lienthong/roster/1";

/// How often the allow list is recomputed even without a roster change.
const RECHECK: Duration = Duration::from_secs(60);

/// Publishes a roster the node just took, so that its peers get it too.
pub(crate) async fn publish(ctx: &NodeContext, membership: &Membership) {
    if let Err(e) = ctx.network.publish(ROSTER_TOPIC, membership.bundle().to_wire()).await {
        debug!(error = %e, "roster not published");
    }
}

/// Counts and logs a refused roster.
pub(crate) fn refused(ctx: &NodeContext, error: &MembershipError, source: RosterSource) {
    ctx.metrics.roster_refused.get_or_create(&Reason { reason: error.label() }).inc();
    warn!(target: "lienthong::events::roster", %source, reason = error.label(), error = %error, "roster refused");
}

/// Offers a roster from a peer or gossip; blocking work on a blocking thread.
async fn offer(ctx: &Arc<NodeContext>, wire: Bytes, source: RosterSource) -> Result<Arc<Membership>, MembershipError> {
    let keeper = ctx.keeper.clone();
    match tokio::task::spawn_blocking(move || keeper.offer(wire, source)).await {
        Ok(result) => result,
        Err(e) => Err(MembershipError::Files {
            dir: String::new(),
            message: format!("roster task failed: {e}"),
        }),
    }
}

/// Checks every roster received by gossip, and tells gossipsub whether to pass it on.
pub(crate) async fn gossip(ctx: Arc<NodeContext>, mut messages: mpsc::Receiver<GossipMessage>, shutdown: CancellationToken) {
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => return,
            message = messages.recv() => match message {
                Some(message) => message,
                None => return,
            },
        };
        if message.topic != ROSTER_TOPIC {
            let _ = ctx.network.report_gossip(message.id, message.source, GossipAcceptance::Ignore).await;
            continue;
        }
        let source = RosterSource::Gossip(message.source);
        let acceptance = match offer(&ctx, message.data, source).await {
            Ok(_) => {
                ctx.metrics.roster_updates.inc();
                GossipAcceptance::Accept
            }
            // Old news: nothing wrong, nothing to pass on.
            Err(MembershipError::Refused(RosterError::NotNewer(_))) => GossipAcceptance::Ignore,
            Err(e) => {
                refused(&ctx, &e, source);
                GossipAcceptance::Reject
            }
        };
        let _ = ctx.network.report_gossip(message.id, message.source, acceptance).await;
    }
}

/// Asks each newly connected peer for a newer roster; blocks peers the network reports for
/// protocol violations; counts refused connections.
pub(crate) async fn on_connections(ctx: Arc<NodeContext>, shutdown: CancellationToken) {
    let mut events = ctx.network.subscribe();
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => return,
            event = events.recv() => event,
        };
        match event {
            Ok(NetworkEvent::PeerConnected(peer)) => {
                let ctx = ctx.clone();
                tokio::spawn(async move { fetch_from(&ctx, peer).await });
            }
            Ok(NetworkEvent::ProtocolViolation { peer, reason }) => {
                ctx.metrics.reject("malformed_frame");
                warn!(target: "lienthong::events::rejected", peer = %peer, reason = "malformed_frame", detail = %reason, "frame refused");
                block_peer(&ctx, peer, "violated the wire protocol").await;
            }
            Ok(NetworkEvent::ConnectionRefused { peer, reason }) => {
                let label = match reason {
                    RefusedReason::NotAllowed => "not_a_member",
                    RefusedReason::Blocked => "blocked",
                };
                ctx.metrics.connections_refused.get_or_create(&Reason { reason: label }).inc();
                debug!(target: "lienthong::events::refused", peer = %peer, reason = label, "connection refused");
            }
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn fetch_from(ctx: &Arc<NodeContext>, peer: PeerId) {
    let Some(current) = ctx.roster() else { return };
    let query = Request::RosterQuery(current.version()).encode();
    let Ok(frame) = ctx.network.request(peer, query).await else { return };
    let limits = ctx.limits;
    let Ok(Ok(response)) = tokio::task::spawn_blocking(move || Response::decode(frame, &limits)).await else {
        return;
    };
    if let Response::Roster(wire) = response {
        let source = RosterSource::Peer(peer);
        match offer(ctx, wire, source).await {
            Ok(membership) => {
                ctx.metrics.roster_updates.inc();
                publish(ctx, &membership).await;
            }
            Err(MembershipError::Refused(RosterError::NotNewer(_))) => {}
            Err(e) => refused(ctx, &e, source),
        }
    }
}

/// Keeps the network's allow list equal to the active members' nodes.
pub(crate) async fn enforce(ctx: Arc<NodeContext>, shutdown: CancellationToken) {
    let mut roster = ctx.membership.clone();
    let mut recheck = tokio::time::interval(RECHECK);
    loop {
        let allowed = roster.borrow_and_update().as_ref().map(|m| {
            ctx.metrics.roster_members.set(i64::try_from(m.members().len()).unwrap_or(i64::MAX));
            let mut peers = m.allowed_peers(clock::now());
            peers.remove(&ctx.network.local_peer_id());
            peers
        });
        if ctx.network.set_allowed(allowed).await.is_err() {
            return;
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = roster.changed() => if changed.is_err() { return },
            _ = recheck.tick() => {}
        }
    }
}
