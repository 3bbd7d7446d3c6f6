//! A relay's own work: passing held packages to their recipients and receipts to their
//! senders, and keeping the relay server's member lists in step with the roster.
//!
//! One task does both kinds of passing. It wakes when a package is deposited, when a
//! member acknowledges, when a member or sender connects, and every
//! `relay.server_forward_interval`. A package leaves the mailbox only when the recipient's
//! verified receipt is stored in its place (`Store::release`), and a receipt leaves the
//! forward queue only when its sender has accepted it, so a crash at any point repeats
//! work and never loses it.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::SignedReceipt;
use lienthong_protocol::seal::SealedPackage;
use lienthong_protocol::wire::{RejectReason, Request, Response};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, info, warn};

use crate::clock;
use crate::context::NodeContext;
use crate::delivery::send;
use crate::network::{NetworkEvent, RelayMembers};
use crate::store::addressee;

/// Most packages pushed to one member per pass, and receipts forwarded per pass.
const PASS_BATCH: usize = 64;

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
    wake: Notify,
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
pub(crate) async fn keep_members(ctx: Arc<NodeContext>, shutdown: CancellationToken) {
    let Some(server) = ctx.relay.as_ref() else {
        return;
    };
    let mut roster = ctx.membership.clone();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        if let Some(membership) = ctx.roster() {
            let now = clock::now();
            let members = membership.members_of_relay(&ctx.organ_id, now);
            if members.len() != server.members.len() {
                info!(members = members.len(), "relay members updated");
            }
            server.members.set(members);
            server.circuit_sources.set(membership.allowed_peers(now));
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = roster.changed() => if changed.is_err() { return },
            _ = tick.tick() => {}
        }
    }
}

/// The forwarding task; see the module docs.
pub(crate) async fn forward(ctx: Arc<NodeContext>, shutdown: CancellationToken) {
    let Some(server) = ctx.relay.as_ref() else {
        return;
    };
    let mut events = ctx.network.subscribe();
    let mut tick = tokio::time::interval(ctx.config.relay.server_forward_interval);
    loop {
        // Who to push to in this pass: those offered, those who connected, and on a tick
        // every member with something held.
        let mut everyone = false;
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = server.wake.notified() => {}
            event = events.recv() => match event {
                Ok(NetworkEvent::PeerConnected(peer)) => {
                    if let Some(member) = ctx
                        .roster()
                        .and_then(|r| r.member_by_peer(&peer, clock::now()).map(|m| m.record.organ_id.clone()))
                    {
                        server.offer(member);
                    }
                }
                Ok(_) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => everyone = true,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            _ = tick.tick() => everyone = true,
        }
        let mut targets = server.take_offered();
        if everyone {
            let store = ctx.store.clone();
            match tokio::task::spawn_blocking(move || store.mailbox_summary()).await {
                Ok(Ok(summary)) => targets.extend(summary.into_iter().map(|s| s.recipient)),
                Ok(Err(e)) => warn!(error = %e, "cannot read the mailbox"),
                Err(e) => warn!(error = %e, "mailbox task failed"),
            }
        }
        let mut pass = JoinSet::new();
        for member in targets {
            let ctx = ctx.clone();
            pass.spawn(async move { push_mailbox(&ctx, &member).await }.in_current_span());
        }
        // Receipts: every pass, so that a sender that connects gets its receipts soon.
        let ctx2 = ctx.clone();
        pass.spawn(async move { forward_receipts(&ctx2).await }.in_current_span());
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = async { while pass.join_next().await.is_some() {} } => {}
        }
    }
}

/// Offers `member` what is held for it, oldest first, until the mailbox is empty or the
/// member cannot be reached.
async fn push_mailbox(ctx: &Arc<NodeContext>, member: &OrganId) {
    // Bounded: at most this many batches per pass.
    for _ in 0..16 {
        let held = {
            let store = ctx.store.clone();
            let member = member.clone();
            match tokio::task::spawn_blocking(move || store.mailbox(&member, PASS_BATCH)).await {
                Ok(Ok(held)) => held,
                Ok(Err(e)) => {
                    warn!(error = %e, "cannot read the mailbox");
                    return;
                }
                Err(e) => {
                    warn!(error = %e, "mailbox task failed");
                    return;
                }
            }
        };
        if held.is_empty() {
            return;
        }
        let mut progressed = false;
        for package in held {
            let sealed = match SealedPackage::from_wire(package.sealed, &ctx.limits) {
                Ok(sealed) => sealed,
                Err(e) => {
                    warn!(error = %e, package = %package.entry.package_id, "a held package does not read back; left held");
                    continue;
                }
            };
            let id = sealed.id();
            match send(ctx, member, Request::DeliverSealed(sealed)).await {
                Ok(Response::Delivered { receipt, .. }) => {
                    if let Err(problem) = check_member_receipt(ctx, member, &id, &receipt) {
                        warn!(package = %id, %member, problem = %problem, "a member answered with a bad receipt; left held");
                        continue;
                    }
                    let store = ctx.store.clone();
                    match tokio::task::spawn_blocking(move || store.release(&receipt)).await {
                        Ok(Ok(_)) => {
                            progressed = true;
                            ctx.metrics.relay_passed.inc();
                            info!(target: "lienthong::events::passed", package = %id, %member, "held package delivered to its recipient");
                        }
                        Ok(Err(e)) => {
                            warn!(error = %e, "cannot release a held package");
                            return;
                        }
                        Err(e) => {
                            warn!(error = %e, "release task failed");
                            return;
                        }
                    }
                }
                Ok(Response::Rejected(rejection)) => {
                    // Left held: the member may be fixed (its roster, its clock); the
                    // sender's own rechecks go on meanwhile.
                    warn!(package = %id, %member, rejection = %rejection, "a member refused a held package; left held");
                }
                Ok(Response::Busy) => return,
                Ok(other) => {
                    warn!(package = %id, %member, answer = ?other, "unexpected answer to a held package");
                    return;
                }
                Err(problem) => {
                    debug!(%member, problem = %problem, "member not reachable; its packages stay held");
                    return;
                }
            }
        }
        if !progressed {
            return;
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

/// Hands queued receipts to the agencies they are for; one destination at a time stops at
/// its first failure, so an unreachable sender costs one attempt per pass.
async fn forward_receipts(ctx: &Arc<NodeContext>) {
    let queued = {
        let store = ctx.store.clone();
        match tokio::task::spawn_blocking(move || store.forward_queue(PASS_BATCH * 4)).await {
            Ok(Ok(queued)) => queued,
            Ok(Err(e)) => {
                warn!(error = %e, "cannot read the forward queue");
                return;
            }
            Err(e) => {
                warn!(error = %e, "forward queue task failed");
                return;
            }
        }
    };
    let mut unreachable: HashSet<OrganId> = HashSet::new();
    for receipt in queued {
        let to = addressee(&receipt).clone();
        if unreachable.contains(&to) {
            continue;
        }
        let done = match send(ctx, &to, Request::Receipt(receipt.clone())).await {
            Ok(Response::ReceiptAccepted { .. }) => true,
            Ok(Response::Rejected(rejection))
                if !matches!(
                    rejection.reason,
                    RejectReason::Unavailable | RejectReason::ClockSkew
                ) =>
            {
                // The addressee will never take it (it does not know the package, the
                // issuer was revoked): keeping it would only repeat the refusal.
                warn!(receipt = %receipt.id(), %to, rejection = %rejection, "a forwarded receipt was refused for good; dropped");
                true
            }
            Ok(other) => {
                debug!(%to, answer = ?other, "receipt not taken; kept");
                unreachable.insert(to.clone());
                false
            }
            Err(problem) => {
                debug!(%to, problem = %problem, "addressee not reachable; receipts kept");
                unreachable.insert(to.clone());
                false
            }
        };
        if done {
            let store = ctx.store.clone();
            let forwarded = receipt.clone();
            match tokio::task::spawn_blocking(move || store.forwarded(&forwarded)).await {
                Ok(Ok(())) => {
                    ctx.metrics.relay_receipts_forwarded.inc();
                    info!(target: "lienthong::events::receipt_forwarded", package = %receipt.package_id(), %to, code = %receipt.code(), "receipt forwarded");
                }
                Ok(Err(e)) => warn!(error = %e, "cannot drop a forwarded receipt"),
                Err(e) => warn!(error = %e, "forward queue task failed"),
            }
        }
    }
}
