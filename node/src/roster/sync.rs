//! Keeping the whole federation on the newest roster, and enforcing it.
//!
//! - Rosters spread on the gossip topic `lienthong/roster/1`: a node that takes a roster
//!   from its authority's file, or from a peer, publishes it; a node that receives one
//!   checks it before gossipsub forwards it further, so forged or stale rosters stop at the
//!   first honest node.
//! - On every new connection the node tells the peer which roster it has; a peer with a
//!   newer one answers with it.
//! - Connections from nodes outside the roster are closed. A node newly admitted by another
//!   authority is outside this node's roster until the roster update reaches it, and the
//!   update may be exactly what that node brings; so an unknown peer gets a short
//!   probation ([`PROBATION`]) in which it can only exchange rosters, and is then
//!   disconnected and refused for [`NON_MEMBER_BAN`] unless the roster now lists it. At most
//!   [`MAX_PROBATION`] peers are on probation at once; beyond that they are refused at once.
//!   Members that are revoked, expired, or whose old key's grace period ended are cut off
//!   when the roster changes or their time runs out (checked every few seconds).
//! - Peers that violate the wire protocol are blocked for `security.garbage_ban`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use libp2p::PeerId;
use lienthong_protocol::roster::RosterError;
use lienthong_protocol::wire::{Call as _, Request, Response, RosterAnswer, RosterQuery};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::clock;
use crate::context::NodeContext;
use crate::inbound::block_peer;
use crate::network::{GossipAcceptance, GossipMessage, NetworkEvent, RefusedReason};
use crate::ops::metrics::Reason;
use crate::roster::membership::{Membership, MembershipError, RosterKeeper, RosterSource};
use crate::tasks::{Stage, Wake, Woken, blocking};

/// The gossip topic of rosters.
pub(crate) const ROSTER_TOPIC: &str = "lienthong/roster/1";

/// How often connected peers are checked against the roster even without a roster change:
/// grace periods and validity windows end by themselves.
const RECHECK: Duration = Duration::from_secs(5);

/// How long an unknown peer may stay connected to exchange rosters.
pub(crate) const PROBATION: Duration = Duration::from_secs(10);

/// How long an unknown peer is refused after its probation.
pub(crate) const NON_MEMBER_BAN: Duration = Duration::from_secs(60);

/// Most unknown peers on probation at once.
pub(crate) const MAX_PROBATION: usize = 32;

/// Unknown peers on probation now.
#[derive(Debug, Default)]
pub(crate) struct Probation {
    peers: std::sync::Mutex<std::collections::HashSet<PeerId>>,
}

impl Probation {
    fn start(&self, peer: PeerId) -> bool {
        let Ok(mut peers) = self.peers.lock() else {
            return false;
        };
        if peers.len() >= MAX_PROBATION {
            return false;
        }
        peers.insert(peer)
    }

    fn end(&self, peer: &PeerId) {
        if let Ok(mut peers) = self.peers.lock() {
            peers.remove(peer);
        }
    }

    fn contains(&self, peer: &PeerId) -> bool {
        self.peers.lock().is_ok_and(|p| p.contains(peer))
    }
}

/// Where a connected peer stands with this node's roster.
enum Standing {
    Member,
    /// Listed, but revoked, expired, or an old key past its grace.
    Inactive,
    Unknown,
}

fn standing(ctx: &NodeContext, peer: &PeerId) -> Standing {
    let Some(roster) = ctx.roster() else {
        // A node without a roster refuses nobody: it accepts nothing anyway.
        return Standing::Member;
    };
    let now = clock::now();
    match roster.member_by_peer(peer, now) {
        Some(m) if m.record.status_at(now) == lienthong_protocol::roster::MemberStatus::Active => {
            Standing::Member
        }
        Some(_) => Standing::Inactive,
        None if roster.members().iter().any(|m| {
            m.record
                .previous_keys
                .iter()
                .any(|k| k.peer_id == peer.to_string())
        }) =>
        {
            Standing::Inactive
        }
        None => Standing::Unknown,
    }
}

/// Closes a connection from a peer that is not an active member, and refuses it for a while.
async fn cut_off(ctx: &NodeContext, peer: PeerId, label: &'static str, ban: Duration) {
    ctx.metrics
        .connections_refused
        .get_or_create(&Reason { reason: label })
        .inc();
    info!(target: "lienthong::events::refused", peer = %peer, reason = label, "connection refused: not an active member");
    if let Err(e) = ctx.network.block(peer, ban).await {
        debug!(error = %e, "cannot refuse a peer");
    }
}

/// An unknown peer's probation: after it, the peer stays only if the roster now lists it.
async fn probation(ctx: Arc<NodeContext>, on_probation: Arc<Probation>, peer: PeerId) {
    tokio::time::sleep(PROBATION).await;
    on_probation.end(&peer);
    match standing(&ctx, &peer) {
        Standing::Member => debug!(peer = %peer, "peer on probation is a member now"),
        Standing::Inactive | Standing::Unknown => {
            cut_off(&ctx, peer, "not_a_member", NON_MEMBER_BAN).await
        }
    }
}

/// Publishes a roster the node just took, so that its peers get it too.
pub(crate) async fn publish(ctx: &NodeContext, membership: &Membership) {
    if let Err(e) = ctx
        .network
        .publish(ROSTER_TOPIC, membership.bundle().to_wire())
        .await
    {
        debug!(error = %e, "roster not published");
    }
}

/// Counts and logs a refused roster. An old roster is common (gossip brings the same one
/// from several peers) and logged at debug; anything else is a warning.
pub(crate) fn refused(ctx: &NodeContext, error: &MembershipError, source: RosterSource) {
    ctx.metrics
        .roster_refused
        .get_or_create(&Reason {
            reason: error.label(),
        })
        .inc();
    if matches!(error, MembershipError::Refused(RosterError::NotNewer(_))) {
        debug!(target: "lienthong::events::roster", %source, reason = error.label(), error = %error, "roster refused");
    } else {
        warn!(target: "lienthong::events::roster", %source, reason = error.label(), error = %error, "roster refused");
    }
}

/// Offers a roster from a peer or gossip; blocking work on a blocking thread.
async fn offer(
    ctx: &Arc<NodeContext>,
    wire: Bytes,
    source: RosterSource,
) -> Result<Arc<Membership>, MembershipError> {
    let keeper = ctx.keeper.clone();
    match blocking(move || keeper.offer(wire, source)).await {
        Ok(result) => result,
        Err(e) => Err(MembershipError::Files {
            dir: String::new(),
            message: format!("roster task failed: {e}"),
        }),
    }
}

/// Checks every roster received by gossip, and tells gossipsub whether to pass it on.
pub(crate) async fn gossip(
    ctx: Arc<NodeContext>,
    mut messages: mpsc::Receiver<GossipMessage>,
    shutdown: CancellationToken,
) {
    while let Some(Some(message)) = shutdown.run_until_cancelled(messages.recv()).await {
        if message.topic != ROSTER_TOPIC {
            let _ = ctx
                .network
                .report_gossip(message.id, message.source, GossipAcceptance::Ignore)
                .await;
            continue;
        }
        let source = RosterSource::Gossip(message.source);
        let acceptance = match offer(&ctx, message.data, source).await {
            Ok(_) => {
                ctx.metrics.roster_updates.inc();
                GossipAcceptance::Accept
            }
            // Old news: nothing wrong, nothing to pass on.
            Err(e @ MembershipError::Refused(RosterError::NotNewer(_))) => {
                refused(&ctx, &e, source);
                GossipAcceptance::Ignore
            }
            Err(e) => {
                refused(&ctx, &e, source);
                GossipAcceptance::Reject
            }
        };
        let _ = ctx
            .network
            .report_gossip(message.id, message.source, acceptance)
            .await;
    }
}

/// Asks each newly connected peer for a newer roster; blocks peers the network reports for
/// protocol violations; counts refused connections.
pub(crate) async fn on_connections(
    ctx: Arc<NodeContext>,
    on_probation: Arc<Probation>,
    shutdown: CancellationToken,
) {
    let mut wake = Wake::until(shutdown).on_events(ctx.network.subscribe());
    while let Some(woken) = wake.next().await {
        let Woken::Event(event) = woken else {
            continue;
        };
        match event {
            NetworkEvent::PeerConnected(peer) => {
                match standing(&ctx, &peer) {
                    Standing::Member => {}
                    Standing::Inactive => {
                        cut_off(&ctx, peer, "not_a_member", ctx.config.security.garbage_ban).await;
                        continue;
                    }
                    Standing::Unknown if on_probation.start(peer) => {
                        ctx.tasks.spawn(
                            Stage::Work,
                            "probation",
                            probation(ctx.clone(), on_probation.clone(), peer),
                        );
                    }
                    Standing::Unknown => {
                        cut_off(&ctx, peer, "not_a_member", NON_MEMBER_BAN).await;
                        continue;
                    }
                }
                let task = ctx.clone();
                ctx.tasks.spawn(Stage::Work, "roster fetch", async move {
                    fetch_from(&task, peer).await;
                });
            }
            NetworkEvent::ProtocolViolation { peer, reason } => {
                ctx.metrics.reject("malformed_frame");
                warn!(target: "lienthong::events::rejected", peer = %peer, reason = "malformed_frame", detail = %reason, "frame refused");
                block_peer(&ctx, peer, "violated the wire protocol").await;
            }
            NetworkEvent::ConnectionRefused { peer, reason } => {
                let label = match reason {
                    RefusedReason::NotAllowed => "not_a_member",
                    RefusedReason::Blocked => "blocked",
                };
                ctx.metrics
                    .connections_refused
                    .get_or_create(&Reason { reason: label })
                    .inc();
                debug!(target: "lienthong::events::refused", peer = %peer, reason = label, "connection refused");
            }
            _ => {}
        }
    }
}

async fn fetch_from(ctx: &Arc<NodeContext>, peer: PeerId) {
    let Some(current) = ctx.roster() else { return };
    let query = Request::from(RosterQuery(current.version())).encode();
    let Ok(frame) = ctx.network.request(peer, query).await else {
        return;
    };
    let limits = ctx.limits;
    let Ok(Ok(response)) = blocking(move || Response::decode(frame, &limits)).await else {
        return;
    };
    if let Ok(RosterAnswer::Newer(wire)) = RosterQuery::answer(response) {
        let source = RosterSource::Peer(peer);
        match offer(ctx, wire, source).await {
            Ok(membership) => {
                ctx.metrics.roster_updates.inc();
                publish(ctx, &membership).await;
            }
            Err(e) => refused(ctx, &e, source),
        }
    }
}

/// Cuts off connected peers that stopped being active members: on every roster change,
/// and every few seconds for windows and grace periods that end by themselves.
pub(crate) async fn enforce(
    ctx: Arc<NodeContext>,
    on_probation: Arc<Probation>,
    shutdown: CancellationToken,
) {
    let mut wake = Wake::until(shutdown)
        .every(RECHECK)
        .on_roster(ctx.membership.clone());
    while wake.next().await.is_some() {
        if let Some(m) = ctx.roster() {
            ctx.metrics
                .roster_members
                .set(i64::try_from(m.members().len()).unwrap_or(i64::MAX));
        }
        let Ok(peers) = ctx.network.connected_peers().await else {
            return;
        };
        for peer in peers.into_iter().filter(|p| p.connected).map(|p| p.peer_id) {
            if on_probation.contains(&peer) {
                continue;
            }
            match standing(&ctx, &peer) {
                Standing::Member => {}
                Standing::Inactive => {
                    cut_off(&ctx, peer, "not_a_member", ctx.config.security.garbage_ban).await
                }
                Standing::Unknown => cut_off(&ctx, peer, "not_a_member", NON_MEMBER_BAN).await,
            }
        }
    }
}

/// Watches `roster.bin` for rosters an authority installs and offers each.
pub(crate) async fn watch_roster_file(
    keeper: Arc<RosterKeeper>,
    interval: Duration,
    on_refused: impl Fn(&MembershipError) + Send + 'static,
    on_taken: impl Fn(Arc<Membership>) + Send + 'static,
    shutdown: CancellationToken,
) {
    let path = keeper.data_dir().roster();
    let mut seen = stamp(&path);
    let mut wake = Wake::until(shutdown).every_after(interval);
    while wake.next().await.is_some() {
        let now = stamp(&path);
        if now == seen {
            continue;
        }
        seen = now;
        let Ok(wire) = std::fs::read(&path) else {
            continue;
        };
        let keeper = keeper.clone();
        match blocking(move || keeper.offer(Bytes::from(wire), RosterSource::File)).await {
            Ok(Ok(membership)) => on_taken(membership),
            Ok(Err(MembershipError::Refused(RosterError::NotNewer(_)))) => {}
            Ok(Err(e)) => {
                warn!(target: "lienthong::events::roster", error = %e, source = "roster.bin", "new roster refused; keeping the current one");
                on_refused(&e);
            }
            Err(e) => warn!(error = %e, "roster reload task failed"),
        }
    }
}

/// What identifies a version of a file cheaply: modification time and length.
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}
