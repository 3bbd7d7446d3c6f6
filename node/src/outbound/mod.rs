//! Reaching another agency: one client for every call a node makes (a package, a receipt,
//! a mailbox fetch, a catch-up), with a typed answer per call and a typed error, and the
//! ways to an agency as data.
//!
//! # Paths
//!
//! The client holds its `Path`s in order: `Direct`, `Circuit` and `Mailbox` (see
//! `path.rs` for what a path is, and where the bridges to come, the national axis and
//! official email, plug in). Connection paths give the network their routes when the
//! roster changes (`Outbound::push_routes`), not before each attempt; a request then
//! dials all of them at once. When no connection reaches a recipient, the paths that hand
//! packages over are tried in turn (`Outbound::hand_over`).
//!
//! An agency is resolved through the roster: its routes, then, if every dial fails, the
//! DHT, once a minute at most per agency.
//!
//! # Layout
//!
//! - `error.rs`: [`OutboundError`], whose text is the outbox's `last_error`.
//! - `path.rs`: the `Path` trait; `direct.rs`, `circuit.rs`, `mailbox.rs`: the paths.
//! - `drain.rs`: passing a store-backed queue on to one agency, a batch at a time.
//! - [`delivery`]: the outbox, the delivery engine and its schedule, the stuck list.
//! - [`axis`]: this node as its agency's own client of the national axis (the axis path).
//! - [`email`]: this node as its agency's own mail client, for units on official email.
//! - `discovery.rs`: signed `OrganId → addresses` records in the DHT, for stale hints.
//! - `presence.rs`: dialling the members when the roster changes, after its routes.

pub mod axis;
mod circuit;
pub mod delivery;
mod direct;
pub(crate) mod discovery;
mod drain;
pub mod email;
mod error;
mod mailbox;
mod path;
pub(crate) mod presence;

use std::sync::Arc;

use bytes::Bytes;
use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::SignedPackage;
use lienthong_protocol::seal::SignedHold;
use lienthong_protocol::wire::{Call, Request, Response};
use tracing::debug;

use crate::context::NodeContext;
use crate::network::{RequestError, Routes};
use crate::ops::metrics::DeliveryPath;
use crate::roster::membership::Membership;
use crate::tasks::blocking;
use discovery::Lookups;

pub(crate) use circuit::Circuit;
pub(crate) use direct::Direct;
pub(crate) use drain::{Drain, Passed};
pub use error::OutboundError;
pub(crate) use mailbox::Mailbox;
pub(crate) use path::{HandOverError, Path};

/// The client every feature reaches other agencies' nodes through. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbound {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    ctx: Arc<NodeContext>,
    /// The ways to an agency, in order.
    paths: Vec<Box<dyn Path>>,
    /// When each agency was last looked up in the DHT.
    lookups: Lookups,
}

impl Outbound {
    /// The client of the node of `ctx`, with the paths every node has: direct, through a
    /// relay's circuit, into a relay's mailbox.
    pub(crate) fn new(ctx: Arc<NodeContext>) -> Outbound {
        Outbound::with_paths(
            ctx,
            vec![Box::new(Direct), Box::new(Circuit), Box::new(Mailbox)],
        )
    }

    /// The client of the node of `ctx`, with `paths` in that order.
    pub(crate) fn with_paths(ctx: Arc<NodeContext>, paths: Vec<Box<dyn Path>>) -> Outbound {
        Outbound {
            inner: Arc::new(Inner {
                ctx,
                paths,
                lookups: Lookups::default(),
            }),
        }
    }

    /// The node this client belongs to.
    pub(crate) fn ctx(&self) -> &Arc<NodeContext> {
        &self.inner.ctx
    }

    /// Sends `call` to `to`'s node and returns its answer, decoded (and its signatures
    /// verified) on the blocking pool.
    ///
    /// # Errors
    /// [`OutboundError`]: no way to the node, or an answer that is not the call's.
    pub(crate) async fn call<C: Call>(
        &self,
        to: &OrganId,
        call: C,
    ) -> Result<C::Answer, OutboundError> {
        let frame = self.request(to, call.into()).await?;
        let limits = self.inner.ctx.limits;
        let response = blocking(move || Response::decode(frame, &limits))
            .await
            .map_err(|e| OutboundError::decoding_failed(to, &e))?
            .map_err(|e| OutboundError::malformed(to, &e))?;
        C::answer(response).map_err(|refusal| OutboundError::refused(to, refusal))
    }

    /// Sends `request` to `to`'s node over the connection paths and returns the answer's
    /// frame undecoded, for a caller that decodes it on a blocking thread it needs anyway.
    ///
    /// # Errors
    /// [`OutboundError`] when no answer came.
    pub(crate) async fn request(
        &self,
        to: &OrganId,
        request: Request,
    ) -> Result<Bytes, OutboundError> {
        let ctx = &self.inner.ctx;
        let roster = ctx.roster().ok_or(OutboundError::NoRoster)?;
        let member = roster
            .member(to)
            .ok_or_else(|| OutboundError::NotInRoster(to.clone()))?;
        let peer = member.peer_id;
        let failed = |error: RequestError| OutboundError::Request {
            to: to.clone(),
            error,
        };
        // Encoded once: a large package is copied into its frame only here.
        let encoded = request.encode();
        match ctx.network.request(peer, encoded.clone()).await {
            Ok(frame) => Ok(frame),
            Err(dial @ RequestError::DialFailure { .. }) => {
                // The roster's hints may be stale: ask the DHT where the node is now.
                let Some(found) = discovery::lookup(ctx, &self.inner.lookups, to).await else {
                    return Err(failed(dial));
                };
                debug!(recipient = %to, addresses = ?found, "found current addresses in the DHT");
                ctx.network
                    .add_addresses(peer, found)
                    .await
                    .map_err(OutboundError::Network)?;
                ctx.network.request(peer, encoded).await.map_err(failed)
            }
            Err(e) => Err(failed(e)),
        }
    }

    /// Hands `package` over for `recipient` on the first path that takes it, when no
    /// connection reached the recipient: the intermediary's signed hold.
    ///
    /// # Errors
    /// [`HandOverError::Busy`] when an intermediary was busy and none took it, otherwise
    /// every path's reason.
    pub(crate) async fn hand_over(
        &self,
        package: &SignedPackage,
        recipient: &OrganId,
    ) -> Result<SignedHold, HandOverError> {
        let roster = self.inner.ctx.roster().ok_or("this node has no roster")?;
        let mut problems = Vec::new();
        let mut busy = false;
        for path in self.inner.paths.iter().filter(|p| p.hands_over()) {
            if !path.serves(&roster, recipient) {
                continue;
            }
            match path.hand_over(self, package, recipient).await {
                Ok(hold) => return Ok(hold),
                Err(HandOverError::Busy) => busy = true,
                Err(HandOverError::Failed(problem)) => problems.push(problem),
            }
        }
        if busy {
            return Err(HandOverError::Busy);
        }
        if problems.is_empty() {
            return Err(format!("no path hands a package over to {recipient}").into());
        }
        Err(problems.join("; ").into())
    }

    /// Every member's routes in `roster` (this node aside), as its paths give them.
    pub(crate) fn routes(&self, roster: &Membership) -> Vec<Routes> {
        let ctx = &self.inner.ctx;
        let local = ctx.network.local_peer_id();
        roster
            .members()
            .iter()
            .filter(|member| member.peer_id != local)
            .filter_map(|member| {
                let mut routes = Routes::to(member.peer_id);
                for path in &self.inner.paths {
                    if path.serves(roster, &member.record.organ_id) {
                        path.add_routes(roster, member, local, &mut routes);
                    }
                }
                (!routes.is_empty()).then_some(routes)
            })
            .collect()
    }

    /// Gives the network every member's routes in `roster`, in one round trip: when the
    /// roster changes, not before each attempt.
    ///
    /// # Errors
    /// [`OutboundError::Network`] when the network has stopped.
    pub(crate) async fn push_routes(&self, roster: &Membership) -> Result<(), OutboundError> {
        let routes = self.routes(roster);
        let peers = routes.len();
        let unusable = self
            .inner
            .ctx
            .network
            .add_routes(routes)
            .await
            .map_err(OutboundError::Network)?;
        for problem in &unusable {
            debug!(%problem, "relay address not usable for a circuit");
        }
        debug!(peers, version = %roster.version(), "routes given to the network");
        Ok(())
    }

    /// How the delivery that just completed travelled, as far as the network tells: in
    /// place for this node's own agency, else through a relay's circuit when that is the
    /// only connection to the recipient's node now, else directly.
    pub(crate) async fn path_taken(&self, recipient: &OrganId) -> DeliveryPath {
        let ctx = &self.inner.ctx;
        if recipient == &ctx.organ_id {
            return DeliveryPath::Local;
        }
        let Some(roster) = ctx.roster() else {
            return DeliveryPath::Direct;
        };
        let Some(member) = roster.member(recipient) else {
            return DeliveryPath::Direct;
        };
        // A circuit runs through one of the relays the recipient names: when it names none,
        // the connection is direct, and the event loop is not asked (a round trip per
        // delivery).
        if member.record.relays.is_empty() {
            return DeliveryPath::Direct;
        }
        let peer = member.peer_id;
        match ctx.network.connected_peers().await {
            Ok(peers) if peers.iter().any(|p| p.peer_id == peer && p.relayed) => {
                DeliveryPath::Relayed
            }
            _ => DeliveryPath::Direct,
        }
    }
}
