//! Requests from other nodes: limit, verify, check against the roster, drop duplicates,
//! store durably, answer. Handling runs on blocking worker threads, never on the network
//! event loop: it checks signatures, parses edXML and waits for fsync.
//!
//! Every refusal is logged with its reason (target `lienthong::events::rejected`) and
//! counted in `/metrics`; a peer that sent garbage is disconnected and blocked for
//! `security.garbage_ban`.

mod abuse;
mod admission;
pub(crate) mod axis;
mod block;
mod dispatch;
pub(crate) mod email;
pub(crate) mod gossip;
mod mailbox;
mod package;
mod relay;

use std::sync::Arc;

use libp2p::PeerId;
use lienthong_protocol::envelope::SignedPackage;
use lienthong_protocol::seal::SealedPackage;
use lienthong_protocol::wire::{Delivered, RejectReason, Rejection, Witness, WitnessAnswer};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::context::NodeContext;
use crate::evidence::witness::WitnessDesk;
use crate::network;
use crate::receipts::ReceiptsHandle;
use crate::relay::RelayServer;
use crate::tasks::{Stage, blocking};

pub(crate) use abuse::PeerLimiter;
pub(crate) use block::block_peer;
pub(crate) use mailbox::Opening;
pub(crate) use mailbox::{keep_reservations, pull};

/// Inbound acceptance: the state every way in shares. One per node, behind an `Arc`.
#[derive(Debug)]
pub(crate) struct Inbound {
    ctx: Arc<NodeContext>,
    /// Opens packages sealed to this agency.
    opening: Opening,
    /// On a relay node, its server state: the requests only a relay answers need it.
    relay: Option<Arc<RelayServer>>,
    /// Told when this agency signs a receipt 01 on arrival, which is gossiped.
    receipts: ReceiptsHandle,
    /// Per-peer limits on requests.
    limiter: Arc<PeerLimiter>,
    /// On a node with `[evidence] witness = true`, its witness: other members' checkpoints
    /// are cosigned here.
    witness: Option<Arc<WitnessDesk>>,
}

impl Inbound {
    /// Inbound acceptance for the node of `ctx`.
    pub(crate) fn new(
        ctx: Arc<NodeContext>,
        opening: Opening,
        relay: Option<Arc<RelayServer>>,
        receipts: ReceiptsHandle,
    ) -> Inbound {
        let limiter = Arc::new(PeerLimiter::new(&ctx.config.security));
        let witness = ctx
            .config
            .evidence
            .witnesses_others(ctx.config.role)
            .then(Arc::default);
        Inbound {
            ctx,
            opening,
            relay,
            receipts,
            limiter,
            witness,
        }
    }

    /// The one acceptance path of a package for this agency, from `peer` (the sender's
    /// node, a relay, or this node itself); see `package.rs`.
    pub(crate) fn accept_package(
        &self,
        peer: PeerId,
        package: &SignedPackage,
    ) -> Result<Delivered, Rejection> {
        package::accept_package(&self.ctx, &self.receipts, peer, package)
    }

    /// Opens a package sealed to this agency and accepts what is inside as a delivery from
    /// `peer`, a relay.
    pub(crate) fn accept_sealed(
        &self,
        peer: PeerId,
        sealed: &SealedPackage,
    ) -> Result<Delivered, Rejection> {
        mailbox::accept_sealed(self, peer, sealed)
    }

    /// This node's witness, if it is one: shared with the checkpoint gossip, which has it
    /// cosign what it gets there, one decision at a time with the direct requests.
    pub(crate) fn witness_desk(&self) -> Option<Arc<WitnessDesk>> {
        self.witness.clone()
    }

    /// Cosigns a member's checkpoint on a witness; a node without the role refuses.
    pub(crate) fn witness(&self, call: &Witness) -> Result<WitnessAnswer, Rejection> {
        let Some(desk) = &self.witness else {
            return reject(
                RejectReason::NotAllowed,
                "this node is not a witness ([evidence] witness = false)",
            );
        };
        desk.answer(&self.ctx, call)
            .map_err(|e| crate::evidence::witness::rejection(&e))
    }
}

/// Answers inbound requests until shutdown. A peer over its rate or concurrency is answered
/// `Busy` at once, before its frame is even decoded.
pub(crate) async fn serve(
    inbound: Arc<Inbound>,
    mut requests: mpsc::Receiver<network::Inbound>,
    shutdown: CancellationToken,
) {
    let ctx = &inbound.ctx;
    while let Some(Some(request)) = shutdown.run_until_cancelled(requests.recv()).await {
        let network::Inbound {
            peer,
            request,
            reply,
        } = request;
        let Some(permit) = inbound.limiter.admit(peer) else {
            ctx.metrics.rate_limited.inc();
            debug!(target: "lienthong::events::rejected", peer = %peer, reason = "rate_limited", "request refused: peer over its limits");
            let _ = reply.send(lienthong_protocol::wire::Response::Busy.encode());
            continue;
        };
        let task = inbound.clone();
        ctx.tasks
            .spawn(Stage::Inbound, "inbound request", async move {
                let handler = task.clone();
                let handled = blocking(move || dispatch::handle(&handler, peer, request))
                    .await
                    .unwrap_or_else(|e| {
                        warn!(error = %e, "inbound handler failed");
                        dispatch::Handled::answer(dispatch::respond(reject::<Delivered>(
                            RejectReason::Unavailable,
                            "the node failed while handling the request",
                        )))
                    });
                drop(permit);
                if reply.send(handled.response.encode()).is_err() {
                    debug!(peer = %peer, "peer left before the answer");
                }
                if handled.garbage {
                    block_peer(&task.ctx, peer, "sent garbage").await;
                }
            });
    }
}

/// A refusal: the `Err` a handler returns.
fn reject<T>(reason: RejectReason, detail: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection {
        reason,
        detail: detail.into(),
    })
}
