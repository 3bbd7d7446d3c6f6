//! How many connections the swarm holds at once, so that peers, members or not, can never
//! take the file descriptors the store and the API need.
//!
//! Every TCP connection costs a descriptor from the moment it is accepted. Anyone who can
//! reach the peer port can open connections, with no key: before these bounds, an outsider
//! holding more connections than the process could open files made the store's next write
//! fail ("Too many open files"), and the node refused every write until restarted.
//!
//! # What is bounded
//!
//! - Handshakes in progress, in total ([`ConnectionLimits::pending_inbound`]) and per source
//!   IP address ([`ConnectionLimits::pending_inbound_per_address`], in `per_address`), and
//!   how long one may take (`Options::handshake_timeout`, on the TCP transport's upgrade).
//! - Established connections: inbound, outbound and per peer, each with its own limit
//!   (libp2p's `connection_limits` behaviour).
//! - Dials in progress (each a socket).
//! - Idle time: a connection that carries nothing is closed after
//!   `Options::idle_connection_timeout`.
//!
//! A connection over a limit is refused as the swarm sets it up: the socket is closed at
//! once, before any handshake, so a refused connection holds its descriptor for no longer
//! than the accept. Connections the kernel has completed but the node has not accepted cost
//! the node nothing. Refusals are logged one WARN a minute at most, with their count.
//!
//! # Members are never crowded out by strangers
//!
//! A member is known by its peer id only once the Noise handshake is done; before that a
//! member and a stranger look the same. So:
//!
//! - Established connections are for members only. With a roster, the allow list comes
//!   first in the behaviour and refuses a non-member as its connection is established,
//!   before the limits here count it: strangers never hold an established slot, whatever
//!   they open.
//! - A member's connection, once up, is never closed to make room: limits refuse new
//!   connections, they do not evict. Connections to the node's province and relays are kept
//!   however idle, and any connection carries every delivery and receipt between the two
//!   nodes in both directions, so a flood changes nothing for members already connected.
//! - Outbound connections (this node's deliveries, receipts, relay reservations) have their
//!   own share: inbound traffic, honest or not, cannot use it up.
//! - The handshake slots are what strangers can take, and they can hold one only for
//!   `handshake_timeout` (a half-done handshake is dropped then), and from one address only
//!   a quarter of them. A member refused while a flood fills them retries with backoff;
//!   whatever this node has for it (a delivery, a receipt) goes out on a connection this
//!   node dials, from the outbound share.
//!
//! # Descriptors
//!
//! The node derives these limits from its open-file limit (`descriptors::Budget`), keeping
//! a reserve for the store, the API and the rest of the process. Relayed connections and the
//! memory transport's use no descriptor but count the same, so simulations size each node's
//! limits themselves.

use std::time::Instant;

use libp2p::connection_limits;
use libp2p::swarm::ConnectionDenied;

use super::per_address::TooManyFromAddress;
use crate::ops::throttle::Throttle;

/// Default for [`ConnectionLimits::pending_inbound`]: handshakes cost CPU (a Diffie-Hellman
/// each), and a few hundred at once is more than any federation's burst of reconnections.
pub const DEFAULT_MAX_PENDING_INBOUND: u32 = 256;
/// Default for [`ConnectionLimits::established_inbound`] and
/// [`ConnectionLimits::established_outbound`]: the national federation's agencies, with room.
pub const DEFAULT_MAX_ESTABLISHED: u32 = 16_384;
/// Default for [`ConnectionLimits::per_peer`]: two nodes dialing each other at the same
/// time, a relayed connection and its hole-punched direct one, and room to spare.
pub const DEFAULT_MAX_PER_PEER: u32 = 8;

/// How many connections the swarm holds at once. Every value must be at least 1.
///
/// `Default` is generous (a large server); the node derives its own from its open-file
/// limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Inbound connections still in their handshake (accepted, Noise and Yamux not done).
    /// Members and strangers share these: the peer is not known yet.
    pub pending_inbound: u32,
    /// Of [`pending_inbound`](Self::pending_inbound), how many from one source IP address:
    /// one machine cannot take them all. Relayed connections are not counted (their address
    /// is the relay's).
    pub pending_inbound_per_address: u32,
    /// Established inbound connections. With a roster, members only.
    pub established_inbound: u32,
    /// Dials in progress, each a socket (a dial may try several addresses at once).
    pub pending_outbound: u32,
    /// Established outbound connections.
    pub established_outbound: u32,
    /// Established connections with one peer, both directions together.
    pub per_peer: u32,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            pending_inbound: DEFAULT_MAX_PENDING_INBOUND,
            pending_inbound_per_address: DEFAULT_MAX_PENDING_INBOUND / 4,
            established_inbound: DEFAULT_MAX_ESTABLISHED,
            pending_outbound: DEFAULT_MAX_PENDING_INBOUND,
            established_outbound: DEFAULT_MAX_ESTABLISHED,
            per_peer: DEFAULT_MAX_PER_PEER,
        }
    }
}

impl ConnectionLimits {
    /// The first limit that is zero (which would refuse every connection), if any.
    pub(crate) fn zero(&self) -> Option<&'static str> {
        [
            ("connection_limits.pending_inbound", self.pending_inbound),
            (
                "connection_limits.pending_inbound_per_address",
                self.pending_inbound_per_address,
            ),
            (
                "connection_limits.established_inbound",
                self.established_inbound,
            ),
            ("connection_limits.pending_outbound", self.pending_outbound),
            (
                "connection_limits.established_outbound",
                self.established_outbound,
            ),
            ("connection_limits.per_peer", self.per_peer),
        ]
        .into_iter()
        .find_map(|(name, value)| (value == 0).then_some(name))
    }

    /// libp2p's behaviour enforcing all but the per-address limit. No total: inbound and
    /// outbound are bounded apart, so that one cannot starve the other.
    pub(crate) fn behaviour(&self) -> connection_limits::Behaviour {
        connection_limits::Behaviour::new(
            connection_limits::ConnectionLimits::default()
                .with_max_pending_incoming(Some(self.pending_inbound))
                .with_max_established_incoming(Some(self.established_inbound))
                .with_max_pending_outgoing(Some(self.pending_outbound))
                .with_max_established_outgoing(Some(self.established_outbound))
                .with_max_established_per_peer(Some(self.per_peer)),
        )
    }
}

/// Whether a connection was refused by one of these limits (not by the allow or block list).
pub(crate) fn is_limit(cause: &ConnectionDenied) -> bool {
    cause
        .downcast_ref::<connection_limits::Exceeded>()
        .is_some()
        || cause.downcast_ref::<TooManyFromAddress>().is_some()
}

/// What a limit said when it refused (`ConnectionDenied` itself only says "denied").
fn cause_text(cause: &ConnectionDenied) -> String {
    std::error::Error::source(cause).map_or_else(|| cause.to_string(), ToString::to_string)
}

/// The refusals a flood repeats, each worth one WARN a minute at most, with its count: the
/// operator learns that a flood is going on (or the open-file limit is too low) without a
/// line per connection.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    inbound: Throttle,
    outbound: Throttle,
    listener: Throttle,
}

impl Refusals {
    /// An inbound connection refused by a limit.
    pub(crate) fn inbound(&mut self, cause: &ConnectionDenied) {
        if let Some(refused) = self.inbound.note(Instant::now()) {
            tracing::warn!(
                refused,
                last = %cause_text(cause),
                "inbound connections refused at the connection limits (a flood, or too low an open-file limit); connected members are unaffected"
            );
        }
    }

    /// A dial of this node's refused by a limit.
    pub(crate) fn outbound(&mut self, cause: &ConnectionDenied) {
        if let Some(refused) = self.outbound.note(Instant::now()) {
            tracing::warn!(
                refused,
                last = %cause_text(cause),
                "outbound connections refused at the connection limits; deliveries to peers not connected are retried later"
            );
        }
    }

    /// The peer listener failed to accept a connection.
    pub(crate) fn listener(&mut self, error: &std::io::Error) {
        if let Some(errors) = self.listener.note(Instant::now()) {
            tracing::warn!(
                errors,
                %error,
                "the peer listener cannot accept connections; it pauses and retries"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_all_above_zero_and_leave_one_address_a_quarter() {
        let limits = ConnectionLimits::default();
        assert_eq!(limits.zero(), None);
        assert_eq!(
            limits.pending_inbound_per_address * 4,
            limits.pending_inbound
        );
    }

    #[test]
    fn a_zero_limit_is_named() {
        let limits = ConnectionLimits {
            per_peer: 0,
            ..ConnectionLimits::default()
        };
        assert_eq!(limits.zero(), Some("connection_limits.per_peer"));
    }
}
