//! One request frame from a peer: decoded (which verifies every signature in it), handed
//! to the handler of its kind, answered with that kind's answer or a refusal.

use bytes::Bytes;
use libp2p::PeerId;
use lienthong_protocol::envelope::EnvelopeError;
use lienthong_protocol::seal::SealError;
use lienthong_protocol::wire::{Delivered, RejectReason, Rejection, Request, Response, WireError};
use tracing::{debug, warn};

use super::{Inbound, package, reject, relay};
use crate::receipts;

/// An answer, and whether the request was garbage (the peer is then blocked).
pub(super) struct Handled {
    pub(super) response: Response,
    pub(super) garbage: bool,
}

impl Handled {
    pub(super) fn answer(response: Response) -> Self {
        Handled {
            response,
            garbage: false,
        }
    }
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
pub(super) fn handle(inbound: &Inbound, peer: PeerId, frame: Bytes) -> Handled {
    let ctx = inbound.ctx.as_ref();
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
        Request::Deliver(package) => respond(inbound.accept_package(peer, &package)),
        Request::Receipt(receipt) => respond(package::accept_receipt(ctx, &receipt)),
        Request::RosterQuery(theirs) => package::roster_answer(ctx, &theirs).into(),
        Request::DeliverSealed(sealed) => respond(inbound.accept_sealed(peer, &sealed)),
        Request::Deposit(sealed) => {
            respond(relay::deposit(ctx, inbound.relay.as_deref(), peer, &sealed))
        }
        Request::MailboxFetch { limit } => respond(relay::fetch(ctx, peer, limit)),
        Request::MailboxAck(receipts) => {
            respond(relay::ack(ctx, inbound.relay.as_deref(), peer, &receipts))
        }
        Request::RelayReceipt(receipt) => respond(relay::relay_receipt(
            ctx,
            inbound.relay.as_deref(),
            peer,
            &receipt,
        )),
        Request::ReceiptsSince { cursor, limit } => {
            respond(receipts::sync::answer(ctx, peer, cursor, limit))
        }
        Request::Witness(call) => respond(inbound.witness(&call)),
        Request::CheckpointSince { from_size } => {
            respond(crate::evidence::announce::answer(ctx, peer, from_size))
        }
    };
    if let Response::Rejected(rejection) = &response {
        ctx.metrics.reject(rejection.reason.label());
        if ctx.roster().is_none() {
            // A node not yet admitted refuses everything but roster exchanges; its peers
            // ask again once the roster reaches it. The node said at start that it waits
            // for its admission: each refusal on the way is nothing more to act on.
            debug!(
                target: "lienthong::events::rejected",
                peer = %peer,
                reason = rejection.reason.label(),
                detail = %rejection.detail,
                "request refused"
            );
        } else {
            warn!(
                target: "lienthong::events::rejected",
                peer = %peer,
                reason = rejection.reason.label(),
                detail = %rejection.detail,
                "request refused"
            );
        }
    }
    Handled::answer(response)
}

/// A handler's answer or refusal, as the wire carries it.
pub(super) fn respond<A: Into<Response>>(handled: Result<A, Rejection>) -> Response {
    handled.map_or_else(Response::from, Into::into)
}
