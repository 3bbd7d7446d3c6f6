//! A relay's own work: passing held packages to their recipients and receipts to their
//! senders, and keeping the relay server's member lists in step with the roster.
//!
//! One task does both kinds of passing. It wakes when a package is deposited, when a
//! member acknowledges, when a member or sender connects, and every
//! `relay.server_forward_interval`. A package leaves the mailbox only when the recipient's
//! verified receipt is stored in its place (`Store::release`), and a receipt leaves the
//! forward queue only when its sender has accepted it, so a crash at any point repeats
//! work and never loses it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::SignedReceipt;
use lienthong_protocol::seal::SealedPackage;
use lienthong_protocol::wire::{DeliverSealed, Delivered, HandReceipt, ReceiptAccepted};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, info, warn};

use crate::clock;
use crate::context::NodeContext;
use crate::network::{NetworkEvent, RelayMembers};
use crate::outbound::{Drain, Outbound, OutboundError, Passed};
use crate::store::HeldPackage;
use crate::tasks::{Wake, Woken};

/// Packages read from the mailbox, or receipts from the forward queue: 64 at a time, 16
/// in flight to one agency at once, at most 1024 batches for one agency in one pass.
const PASS: Drain = Drain {
    batch: 64,
    in_flight: 16,
    max_batches: 1024,
};

/// The relay server's state the rest of the node reaches: who it serves, and a way to
/// wake the forwarding task.
#[derive(Debug, Default)]
pub struct RelayServer {
    /// Who may hold a reservation: the agencies that name this relay.
    pub members: RelayMembers,
    /// Who may open a circuit: every active member of the federation.
    pub circuit_sources: RelayMembers,
    /// Members with packages to push now.
    offered: Mutex<BTreeSet<OrganId>>,
    wake: Arc<Notify>,
}

impl RelayServer {
    /// Asks the forwarding task to push `member`'s mailbox now.
    pub(crate) fn offer(&self, member: OrganId) {
        self.offered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(member);
        self.wake.notify_one();
    }

    /// Asks the forwarding task to forward queued receipts now.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    fn take_offered(&self) -> BTreeSet<OrganId> {
        std::mem::take(&mut *self.offered.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Keeps the relay server's member lists equal to what the roster says, at every roster
/// change and every few seconds (memberships expire by themselves).
pub(crate) async fn keep_members(
    ctx: Arc<NodeContext>,
    server: Arc<RelayServer>,
    shutdown: CancellationToken,
) {
    let mut wake = Wake::until(shutdown)
        .every(std::time::Duration::from_secs(5))
        .on_roster(ctx.membership.clone());
    while wake.next().await.is_some() {
        if let Some(membership) = ctx.roster() {
            let now = clock::now();
            let members = membership.members_of_relay(&ctx.organ_id, now);
            if members.len() != server.members.len() {
                info!(members = members.len(), "relay members updated");
            }
            server.members.set(members);
            server.circuit_sources.set(membership.allowed_peers(now));
        }
    }
}

/// The forwarding task; see the module docs.
pub(crate) async fn forward(
    outbound: Outbound,
    server: Arc<RelayServer>,
    shutdown: CancellationToken,
) {
    let ctx = outbound.ctx();
    let relaying = Relaying {
        outbound: outbound.clone(),
        server: server.clone(),
    };
    let mut wake = Wake::until(shutdown.clone())
        .every(ctx.config.relay.server_forward_interval)
        .on_notify(server.wake.clone())
        .on_events(ctx.network.subscribe());
    while let Some(woken) = wake.next().await {
        // Who to push to in this pass: those offered, those who connected, and on a tick
        // every member with something held.
        let everyone = match woken {
            Woken::Event(NetworkEvent::PeerConnected(peer)) => {
                if let Some(member) = ctx.roster().and_then(|r| {
                    r.member_by_peer(&peer, clock::now())
                        .map(|m| m.record.organ_id.clone())
                }) {
                    server.offer(member);
                }
                false
            }
            Woken::Event(_) => continue,
            Woken::Lagged | Woken::Tick => true,
            Woken::Start | Woken::Notified | Woken::Roster => false,
        };
        let mut targets = server.take_offered();
        if everyone {
            match ctx.store.call(|store| store.mailbox_summary()).await {
                Ok(summary) => targets.extend(summary.into_iter().map(|s| s.recipient)),
                Err(e) => warn!(error = %e, "cannot read the mailbox"),
            }
        }
        let mut pass = JoinSet::new();
        for member in targets {
            let relaying = relaying.clone();
            pass.spawn(async move { push_mailbox(&relaying, &member).await }.in_current_span());
        }
        // Receipts: every pass, so that a sender that connects gets its receipts soon.
        let receipts = relaying.clone();
        pass.spawn(async move { forward_receipts(&receipts).await }.in_current_span());
        let finished = shutdown
            .run_until_cancelled(async { while pass.join_next().await.is_some() {} })
            .await;
        if finished.is_none() {
            return;
        }
    }
}

/// What the forwarding task's passes share.
#[derive(Debug, Clone)]
struct Relaying {
    outbound: Outbound,
    server: Arc<RelayServer>,
}

/// Offers `member` what is held for it, oldest first and several at a time (so the
/// member's store commits them together), until the mailbox is empty or the member
/// cannot be reached.
async fn push_mailbox(relaying: &Relaying, member: &OrganId) {
    let ctx = relaying.outbound.ctx();
    PASS.run(
        |batch| {
            let member = member.clone();
            async move {
                ctx.store
                    .call(move |store| store.mailbox(&member, batch))
                    .await
                    .inspect_err(|e| warn!(error = %e, "cannot read the mailbox"))
                    .ok()
            }
        },
        |package| async move { ((), push_one(relaying, member, package).await) },
        |_| async { true },
    )
    .await;
}

/// Offers one held package to its member; releases it against the member's receipt.
async fn push_one(relaying: &Relaying, member: &OrganId, package: HeldPackage) -> Passed {
    let ctx = relaying.outbound.ctx();
    let sealed = match SealedPackage::from_wire(package.sealed, &ctx.limits) {
        Ok(sealed) => sealed,
        Err(e) => {
            warn!(error = %e, package = %package.entry.package_id, "a held package does not read back; left held");
            return Passed::Kept;
        }
    };
    let id = sealed.id();
    match relaying.outbound.call(member, DeliverSealed(sealed)).await {
        Ok(Delivered { receipt, .. }) => {
            if let Err(problem) = check_member_receipt(ctx, member, &id, &receipt) {
                warn!(package = %id, %member, problem = %problem, "a member answered with a bad receipt; left held");
                return Passed::Kept;
            }
            match ctx.store.call(move |store| store.release(&receipt)).await {
                Ok(_) => {
                    // Its receipt now waits in the forward queue: make sure a pass follows.
                    relaying.server.wake();
                    ctx.metrics.relay_passed.inc();
                    info!(target: "lienthong::events::passed", package = %id, %member, "held package delivered to its recipient");
                    Passed::Yes
                }
                Err(e) => {
                    warn!(error = %e, "cannot release a held package");
                    Passed::Stop
                }
            }
        }
        Err(OutboundError::Rejected { rejection, .. }) => {
            // Left held: the member may be fixed (its roster, its clock), and a refusal for
            // good comes back as its receipt 02 when it pulls the mailbox.
            warn!(package = %id, %member, rejection = %rejection, "a member refused a held package; left held");
            Passed::Kept
        }
        Err(OutboundError::Busy { .. }) => Passed::Stop,
        Err(problem) if problem.answered() => {
            warn!(package = %id, %member, answer = %problem, "unexpected answer to a held package");
            Passed::Stop
        }
        Err(problem) => {
            debug!(%member, problem = %problem, "member not reachable; its packages stay held");
            Passed::Stop
        }
    }
}

/// Checks a member's receipt for a package this relay pushed: the member's own, for that
/// package, signed with its roster key.
pub(crate) fn check_member_receipt(
    ctx: &NodeContext,
    member: &OrganId,
    package: &lienthong_protocol::envelope::PackageId,
    receipt: &SignedReceipt,
) -> Result<(), String> {
    let roster = ctx.roster().ok_or("no roster")?;
    if receipt.package_id() != *package || receipt.recipient() != member {
        return Err(format!(
            "the receipt is about package {} to {}",
            receipt.package_id().fmt_short(),
            receipt.recipient()
        ));
    }
    if !roster.key_matches(member, receipt.signer(), clock::now()) {
        return Err(format!("the receipt is not signed with {member}'s key"));
    }
    Ok(())
}

/// Hands queued receipts to the agencies they are for, every agency at once and each one's
/// receipts in turn, until its queue is empty or it cannot be reached: an unreachable
/// agency costs one attempt per pass and holds up no other.
async fn forward_receipts(relaying: &Relaying) {
    let ctx = relaying.outbound.ctx();
    let destinations = match ctx.store.call(|store| store.forward_destinations()).await {
        Ok(destinations) => destinations,
        Err(e) => {
            warn!(error = %e, "cannot read the forward queue");
            return;
        }
    };
    let mut all = JoinSet::new();
    for to in destinations {
        let relaying = relaying.clone();
        all.spawn(async move { forward_to(&relaying, &to).await }.in_current_span());
    }
    while all.join_next().await.is_some() {}
}

/// Forwards `to`'s receipts, a batch at a time and [`IN_FLIGHT`] at once, until none are
/// left or `to` stops taking them.
async fn forward_to(relaying: &Relaying, to: &OrganId) {
    let ctx = relaying.outbound.ctx();
    PASS.run(
        |batch| {
            let to = to.clone();
            async move {
                ctx.store
                    .call(move |store| store.forward_queue_for(&to, batch))
                    .await
                    .inspect_err(|e| warn!(error = %e, "cannot read the forward queue"))
                    .ok()
            }
        },
        |receipt| async move { ((), forward_one(relaying, to, receipt).await) },
        |_| async { true },
    )
    .await;
}

/// Hands one receipt to `to`; drops it from the queue once taken (or refused for good).
async fn forward_one(relaying: &Relaying, to: &OrganId, receipt: SignedReceipt) -> Passed {
    let ctx = relaying.outbound.ctx();
    match relaying
        .outbound
        .call(to, HandReceipt(receipt.clone()))
        .await
    {
        Ok(ReceiptAccepted { .. }) => {}
        Err(OutboundError::Rejected { rejection, .. }) if !rejection.reason.is_retryable() => {
            // The addressee will never take it (it does not know the package, the issuer
            // was revoked): keeping it would only repeat the refusal.
            warn!(receipt = %receipt.id(), %to, rejection = %rejection, "a forwarded receipt was refused for good; dropped");
        }
        Err(problem) if problem.answered() => {
            debug!(%to, answer = %problem, "receipt not taken; kept");
            return Passed::Stop;
        }
        Err(problem) => {
            debug!(%to, problem = %problem, "addressee not reachable; receipts kept");
            return Passed::Stop;
        }
    }
    let forwarded = receipt.clone();
    match ctx
        .store
        .call(move |store| store.forwarded(&forwarded))
        .await
    {
        Ok(()) => {
            ctx.metrics.relay_receipts_forwarded.inc();
            info!(target: "lienthong::events::receipt_forwarded", package = %receipt.package_id(), %to, code = %receipt.code(), "receipt forwarded");
            Passed::Yes
        }
        Err(e) => {
            warn!(error = %e, "cannot drop a forwarded receipt");
            Passed::Stop
        }
    }
}
