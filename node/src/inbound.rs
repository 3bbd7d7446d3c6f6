//! Requests from other nodes: limit, verify, check against the roster, drop duplicates,
//! store durably, answer. Handling runs on blocking worker threads, never on the network
//! event loop: it checks signatures, parses edXML and waits for fsync.
//!
//! Every refusal is logged with its reason (target `lienthong::events::rejected`) and
//! counted in `/metrics`; a peer that sent garbage is disconnected and blocked for
//! `security.garbage_ban`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use libp2p::PeerId;
use lienthong_protocol::envelope::{
    EnvelopeError, ReceiptFields, SignedPackage, SignedReceipt, Timestamp,
};
use lienthong_protocol::roster::MemberStatus;
use lienthong_protocol::seal::SealError;
use lienthong_protocol::wire::{
    Delivered, ReceiptAccepted, RejectReason, Rejection, Request, Response, RosterAnswer, WireError,
};
use lienthong_protocol::{StatusCode, edxml};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::clock;
use crate::context::NodeContext;
use crate::network::Inbound;
use crate::receipts;
use crate::relay;
use crate::store::{InboxEntry, IncomingOutcome};
use crate::submit::add;
use crate::tasks::{Stage, blocking};

/// Answers inbound requests until shutdown. A peer over its rate or concurrency is answered
/// `Busy` at once, before its frame is even decoded.
pub(crate) async fn serve(
    ctx: Arc<NodeContext>,
    mut inbound: mpsc::Receiver<Inbound>,
    shutdown: CancellationToken,
) {
    while let Some(Some(request)) = shutdown.run_until_cancelled(inbound.recv()).await {
        let Inbound {
            peer,
            request,
            reply,
        } = request;
        let Some(permit) = ctx.limiter.admit(peer) else {
            ctx.metrics.rate_limited.inc();
            debug!(target: "lienthong::events::rejected", peer = %peer, reason = "rate_limited", "request refused: peer over its limits");
            let _ = reply.send(Response::Busy.encode());
            continue;
        };
        let task = ctx.clone();
        ctx.tasks
            .spawn(Stage::Inbound, "inbound request", async move {
                let ctx = task;
                let handler = ctx.clone();
                let handled = blocking(move || handle(&handler, peer, request))
                    .await
                    .unwrap_or_else(|e| {
                        warn!(error = %e, "inbound handler failed");
                        Handled::answer(respond(reject::<Delivered>(
                            RejectReason::Unavailable,
                            "the node failed while handling the request",
                        )))
                    });
                drop(permit);
                if reply.send(handled.response.encode()).is_err() {
                    debug!(peer = %peer, "peer left before the answer");
                }
                if handled.garbage {
                    block_peer(&ctx, peer, "sent garbage").await;
                }
            });
    }
}

/// How long a refused peer keeps its connection before it is blocked, so that the answer
/// saying why reaches it.
const BLOCK_AFTER: Duration = Duration::from_millis(500);

/// Disconnects and refuses a misbehaving peer for `security.garbage_ban`, once the answer
/// to its last request has had time to leave.
pub(crate) async fn block_peer(ctx: &NodeContext, peer: PeerId, why: &str) {
    let ban = ctx.config.security.garbage_ban;
    warn!(target: "lienthong::events::blocked", peer = %peer, why, ban = ?ban, "peer blocked");
    tokio::time::sleep(BLOCK_AFTER).await;
    match ctx.network.block(peer, ban).await {
        Ok(()) => {
            ctx.metrics.peers_blocked.inc();
        }
        Err(e) => debug!(error = %e, "cannot block a peer"),
    }
}

/// An answer, and whether the request was garbage (the peer is then blocked).
pub(crate) struct Handled {
    pub(crate) response: Response,
    garbage: bool,
}

impl Handled {
    fn answer(response: Response) -> Self {
        Handled {
            response,
            garbage: false,
        }
    }
}

/// A refusal: the `Err` a handler returns.
fn reject<T>(reason: RejectReason, detail: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection {
        reason,
        detail: detail.into(),
    })
}

/// The class of a frame that does not decode: too large, a signature that does not
/// verify, or plain garbage.
fn decode_refusal(error: &WireError) -> (RejectReason, &'static str) {
    match error {
        WireError::Envelope(EnvelopeError::TooLarge { .. })
        | WireError::Seal(SealError::TooLarge { .. }) => (RejectReason::TooLarge, "too_large"),
        WireError::Envelope(
            EnvelopeError::BadSignature { .. } | EnvelopeError::InvalidSigner { .. },
        )
        | WireError::Seal(SealError::BadSignature { .. } | SealError::InvalidSigner { .. }) => {
            (RejectReason::Malformed, "bad_signature")
        }
        _ => (RejectReason::Malformed, "malformed"),
    }
}

/// Decodes one request frame and answers it.
pub(crate) fn handle(ctx: &NodeContext, peer: PeerId, frame: Bytes) -> Handled {
    let request = match Request::decode(frame, &ctx.limits) {
        Ok(request) => request,
        Err(e) => {
            let (reason, label) = decode_refusal(&e);
            ctx.metrics.reject(label);
            warn!(target: "lienthong::events::rejected", peer = %peer, reason = label, error = %e, "request refused");
            return Handled {
                response: respond(reject::<Delivered>(reason, e.to_string())),
                // An oversized package is a limit, not garbage; anything else that does not
                // decode or verify is.
                garbage: reason != RejectReason::TooLarge,
            };
        }
    };
    // Each handler answers its own kind of request with that kind's answer or a refusal.
    let response = match request {
        Request::Deliver(package) => respond(accept_package(ctx, peer, &package)),
        Request::Receipt(receipt) => respond(accept_receipt(ctx, &receipt)),
        Request::RosterQuery(theirs) => roster_answer(ctx, &theirs).into(),
        Request::DeliverSealed(sealed) => respond(relay::member::accept_sealed(ctx, peer, &sealed)),
        Request::Deposit(sealed) => respond(relay::serve::deposit(ctx, peer, &sealed)),
        Request::MailboxFetch { limit } => respond(relay::serve::fetch(ctx, peer, limit)),
        Request::MailboxAck(receipts) => respond(relay::serve::ack(ctx, peer, &receipts)),
        Request::RelayReceipt(receipt) => respond(relay::serve::relay_receipt(ctx, peer, &receipt)),
        Request::ReceiptsSince { cursor, limit } => {
            respond(receipts::sync::answer(ctx, peer, cursor, limit))
        }
    };
    if let Response::Rejected(rejection) = &response {
        ctx.metrics.reject(rejection.reason.label());
        warn!(
            target: "lienthong::events::rejected",
            peer = %peer,
            reason = rejection.reason.label(),
            detail = %rejection.detail,
            "request refused"
        );
    }
    Handled::answer(response)
}

/// A handler's answer or refusal, as the wire carries it.
fn respond<A: Into<Response>>(handled: Result<A, Rejection>) -> Response {
    handled.map_or_else(Response::from, Into::into)
}

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
    let index = match receipts::index::package_index(&ctx.store, package.sender(), &parsed.message)
    {
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
            ctx.receipt_gossip.notify_one();
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
fn accept_receipt(
    ctx: &NodeContext,
    receipt: &SignedReceipt,
) -> Result<ReceiptAccepted, Rejection> {
    check_clock(ctx, "the receipt", receipt.issued_at(), clock::now())?;
    receipts::apply(ctx, receipt).map(|outcome| ReceiptAccepted {
        duplicate: outcome == crate::store::RecordOutcome::Duplicate,
    })
}

/// A peer's roster version: answered with this node's roster when it is newer somewhere.
fn roster_answer(
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
