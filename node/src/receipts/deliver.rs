//! Handing the receipts this agency signs (for its QLVB's status messages) to the agency
//! they are for: directly, or, when that node cannot be reached, to one of its relays,
//! which holds the receipt durably and forwards it. A receipt leaves the queue only when
//! the addressee or a relay has stored it, or the addressee refuses it for good.
//!
//! The queue is in the store (`receipt_out`), so a restart resumes it. The task wakes when
//! a receipt is issued, when a member connects, and every `receipts.retry_interval`.

use std::sync::Arc;

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::{ReceiptId, SignedReceipt};
use lienthong_protocol::wire::{Acked, HandReceipt, ReceiptAccepted, RelayReceipt};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, info, warn};

use crate::clock;
use crate::context::NodeContext;
use crate::network::NetworkEvent;
use crate::outbound::{Drain, Outbound, OutboundError, Passed};
use crate::receipts::ReceiptsHandle;
use crate::tasks::{Wake, Woken};

/// Receipts read from the queue 64 at a time, 8 in flight at once per addressee, at most
/// 256 batches per addressee per pass (bounds one pass whatever the queue holds).
const QUEUE: Drain = Drain {
    batch: 64,
    in_flight: 8,
    max_batches: 256,
};

/// Runs until `shutdown`.
pub(crate) async fn run(
    ctx: Arc<NodeContext>,
    outbound: Outbound,
    receipts: ReceiptsHandle,
    shutdown: CancellationToken,
) {
    let mut wake = Wake::until(shutdown)
        .every(ctx.config.receipts.retry_interval)
        .on_notify(receipts.handover.clone())
        .on_events(ctx.network.subscribe());
    while let Some(woken) = wake.next().await {
        if let Woken::Event(event) = woken
            && !matches!(event, NetworkEvent::PeerConnected(_))
        {
            continue;
        }
        pass(&ctx, &outbound).await;
    }
}

/// One pass: every addressee at once, each one's receipts in turn.
async fn pass(ctx: &Arc<NodeContext>, outbound: &Outbound) {
    let destinations = match ctx.store.call(|store| store.receipt_destinations()).await {
        Ok(destinations) => destinations,
        Err(e) => {
            warn!(error = %e, "cannot read the receipts to hand over");
            return;
        }
    };
    let mut all = JoinSet::new();
    for to in destinations {
        let ctx = ctx.clone();
        let outbound = outbound.clone();
        all.spawn(async move { hand_over(&ctx, &outbound, &to).await }.in_current_span());
    }
    while all.join_next().await.is_some() {}
}

/// Where one receipt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handed {
    /// Stored by the addressee or a relay, or refused for good: off the queue.
    Done,
    /// Nobody took it: stop for this pass.
    Kept,
}

async fn hand_over(ctx: &Arc<NodeContext>, outbound: &Outbound, to: &OrganId) {
    QUEUE
        .run(
            |batch| {
                let addressee = to.clone();
                async move {
                    ctx.store
                        .call(move |store| store.receipts_to_deliver(&addressee, batch))
                        .await
                        .inspect_err(|e| warn!(error = %e, "cannot read the receipts to hand over"))
                        .ok()
                }
            },
            |receipt| async move {
                let passed = match hand_one(ctx, outbound, to, &receipt).await {
                    Handed::Done => Passed::Yes,
                    // Nobody took it: the rest waits for the next pass.
                    Handed::Kept => Passed::Stop,
                };
                (receipt.id(), passed)
            },
            |outcomes| {
                let done: Vec<ReceiptId> = outcomes
                    .into_iter()
                    .filter(|(_, passed)| *passed == Passed::Yes)
                    .map(|(id, _)| id)
                    .collect();
                let addressee = to.clone();
                async move {
                    ctx.store
                        .call(move |store| store.receipts_delivered(&addressee, &done))
                        .await
                        .inspect_err(|e| warn!(error = %e, "cannot record receipts handed over; they will be sent again"))
                        .is_ok()
                }
            },
        )
        .await;
}

/// Hands one receipt to `to`, or else to one of `to`'s relays.
async fn hand_one(
    ctx: &Arc<NodeContext>,
    outbound: &Outbound,
    to: &OrganId,
    receipt: &SignedReceipt,
) -> Handed {
    if reached_through_axis(ctx, to).await {
        // Its QLVB's status message went to the axis as a package of its own (the axis
        // path); an agency off the federation has no node to take the signed receipt.
        debug!(%to, package = %receipt.package_id(), "receipt for an agency on the axis: its status went through the axis");
        return Handed::Done;
    }
    let problem = match outbound.call(to, HandReceipt(receipt.clone())).await {
        Ok(ReceiptAccepted { .. }) => {
            ctx.metrics.receipts_handed.inc();
            info!(target: "lienthong::events::receipt_delivered", package = %receipt.package_id(), %to, code = %receipt.code(), "receipt delivered");
            return Handed::Done;
        }
        Err(OutboundError::Rejected { rejection, .. }) if !rejection.reason.is_retryable() => {
            warn!(receipt = %receipt.id(), %to, %rejection, "receipt refused by its addressee; dropped");
            return Handed::Done;
        }
        Err(problem) => problem,
    };
    debug!(%to, %problem, "addressee not reachable; trying its relays");
    let Some(roster) = ctx.roster() else {
        return Handed::Kept;
    };
    let relays: Vec<OrganId> = roster
        .relays_of(to, clock::now())
        .into_iter()
        .map(|m| m.record.organ_id.clone())
        .filter(|relay| relay != &ctx.organ_id)
        .collect();
    for relay in relays {
        match outbound.call(&relay, RelayReceipt(receipt.clone())).await {
            Ok(Acked { count: 1 }) => {
                ctx.metrics.receipts_handed.inc();
                info!(target: "lienthong::events::receipt_delivered", package = %receipt.package_id(), %to, %relay, code = %receipt.code(), "receipt handed to a relay");
                return Handed::Done;
            }
            Ok(Acked { count }) => debug!(%relay, count, "relay did not take the receipt"),
            Err(problem) if problem.answered() => {
                debug!(%relay, answer = %problem, "relay did not take the receipt");
            }
            Err(problem) => debug!(%relay, %problem, "relay not reachable"),
        }
    }
    Handed::Kept
}

/// Whether `to` is reached through the axis: not a member, in the axis's directory.
async fn reached_through_axis(ctx: &Arc<NodeContext>, to: &OrganId) -> bool {
    if !ctx.config.axis.enabled {
        return false;
    }
    // Most addressees are members: the roster, in memory, says so without the store.
    let now = clock::now();
    if ctx
        .roster()
        .is_some_and(|roster| matches!(roster.active(to, now), Ok(Some(_))))
    {
        return false;
    }
    let (ctx, to) = (ctx.clone(), to.clone());
    crate::tasks::blocking(move || {
        crate::outbound::axis::bridge::route(&ctx, &to, now)
            .is_ok_and(|route| route == crate::outbound::axis::bridge::Route::Axis)
    })
    .await
    .unwrap_or(false)
}
