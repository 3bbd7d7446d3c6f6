//! Receipts this node receives: who may say what about which package, and what a receipt
//! changes in the outbox.
//!
//! A receipt is taken only when its signature (already verified by decoding) is by the
//! roster's key of the agency that must make that statement: the recipient for every code
//! but 13, the sender for 13. A receipt seen before changes nothing.

use lienthong_protocol::StatusCode;
use lienthong_protocol::envelope::SignedReceipt;
use lienthong_protocol::wire::{RejectReason, Rejection};
use tracing::info;

use crate::context::NodeContext;
use crate::ops::metrics::DeliveryPath;
use crate::store::{DeliveryState, OutboxEntry, RecordOutcome};

fn refuse(reason: RejectReason, detail: String) -> Rejection {
    Rejection { reason, detail }
}

/// Checks a receipt against the roster and this node's packages, then records it durably,
/// updating the recipient's outbox entry when the code ends the delivery (01, 02).
///
/// # Errors
/// The [`Rejection`] to send back; nothing is stored then.
pub(crate) fn apply(
    ctx: &NodeContext,
    receipt: &SignedReceipt,
) -> Result<RecordOutcome, Rejection> {
    let roster = ctx.roster().ok_or_else(|| {
        refuse(
            RejectReason::UnknownAgency,
            "this node has no federation roster yet".to_owned(),
        )
    })?;
    let issuer = receipt.issuer();
    let now = crate::clock::now();
    match roster.active(issuer, now) {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Err(refuse(
                RejectReason::UnknownAgency,
                format!("{issuer}, who would make this statement, is not a member"),
            ));
        }
        Err(status) => {
            return Err(refuse(
                RejectReason::Revoked,
                format!(
                    "{issuer}, who would make this statement, is not an active member: {status}"
                ),
            ));
        }
    }
    if !roster.key_matches(issuer, receipt.signer(), now) {
        return Err(refuse(
            RejectReason::WrongKey,
            format!(
                "receipt is signed with {}, not {issuer}'s key",
                receipt.signer().fmt_short()
            ),
        ));
    }
    // Whether the package waited in a relay's mailbox: then a 01 here is its delivery.
    let mut was_held = false;
    let outbox_update = if receipt.code() == StatusCode::TakeBackRequested {
        // 13 comes from the sender to a recipient: this node must be that recipient and
        // must have received the package.
        if receipt.recipient() != &ctx.organ_id {
            return Err(refuse(
                RejectReason::NotForThisNode,
                format!(
                    "take-back request for {}, not {}",
                    receipt.recipient(),
                    ctx.organ_id
                ),
            ));
        }
        let received = ctx
            .store
            .inbox_entry(&receipt.package_id())
            .map_err(|e| refuse(RejectReason::Unavailable, e.to_string()))?;
        if received.is_none_or(|entry| &entry.from != receipt.sender()) {
            return Err(refuse(
                RejectReason::NotForThisNode,
                format!(
                    "package {} from {} was not received here",
                    receipt.package_id(),
                    receipt.sender()
                ),
            ));
        }
        None
    } else {
        // Every other code is a recipient telling this node, the sender.
        if receipt.sender() != &ctx.organ_id {
            return Err(refuse(
                RejectReason::NotForThisNode,
                format!(
                    "receipt is about a package from {}, not {}",
                    receipt.sender(),
                    ctx.organ_id
                ),
            ));
        }
        let entries = ctx
            .store
            .outbox(&receipt.package_id())
            .map_err(|e| refuse(RejectReason::Unavailable, e.to_string()))?;
        let Some(entry) = entries
            .into_iter()
            .find(|e| e.recipient == *receipt.recipient())
        else {
            return Err(refuse(
                RejectReason::NotAllowed,
                format!(
                    "{} is not a recipient of package {} sent from here",
                    receipt.recipient(),
                    receipt.package_id()
                ),
            ));
        };
        was_held = entry.state == DeliveryState::HeldAtRelay;
        outbox_change(entry, receipt)
    };
    let outcome = ctx
        .store
        .record_receipt(receipt, outbox_update.as_ref())
        .map_err(|e| {
            refuse(
                RejectReason::Unavailable,
                format!("the receipt could not be stored: {e}"),
            )
        })?;
    if outcome == RecordOutcome::New {
        ctx.metrics.receipts_recorded.inc();
        ctx.metrics.receipt(receipt.code());
        if let Some(update) = outbox_update
            .as_ref()
            .filter(|u| u.state == DeliveryState::Delivered)
        {
            let path = if was_held {
                DeliveryPath::Mailbox
            } else {
                DeliveryPath::Other
            };
            let taken = now.as_millis().saturating_sub(update.queued_at.as_millis());
            ctx.metrics
                .delivered(path, std::time::Duration::from_millis(taken));
        }
        info!(
            target: "lienthong::events::receipt",
            package = %receipt.package_id(),
            recipient = %receipt.recipient(),
            code = %receipt.code(),
            "receipt recorded"
        );
    }
    Ok(outcome)
}

/// The outbox entry after `receipt`, when it changes it: 01 ends the delivery, 02 ends it
/// as rejected. Later codes (03–06, 15, 16) only add to the timeline.
fn outbox_change(mut entry: OutboxEntry, receipt: &SignedReceipt) -> Option<OutboxEntry> {
    match (receipt.code(), entry.state) {
        (
            StatusCode::Arrived,
            DeliveryState::Queued | DeliveryState::Sending | DeliveryState::HeldAtRelay,
        ) => {
            entry.state = DeliveryState::Delivered;
            entry.delivered_at = Some(receipt.issued_at());
            entry.last_error = None;
            Some(entry)
        }
        (StatusCode::Rejected, state) if state != DeliveryState::Rejected => {
            entry.state = DeliveryState::Rejected;
            entry.last_error = receipt.description().map(str::to_owned);
            Some(entry)
        }
        _ => None,
    }
}

/// Checks the receipt 01 a recipient answered a delivery with: signed by the recipient's
/// roster key, about this package and this recipient, code 01.
///
/// # Errors
/// What is wrong with it, for the outbox's `last_error`.
pub(crate) fn check_delivery_receipt(
    ctx: &NodeContext,
    expected: &crate::outbound::delivery::schedule::DeliveryKey,
    receipt: &SignedReceipt,
) -> Result<(), String> {
    let (package_id, recipient) = expected;
    let roster = ctx.roster().ok_or("no roster")?;
    if receipt.package_id() != *package_id
        || receipt.recipient() != recipient
        || receipt.sender() != &ctx.organ_id
    {
        return Err(format!(
            "the receipt is about package {} to {}, not this delivery",
            receipt.package_id().fmt_short(),
            receipt.recipient()
        ));
    }
    if receipt.code() != StatusCode::Arrived {
        return Err(format!(
            "the delivery was answered with code {}, not 01",
            receipt.code()
        ));
    }
    if !roster.key_matches(recipient, receipt.signer(), crate::clock::now()) {
        return Err(format!("the receipt is not signed with {recipient}'s key"));
    }
    Ok(())
}
