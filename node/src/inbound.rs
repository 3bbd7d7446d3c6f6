//! Requests from other nodes: verify, check against the roster, drop duplicates, store
//! durably, answer. Runs on blocking worker threads, never on the network event loop: it
//! checks signatures, parses edXML and waits for fsync.

use std::sync::Arc;

use bytes::Bytes;
use libp2p::PeerId;
use lienthong_protocol::envelope::{ReceiptFields, SignedPackage, SignedReceipt};
use lienthong_protocol::wire::{RejectReason, Rejection, Request, Response};
use lienthong_protocol::{StatusCode, edxml};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, info, warn};

use crate::clock;
use crate::context::NodeContext;
use crate::network::Inbound;
use crate::receipts;
use crate::store::{InboxEntry, IncomingOutcome};

/// Answers inbound requests until shutdown. Each request is handled on a blocking thread;
/// how many run at once is bounded by the network layer's inbound queue and tokio's
/// blocking pool.
pub(crate) async fn serve(
    ctx: Arc<NodeContext>,
    mut inbound: mpsc::Receiver<Inbound>,
    shutdown: CancellationToken,
) {
    loop {
        let request = tokio::select! {
            () = shutdown.cancelled() => return,
            request = inbound.recv() => match request {
                Some(request) => request,
                None => return,
            },
        };
        let ctx = ctx.clone();
        tokio::spawn(
            async move {
                let Inbound {
                    peer,
                    request,
                    reply,
                } = request;
                let handled =
                    tokio::task::spawn_blocking(move || handle(&ctx, peer, request)).await;
                let response = handled.unwrap_or_else(|e| {
                    warn!(error = %e, "inbound handler failed");
                    reject(
                        RejectReason::Unavailable,
                        "the node failed while handling the request",
                    )
                });
                if reply.send(response.encode()).is_err() {
                    debug!(peer = %peer, "peer left before the answer");
                }
            }
            .in_current_span(),
        );
    }
}

fn reject(reason: RejectReason, detail: impl Into<String>) -> Response {
    Response::Rejected(Rejection {
        reason,
        detail: detail.into(),
    })
}

/// Decodes one request frame and answers it.
pub(crate) fn handle(ctx: &NodeContext, peer: PeerId, frame: Bytes) -> Response {
    let request = match Request::decode(frame, &ctx.limits) {
        Ok(request) => request,
        Err(e) => {
            warn!(target: "lienthong::events::rejected", peer = %peer, reason = "malformed", error = %e, "request refused");
            return reject(RejectReason::Malformed, e.to_string());
        }
    };
    let response = match request {
        Request::Deliver(package) => accept_package(ctx, peer, &package),
        Request::Receipt(receipt) => accept_receipt(ctx, peer, &receipt),
    };
    if let Response::Rejected(rejection) = &response {
        warn!(target: "lienthong::events::rejected", peer = %peer, reason = %rejection.reason, detail = %rejection.detail, "request refused");
    }
    response
}

/// A package for this agency: checks that the roster knows the sender and its key, that
/// the connection is the sender's node (or a federation relay), that the package is for
/// this agency and that its content is edXML from that sender; then stores it with this
/// node's signed receipt 01, or returns the receipt given the first time.
pub(crate) fn accept_package(ctx: &NodeContext, peer: PeerId, package: &SignedPackage) -> Response {
    let Some(roster) = ctx.roster() else {
        return reject(
            RejectReason::UnknownAgency,
            "this node has no federation roster yet",
        );
    };
    let Some(sender) = roster.member(package.sender()) else {
        return reject(
            RejectReason::UnknownAgency,
            format!(
                "sender {} is not a member of the federation",
                package.sender()
            ),
        );
    };
    if &sender.record.public_key != package.signer() {
        return reject(
            RejectReason::WrongKey,
            format!(
                "package is signed with {}, not {}'s key",
                package.signer().fmt_short(),
                package.sender()
            ),
        );
    }
    if peer != sender.peer_id && peer != ctx.network.local_peer_id() && !roster.is_relay(&peer) {
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
    let now = clock::now();
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
    match ctx.store.accept_incoming(package, &entry, &receipt) {
        Ok(IncomingOutcome::Stored) => {
            info!(
                target: "lienthong::events::received",
                package = %package.id(),
                from = %package.sender(),
                bytes = package.content().len(),
                "package received"
            );
            Response::Delivered {
                receipt: Box::new(receipt),
                duplicate: false,
            }
        }
        Ok(IncomingOutcome::Duplicate(original)) => {
            debug!(package = %package.id(), "package received again; answered with the original receipt");
            Response::Delivered {
                receipt: Box::new(original),
                duplicate: true,
            }
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
fn accept_receipt(ctx: &NodeContext, _peer: PeerId, receipt: &SignedReceipt) -> Response {
    match receipts::apply(ctx, receipt) {
        Ok(outcome) => Response::ReceiptAccepted {
            duplicate: outcome == crate::store::RecordOutcome::Duplicate,
        },
        Err(rejection) => Response::Rejected(rejection),
    }
}
