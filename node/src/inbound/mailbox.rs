//! A member's side of its relays: a reservation at each, so that nodes that cannot dial it
//! reach it through a circuit; packages the relays hold for it, pushed by them or pulled
//! from them; and opening what was sealed to it.
//!
//! A package that comes out of a seal is accepted exactly as a direct delivery is
//! (`package.rs`): the sender's signature, the roster, the edXML, then the
//! durable inbox and this agency's signed receipt 01, which goes back to the relay and from
//! there to the sender.

use std::collections::HashSet;
use std::sync::Arc;

use libp2p::PeerId;
use lienthong_protocol::OrganId;
use lienthong_protocol::StatusCode;
use lienthong_protocol::envelope::{ReceiptFields, SignedReceipt};
use lienthong_protocol::seal::{EncryptionSecret, SealError, SealedPackage};
use lienthong_protocol::wire::{
    Acked, Delivered, MAX_MAILBOX_BATCH, Mailbox, MailboxAck, MailboxFetch, RejectReason, Rejection,
};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{Inbound, reject};
use crate::clock;
use crate::context::NodeContext;
use crate::network::NetworkEvent;
use crate::outbound::{Outbound, OutboundError};
use crate::tasks::{Wake, Woken, blocking};

/// Longest reason written into a receipt 02.
const MAX_REFUSAL_LEN: usize = 512;
/// Packages asked for per fetch.
const FETCH_BATCH: u32 = 16;
/// Fetches per relay per round, so a round ends even if a relay keeps answering.
const MAX_FETCHES: usize = 64;

/// The secrets that open what is sealed to this agency: the current key's, and the
/// previous key's while a rotation's grace lasts (packages sealed to the old key may still
/// sit at a relay).
pub(crate) struct Opening {
    current: EncryptionSecret,
    previous: Option<EncryptionSecret>,
}

impl std::fmt::Debug for Opening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opening")
            .field("current", &self.current.public().fmt_short().to_string())
            .field("previous", &self.previous.is_some())
            .finish()
    }
}

impl Opening {
    /// The secrets of the current agency key and, if any, the previous one.
    pub(crate) fn new(
        current: &lienthong_protocol::AgencyKey,
        previous: Option<&lienthong_protocol::AgencyKey>,
    ) -> Opening {
        Opening {
            current: EncryptionSecret::derive(current),
            previous: previous.map(EncryptionSecret::derive),
        }
    }

    /// Opens a package sealed to this agency, trying the current secret first.
    ///
    /// # Errors
    /// The current secret's error when neither opens it.
    pub(crate) fn open(
        &self,
        sealed: &SealedPackage,
        limits: &lienthong_protocol::envelope::EnvelopeLimits,
    ) -> Result<lienthong_protocol::SignedPackage, SealError> {
        match sealed.open(&self.current, limits) {
            Ok(package) => Ok(package),
            Err(SealError::Decrypt) if self.previous.is_some() => self
                .previous
                .as_ref()
                .map_or(Err(SealError::Decrypt), |previous| {
                    sealed.open(previous, limits)
                }),
            Err(e) => Err(e),
        }
    }
}

/// Opens a sealed package for this agency and accepts the package inside as a direct
/// delivery from `peer` (a relay).
pub(super) fn accept_sealed(
    inbound: &Inbound,
    peer: PeerId,
    sealed: &SealedPackage,
) -> Result<Delivered, Rejection> {
    let ctx = &inbound.ctx;
    if sealed.recipient() != &ctx.organ_id {
        return reject(
            RejectReason::NotForThisNode,
            format!(
                "the package is sealed to {}, not {}",
                sealed.recipient(),
                ctx.organ_id
            ),
        );
    }
    let is_relay = ctx
        .roster()
        .is_some_and(|r| r.is_relay(&peer, clock::now()));
    if !is_relay {
        return reject(
            RejectReason::NotAllowed,
            format!("sealed packages come from relays, and {peer} is none"),
        );
    }
    match inbound.opening.open(sealed, &ctx.limits) {
        Ok(package) => inbound.accept_package(peer, &package),
        Err(e) => reject(
            RejectReason::Malformed,
            format!("the sealed package does not open for {}: {e}", ctx.organ_id),
        ),
    }
}

/// Keeps a reservation at each relay the roster names for this agency, and drops those
/// it no longer names.
pub(crate) async fn keep_reservations(ctx: Arc<NodeContext>, shutdown: CancellationToken) {
    if !ctx.config.relay.reserve {
        return;
    }
    let mut wake = Wake::until(shutdown)
        .at_start()
        .on_roster(ctx.membership.clone());
    let mut reserved: HashSet<PeerId> = HashSet::new();
    while wake.next().await.is_some() {
        if let Some(membership) = ctx.roster() {
            let relays: Vec<_> = membership
                .relays_of(&ctx.organ_id, clock::now())
                .into_iter()
                .filter(|relay| relay.peer_id != ctx.network.local_peer_id())
                .map(|relay| {
                    (
                        relay.peer_id,
                        relay.addresses.clone(),
                        relay.record.organ_id.clone(),
                    )
                })
                .collect();
            let wanted: HashSet<PeerId> = relays.iter().map(|(peer, _, _)| *peer).collect();
            for (peer, addresses, organ) in relays {
                if reserved.contains(&peer) || addresses.is_empty() {
                    continue;
                }
                match ctx.network.listen_via_relay(peer, addresses).await {
                    Ok(()) => {
                        info!(relay = %organ, "keeping a reservation at this agency's relay");
                        reserved.insert(peer);
                    }
                    Err(e) => warn!(relay = %organ, error = %e, "cannot listen through a relay"),
                }
            }
            for peer in reserved.clone().difference(&wanted) {
                if let Err(e) = ctx.network.stop_listening_via_relay(*peer).await {
                    debug!(error = %e, "cannot stop listening through a relay");
                }
                reserved.remove(peer);
            }
        }
    }
}

/// Pulls this agency's mailbox from each of its relays when it connects to one and every
/// `relay.pull_interval`.
pub(crate) async fn pull(inbound: Arc<Inbound>, outbound: Outbound, shutdown: CancellationToken) {
    let ctx = &inbound.ctx;
    let mut wake = Wake::until(shutdown.clone())
        .every(ctx.config.relay.pull_interval)
        .on_events(ctx.network.subscribe());
    while let Some(woken) = wake.next().await {
        let relays: Vec<OrganId> = match woken {
            Woken::Event(
                NetworkEvent::PeerConnected(peer)
                | NetworkEvent::ReservationAccepted { relay: peer },
            ) => {
                let now = clock::now();
                ctx.roster()
                    .and_then(|r| {
                        let relay = r.member_by_peer(&peer, now)?.record.organ_id.clone();
                        r.member(&ctx.organ_id)?
                            .record
                            .relays
                            .contains(&relay)
                            .then_some(relay)
                    })
                    .into_iter()
                    .collect()
            }
            Woken::Event(_) => continue,
            Woken::Tick | Woken::Lagged | Woken::Start | Woken::Notified | Woken::Roster => {
                my_relays(ctx)
            }
        };
        for relay in relays {
            if shutdown
                .run_until_cancelled(take_mailbox(&inbound, &outbound, &relay))
                .await
                .is_none()
            {
                return;
            }
        }
    }
}

/// The relays this agency names.
fn my_relays(ctx: &NodeContext) -> Vec<OrganId> {
    ctx.roster()
        .map(|r| {
            r.relays_of(&ctx.organ_id, clock::now())
                .into_iter()
                .map(|m| m.record.organ_id.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Fetches what `relay` holds for this agency, accepts each package, and acknowledges
/// with the receipts, until the relay has nothing more.
async fn take_mailbox(inbound: &Arc<Inbound>, outbound: &Outbound, relay: &OrganId) {
    let ctx = &inbound.ctx;
    for _ in 0..MAX_FETCHES {
        let fetch = MailboxFetch { limit: FETCH_BATCH };
        let held = match outbound.call(relay, fetch).await {
            Ok(Mailbox(held)) => held,
            Err(OutboundError::Rejected { rejection, .. }) => {
                warn!(%relay, rejection = %rejection, "the relay refused to give the mailbox");
                return;
            }
            Err(problem) => {
                debug!(%relay, problem = %problem, "relay not reachable for a mailbox fetch");
                return;
            }
        };
        if held.is_empty() {
            return;
        }
        let fetched = held.len();
        let Some(relay_peer) = ctx
            .roster()
            .and_then(|r| r.member(relay).map(|m| m.peer_id))
        else {
            return;
        };
        let receipts = {
            let inbound = inbound.clone();
            blocking(move || accept_all(&inbound, relay_peer, &held)).await
        };
        let receipts = match receipts {
            Ok(receipts) => receipts,
            Err(e) => {
                warn!(error = %e, "mailbox task failed");
                return;
            }
        };
        if receipts.is_empty() {
            return;
        }
        let taken = receipts.len();
        match outbound.call(relay, MailboxAck(receipts)).await {
            Ok(Acked { count }) => {
                info!(%relay, taken, released = count, "packages taken from the relay's mailbox");
            }
            Err(problem) if problem.answered() => {
                warn!(%relay, answer = %problem, "the relay did not take the acknowledgement; it will offer the packages again");
                return;
            }
            Err(problem) => {
                debug!(%relay, problem = %problem, "acknowledgement not delivered; the relay will offer the packages again");
                return;
            }
        }
        if fetched < FETCH_BATCH as usize || taken < fetched {
            return;
        }
    }
}

/// Accepts each fetched package; returns the receipts to acknowledge with: 01 for each
/// package accepted, and 02 (refused, with the reason) for each this agency will never
/// accept, so that its sender learns why instead of waiting. A package refused for a
/// reason that may pass (the store is busy, a clock is off) stays at the relay.
fn accept_all(inbound: &Inbound, relay: PeerId, held: &[SealedPackage]) -> Vec<SignedReceipt> {
    let ctx = &inbound.ctx;
    let mut receipts = Vec::with_capacity(held.len());
    for sealed in held.iter().take(MAX_MAILBOX_BATCH as usize) {
        match accept_sealed(inbound, relay, sealed) {
            Ok(Delivered { receipt, .. }) => receipts.push(receipt),
            Err(rejection) if is_final(rejection.reason) => {
                warn!(package = %sealed.id(), from = %sealed.sender(), rejection = %rejection, "a package from the mailbox is refused; its sender gets receipt 02");
                if let Some(receipt) = refusal(ctx, sealed, &rejection) {
                    receipts.push(receipt);
                }
            }
            Err(rejection) => {
                warn!(package = %sealed.id(), from = %sealed.sender(), rejection = %rejection, "a package from the mailbox cannot be taken now; left at the relay");
            }
        }
    }
    receipts
}

/// Whether a refusal will not change by trying again. An unknown sender or key may be a
/// roster this node has not caught up with yet, and a clock may be set right: those wait.
fn is_final(reason: RejectReason) -> bool {
    matches!(
        reason,
        RejectReason::Malformed
            | RejectReason::NotForThisNode
            | RejectReason::TooLarge
            | RejectReason::NotAllowed
            | RejectReason::Stale
            | RejectReason::Revoked
    )
}

/// This agency's signed receipt 02 for a sealed package it refuses, recorded durably
/// before it is handed out.
fn refusal(
    ctx: &NodeContext,
    sealed: &SealedPackage,
    rejection: &Rejection,
) -> Option<SignedReceipt> {
    let mut description = rejection.to_string();
    if description.len() > MAX_REFUSAL_LEN {
        let mut end = MAX_REFUSAL_LEN;
        while !description.is_char_boundary(end) {
            end -= 1;
        }
        description.truncate(end);
    }
    let receipt = SignedReceipt::sign(
        ctx.identity.agency_key(),
        ReceiptFields {
            package_id: sealed.id(),
            sender: sealed.sender().clone(),
            recipient: ctx.organ_id.clone(),
            document_id: None,
            code: StatusCode::Rejected,
            issued_at: clock::now(),
            description: Some(description),
        },
        &ctx.limits,
    )
    .inspect_err(|e| warn!(error = %e, "cannot sign a refusal"))
    .ok()?;
    let _recorded = ctx
        .store
        .record_receipt(&receipt, None)
        .inspect_err(|e| warn!(error = %e, "cannot record a refusal"))
        .ok()?;
    Some(receipt)
}
