//! The checks a package passes before anything of it is stored, whoever takes it: this
//! agency accepting a package for itself (`package.rs`), or a relay taking a sealed one to
//! hold for a member (`relay.rs`). The sender must be an active member, the envelope signed
//! with its roster key, the connection from a node allowed to bring it, and its time
//! neither ahead of this node's clock nor too old to be anything but a replay.
//!
//! The checks run in that order, so a package wrong in several ways is refused for the
//! first; each caller adds its own check of the recipient between [`sender`] and [`time`].

use std::time::Duration;

use libp2p::PeerId;
use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::keys::PublicKey;
use lienthong_protocol::wire::{RejectReason, Rejection};

use super::reject;
use crate::clock::add;
use crate::context::NodeContext;
use crate::roster::membership::{Member, Membership};

/// Who is taking the package: what connections may bring it, and what the refusals say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// This agency, for itself: the sender's node, a federation relay (a push from its
    /// mailbox, or a circuit) or this node itself may bring it.
    Recipient,
    /// A relay, to hold for a member: only the sender's own node may deposit.
    Relay,
}

impl Gate {
    /// What the signature is on, in a refusal.
    fn signed(self) -> &'static str {
        match self {
            Gate::Recipient => "package",
            Gate::Relay => "the seal",
        }
    }

    /// What this node does with a package, in a refusal: "this node accepts".
    fn keeps(self) -> &'static str {
        match self {
            Gate::Recipient => "this node accepts",
            Gate::Relay => "this relay holds",
        }
    }
}

/// A package's signed outer header, whichever envelope carries it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header<'a> {
    /// The agency that sent it.
    pub(crate) sender: &'a OrganId,
    /// The key that signed it.
    pub(crate) signer: &'a PublicKey,
    /// When it was made.
    pub(crate) created_at: Timestamp,
}

/// Checks the sender, its key and the connection: the sender's roster entry.
///
/// # Errors
/// The refusal: an unknown or inactive sender, another key, a connection not allowed.
pub(crate) fn sender<'r>(
    ctx: &NodeContext,
    roster: &'r Membership,
    gate: Gate,
    peer: PeerId,
    header: Header<'_>,
    now: Timestamp,
) -> Result<&'r Member, Rejection> {
    let sender = match roster.active(header.sender, now) {
        Ok(Some(sender)) => sender,
        Ok(None) => {
            return reject(
                RejectReason::UnknownAgency,
                format!("sender {} is not a member of the federation", header.sender),
            );
        }
        Err(status) => {
            return reject(
                RejectReason::Revoked,
                format!("sender {} is not an active member: {status}", header.sender),
            );
        }
    };
    if !sender.record.accepts_key(header.signer, now) {
        return reject(
            RejectReason::WrongKey,
            format!(
                "{} is signed with {}, not {}'s key",
                gate.signed(),
                header.signer.fmt_short(),
                header.sender
            ),
        );
    }
    let from_sender = roster
        .member_by_peer(&peer, now)
        .is_some_and(|m| m.record.organ_id == sender.record.organ_id);
    match gate {
        Gate::Recipient
            if !from_sender
                && peer != ctx.network.local_peer_id()
                && !roster.is_relay(&peer, now) =>
        {
            reject(
                RejectReason::NotAllowed,
                format!(
                    "the connection is from {peer}, which is neither {}'s node nor a relay",
                    header.sender
                ),
            )
        }
        Gate::Relay if !from_sender => reject(
            RejectReason::NotAllowed,
            format!(
                "the connection is from {peer}, not {}'s node",
                header.sender
            ),
        ),
        Gate::Recipient | Gate::Relay => Ok(sender),
    }
}

/// Checks the package's time: not ahead of this node's clock, not older than it keeps.
///
/// # Errors
/// [`RejectReason::ClockSkew`] or [`RejectReason::Stale`].
pub(crate) fn time(
    ctx: &NodeContext,
    gate: Gate,
    header: Header<'_>,
    now: Timestamp,
) -> Result<(), Rejection> {
    clock(ctx, "the package", header.created_at, now)?;
    let max_age = ctx.config.security.max_package_age;
    if add(header.created_at, max_age) < now {
        return reject(
            RejectReason::Stale,
            format!(
                "package was created at {}, longer ago than {} ({})",
                header.created_at,
                gate.keeps(),
                humantime::format_duration(max_age)
            ),
        );
    }
    Ok(())
}

/// Checks a time a peer signed (`what`: "the package", "the receipt") against this node's
/// clock.
///
/// # Errors
/// [`RejectReason::ClockSkew`] when it is ahead by more than `security.clock_skew`.
pub(crate) fn clock(
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
