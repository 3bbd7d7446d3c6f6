//! Stuck documents: a recipient that has not confirmed arrival (receipt 01) by the
//! deadline its document's priority sets (shorter for Hỏa tốc), or that refused it (02).
//! Each is listed with the reason an operator acts on: the recipient cannot be reached,
//! the document waits at the recipient's relay, or the recipient rejected it. A recipient
//! reached through the axis (`docs/axis-bridge.md`) is stuck when the axis is away or
//! refuses the document, or when it took it but the recipient has not taken it from the
//! axis (no `done`, no status 01) by the deadline.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use lienthong_protocol::envelope::{PackageId, Timestamp};
use lienthong_protocol::seal::SignedHold;
use lienthong_protocol::{OrganId, StatusCode};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::clock;
use crate::context::NodeContext;
use crate::outbound::delivery::DeliveryHandle;
use crate::store::{
    AxisReport, DeliveryState, MailReportKind, OutboxEntry, OutgoingPackage, Store, StoreError,
};
use crate::tasks::Wake;

/// Why a recipient is stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StuckReason {
    /// No attempt reached the recipient's node, directly or through a relay.
    RecipientUnreachable,
    /// The document waits in the mailbox of the recipient's relay; the recipient has not
    /// collected it.
    HeldAtRelay,
    /// The recipient refused it (receipt 02); the description says why.
    Rejected,
    /// The axis, through which the recipient is reached, cannot be reached.
    AxisUnreachable,
    /// The axis refused the document; the detail is the axis's own text.
    RefusedByAxis,
    /// The axis took the document, but the recipient has not taken it from the axis (no
    /// `done`, no status 01); the detail is the axis's last word on it.
    NotTakenFromAxis,
    /// The agency's mail server has not taken the mail for a unit on official email
    /// (unreachable, or it refused it); the detail says which.
    NotMailed,
    /// A mail server returned the unit's mail (a bounce); the detail is its reason.
    MailBounced,
    /// The mail server took the unit's mail, but no mail server or mail program has
    /// reported it in the unit's mailbox or opened since.
    MailNotConfirmed,
}

/// One stuck recipient of one document.
#[derive(Debug, Clone, Serialize)]
pub struct Stuck {
    /// The package.
    pub package_id: PackageId,
    /// Its edXML DocumentId.
    pub document_id: Option<String>,
    /// Its subject.
    pub subject: Option<String>,
    /// The recipient concerned.
    pub recipient: OrganId,
    /// Why.
    pub reason: StuckReason,
    /// When receipt 01 was due.
    pub deadline: Timestamp,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// The last attempt's error, or the recipient's reason for refusing.
    pub detail: Option<String>,
    /// For `held_at_relay`: the relay holding it.
    pub relay: Option<OrganId>,
    /// `federation`, or `axis` for a recipient reached through the axis.
    pub path: &'static str,
    /// The axis's DocId of the send, once the axis took it.
    pub axis_doc_id: Option<String>,
}

/// Every stuck recipient, oldest deadline first.
///
/// # Errors
/// A store error.
pub fn list(store: &Store, now: Timestamp) -> Result<Vec<Stuck>, StoreError> {
    let mut stuck = Vec::new();
    let overdue = store
        .pending_outbox()?
        .into_iter()
        .filter(|entry| now > entry.deadline);
    for entry in overdue.chain(store.rejected_outbox()?) {
        stuck.push(describe(store, entry)?);
    }
    stuck.extend(not_taken_from_axis(store, now)?);
    stuck.extend(not_confirmed_by_mail(store, now)?);
    stuck.sort_by_key(|s| (s.deadline, s.package_id));
    Ok(stuck)
}

/// [`list`], with what the delivery engine knows of each unreachable recipient: its
/// deliveries that wait for the next attempt to it (see the scheduler's "One probe per
/// unreachable recipient") carry no error of their own.
///
/// # Errors
/// A store error.
pub(crate) fn list_explained(
    ctx: &NodeContext,
    delivery: &DeliveryHandle,
    now: Timestamp,
) -> Result<Vec<Stuck>, StoreError> {
    let mut stuck = list(&ctx.store, now)?;
    for entry in &mut stuck {
        if entry.detail.is_none() && matches!(entry.reason, StuckReason::RecipientUnreachable) {
            entry.detail = delivery.unreachable_problem(&entry.recipient);
        }
    }
    Ok(stuck)
}

fn describe(store: &Store, entry: OutboxEntry) -> Result<Stuck, StoreError> {
    let meta = store.outgoing(&entry.package_id)?;
    let axis_send = store.axis_send(&entry.package_id, &entry.recipient)?;
    let mailed = store
        .mail_send(&entry.package_id, &entry.recipient)?
        .is_some();
    let (reason, relay) = match entry.state {
        DeliveryState::Rejected => (StuckReason::Rejected, None),
        _ if mailed => (StuckReason::NotMailed, None),
        _ if axis_send.is_some() => match entry.last_error.as_deref() {
            None | Some(AXIS_UNREACHABLE) => (StuckReason::AxisUnreachable, None),
            Some(_) => (StuckReason::RefusedByAxis, None),
        },
        DeliveryState::HeldAtRelay => {
            let relay = store
                .hold_of(&entry.package_id, &entry.recipient)?
                .and_then(|wire| SignedHold::from_wire(wire).ok())
                .map(|hold| hold.relay().clone());
            (StuckReason::HeldAtRelay, relay)
        }
        _ => (StuckReason::RecipientUnreachable, None),
    };
    let path = if mailed {
        "email"
    } else if axis_send.is_some() {
        "axis"
    } else {
        "federation"
    };
    let detail = entry.last_error.clone();
    Ok(Stuck {
        detail,
        relay,
        path,
        axis_doc_id: axis_send.and_then(|s| s.doc_id),
        ..Stuck::of(&entry, meta, reason)
    })
}

impl Stuck {
    /// `entry`'s document (as `meta` describes it) stuck for `reason`, reached through the
    /// federation; the caller sets what else it knows.
    fn of(entry: &OutboxEntry, meta: Option<OutgoingPackage>, reason: StuckReason) -> Stuck {
        Stuck {
            package_id: entry.package_id,
            document_id: meta.as_ref().and_then(|m| m.document_id.clone()),
            subject: meta.and_then(|m| m.subject),
            recipient: entry.recipient.clone(),
            reason,
            deadline: entry.deadline,
            attempts: entry.attempts,
            detail: None,
            relay: None,
            path: "federation",
            axis_doc_id: None,
        }
    }
}

/// The outbox's `last_error` of an axis that cannot be reached.
const AXIS_UNREACHABLE: &str = "axis_unreachable";

/// Recipients the axis took a document for, past its deadline, that have not taken it
/// from the axis: no `done` reported by `getSentEdocList` and no status 01 or later
/// through the axis.
fn not_taken_from_axis(store: &Store, now: Timestamp) -> Result<Vec<Stuck>, StoreError> {
    let mut stuck = Vec::new();
    for send in store.axis_sends()? {
        let Some(doc_id) = send.doc_id else {
            continue;
        };
        if send.reports.iter().any(taken) {
            continue;
        }
        let Some(entry) = store.outbox_entry(&send.package_id, &send.recipient)? else {
            continue;
        };
        if entry.state != DeliveryState::HandedToAxis || now <= entry.deadline {
            continue;
        }
        let reason = if send
            .reports
            .iter()
            .any(|r| r.code() == Some(StatusCode::Rejected))
        {
            StuckReason::Rejected
        } else {
            StuckReason::NotTakenFromAxis
        };
        let meta = store.outgoing(&send.package_id)?;
        stuck.push(Stuck {
            detail: send.reports.last().map(|r| r.status.clone()),
            path: "axis",
            axis_doc_id: Some(doc_id),
            ..Stuck::of(&entry, meta, reason)
        });
    }
    Ok(stuck)
}

/// Units on official email whose mail a server returned (at once), or that no report has
/// shown in their mailbox by the deadline.
fn not_confirmed_by_mail(store: &Store, now: Timestamp) -> Result<Vec<Stuck>, StoreError> {
    let mut stuck = Vec::new();
    for send in store.mail_sends()? {
        let bounce = send
            .reports
            .iter()
            .rev()
            .find(|r| r.kind == MailReportKind::Bounced);
        let confirmed = send
            .reports
            .iter()
            .any(|r| matches!(r.kind, MailReportKind::Delivered | MailReportKind::Opened));
        let Some(entry) = store.outbox_entry(&send.package_id, &send.recipient)? else {
            continue;
        };
        if entry.state != DeliveryState::HandedToMailServer {
            continue;
        }
        let reason = match bounce {
            Some(_) => StuckReason::MailBounced,
            None if !confirmed && now > entry.deadline => StuckReason::MailNotConfirmed,
            None => continue,
        };
        let meta = store.outgoing(&send.package_id)?;
        stuck.push(Stuck {
            detail: bounce.map(|r| r.detail.clone()),
            path: "email",
            ..Stuck::of(&entry, meta, reason)
        });
    }
    Ok(stuck)
}

/// Whether what the axis reported says the recipient took the document: `done`, or a
/// status it sent back (01 to 06, 15, 16), not a refusal (02) or `fail`.
fn taken(report: &AxisReport) -> bool {
    report.status == "done"
        || report
            .code()
            .is_some_and(|code| code != StatusCode::Rejected)
}

/// How often stuck documents are counted for `/metrics` and the log.
const WATCH_INTERVAL: Duration = Duration::from_secs(15);

/// Keeps the `stuck` gauge current and logs each recipient as it becomes stuck, until
/// `shutdown`.
pub(crate) async fn watch(ctx: Arc<NodeContext>, shutdown: CancellationToken) {
    let mut wake = Wake::until(shutdown).every(WATCH_INTERVAL);
    let mut known: HashSet<(PackageId, OrganId)> = HashSet::new();
    while wake.next().await.is_some() {
        let Ok(stuck) = ctx.store.call(|store| list(store, clock::now())).await else {
            continue;
        };
        ctx.metrics
            .stuck
            .set(i64::try_from(stuck.len()).unwrap_or(i64::MAX));
        let now: HashSet<(PackageId, OrganId)> = stuck
            .iter()
            .map(|s| (s.package_id, s.recipient.clone()))
            .collect();
        for s in &stuck {
            if !known.contains(&(s.package_id, s.recipient.clone())) {
                warn!(
                    target: "lienthong::events::stuck",
                    package = %s.package_id,
                    recipient = %s.recipient,
                    reason = ?s.reason,
                    detail = s.detail.as_deref().unwrap_or(""),
                    "document stuck"
                );
            }
        }
        known = now;
    }
}
