//! The one acceptance path of a package for this agency, whichever way it came: a direct
//! delivery, a circuit through a relay, a relay's push or a mailbox pull (after opening its
//! seal), or this node's own agency in place. And the other requests every node answers: a
//! receipt about one of its packages, a roster query.

use std::time::Duration;

use libp2p::PeerId;
use lienthong_protocol::envelope::{ReceiptFields, SignedPackage, SignedReceipt, Timestamp};
use lienthong_protocol::roster::MemberStatus;
use lienthong_protocol::wire::{Delivered, ReceiptAccepted, RejectReason, Rejection, RosterAnswer};
use lienthong_protocol::{StatusCode, edxml};
use tracing::{debug, info, warn};

use super::reject;
use crate::clock;
use crate::clock::add;
use crate::context::NodeContext;
use crate::receipts::ReceiptsHandle;
use crate::store::{InboxEntry, IncomingOutcome};

/// Checks a time a peer signed against this node's clock.
fn check_clock(
    ctx: &NodeContext,
    what: &str,
    at: Timestamp,
    now: Timestamp,
) -> Result<(), Rejection> {
    let skew = ctx.config.security.clock_skew;
    if at > add(now, skew) {
        let ahead = Duration::from_millis(at.as_millis() - now.as_millis());
        return reject(
            RejectReason::ClockSkew,
            format!(
                "{what} is dated {at}, {} ahead of this node's clock (tolerance {})",
                humantime::format_duration(ahead),
                humantime::format_duration(skew)
            ),
        );
    }
    Ok(())
}

fn refuse_status<T>(
    who: &str,
    organ: &lienthong_protocol::OrganId,
    status: &MemberStatus,
) -> Result<T, Rejection> {
    reject(
        RejectReason::Revoked,
        format!("{who} {organ} is not an active member: {status}"),
    )
}

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
    let sender = match roster.active(package.sender(), now) {
        Ok(Some(sender)) => sender,
        Ok(None) => {
            return reject(
                RejectReason::UnknownAgency,
                format!(
                    "sender {} is not a member of the federation",
                    package.sender()
                ),
            );
        }
        Err(status) => return refuse_status("sender", package.sender(), &status),
    };
    if !sender.record.accepts_key(package.signer(), now) {
        return reject(
            RejectReason::WrongKey,
            format!(
                "package is signed with {}, not {}'s key",
                package.signer().fmt_short(),
                package.sender()
            ),
        );
    }
    let from_sender = roster
        .member_by_peer(&peer, now)
        .is_some_and(|m| m.record.organ_id == sender.record.organ_id);
    if !from_sender && peer != ctx.network.local_peer_id() && !roster.is_relay(&peer, now) {
        return reject(
            RejectReason::NotAllowed,
            format!(
                "the connection is from {peer}, which is neither {}'s node nor a relay",
                package.sender()
            ),
        );
    }
    if !package.recipients().contains(&ctx.organ_id) {
        return reject(
            RejectReason::NotForThisNode,
            format!("package is not addressed to {}", ctx.organ_id),
        );
    }
    check_clock(ctx, "the package", package.created_at(), now)?;
    let max_age = ctx.config.security.max_package_age;
    if add(package.created_at(), max_age) < now {
        return reject(
            RejectReason::Stale,
            format!(
                "package was created at {}, longer ago than this node accepts ({})",
                package.created_at(),
                humantime::format_duration(max_age)
            ),
        );
    }
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
    check_clock(ctx, "the receipt", receipt.issued_at(), clock::now())?;
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
