//! Catching up: on every new connection to a member, and every `receipts.sync_interval`
//! with each connected member of its province, this node asks for the receipts the peer recorded since
//! the last time ("since cursor") that concern this agency, and records those it lacks.
//! Receipts missed while a network was cut (a handover that failed, gossip that never
//! arrived) so converge once any connection between the two parties is back.
//!
//! The answering side gives the receipts it signed or recorded that the asking agency
//! could have seen by gossip: those about packages it sent or received, and, of the
//! receipts this node's agency signed, those gossiped on the asker's province topic (so a
//! monitoring office catches up too). Catching up reveals nothing gossip would not.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt as _;

use libp2p::PeerId;
use lienthong_protocol::OrganId;
use lienthong_protocol::wire::{
    MAX_RECEIPT_BATCH, ReceiptPage, ReceiptsSince, RejectReason, Rejection,
};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::clock;
use crate::context::NodeContext;
use crate::network::NetworkEvent;
use crate::outbound::Outbound;
use crate::tasks::{Stage, Wake, Woken};

/// Log entries the answering side reads for one request, whatever it returns: bounds the
/// work a request can cause.
const SCAN_LIMIT: usize = 4096;
/// Requests per catch-up with one peer: bounds one catch-up whatever the peer says.
const MAX_ROUNDS: usize = 256;
/// Members a monitoring node catches up with at once in its periodic sweep.
const SWEEP_CONCURRENCY: usize = 4;

/// Answers [`Request::ReceiptsSince`] from `peer`.
pub(crate) fn answer(
    ctx: &NodeContext,
    peer: PeerId,
    cursor: u64,
    limit: u32,
) -> Result<ReceiptPage, Rejection> {
    let Some(roster) = ctx.roster() else {
        return reject(RejectReason::UnknownAgency, "this node has no roster yet");
    };
    let Some(member) = roster.member_by_peer(&peer, clock::now()) else {
        return reject(
            RejectReason::UnknownAgency,
            format!("{peer} is not a member's node"),
        );
    };
    let agency = member.record.organ_id.clone();
    let limit = usize::try_from(limit.min(MAX_RECEIPT_BATCH)).unwrap_or(1);
    let me = ctx.organ_id.clone();
    let wanted = |receipt: &lienthong_protocol::envelope::ReceiptFields| {
        receipt.sender == agency
            || receipt.recipient == agency
            || (receipt.issuer() == &me && super::gossip::visible_to(receipt, &agency))
    };
    match ctx.store.receipts_since(cursor, wanted, limit, SCAN_LIMIT) {
        Ok(page) => Ok(ReceiptPage {
            receipts: page.receipts,
            next_cursor: page.next_cursor,
            more: page.more,
        }),
        Err(e) => {
            warn!(error = %e, "cannot read the receipt log");
            reject(
                RejectReason::Unavailable,
                "the receipt log cannot be read now",
            )
        }
    }
}

/// A refusal: the `Err` a handler returns.
fn reject<T>(reason: RejectReason, detail: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection {
        reason,
        detail: detail.into(),
    })
}

/// Runs until `shutdown`: catches up with each member as it connects, and with every
/// connected member periodically.
pub(crate) async fn run(ctx: Arc<NodeContext>, outbound: Outbound, shutdown: CancellationToken) {
    let mut wake = Wake::until(shutdown)
        .every_after(ctx.config.receipts.sync_interval)
        .on_events(ctx.network.subscribe());
    let sweeping = Arc::new(AtomicBool::new(false));
    while let Some(woken) = wake.next().await {
        let peers: Vec<PeerId> = match woken {
            Woken::Tick => {
                if ctx.config.receipts.monitor {
                    // A monitoring office catches up with every member of its province,
                    // connected or not: gossip it missed has no other way back. A few at a
                    // time, and one sweep at a time: a province of a hundred members asked
                    // all at once is a burst of dials and log scans for every one of them.
                    if !sweeping.swap(true, Ordering::AcqRel) {
                        let ctx = ctx.clone();
                        let outbound = outbound.clone();
                        let sweeping = sweeping.clone();
                        ctx.tasks
                            .clone()
                            .spawn(Stage::Work, "receipt sweep", async move {
                                // Cleared however the sweep ends, a panic included.
                                let _sweeping = Sweeping(sweeping);
                                futures::stream::iter(province_members(&ctx))
                                    .for_each_concurrent(SWEEP_CONCURRENCY, |agency| {
                                        let ctx = ctx.clone();
                                        let outbound = outbound.clone();
                                        async move { catch_up(&ctx, &outbound, &agency).await }
                                    })
                                    .await;
                            });
                    }
                    continue;
                }
                match ctx.network.connected_peers().await {
                    // Only the province's members: a request every interval keeps a
                    // connection from ever going idle, and connections to the rest of a
                    // national federation (a DHT query's, a one-off delivery's) should
                    // close. Others are caught up with whenever they connect.
                    Ok(peers) => peers
                        .into_iter()
                        .filter(|p| p.connected)
                        .map(|p| p.peer_id)
                        .filter(|p| {
                            member_agency(&ctx, p).is_some_and(|agency| {
                                super::gossip::province_topic(&agency)
                                    == super::gossip::province_topic(&ctx.organ_id)
                            })
                        })
                        .collect(),
                    Err(_) => return,
                }
            }
            Woken::Event(NetworkEvent::PeerConnected(peer)) => vec![peer],
            Woken::Event(_) | Woken::Lagged | Woken::Start | Woken::Notified | Woken::Roster => {
                continue;
            }
        };
        for peer in peers {
            let Some(agency) = member_agency(&ctx, &peer) else {
                continue;
            };
            let task = ctx.clone();
            let outbound = outbound.clone();
            ctx.tasks
                .spawn(Stage::Work, "receipt catch-up", async move {
                    catch_up(&task, &outbound, &agency).await;
                });
        }
    }
}

/// Marks the monitoring sweep as running until dropped.
struct Sweeping(Arc<AtomicBool>);

impl Drop for Sweeping {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The active members on this node's province topic, but itself.
fn province_members(ctx: &NodeContext) -> Vec<OrganId> {
    let Some(roster) = ctx.roster() else {
        return Vec::new();
    };
    let now = clock::now();
    let mine = super::gossip::province_topic(&ctx.organ_id);
    roster
        .members()
        .iter()
        .map(|m| m.record.organ_id.clone())
        .filter(|agency| agency != &ctx.organ_id)
        .filter(|agency| super::gossip::province_topic(agency) == mine)
        .filter(|agency| matches!(roster.active(agency, now), Ok(Some(_))))
        .collect()
}

fn member_agency(ctx: &NodeContext, peer: &PeerId) -> Option<OrganId> {
    let roster = ctx.roster()?;
    let member = roster.member_by_peer(peer, clock::now())?;
    (member.record.organ_id != ctx.organ_id).then(|| member.record.organ_id.clone())
}

/// Asks `agency`'s node for what it recorded since the last catch-up, page by page, and
/// records what concerns this node.
pub(crate) async fn catch_up(ctx: &Arc<NodeContext>, outbound: &Outbound, agency: &OrganId) {
    let peer = agency.clone();
    let Ok(mut cursor) = ctx.store.call(move |store| store.sync_cursor(&peer)).await else {
        return;
    };
    let mut recorded = 0u64;
    for _ in 0..MAX_ROUNDS {
        let request = ReceiptsSince {
            cursor,
            limit: MAX_RECEIPT_BATCH,
        };
        let ReceiptPage {
            receipts,
            next_cursor,
            more,
        } = match outbound.call(agency, request).await {
            Ok(page) => page,
            Err(problem) if problem.answered() => {
                debug!(%agency, answer = %problem, "no receipts to catch up with");
                return;
            }
            Err(problem) => {
                debug!(%agency, %problem, "cannot catch up now");
                return;
            }
        };
        let worker = ctx.clone();
        let from = agency.clone();
        let outcome = ctx
            .store
            .call(move |_| {
                let new = super::gossip::keep_all(&worker, &receipts)?;
                // Every member is asked every interval; most answers move nothing, and a
                // durable write for each would cost an fsync per peer per interval.
                if next_cursor == cursor {
                    return Ok(new);
                }
                worker
                    .store
                    .set_sync_cursor(&from, next_cursor)
                    .map(|()| new)
            })
            .await;
        match outcome {
            Ok(new) => recorded += new,
            Err(e) => {
                warn!(error = %e, "cannot record a catch-up");
                return;
            }
        }
        cursor = next_cursor;
        if !more {
            break;
        }
    }
    if recorded > 0 {
        ctx.metrics.receipts_caught_up.inc_by(recorded);
        info!(target: "lienthong::events::caught_up", %agency, receipts = recorded, "receipts caught up");
    }
}
