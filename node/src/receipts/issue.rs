//! The receipt this agency signs for a status message its QLVB posts.
//!
//! The status names its document by `ResponseFor`; the node finds the package among those
//! it received from `ResponseFor.OrganId` (codes 02–06, 15, 16: this agency is the
//! document's recipient) or sent to it (code 13: this agency asks to take its document
//! back), by the document's references, strongest first (see
//! `lienthong_protocol::edxml::references`). Nothing matching is an error QLVB sees at once,
//! not a status that goes nowhere.

use lienthong_protocol::edxml::{self, ResponseFor, Status};
use lienthong_protocol::envelope::{ReceiptFields, SignedReceipt, Timestamp};
use lienthong_protocol::{MessageKind, OrganId, PackageId, StatusCode};

use crate::context::NodeContext;
use crate::store::StoreError;

/// Why a status message cannot be answered with a receipt. Nothing is stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatusMatchError {
    /// No package matches `ResponseFor`.
    #[error(
        "no document {direction} {counterpart} matches ResponseFor (DocumentId {document_id}, Code {code}, PromulgationDate {date}); a status must answer a document exchanged through this node"
    )]
    NoDocument {
        /// "received from" or "sent to".
        direction: &'static str,
        /// `ResponseFor.OrganId`.
        counterpart: OrganId,
        /// `ResponseFor.DocumentId`, or "-".
        document_id: String,
        /// `ResponseFor.Code`, or "-".
        code: String,
        /// `ResponseFor.PromulgationDate`, or "-".
        date: String,
    },
    /// The receipt could not be signed (a description too long, …).
    #[error("cannot sign the receipt: {0}")]
    Envelope(#[from] lienthong_protocol::EnvelopeError),
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The document a status answers, as this node knows it.
#[derive(Debug, Clone)]
pub struct Answered {
    /// Its package.
    pub package_id: PackageId,
    /// Who sent it.
    pub sender: OrganId,
    /// The recipient the status is about.
    pub recipient: OrganId,
    /// Its DocumentId as this node stored it.
    pub document_id: Option<String>,
}

/// The package `status` answers and the receipt this agency signs for it. The receipt is
/// `None` for a code 01 this node already issued itself on arrival (QLVB posting 01
/// again adds nothing to the timeline).
///
/// # Errors
/// [`StatusMatchError`]; nothing is stored in any case.
pub fn receipt_for(
    ctx: &NodeContext,
    status: &Status,
    now: Timestamp,
) -> Result<(Answered, Option<SignedReceipt>), StatusMatchError> {
    let answered = find(ctx, status.code, &status.response_for)?;
    if status.code == StatusCode::Arrived
        && ctx
            .store
            .receipts(&answered.package_id)?
            .iter()
            .any(|r| r.code() == StatusCode::Arrived && r.recipient() == &answered.recipient)
    {
        return Ok((answered, None));
    }
    let receipt = SignedReceipt::sign(
        ctx.identity.agency_key(),
        ReceiptFields {
            package_id: answered.package_id,
            sender: answered.sender.clone(),
            recipient: answered.recipient.clone(),
            document_id: answered.document_id.clone(),
            code: status.code,
            issued_at: now,
            description: status.description.clone(),
        },
        &ctx.limits,
    )?;
    Ok((answered, Some(receipt)))
}

/// The package `status` answers, without signing anything: what a status submitted again
/// is told it answers.
///
/// # Errors
/// [`StatusMatchError`].
pub fn answered(ctx: &NodeContext, status: &Status) -> Result<Answered, StatusMatchError> {
    find(ctx, status.code, &status.response_for)
}

fn find(
    ctx: &NodeContext,
    code: StatusCode,
    response: &ResponseFor,
) -> Result<Answered, StatusMatchError> {
    let counterpart = &response.organ_id;
    let references = edxml::response_references(response);
    let mut best: Option<(Timestamp, Answered)> = None;
    if code.is_from_sender() {
        // 13: a document this agency sent to `counterpart`.
        best = latest_sent_to(ctx, counterpart, &references)?.map(|(at, id, document_id)| {
            (
                at,
                Answered {
                    package_id: id,
                    sender: ctx.organ_id.clone(),
                    recipient: counterpart.clone(),
                    document_id,
                },
            )
        });
    } else {
        // Every other code: a document this agency received from `counterpart`.
        for id in ctx.store.find_by_reference(counterpart, &references)? {
            let Some(received) = ctx.store.inbox_entry(&id)? else {
                continue;
            };
            if received.kind != MessageKind::Edoc || &received.from != counterpart {
                continue;
            }
            if best
                .as_ref()
                .is_none_or(|(at, _)| received.received_at > *at)
            {
                best = Some((
                    received.received_at,
                    Answered {
                        package_id: id,
                        sender: counterpart.clone(),
                        recipient: ctx.organ_id.clone(),
                        document_id: received.document_id,
                    },
                ));
            }
        }
    }
    best.map(|(_, answered)| answered)
        .ok_or_else(|| StatusMatchError::NoDocument {
            direction: if code.is_from_sender() {
                "sent to"
            } else {
                "received from"
            },
            counterpart: counterpart.clone(),
            document_id: response.document_id.clone().unwrap_or_else(|| "-".into()),
            code: response.code.clone().unwrap_or_else(|| "-".into()),
            date: response
                .promulgation_date
                .map_or_else(|| "-".into(), |d| d.to_string()),
        })
}

/// The document this agency sent to `recipient` that `response` names, if any: what a
/// status from the axis about one of this agency's documents answers.
///
/// # Errors
/// [`StoreError`] reading the store.
pub fn sent_document(
    ctx: &NodeContext,
    recipient: &OrganId,
    response: &ResponseFor,
) -> Result<Option<PackageId>, StoreError> {
    let references = edxml::response_references(response);
    Ok(latest_sent_to(ctx, recipient, &references)?.map(|(_, id, _)| id))
}

/// The latest document this agency sent to `recipient` under one of `references`: when,
/// its package and its DocumentId.
fn latest_sent_to(
    ctx: &NodeContext,
    recipient: &OrganId,
    references: &[edxml::DocumentReference],
) -> Result<Option<(Timestamp, PackageId, Option<String>)>, StoreError> {
    let mut best: Option<(Timestamp, PackageId, Option<String>)> = None;
    for id in ctx.store.find_by_reference(&ctx.organ_id, references)? {
        let Some(sent) = ctx.store.outgoing(&id)? else {
            continue;
        };
        if sent.kind != MessageKind::Edoc || !sent.recipients.contains(recipient) {
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|(at, _, _)| sent.submitted_at > *at)
        {
            best = Some((sent.submitted_at, id, sent.document_id));
        }
    }
    Ok(best)
}
