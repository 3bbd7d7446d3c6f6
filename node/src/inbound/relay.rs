//! A relay's answers to its peers: deposits of sealed packages, mailbox fetches and
//! acknowledgements, and receipts to forward. Run on blocking worker threads from
//! `dispatch.rs`, like every other request; a deposit passes the same admission checks
//! (`admission.rs`) as a package this agency accepts for itself.
//!
//! A relay holds only what one of its members is owed: the recipient must be an active
//! member that names this relay, and the sender an active member whose node made the
//! connection and whose key signed the seal. Everything it takes is durable before it
//! answers, and its answer to a deposit is a signed [`SignedHold`], never a receipt.

use libp2p::PeerId;
use lienthong_protocol::envelope::SignedReceipt;
use lienthong_protocol::roster::Role;
use lienthong_protocol::seal::{HoldFields, SealedPackage, SignedHold};
use lienthong_protocol::wire::{Acked, Mailbox, RejectReason, Rejection};
use lienthong_protocol::{OrganId, StatusCode};
use tracing::{debug, info, warn};

use super::admission::{self, Gate, Header};
use super::reject;
use crate::clock;
use crate::context::NodeContext;
use crate::relay::RelayServer;
use crate::roster::membership::Membership;
use crate::store::{HoldOutcome, MailboxEntry};

/// The agency whose node is `peer`, if it is an active member.
fn requester<'m>(roster: &'m Membership, peer: &PeerId) -> Result<&'m OrganId, Rejection> {
    let now = clock::now();
    match roster.member_by_peer(peer, now) {
        Some(member)
            if roster
                .active(&member.record.organ_id, now)
                .is_ok_and(|m| m.is_some()) =>
        {
            Ok(&member.record.organ_id)
        }
        Some(member) => reject(
            RejectReason::Revoked,
            format!("{} is not an active member", member.record.organ_id),
        ),
        None => reject(
            RejectReason::UnknownAgency,
            format!("the connection is from {peer}, which is no member's node"),
        ),
    }
}

/// Refuses requests only a relay answers, on a node that is not one.
fn relay_only(ctx: &NodeContext) -> Result<(), Rejection> {
    if ctx.config.role == Role::Relay {
        Ok(())
    } else {
        reject(
            RejectReason::NotAllowed,
            format!("{} is not a relay", ctx.organ_id),
        )
    }
}

/// [`Request::Deposit`](lienthong_protocol::wire::Request::Deposit): holds a sealed
/// package for one of this relay's members and answers with a signed hold.
pub(crate) fn deposit(
    ctx: &NodeContext,
    server: Option<&RelayServer>,
    peer: PeerId,
    sealed: &SealedPackage,
) -> Result<SignedHold, Rejection> {
    relay_only(ctx)?;
    let Some(roster) = ctx.roster() else {
        return reject(RejectReason::UnknownAgency, "this relay has no roster yet");
    };
    let now = clock::now();
    let header = Header {
        sender: sealed.sender(),
        signer: sealed.signer(),
        created_at: sealed.created_at(),
    };
    admission::sender(ctx, &roster, Gate::Relay, peer, header, now)?;
    let recipient = sealed.recipient();
    match roster.active(recipient, now) {
        Ok(Some(member)) if member.record.relays.contains(&ctx.organ_id) => {}
        Ok(Some(_)) => {
            return reject(
                RejectReason::NotAllowed,
                format!("{recipient} does not name {} as its relay", ctx.organ_id),
            );
        }
        Ok(None) => {
            return reject(
                RejectReason::UnknownAgency,
                format!("recipient {recipient} is not a member of the federation"),
            );
        }
        Err(status) => {
            return reject(
                RejectReason::Revoked,
                format!("recipient {recipient} is not an active member: {status}"),
            );
        }
    }
    admission::time(ctx, Gate::Relay, header, now)?;

    let wire = sealed.to_wire();
    let size = wire.len() as u64;
    match ctx.store.held(&sealed.id(), recipient) {
        Ok(Some(first)) => return answer_held(&first),
        Ok(None) => {}
        Err(e) => {
            warn!(error = %e, "cannot read the mailbox");
            return reject(RejectReason::Unavailable, "the mailbox cannot be read now");
        }
    }
    let quota = ctx.config.relay.server_mailbox_quota.as_u64();
    match ctx.store.mailbox_usage(recipient) {
        Ok((_, bytes)) if bytes.saturating_add(size) > quota => {
            return reject(
                RejectReason::Unavailable,
                format!(
                    "the mailbox of {recipient} is full ({bytes} of {quota} bytes held); try later"
                ),
            );
        }
        Ok(_) => {}
        Err(e) => {
            warn!(error = %e, "cannot read the mailbox");
            return reject(RejectReason::Unavailable, "the mailbox cannot be read now");
        }
    }
    let hold = match SignedHold::sign(
        ctx.identity.agency_key(),
        HoldFields::for_sealed(sealed, ctx.organ_id.clone(), now),
    ) {
        Ok(hold) => hold,
        Err(e) => {
            return reject(
                RejectReason::Malformed,
                format!("cannot acknowledge this package: {e}"),
            );
        }
    };
    let entry = MailboxEntry {
        package_id: sealed.id(),
        sender: sealed.sender().clone(),
        recipient: recipient.clone(),
        held_at: now,
        size,
        hold: hold.to_wire().to_vec(),
    };
    match ctx.store.hold(&entry, &wire) {
        Ok(HoldOutcome::Held) => {
            ctx.metrics.relay_held.inc();
            info!(
                target: "lienthong::events::held",
                package = %sealed.id(),
                from = %sealed.sender(),
                recipient = %recipient,
                bytes = size,
                "sealed package held for a member"
            );
            if let Some(server) = server {
                server.offer(recipient.clone());
            }
            Ok(hold)
        }
        Ok(HoldOutcome::AlreadyHeld(first)) => answer_held(&first),
        Err(e) => {
            warn!(error = %e, package = %sealed.id(), "cannot hold a sealed package");
            reject(
                RejectReason::Unavailable,
                "the package could not be stored; try again later",
            )
        }
    }
}

/// The hold given the first time, again.
fn answer_held(first: &MailboxEntry) -> Result<SignedHold, Rejection> {
    match SignedHold::from_wire(bytes::Bytes::from(first.hold.clone())) {
        Ok(hold) => {
            debug!(package = %first.package_id, "deposited again; answered with the first hold");
            Ok(hold)
        }
        Err(e) => {
            warn!(error = %e, package = %first.package_id, "a stored hold does not read back");
            reject(
                RejectReason::Unavailable,
                "the stored acknowledgement is unreadable",
            )
        }
    }
}

/// [`Request::MailboxFetch`](lienthong_protocol::wire::Request::MailboxFetch): what this
/// relay holds for the requesting member, oldest first. Nothing leaves the mailbox until
/// the member's receipts come back.
pub(crate) fn fetch(ctx: &NodeContext, peer: PeerId, limit: u32) -> Result<Mailbox, Rejection> {
    relay_only(ctx)?;
    let Some(roster) = ctx.roster() else {
        return reject(RejectReason::UnknownAgency, "this relay has no roster yet");
    };
    let member = requester(&roster, &peer)?.clone();
    let limit = limit.clamp(1, lienthong_protocol::wire::MAX_MAILBOX_BATCH);
    let held = match ctx.store.mailbox(&member, limit as usize) {
        Ok(held) => held,
        Err(e) => {
            warn!(error = %e, "cannot read the mailbox");
            return reject(RejectReason::Unavailable, "the mailbox cannot be read now");
        }
    };
    let sealed = held.into_iter().filter_map(|h| {
        SealedPackage::from_wire(h.sealed, &ctx.limits)
            .inspect_err(|e| warn!(error = %e, package = %h.entry.package_id, "a held package does not read back"))
            .ok()
    });
    let mailbox = Mailbox::fitting(sealed, limit, ctx.network.max_frame_size());
    debug!(member = %member, packages = mailbox.0.len(), "mailbox fetched");
    Ok(mailbox)
}

/// [`Request::MailboxAck`](lienthong_protocol::wire::Request::MailboxAck): the member's
/// receipts for packages it took. Each must be the member's own, signed with its key;
/// each releases its package and waits for its sender.
pub(crate) fn ack(
    ctx: &NodeContext,
    server: Option<&RelayServer>,
    peer: PeerId,
    receipts: &[SignedReceipt],
) -> Result<Acked, Rejection> {
    relay_only(ctx)?;
    let Some(roster) = ctx.roster() else {
        return reject(RejectReason::UnknownAgency, "this relay has no roster yet");
    };
    let member = requester(&roster, &peer)?.clone();
    let now = clock::now();
    for receipt in receipts {
        if receipt.recipient() != &member || receipt.code() == StatusCode::TakeBackRequested {
            return reject(
                RejectReason::NotAllowed,
                format!(
                    "a receipt about package {} is {}'s, not {member}'s",
                    receipt.package_id(),
                    receipt.issuer()
                ),
            );
        }
        if !roster.key_matches(&member, receipt.signer(), now) {
            return reject(
                RejectReason::WrongKey,
                format!("a receipt is not signed with {member}'s key"),
            );
        }
    }
    let mut released = 0u32;
    for receipt in receipts {
        match ctx.store.release(receipt) {
            Ok(true) => released += 1,
            Ok(false) => {}
            Err(e) => {
                warn!(error = %e, "cannot release a held package");
                return reject(
                    RejectReason::Unavailable,
                    "the acknowledgement could not be stored; send it again",
                );
            }
        }
    }
    if let Some(server) = server {
        server.wake();
    }
    info!(member = %member, receipts = receipts.len(), released, "mailbox acknowledged");
    Ok(Acked { count: released })
}

/// [`Request::RelayReceipt`](lienthong_protocol::wire::Request::RelayReceipt): a member's
/// receipt for a sender it cannot reach, queued durably for that sender.
pub(crate) fn relay_receipt(
    ctx: &NodeContext,
    server: Option<&RelayServer>,
    peer: PeerId,
    receipt: &SignedReceipt,
) -> Result<Acked, Rejection> {
    relay_only(ctx)?;
    let Some(roster) = ctx.roster() else {
        return reject(RejectReason::UnknownAgency, "this relay has no roster yet");
    };
    let member = requester(&roster, &peer)?.clone();
    let now = clock::now();
    if receipt.issuer() != &member || !roster.key_matches(&member, receipt.signer(), now) {
        return reject(
            RejectReason::NotAllowed,
            format!(
                "the receipt is {}'s, signed with {}; {member} may only hand in its own",
                receipt.issuer(),
                receipt.signer().fmt_short()
            ),
        );
    }
    let to = if receipt.code() == StatusCode::TakeBackRequested {
        receipt.recipient()
    } else {
        receipt.sender()
    };
    if !roster.active(to, now).is_ok_and(|m| m.is_some()) {
        return reject(
            RejectReason::UnknownAgency,
            format!("{to}, who the receipt is for, is not an active member"),
        );
    }
    match ctx.store.queue_forward(receipt) {
        Ok(()) => {
            if let Some(server) = server {
                server.wake();
            }
            Ok(Acked { count: 1 })
        }
        Err(e) => {
            warn!(error = %e, "cannot queue a receipt");
            reject(
                RejectReason::Unavailable,
                "the receipt could not be stored; send it again",
            )
        }
    }
}
