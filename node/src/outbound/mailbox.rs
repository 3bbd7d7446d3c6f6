//! The mailbox path, the sender's side of a relay: when a recipient cannot be reached,
//! directly or through a circuit, the package is sealed to the recipient's roster encryption key and deposited
//! at one of the relays the roster names for it, in the recipient's order of preference.
//!
//! The relay's answer is a [`SignedHold`]: the relay's signature that it holds the package
//! for that recipient. It is checked (the relay's roster key, this package, this
//! recipient) before the outbox says `held_at_relay`; only the recipient's own receipt 01
//! makes it `delivered`.

use futures::future::BoxFuture;
use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::SignedPackage;
use lienthong_protocol::seal::{SealedPackage, SignedHold};
use lienthong_protocol::wire::Deposit;
use tracing::debug;

use super::path::{HandOverError, Path};
use super::{Outbound, OutboundError};
use crate::clock;
use crate::context::NodeContext;
use crate::tasks::blocking;

/// The mailbox path; see the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Mailbox;

impl Path for Mailbox {
    fn name(&self) -> &'static str {
        "mailbox"
    }

    fn hands_over(&self) -> bool {
        true
    }

    fn hand_over<'a>(
        &'a self,
        client: &'a Outbound,
        package: &'a SignedPackage,
        recipient: &'a OrganId,
    ) -> BoxFuture<'a, Result<SignedHold, HandOverError>> {
        Box::pin(deposit(client, package, recipient))
    }
}

/// Seals `package` for `recipient` and deposits it at the first of the recipient's relays
/// that takes it.
///
/// # Errors
/// [`HandOverError::Busy`] when a relay was busy, otherwise why no relay holds it: the
/// recipient names no relay or publishes no encryption key, or each relay's own failure.
async fn deposit(
    outbound: &Outbound,
    package: &SignedPackage,
    recipient: &OrganId,
) -> Result<SignedHold, HandOverError> {
    let ctx = outbound.ctx();
    let roster = ctx.roster().ok_or("this node has no roster")?;
    let now = clock::now();
    let relays: Vec<OrganId> = roster
        .relays_of(recipient, now)
        .into_iter()
        .map(|m| m.record.organ_id.clone())
        .filter(|relay| relay != &ctx.organ_id)
        .collect();
    if relays.is_empty() {
        return Err(format!("{recipient} names no relay to hold it").into());
    }
    let key = roster
        .member(recipient)
        .and_then(|m| m.record.encryption_key)
        .ok_or_else(|| {
            format!("{recipient} publishes no encryption key, so no relay can hold it")
        })?;
    let sealed = {
        let ctx = ctx.clone();
        let package = package.clone();
        let to = recipient.clone();
        blocking(move || {
            SealedPackage::seal(ctx.identity.agency_key(), &package, &to, &key, &ctx.limits)
        })
        .await
        .map_err(|e| format!("sealing task failed: {e}"))?
        .map_err(|e| format!("cannot seal the package for {recipient}: {e}"))?
    };
    let mut problems = Vec::new();
    let mut busy = false;
    for relay in &relays {
        match outbound.call(relay, Deposit(sealed.clone())).await {
            Ok(hold) => match check_hold(ctx, &hold, package, recipient, relay) {
                Ok(()) => return Ok(hold),
                Err(problem) => problems.push(format!("relay {relay}: {problem}")),
            },
            Err(OutboundError::Rejected { rejection, .. }) => {
                problems.push(format!("relay {relay} refused: {rejection}"));
            }
            Err(OutboundError::Busy { .. }) => busy = true,
            Err(problem) => problems.push(format!("relay {relay}: {problem}")),
        }
        debug!(%relay, %recipient, "deposit not taken; trying the next relay");
    }
    if busy {
        return Err(HandOverError::Busy);
    }
    Err(problems.join("; ").into())
}

/// Checks a relay's hold: signed with the relay's roster key, about this package from
/// this agency to this recipient, held by that relay.
fn check_hold(
    ctx: &NodeContext,
    hold: &SignedHold,
    package: &SignedPackage,
    recipient: &OrganId,
    relay: &OrganId,
) -> Result<(), String> {
    let roster = ctx.roster().ok_or("no roster")?;
    if hold.package_id() != package.id()
        || hold.recipient() != recipient
        || hold.sender() != &ctx.organ_id
        || hold.relay() != relay
    {
        return Err(format!(
            "the hold is about package {} from {} to {} at {}",
            hold.package_id().fmt_short(),
            hold.sender(),
            hold.recipient(),
            hold.relay()
        ));
    }
    if !roster.key_matches(relay, hold.signer(), clock::now()) {
        return Err(format!("the hold is not signed with {relay}'s key"));
    }
    Ok(())
}
