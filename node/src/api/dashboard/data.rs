//! `GET /api/v1/dashboard`: everything the page shows, in one answer, so that one request
//! per refresh is all the page costs the node.
//!
//! Built from the same functions as the other handlers (package status, inbox, stuck,
//! peers, relay), so the dashboard never tells an operator something the API would not.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::roster::Role;
use serde::Serialize;

use super::super::ApiState;
use super::super::email::ReviewView;
use super::super::error::ApiError;
use super::super::inbox::InboxView;
use super::super::packages::{PackageStatus, ReceiptView, package_status};
use super::super::peers::{PeerView, StoreHealth, peer_views};
use super::super::receipts::StuckView;
use super::super::relay::{RelayView, relay_view};
use super::super::time::rfc3339;
use crate::clock;
use crate::context::NodeContext;
use crate::outbound::delivery::DeliveryHandle;
use crate::outbound::delivery::stuck;
use crate::store::StoreError;

/// How many sent documents, received documents and stuck recipients the dashboard lists,
/// newest first (the oldest deadline first for stuck ones). Bounds the answer and the work
/// of each refresh; the totals say how many there are in all, and the page says when it
/// shows only part.
pub(super) const SHOWN: usize = 200;

/// The whole dashboard.
#[derive(Debug, Serialize)]
pub(super) struct Dashboard {
    /// Which node answers.
    node: NodeView,
    /// Why the store takes no writes, while it does not: the page shows it in red.
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<StoreHealth>,
    /// When this answer was computed (node clock).
    #[serde(serialize_with = "rfc3339")]
    generated_at: Timestamp,
    /// The counts at the top of the page.
    summary: Summary,
    /// Documents this agency sent, newest first, with each recipient's state and receipts.
    sent: Listing<PackageStatus>,
    /// Recipients with no receipt 01 by the deadline, or that refused, with the reason.
    stuck: Listing<StuckView>,
    /// Documents this agency received, newest first.
    received: Listing<ReceivedView>,
    /// Every roster member and every connected peer, with its connection now.
    peers: Vec<PeerView>,
    /// This node's relays and, on a relay, its members' mailboxes.
    relay: RelayView,
    /// On a witness: agencies whose log contradicted the history it had cosigned (a store
    /// rebuilt, a fact deleted). Empty elsewhere; the page shows it in red when not.
    forks: Vec<ForkView>,
    /// Mail the node set aside for a person (from no listed unit, or unreadable).
    mail_review: Vec<ReviewView>,
    /// Agency names by id, from the roster, to label recipients and senders.
    names: BTreeMap<String, String>,
}

/// The node that answers.
#[derive(Debug, Serialize)]
struct NodeView {
    organ_id: String,
    name: String,
    peer_id: String,
    role: Role,
    version: &'static str,
    roster_serial: Option<u64>,
    /// Whether it keeps every receipt summary of its province (`[receipts] monitor`): the
    /// page then offers the province overview, `GET /api/v1/province`.
    monitor: bool,
}

/// The counts an operator reads first.
#[derive(Debug, Serialize)]
struct Summary {
    /// Packages this node sent.
    sent: u64,
    /// Packages this node received.
    received: u64,
    /// Received packages QLVB has not collected (acknowledged) yet.
    waiting_for_qlvb: u64,
    /// Sent documents with at least one stuck recipient.
    stuck_documents: u64,
    /// Stuck (document, recipient) pairs.
    stuck_recipients: u64,
    /// Outbox entries queued, sending or held at a relay.
    pending_deliveries: u64,
}

/// Part of a list: the first `limit` items and how many there are in all.
#[derive(Debug, Serialize)]
struct Listing<T> {
    items: Vec<T>,
    total: u64,
    limit: usize,
}

impl<T> Listing<T> {
    fn new(items: Vec<T>, total: usize) -> Self {
        Listing {
            items,
            total: u64::try_from(total).unwrap_or(u64::MAX),
            limit: SHOWN,
        }
    }
}

/// A received document: the inbox entry and the latest status this agency sent about it.
#[derive(Debug, Serialize)]
struct ReceivedView {
    #[serde(flatten)]
    entry: InboxView,
    /// This agency's own latest receipt for it: 01 on arrival, then what QLVB posted.
    latest_status: Option<ReceiptView>,
}

/// An agency whose evidence log this node caught rewriting its history.
#[derive(Debug, Serialize)]
pub(super) struct ForkView {
    /// The log, `lienthong/<organ_id>`.
    origin: String,
    /// How the presented history disagrees with the cosigned one.
    kind: String,
    /// The size this witness had cosigned, and the size presented.
    seen_size: Option<u64>,
    presented_size: u64,
    /// When it was presented.
    #[serde(serialize_with = "rfc3339")]
    at: Timestamp,
    /// How this node saw it: `witness` (it refused to cosign), `gossip`, `catch_up`.
    seen: Vec<String>,
}

/// At most this many mails set aside are shown, newest first; the API lists them all.
const MAIL_REVIEW_SHOWN: usize = 50;

/// The parts read from the store, in one blocking task.
struct Stored {
    summary: Summary,
    sent: Listing<PackageStatus>,
    stuck: Listing<StuckView>,
    received: Listing<ReceivedView>,
    forks: Vec<ForkView>,
    mail_review: Vec<ReviewView>,
    /// Names from the axis's directory of the agencies on the axis this page shows.
    axis_names: BTreeMap<String, String>,
}

pub(super) async fn dashboard(
    State(state): State<ApiState>,
) -> Result<impl IntoResponse, ApiError> {
    let ctx = state.ctx.clone();
    let now = clock::now();
    let blocking = {
        let ctx = ctx.clone();
        let delivery = state.delivery.clone();
        async move {
            tokio::task::spawn_blocking(move || stored(&ctx, &delivery, now))
                .await
                .map_err(|e| ApiError::unavailable(format!("the dashboard task failed: {e}")))?
                .map_err(ApiError::from)
        }
    };
    let (stored, peers, relay) =
        tokio::try_join!(blocking, peer_views(&ctx), relay_view(ctx.clone()))?;
    let dashboard = Dashboard {
        node: node_view(&ctx),
        store: StoreHealth::of(&ctx.store),
        generated_at: now,
        summary: stored.summary,
        sent: stored.sent,
        stuck: stored.stuck,
        received: stored.received,
        peers,
        relay,
        forks: stored.forks,
        mail_review: stored.mail_review,
        names: {
            // The roster's names win; an agency only on the axis is named by the axis.
            let mut all = stored.axis_names;
            all.extend(names(&ctx));
            all
        },
    };
    // Every answer is a fresh snapshot: no browser or proxy may keep one.
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(dashboard)))
}

fn stored(
    ctx: &Arc<NodeContext>,
    delivery: &DeliveryHandle,
    now: Timestamp,
) -> Result<Stored, StoreError> {
    let store = &ctx.store;
    let counts = store.counts()?;

    let mut sent = Vec::new();
    for package in store.list_outgoing(SHOWN)? {
        if let Some(status) = package_status(ctx, delivery, package.package_id, now)? {
            sent.push(status);
        }
    }

    let stuck = stuck::list_explained(ctx, delivery, now)?;
    let stuck_documents = stuck
        .iter()
        .map(|s| s.package_id)
        .collect::<BTreeSet<_>>()
        .len();
    let stuck_total = stuck.len();
    let stuck_shown = stuck.into_iter().take(SHOWN).map(StuckView::from).collect();

    let (newest, received_total) = store.newest_inbox(SHOWN)?;
    let mut received = Vec::new();
    for entry in newest {
        let latest_status = store
            .receipts(&entry.package_id)?
            .into_iter()
            .rev()
            .find(|r| r.issuer() == &ctx.organ_id)
            .map(|r| ReceiptView {
                code: r.code().as_str(),
                issuer: r.issuer().clone(),
                time: r.issued_at(),
                description: r.description().map(str::to_owned),
            });
        let axis_doc_id = store.axis_arrival_of(&entry.package_id)?;
        let mail = store.mail_arrival_of(&entry.package_id)?;
        received.push(ReceivedView {
            entry: InboxView::new(entry, axis_doc_id, mail),
            latest_status,
        });
    }

    let as_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let axis_names = axis_names(store, &sent, &received)?;
    Ok(Stored {
        summary: Summary {
            sent: counts.outgoing,
            received: as_u64(received_total),
            waiting_for_qlvb: counts.inbox_unacked,
            stuck_documents: as_u64(stuck_documents),
            stuck_recipients: as_u64(stuck_total),
            pending_deliveries: counts.pending_outbox,
        },
        sent: Listing::new(sent, usize::try_from(counts.outgoing).unwrap_or(usize::MAX)),
        stuck: Listing::new(stuck_shown, stuck_total),
        axis_names,
        received: Listing::new(received, received_total),
        forks: forks(store)?,
        mail_review: store
            .mail_review()?
            .into_iter()
            .rev()
            .take(MAIL_REVIEW_SHOWN)
            .map(ReviewView::from)
            .collect(),
    })
}

/// The axis directory's names of the agencies on the page that the directory lists: the
/// recipients of the documents shown and the senders of those received.
fn axis_names(
    store: &crate::store::Store,
    sent: &[PackageStatus],
    received: &[ReceivedView],
) -> Result<BTreeMap<String, String>, StoreError> {
    let codes: BTreeSet<String> = sent
        .iter()
        .flat_map(|p| p.recipients.iter().map(|r| r.organ_id.to_string()))
        .chain(received.iter().map(|r| r.entry.sender().to_string()))
        .collect();
    let mut names = BTreeMap::new();
    for code in codes {
        if let Some(agency) = store.axis_agency(&code)? {
            names.insert(code, agency.name);
        }
    }
    Ok(names)
}

/// The forks this node saw, as a witness or in the checkpoints gossiped and caught up,
/// one per log, the latest first.
fn forks(store: &crate::store::Store) -> Result<Vec<ForkView>, StoreError> {
    let mut forks: Vec<ForkView> = store
        .witnessed_logs()?
        .into_iter()
        .filter_map(|(origin, log)| {
            log.fork.map(|fork| ForkView {
                origin,
                kind: fork.kind,
                seen_size: fork.seen.map(|head| head.size),
                presented_size: fork.presented.size,
                at: fork.at,
                seen: vec!["witness".to_owned()],
            })
        })
        .collect();
    for (origin, held) in store.held_heads()? {
        let Some(fork) = held.fork else {
            continue;
        };
        match forks.iter_mut().find(|f| f.origin == origin) {
            Some(known) => known.seen.push(fork.seen),
            None => forks.push(ForkView {
                origin,
                kind: fork.kind,
                seen_size: Some(fork.held.size),
                presented_size: fork.presented.size,
                at: fork.at,
                seen: vec![fork.seen],
            }),
        }
    }
    forks.sort_by_key(|f| std::cmp::Reverse(f.at));
    Ok(forks)
}

fn node_view(ctx: &NodeContext) -> NodeView {
    NodeView {
        organ_id: ctx.organ_id.to_string(),
        name: ctx.config.name.clone(),
        peer_id: ctx.network.local_peer_id().to_string(),
        role: ctx.config.role,
        version: env!("CARGO_PKG_VERSION"),
        roster_serial: ctx.roster().map(|r| r.serial()),
        monitor: ctx.config.receipts.monitor,
    }
}

fn names(ctx: &NodeContext) -> BTreeMap<String, String> {
    ctx.roster()
        .map(|roster| {
            let units = roster.bundle().roster().email_units.iter();
            roster
                .members()
                .iter()
                .map(|m| (m.record.organ_id.to_string(), m.record.name.clone()))
                .chain(units.map(|u| (u.organ_id.to_string(), u.name.clone())))
                .collect()
        })
        .unwrap_or_default()
}
