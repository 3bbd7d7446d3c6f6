//! The one acceptance path of a package for this agency, whichever way it came: a direct
//! delivery, a circuit through a relay, a relay's push or a mailbox pull (after opening its
//! seal), or this node's own agency in place. And the other requests every node answers: a
//! receipt about one of its packages, a roster query.

use libp2p::PeerId;
use lienthong_protocol::envelope::{ReceiptFields, SignedPackage, SignedReceipt};
use lienthong_protocol::wire::{Delivered, ReceiptAccepted, RejectReason, Rejection, RosterAnswer};
use lienthong_protocol::{StatusCode, edxml};
use tracing::{debug, info, warn};

use super::admission::{self, Gate, Header};
use super::reject;
use crate::clock;
use crate::context::NodeContext;
use crate::receipts::ReceiptsHandle;
use crate::store::{InboxEntry, IncomingOutcome};

/// A package for this agency: checks that the roster knows the sender and its key, that
/// the connection is the sender's node (or a federation relay), that the package is for
/// this agency, recent, and that its content is edXML from that sender; then stores it with
/// this node's signed receipt 01, or returns the receipt given the first time.
pub(crate) fn accept_package(
    ctx: &NodeContext,
    receipts: &ReceiptsHandle,
    peer: PeerId,
    package: &SignedPackage,
) -> Result<Delivered, Rejection> {
    let Some(roster) = ctx.roster() else {
        return reject(
            RejectReason::UnknownAgency,
            "this node has no federation roster yet",
        );
    };
    let now = clock::now();
    let header = Header {
        sender: package.sender(),
        signer: package.signer(),
        created_at: package.created_at(),
    };
    admission::sender(ctx, &roster, Gate::Recipient, peer, header, now)?;
    if !package.recipients().contains(&ctx.organ_id) {
        return reject(
            RejectReason::NotForThisNode,
            format!("package is not addressed to {}", ctx.organ_id),
        );
    }
    admission::time(ctx, Gate::Recipient, header, now)?;
    let parsed = match edxml::read_with(
        package.content().clone(),
        &edxml::ReadOptions {
            max_size: usize::try_from(ctx.limits.max_content_len).unwrap_or(usize::MAX),
            ..edxml::ReadOptions::default()
        },
    ) {
        Ok(parsed) => parsed,
        Err(e) => {
            return reject(
                RejectReason::Malformed,
                format!("content is not valid edXML: {e}"),
            );
        }
    };
    if parsed.message.from() != package.sender() {
        return reject(
            RejectReason::NotAllowed,
            format!(
                "the edXML From is {}, but the package is from {}",
                parsed.message.from(),
                package.sender()
            ),
        );
    }
    if parsed.message.kind() != package.kind() {
        return reject(
            RejectReason::Malformed,
            "the package kind does not match its edXML",
        );
    }
    let document_id = parsed.message.document_id().map(str::to_owned);
    let receipt = match SignedReceipt::sign(
        ctx.identity.agency_key(),
        ReceiptFields {
            package_id: package.id(),
            sender: package.sender().clone(),
            recipient: ctx.organ_id.clone(),
            document_id: document_id.clone(),
            code: StatusCode::Arrived,
            issued_at: now,
            description: None,
        },
        &ctx.limits,
    ) {
        Ok(receipt) => receipt,
        Err(e) => {
            return reject(
                RejectReason::Malformed,
                format!("cannot acknowledge this package: {e}"),
            );
        }
    };
    let entry = InboxEntry {
        package_id: package.id(),
        from: package.sender().clone(),
        kind: package.kind(),
        document_id,
        received_at: now,
        acked_at: None,
    };
    let index = match crate::receipts::index::package_index(
        &ctx.store,
        package.sender(),
        &parsed.message,
    ) {
        Ok(index) => index,
        Err(e) => {
            warn!(error = %e, package = %package.id(), "cannot index an incoming package");
            return reject(
                RejectReason::Unavailable,
                "the package could not be stored; try again later",
            );
        }
    };
    match ctx
        .store
        .accept_incoming_indexed(package, &entry, &receipt, &index)
    {
        Ok(IncomingOutcome::Stored) => {
            ctx.metrics.packages_received.inc();
            receipts.signed_on_arrival();
            info!(
                target: "lienthong::events::received",
                package = %package.id(),
                from = %package.sender(),
                bytes = package.content().len(),
                "package received"
            );
            Ok(Delivered {
                receipt,
                duplicate: false,
            })
        }
        Ok(IncomingOutcome::Duplicate(original)) => {
            debug!(package = %package.id(), "package received again; answered with the original receipt");
            Ok(Delivered {
                receipt: original,
                duplicate: true,
            })
        }
        Err(e) => {
            warn!(error = %e, package = %package.id(), "cannot store an incoming package");
            reject(
                RejectReason::Unavailable,
                "the package could not be stored; try again later",
            )
        }
    }
}

/// A receipt from another agency about a package this agency sent (or, for code 13,
/// received).
pub(super) fn accept_receipt(
    ctx: &NodeContext,
    receipt: &SignedReceipt,
) -> Result<ReceiptAccepted, Rejection> {
    admission::clock(ctx, "the receipt", receipt.issued_at(), clock::now())?;
    crate::receipts::apply(ctx, receipt).map(|outcome| ReceiptAccepted {
        duplicate: outcome == crate::store::RecordOutcome::Duplicate,
    })
}

/// A peer's roster version: answered with this node's roster when it is newer somewhere.
pub(super) fn roster_answer(
    ctx: &NodeContext,
    theirs: &lienthong_protocol::roster::RosterVersion,
) -> RosterAnswer {
    match ctx.roster() {
        Some(mine) if theirs.is_behind(&mine.version()) => {
            RosterAnswer::Newer(mine.bundle().to_wire())
        }
        _ => RosterAnswer::Current,
    }
}
