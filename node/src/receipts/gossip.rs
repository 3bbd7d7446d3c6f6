//! Receipt summaries on gossip, so a province can watch every exchange.
//!
//! Each node publishes the receipts its agency signs, in batches, on the topic of each
//! party's province (`lienthong/receipts/1/H53`) and, when the parties are in different
//! provinces, on the national topic. A receipt carries package id, document id, sender,
//! recipient, code, time and, for 02, 13 and 16, the reason: never document content.
//!
//! Every node on a topic checks a batch before gossipsub passes it on: all signatures at
//! once (one ed25519 batch verification), every issuer an active member signing with its
//! roster key, and the batch published by the issuer's own node. A node keeps what concerns
//! its agency (it may have missed the receipt itself), and, with `receipts.monitor`,
//! everything.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lienthong_protocol::envelope::{ReceiptFields, SignedReceipt};
use lienthong_protocol::gossip::{MAX_GOSSIP_RECEIPTS, decode_receipt_batch, encode_receipt_batch};
use lienthong_protocol::{OrganId, StatusCode};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::clock;
use crate::context::NodeContext;
use crate::network::{GossipAcceptance, GossipMessage};
use crate::store::RecordOutcome;
use crate::tasks::{Wake, blocking};

/// Every receipt topic starts with this.
pub(crate) const TOPIC_PREFIX: &str = "lienthong/receipts/1/";
/// The topic of receipts between provinces.
pub(crate) const NATIONAL_TOPIC: &str = "lienthong/receipts/1/national";

/// How long the publisher waits after a wake-up for more receipts to batch with.
const LINGER: Duration = Duration::from_millis(50);
/// Log entries read per publishing round.
const SCAN_LIMIT: usize = 4096;
/// Receipts per published message: 64 of the largest receipts (a long reason) stay well
/// under gossip's 1 MiB message limit.
const PER_MESSAGE: usize = 64;

/// The topic of `agency`'s province: its level-one code (`H53`, `G12`), or `other` for an
/// id without one.
pub(crate) fn province_topic(agency: &OrganId) -> String {
    match agency.level_one() {
        Some(level) => format!("{TOPIC_PREFIX}{level}"),
        None => format!("{TOPIC_PREFIX}other"),
    }
}

/// The topics this node takes part in.
pub(crate) fn subscriptions(organ_id: &OrganId, national: bool) -> Vec<String> {
    let mut topics = vec![province_topic(organ_id)];
    if national {
        topics.push(NATIONAL_TOPIC.to_owned());
    }
    topics
}

/// The topics a receipt goes to.
fn topics_of(receipt: &ReceiptFields) -> Vec<String> {
    let sender = province_topic(&receipt.sender);
    let recipient = province_topic(&receipt.recipient);
    if sender == recipient {
        vec![sender]
    } else {
        vec![sender, recipient, NATIONAL_TOPIC.to_owned()]
    }
}

/// Publishes the receipts this agency signs, from the receipt log, until `shutdown`.
pub(crate) async fn publish(
    ctx: Arc<NodeContext>,
    receipts: super::ReceiptsHandle,
    shutdown: CancellationToken,
) {
    if !ctx.config.receipts.gossip {
        return;
    }
    // Starts at the end of the log: what was signed before this start has been handed to
    // its addressee, and catching up covers the parties.
    let Ok(mut cursor) = ctx.store.call(|store| store.receipt_log_end()).await else {
        warn!("cannot read the receipt log; receipts are not gossiped");
        return;
    };
    let mut wake = Wake::until(shutdown).on_notify(receipts.gossip.clone());
    while wake.next().await.is_some() {
        tokio::time::sleep(LINGER).await;
        loop {
            let me = ctx.organ_id.clone();
            let page = match ctx
                .store
                .call(move |store| {
                    store.receipts_since(
                        cursor,
                        |r| r.issuer() == &me,
                        MAX_GOSSIP_RECEIPTS * 4,
                        SCAN_LIMIT,
                    )
                })
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    warn!(error = %e, "cannot read the receipt log");
                    break;
                }
            };
            cursor = page.next_cursor;
            let mut by_topic: BTreeMap<String, Vec<SignedReceipt>> = BTreeMap::new();
            for receipt in page.receipts {
                for topic in topics_of(receipt.fields()) {
                    by_topic.entry(topic).or_default().push(receipt.clone());
                }
            }
            for (topic, receipts) in by_topic {
                for batch in receipts.chunks(PER_MESSAGE.min(MAX_GOSSIP_RECEIPTS)) {
                    match encode_receipt_batch(batch) {
                        Ok(data) => {
                            if ctx.network.publish(&topic, data).await.is_ok() {
                                ctx.metrics.receipts_gossiped.inc_by(batch.len() as u64);
                            }
                        }
                        Err(e) => warn!(error = %e, "cannot encode a receipt batch"),
                    }
                }
            }
            if !page.more {
                break;
            }
        }
    }
}

/// Messages taken off the queue for one check: what a burst has queued is checked
/// together and the verdicts reported in one call, so a node keeps up with a province's
/// bursts.
const DRAIN: usize = 64;

/// Checked drains waiting to be kept; beyond, checking waits for keeping.
const KEEP_QUEUE: usize = 64;

/// Checks gossiped receipt batches and reports each verdict to gossipsub at once, then
/// keeps what this node keeps, until `shutdown`.
///
/// # Why checking and keeping are apart
///
/// gossipsub holds a message for its verdict only `history_length` heartbeats; a verdict
/// that comes later finds it gone, and the message is not passed on. The bench measured
/// it: with the verdict waiting for the store (applying this agency's receipts, a
/// monitoring node's fsync of the rest), under a province's burst 43% of the verdicts came
/// too late, and most receipts reached the other nodes only by catching up, 30 s later. A
/// verdict is about the batch (signed by its issuers, published by a member's own node),
/// which is known before anything is stored; so it is reported then, and the store work
/// follows in a task of its own. Passing on a valid batch before keeping it costs nothing:
/// if keeping fails (a full disk), catching up brings the receipts again.
pub(crate) async fn receive(
    ctx: Arc<NodeContext>,
    mut messages: mpsc::Receiver<GossipMessage>,
    shutdown: CancellationToken,
) {
    let (to_keep, mut kept) = mpsc::channel::<Vec<Vec<SignedReceipt>>>(KEEP_QUEUE);
    let check = async {
        while let Some(Some(first)) = shutdown.run_until_cancelled(messages.recv()).await {
            let mut queued = vec![first];
            while queued.len() < DRAIN {
                match messages.try_recv() {
                    Ok(message) => queued.push(message),
                    Err(_) => break,
                }
            }
            let worker = ctx.clone();
            let checked: Vec<(Option<libp2p::PeerId>, bytes::Bytes)> =
                queued.iter().map(|m| (m.author, m.data.clone())).collect();
            let batches = blocking(move || {
                checked
                    .iter()
                    .map(|(author, data)| check_batch(&worker, *author, data))
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_else(|_| vec![(GossipAcceptance::Ignore, Vec::new()); queued.len()]);
            let reports = queued
                .into_iter()
                .zip(&batches)
                .map(|(message, (acceptance, _))| (message.id, message.source, *acceptance))
                .collect();
            let _ = ctx.network.report_gossip_all(reports).await;
            let valid: Vec<Vec<SignedReceipt>> = batches
                .into_iter()
                .filter(|(acceptance, _)| *acceptance == GossipAcceptance::Accept)
                .map(|(_, receipts)| receipts)
                .collect();
            if !valid.is_empty() && to_keep.send(valid).await.is_err() {
                break;
            }
        }
        drop(to_keep);
    };
    let keep = async {
        while let Some(valid) = kept.recv().await {
            let worker = ctx.clone();
            let _ = blocking(move || keep_batches(&worker, &valid)).await;
        }
    };
    tokio::join!(check, keep);
}

/// Keeps what this node keeps of checked batches: the receipts about this agency's own
/// packages applied, what a monitoring node keeps of the others recorded in one
/// transaction and one fsync.
fn keep_batches(ctx: &NodeContext, batches: &[Vec<SignedReceipt>]) {
    let mut watched = Vec::new();
    for receipts in batches {
        let new = sort_out(ctx, receipts, true, &mut watched);
        ctx.metrics.receipts_observed.inc_by(new);
    }
    if watched.is_empty() {
        return;
    }
    match ctx.store.record_receipts(&watched) {
        Ok(outcomes) => {
            let new = outcomes
                .iter()
                .filter(|o| **o == RecordOutcome::New)
                .count();
            ctx.metrics.receipts_observed.inc_by(new as u64);
        }
        // Catching up brings these receipts later.
        Err(e) => {
            warn!(error = %e, receipts = watched.len(), "gossiped receipts could not be stored")
        }
    }
}

/// Checks one batch: it decodes, its publisher is a member's own node, and every receipt
/// is that member's, signed with its key. The verdict for gossipsub, and the receipts when
/// it is `Accept`. Nothing is stored.
fn check_batch(
    ctx: &NodeContext,
    author: Option<libp2p::PeerId>,
    data: &bytes::Bytes,
) -> (GossipAcceptance, Vec<SignedReceipt>) {
    let refuse = |why: String| {
        ctx.metrics.gossip_refused.inc();
        warn!(target: "lienthong::events::rejected", ?author, why = %why, "gossiped receipts refused");
        (GossipAcceptance::Reject, Vec::new())
    };
    let receipts = match decode_receipt_batch(data.clone(), &ctx.limits) {
        Ok(receipts) => receipts,
        Err(e) => return refuse(e.to_string()),
    };
    let Some(roster) = ctx.roster() else {
        return (GossipAcceptance::Ignore, Vec::new());
    };
    let now = clock::now();
    let Some(publisher) = author.and_then(|peer| roster.member_by_peer(&peer, now)) else {
        return refuse("published by a node that is not a member's".to_owned());
    };
    for (i, receipt) in receipts.iter().enumerate() {
        let issuer = receipt.issuer();
        if issuer != &publisher.record.organ_id {
            return refuse(format!(
                "receipt {i} is {issuer}'s, published by {}'s node",
                publisher.record.organ_id
            ));
        }
        if let Err(problem) = check_issuer(&roster, receipt, now) {
            return refuse(format!("receipt {i} is {problem}"));
        }
    }
    (GossipAcceptance::Accept, receipts)
}

/// Whether `receipt` concerns this agency's own packages: a statement about a package it
/// sent, or a take-back request about one it received.
fn is_mine(ctx: &NodeContext, receipt: &SignedReceipt) -> bool {
    if receipt.code() == StatusCode::TakeBackRequested {
        receipt.recipient() == &ctx.organ_id
    } else {
        receipt.sender() == &ctx.organ_id
    }
}

/// Records what this node keeps of receipts from a catch-up: those about this agency's
/// packages always (one by one through [`super::apply`], which checks each against the
/// roster and the outbox), any other only on a monitoring node once its issuer and key
/// check against the roster, all of those in one transaction and one fsync. Returns how
/// many were new here.
///
/// # Errors
/// The store's, when the monitored receipts cannot be recorded.
pub(crate) fn keep_all(
    ctx: &NodeContext,
    receipts: &[SignedReceipt],
) -> Result<u64, crate::store::StoreError> {
    let mut watched = Vec::new();
    let new = sort_out(ctx, receipts, false, &mut watched);
    let outcomes = ctx.store.record_receipts(&watched)?;
    Ok(new
        + outcomes
            .iter()
            .filter(|o| **o == RecordOutcome::New)
            .count() as u64)
}

/// Applies the receipts about this agency's packages one by one through [`super::apply`]
/// (they move the outbox), and adds to `watched` those of the others a monitoring node
/// keeps, for the caller to record together: their issuers checked against the roster
/// here unless `issuers_checked`. Returns how many were applied as new.
fn sort_out(
    ctx: &NodeContext,
    receipts: &[SignedReceipt],
    issuers_checked: bool,
    watched: &mut Vec<SignedReceipt>,
) -> u64 {
    let mut new = 0u64;
    let roster = if issuers_checked { None } else { ctx.roster() };
    let now = clock::now();
    for receipt in receipts {
        if receipt.issuer() == &ctx.organ_id {
            continue;
        }
        let kept = if is_mine(ctx, receipt) {
            super::apply(ctx, receipt)
                .map(|outcome| new += u64::from(outcome == RecordOutcome::New))
                .map_err(|r| r.to_string())
        } else if !ctx.config.receipts.monitor {
            Ok(())
        } else if issuers_checked {
            watched.push(receipt.clone());
            Ok(())
        } else {
            roster
                .as_ref()
                .ok_or_else(|| "no roster".to_owned())
                .and_then(|roster| check_issuer(roster, receipt, now))
                .map(|()| watched.push(receipt.clone()))
        };
        if let Err(problem) = kept {
            debug!(receipt = %receipt.id(), %problem, "receipt not kept");
        }
    }
    new
}

/// Whether `requester` could have seen `receipt` by gossip: it is a party, or the receipt
/// went to the topic of its province. What catching up gives a peer.
pub(crate) fn visible_to(receipt: &ReceiptFields, requester: &OrganId) -> bool {
    if &receipt.sender == requester || &receipt.recipient == requester {
        return true;
    }
    let theirs = province_topic(requester);
    topics_of(receipt).contains(&theirs)
}

/// Whether `receipt` is signed with the roster key of its issuer, an active member.
fn check_issuer(
    roster: &crate::roster::membership::Membership,
    receipt: &SignedReceipt,
    now: lienthong_protocol::envelope::Timestamp,
) -> Result<(), String> {
    let issuer = receipt.issuer();
    if matches!(roster.active(issuer, now), Ok(Some(_)))
        && roster.key_matches(issuer, receipt.signer(), now)
    {
        Ok(())
    } else {
        Err(format!(
            "not signed with the roster key of {issuer}, an active member"
        ))
    }
}
