//! Accepting an edXML message from QLVB: check it, sign it, store it durably with one
//! outbox entry per recipient, and only then answer with the package id.

use std::sync::Arc;

use bytes::Bytes;
use lienthong_protocol::envelope::{MAX_DOCUMENT_ID_LEN, PackageFields, PackageId, SignedPackage};
use lienthong_protocol::{MessageKind, OrganId, edxml};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use tracing::{debug, info};

use crate::clock::{self, add};
use crate::context::NodeContext;
use crate::outbound::axis::bridge::Route;
use crate::outbound::delivery::DeliveryHandle;
use crate::outbound::delivery::policy::receipt_deadline;
use crate::receipts::issue::StatusMatchError;
use crate::receipts::{self, ReceiptsHandle};
use crate::store::{DeliveryState, OutboxEntry, OutgoingPackage, StoreError, SubmitOutcome};

/// What the API answers once a message is durably accepted. The same bytes submitted again
/// get the same answer but for [`duplicate`](Self::duplicate), so that a QLVB that lost the
/// first answer can take the second for it.
#[derive(Debug, Clone, Serialize)]
pub struct Submission {
    /// The package id: what QLVB keeps to ask for the status.
    pub package_id: PackageId,
    /// `edoc` or `status`.
    pub kind: MessageKind,
    /// Where it goes.
    pub recipients: Vec<OrganId>,
    /// The edXML `DocumentId`.
    pub document_id: Option<String>,
    /// The reader's leniencies, for the QLVB developers.
    pub warnings: Vec<String>,
    /// Whether the same message had been submitted before (then nothing new was stored and
    /// the earlier package id is returned).
    pub duplicate: bool,
    /// For a status message: the package of the document it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers: Option<PackageId>,
}

/// Why a message was not accepted. Nothing is stored in any of these cases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// Larger than `limits.max_package_size`.
    #[error("the message is {size} bytes, larger than this node's limit of {limit} bytes")]
    TooLarge {
        /// The message size.
        size: usize,
        /// The limit.
        limit: u64,
    },
    /// Not valid edXML.
    #[error("not valid edXML: {0}")]
    Edxml(#[from] edxml::EdxmlError),
    /// A `DocumentId` longer than a package's index and its receipts carry: the same bytes
    /// would be refused however often they are sent.
    #[error(
        "{element} is {len} bytes long, longer than the {max} bytes lienthong takes; shorten it"
    )]
    DocumentIdTooLong {
        /// Which element: `DocumentId` or `ResponseFor/DocumentId`.
        element: &'static str,
        /// Its length in bytes (UTF-8).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `From` is another agency.
    #[error("From is {from}, but this node sends for {this}")]
    NotFromThisAgency {
        /// The message's `From`.
        from: OrganId,
        /// This node's agency.
        this: OrganId,
    },
    /// The node has not been admitted to a federation, so it knows no recipients.
    #[error("this node has no federation roster yet (lienthong federation admit)")]
    NoRoster,
    /// Recipients the roster does not list as active members, nor the axis's directory
    /// (when the axis bridge is on).
    #[error("not active members of the federation: {}", list(.0))]
    UnknownRecipients(Vec<OrganId>),
    /// A status message addressed to units on official email, which receive documents
    /// only.
    #[error("units on official email receive documents, not status messages: {}", list(.0))]
    StatusToEmailUnits(Vec<OrganId>),
    /// The envelope could not be made (too many recipients, …).
    #[error("cannot sign the package: {0}")]
    Envelope(#[from] lienthong_protocol::envelope::EnvelopeError),
    /// A status message that answers no document exchanged through this node.
    #[error("{0}")]
    Status(#[from] StatusMatchError),
    /// The store could not make it durable; the message was not accepted.
    #[error("the message could not be stored, so it was not accepted: {0}")]
    Store(#[from] StoreError),
}

fn list(ids: &[OrganId]) -> String {
    ids.iter()
        .map(OrganId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks, signs and durably stores one edXML message. Blocking (parsing, signing, fsync):
/// call it from a blocking thread.
///
/// # Errors
/// [`SubmitError`]; nothing is stored then.
pub fn submit(
    ctx: &NodeContext,
    delivery: &DeliveryHandle,
    receipts: &ReceiptsHandle,
    body: Bytes,
) -> Result<Submission, SubmitError> {
    let limit = ctx.config.limits.max_package_size.as_u64();
    if body.len() as u64 > limit {
        return Err(SubmitError::TooLarge {
            size: body.len(),
            limit,
        });
    }
    let options = edxml::ReadOptions {
        max_size: usize::try_from(limit).unwrap_or(usize::MAX),
        ..edxml::ReadOptions::default()
    };
    let parsed = edxml::read_with(body.clone(), &options)?;
    let message = &parsed.message;
    check_document_id(message)?;
    if message.from() != &ctx.organ_id {
        return Err(SubmitError::NotFromThisAgency {
            from: message.from().clone(),
            this: ctx.organ_id.clone(),
        });
    }
    let roster = ctx.roster().ok_or(SubmitError::NoRoster)?;
    let recipients: Vec<OrganId> = message.addressees().into_iter().cloned().collect();
    let now = clock::now();
    // Revoked members and those outside their validity window are not recipients either.
    // A recipient that is not a member may still be reached through the axis.
    // So may a unit the roster lists on official email, for a document.
    let mut unknown: Vec<OrganId> = Vec::new();
    let mut mailed_statuses: Vec<OrganId> = Vec::new();
    for recipient in &recipients {
        if matches!(roster.active(recipient, now), Ok(Some(_))) {
            continue;
        }
        match crate::outbound::axis::bridge::route(ctx, recipient, now)? {
            Route::Axis => {}
            Route::Email if message.kind() == MessageKind::Status => {
                mailed_statuses.push(recipient.clone());
            }
            Route::Email => {}
            Route::Federation | Route::Unknown => unknown.push(recipient.clone()),
        }
    }
    if !unknown.is_empty() {
        return Err(SubmitError::UnknownRecipients(unknown));
    }
    if !mailed_statuses.is_empty() {
        return Err(SubmitError::StatusToEmailUnits(mailed_statuses));
    }
    let document_id = message.document_id().map(str::to_owned);
    let warnings: Vec<String> = parsed.warnings.iter().map(ToString::to_string).collect();

    // The same bytes submitted again (a QLVB retry after a timeout) are the same package,
    // answered as the first time.
    let answer = |package_id, answers, duplicate| Submission {
        package_id,
        kind: message.kind(),
        recipients: recipients.clone(),
        document_id: document_id.clone(),
        warnings: warnings.clone(),
        duplicate,
        answers,
    };
    let sha256: [u8; 32] = Sha256::digest(&body).into();
    if let Some(existing) = find_resubmission(ctx, &sha256, document_id.as_deref(), &body)? {
        debug!(package = %existing.fmt_short(), "resubmission of a stored message");
        return Ok(answer(existing, answered_before(ctx, message)?, true));
    }

    // A status answers a document: find it and sign the receipt now, so that a status
    // matching nothing is refused before anything is stored.
    let (answers, issued) = match message {
        edxml::Message::Status(status) => {
            let (answered, receipt) = receipts::issue::receipt_for(ctx, status, now)?;
            (Some(answered.package_id), receipt)
        }
        edxml::Message::Document(_) => (None, None),
    };
    let index = receipts::index::package_index(&ctx.store, &ctx.organ_id, message)?;

    let package = SignedPackage::sign(
        ctx.identity.agency_key(),
        PackageFields {
            sender: ctx.organ_id.clone(),
            recipients: recipients.clone(),
            kind: message.kind(),
            created_at: now,
        },
        body,
        &ctx.limits,
    )?;
    let priority = message
        .as_document()
        .map_or(edxml::Priority::Normal, edxml::Document::priority);
    let deadline = add(now, receipt_deadline(&ctx.config.delivery, priority));
    let meta = OutgoingPackage {
        package_id: package.id(),
        kind: message.kind(),
        document_id: document_id.clone(),
        recipients: recipients.clone(),
        submitted_at: now,
        subject: message.as_document().and_then(|d| d.subject.clone()),
    };
    let entries: Vec<OutboxEntry> = recipients
        .iter()
        .map(|recipient| OutboxEntry {
            package_id: package.id(),
            recipient: recipient.clone(),
            state: DeliveryState::Queued,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            queued_at: now,
            deadline,
            delivered_at: None,
        })
        .collect();
    let outcome = ctx
        .store
        .submit_indexed(&package, &meta, &entries, &index, issued.as_ref())?;
    let stored = match outcome {
        SubmitOutcome::Stored => package.id(),
        // The same bytes, submitted at the same moment by a retry that did not wait for
        // this answer: the store kept the other.
        SubmitOutcome::AlreadyStored => return Ok(answer(package.id(), answers, true)),
        SubmitOutcome::SameContent(existing) => {
            debug!(package = %existing.fmt_short(), "concurrent resubmission of a message");
            return Ok(answer(existing, answers, true));
        }
    };
    info!(
        package = %stored.fmt_short(),
        kind = %message.kind(),
        recipients = recipients.len(),
        bytes = package.content().len(),
        "package accepted"
    );
    // The engine also rescans the store, so a full queue only delays, never loses.
    delivery.submitted(Arc::new(package), entries);
    if let Some(receipt) = &issued {
        info!(
            target: "lienthong::events::receipt",
            package = %receipt.package_id(),
            code = %receipt.code(),
            to = %crate::store::addressee(receipt),
            "receipt issued"
        );
        receipts.issued();
    }
    Ok(answer(stored, answers, false))
}

/// Refuses a `DocumentId` the store's index and the receipts could not hold, before
/// anything is signed: it is the document that is wrong, not the node's state.
fn check_document_id(message: &edxml::Message) -> Result<(), SubmitError> {
    let Some(document_id) = message.document_id() else {
        return Ok(());
    };
    if document_id.len() <= MAX_DOCUMENT_ID_LEN {
        return Ok(());
    }
    Err(SubmitError::DocumentIdTooLong {
        element: match message {
            edxml::Message::Document(_) => "DocumentId",
            edxml::Message::Status(_) => "ResponseFor/DocumentId",
        },
        len: document_id.len(),
        max: MAX_DOCUMENT_ID_LEN,
    })
}

/// A stored package of this agency with the same bytes: found by their SHA-256, or, for a
/// package stored before content was indexed, among those of the same document id.
/// Either way the bytes are compared.
fn find_resubmission(
    ctx: &NodeContext,
    sha256: &[u8; 32],
    document_id: Option<&str>,
    body: &Bytes,
) -> Result<Option<PackageId>, StoreError> {
    let same_bytes = |id: &PackageId| -> Result<bool, StoreError> {
        Ok(ctx
            .store
            .package(id)?
            .is_some_and(|wire| wire.content() == body))
    };
    if let Some(id) = ctx.store.sent_with_content(&ctx.organ_id, sha256)?
        && same_bytes(&id)?
    {
        return Ok(Some(id));
    }
    let Some(document_id) = document_id else {
        return Ok(None);
    };
    for id in ctx
        .store
        .packages_for_document(&ctx.organ_id, document_id)?
    {
        if same_bytes(&id)? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// For a status submitted again: the document it answers, as the first answer said.
fn answered_before(
    ctx: &NodeContext,
    message: &edxml::Message,
) -> Result<Option<PackageId>, StatusMatchError> {
    let edxml::Message::Status(status) = message else {
        return Ok(None);
    };
    match receipts::issue::answered(ctx, status) {
        Ok(answered) => Ok(Some(answered.package_id)),
        Err(StatusMatchError::Store(error)) => Err(StatusMatchError::Store(error)),
        // It matched when it was stored, and packages are never removed; were that to
        // change, the answer would only lack this field.
        Err(_) => Ok(None),
    }
}
