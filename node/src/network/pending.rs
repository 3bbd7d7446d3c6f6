//! Outbound requests waiting for their response, keyed by request id, each with a deadline.
//!
//! libp2p's own request timeout starts only once a connection exists, so a slow dial could
//! stretch a request well past `Options::request_timeout`. The event loop keeps its own
//! deadline per request, measured from when it took the command, and answers `Timeout` when
//! it passes. Whichever of libp2p's answer and the deadline comes first wins; the other finds
//! no entry and is only logged.

use std::collections::{BTreeSet, HashMap};

use libp2p::PeerId;
use libp2p::request_response::OutboundRequestId;
use tokio::time::Instant;

use super::command::RequestReply;

/// A request in flight.
#[derive(Debug)]
pub(crate) struct PendingRequest {
    pub(crate) peer: PeerId,
    pub(crate) reply: RequestReply,
    deadline: Instant,
}

/// Requests in flight and their deadlines, earliest first.
#[derive(Debug, Default)]
pub(crate) struct PendingRequests {
    entries: HashMap<OutboundRequestId, PendingRequest>,
    deadlines: BTreeSet<(Instant, OutboundRequestId)>,
}

impl PendingRequests {
    pub(crate) fn insert(
        &mut self,
        id: OutboundRequestId,
        peer: PeerId,
        deadline: Instant,
        reply: RequestReply,
    ) {
        self.deadlines.insert((deadline, id));
        let pending = PendingRequest {
            peer,
            reply,
            deadline,
        };
        if let Some(stale) = self.entries.insert(id, pending) {
            // Ids are unique per behaviour; a clash would be a libp2p bug. Keep the new one.
            tracing::error!(request_id = %id, peer = %stale.peer, "request id reused");
            self.deadlines.remove(&(stale.deadline, id));
        }
    }

    /// Removes and returns the request `id`, if it is still waiting.
    pub(crate) fn remove(&mut self, id: OutboundRequestId) -> Option<PendingRequest> {
        let pending = self.entries.remove(&id)?;
        self.deadlines.remove(&(pending.deadline, id));
        Some(pending)
    }

    /// Whether a request to `peer` is in flight.
    pub(crate) fn has_peer(&self, peer: &PeerId) -> bool {
        self.entries.values().any(|p| p.peer == *peer)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Waits until the earliest deadline passes and returns that request's id (still in the
    /// map: the caller removes it). Pending forever when nothing waits.
    ///
    /// Cancel-safe: it changes nothing, so dropping it in a `select!` loses nothing.
    pub(crate) async fn next_expired(&self) -> OutboundRequestId {
        match self.deadlines.first() {
            Some(&(deadline, id)) => {
                tokio::time::sleep_until(deadline).await;
                id
            }
            None => std::future::pending().await,
        }
    }

    /// Removes every waiting request, for shutdown.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = PendingRequest> + '_ {
        self.deadlines.clear();
        self.entries.drain().map(|(_, pending)| pending)
    }
}
