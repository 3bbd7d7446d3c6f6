//! Reaching another agency's node: one client for every call a node makes (a package, a
//! receipt, a mailbox fetch, a catch-up), with a typed answer per call and a typed error.
//!
//! The agency is resolved through the roster: its address hints, then, if those fail, the
//! DHT. Where the agency names relays, circuits through them are among the addresses
//! dialled, so a unit on another network is reached through its relay without the caller
//! doing anything.

mod error;

use bytes::Bytes;
use lienthong_protocol::OrganId;
use lienthong_protocol::wire::{Call, Request, Response};
use tracing::debug;

use crate::context::NodeContext;
use crate::discovery;
use crate::network::RequestError;
use crate::relay;
use crate::tasks::blocking;

pub use error::OutboundError;

/// Sends `call` to `to`'s node and returns its answer, decoded (and its signatures
/// verified) on the blocking pool.
///
/// # Errors
/// [`OutboundError`]: no way to the node, or an answer that is not the call's.
pub(crate) async fn call<C: Call>(
    ctx: &NodeContext,
    to: &OrganId,
    call: C,
) -> Result<C::Answer, OutboundError> {
    let frame = request(ctx, to, call.into()).await?;
    let limits = ctx.limits;
    let response = blocking(move || Response::decode(frame, &limits))
        .await
        .map_err(|e| OutboundError::decoding_failed(to, &e))?
        .map_err(|e| OutboundError::malformed(to, &e))?;
    C::answer(response).map_err(|refusal| OutboundError::refused(to, refusal))
}

/// Sends `request` to `to`'s node and returns the answer's frame undecoded, for a caller
/// that decodes it on a blocking thread it needs anyway.
///
/// # Errors
/// [`OutboundError`] when no answer came.
pub(crate) async fn request(
    ctx: &NodeContext,
    to: &OrganId,
    request: Request,
) -> Result<Bytes, OutboundError> {
    let roster = ctx.roster().ok_or(OutboundError::NoRoster)?;
    let member = roster
        .member(to)
        .ok_or_else(|| OutboundError::NotInRoster(to.clone()))?;
    let peer = member.peer_id;
    relay::add_routes(ctx, &roster, member)
        .await
        .map_err(OutboundError::Network)?;
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
            let Some(found) = discovery::lookup(ctx, to).await else {
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
