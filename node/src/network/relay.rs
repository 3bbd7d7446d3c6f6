//! Circuit relay v2 and DCUtR: the relay server a provincial relay node runs, and the event
//! loop's handlers for the relay server, the relay client and hole punching.
//!
//! A relay bridges units that cannot reach each other directly (the tax department's
//! dedicated line, a unit behind a NAT): a unit that cannot be dialed keeps a *reservation*
//! on the relay ([`NetworkHandle::listen_via_relay`], kept in `reservations`), and a sender
//! dials it through a *circuit* on the relay. The circuit carries a Noise session between the
//! two units, so the relay moves bytes it cannot read or alter.
//!
//! # Who may use a relay
//!
//! libp2p's defaults (2 min and 128 KiB per circuit) suit a public relay that only helps
//! peers hole-punch; they cut a document of tens of MB. A lienthong relay raises them
//! ([`RelayServerOptions`]) and makes up for it by serving members only ([`RelayMembers`]),
//! enforced with libp2p's `RateLimiter` hooks, which the relay consults on every request:
//!
//! - a reservation is accepted only from a member (`members`, through
//!   `reservation_rate_limiters`): the agencies that name this relay in the roster;
//! - a circuit is opened only for a source in `circuit_sources` (through
//!   `circuit_src_rate_limiters`): every active member of the federation, since any of
//!   them may have a document for a member of this relay.
//!
//! The hooks do not see a circuit's destination. A destination must hold a reservation,
//! which only a member gets; so a non-member can be reached through the relay only while a
//! reservation it got as a member lasts (at most `reservation_duration`: renewing is refused
//! once it is out, and the node's allow list, set from the same roster, closes its
//! connection anyway). The destination's own allow list is the second guard: it refuses a
//! relayed connection from a non-member like any other.
//!
//! [`NetworkHandle::listen_via_relay`]: super::NetworkHandle::listen_via_relay

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use libp2p::{Multiaddr, PeerId, dcutr, relay};

use super::NetworkEvent;
use super::event_loop::EventLoop;

/// The tracing target of machine-readable relay events (reservations, refusals, circuits).
pub const RELAY_EVENTS_TARGET: &str = "lienthong::events::relay";

/// How many units may hold a reservation on a relay at once, by default.
pub const DEFAULT_RELAY_MAX_RESERVATIONS: usize = 512;

/// How many circuits a relay carries at once, by default.
pub const DEFAULT_RELAY_MAX_CIRCUITS: usize = 1024;

/// How many circuits one source may have open on a relay at once, by default.
pub const DEFAULT_RELAY_MAX_CIRCUITS_PER_PEER: usize = 32;

/// How long a reservation lasts before the unit renews it (it does so at three quarters).
pub const DEFAULT_RELAY_RESERVATION_DURATION: Duration = Duration::from_secs(60 * 60);

/// How long a circuit may stay open, by default. A circuit carries a connection, with
/// many deliveries over it; when it is cut, the next delivery dials again.
pub const DEFAULT_RELAY_MAX_CIRCUIT_DURATION: Duration = Duration::from_secs(60 * 60);

/// How many bytes a circuit may carry (both ways together), by default: room for dozens of
/// documents of tens of MB over one connection.
pub const DEFAULT_RELAY_MAX_CIRCUIT_BYTES: u64 = 1 << 30;

/// The peers a relay serves: a cheap, cloneable handle on one shared set.
///
/// The node updates it from its roster with [`set`](Self::set); the relay reads it on every
/// reservation and circuit request, so a change applies to the next request without a
/// round trip to the event loop. A `std` lock is enough: it is held only to copy in a new
/// set or look one peer up, never across an `await`.
#[derive(Clone, Default)]
pub struct RelayMembers(Arc<RwLock<HashSet<PeerId>>>);

impl RelayMembers {
    /// A set holding `peers`.
    pub fn new(peers: HashSet<PeerId>) -> Self {
        Self(Arc::new(RwLock::new(peers)))
    }

    /// Replaces the set. Reservations and circuits already granted are kept (see the module
    /// docs); every later request is checked against the new set.
    pub fn set(&self, peers: HashSet<PeerId>) {
        // The set is replaced whole, so a writer that panicked cannot have left it half-made.
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = peers;
    }

    /// Whether `peer` may use the relay.
    pub fn contains(&self, peer: &PeerId) -> bool {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(peer)
    }

    /// How many members there are.
    pub fn len(&self) -> usize {
        self.0.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether no one may use the relay.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for RelayMembers {
    // By hand: a roster has thousands of members.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayMembers")
            .field("len", &self.len())
            .finish()
    }
}

/// What a relay node serves, and to whom. `Options::relay_server: None` means the node is
/// not a relay.
///
/// `Default` has the raised limits documented on each constant and no members: set
/// `members` (and keep it updated), or the relay refuses everyone.
#[derive(Debug, Clone)]
pub struct RelayServerOptions {
    /// How many reservations are held at once; more are refused.
    pub max_reservations: usize,
    /// How many circuits are carried at once; more are refused.
    pub max_circuits: usize,
    /// How many circuits one source may have open at once. libp2p refuses a new one only
    /// once a source has *more* than this, so one more gets through.
    pub max_circuits_per_peer: usize,
    /// How long a reservation lasts. Above zero.
    pub reservation_duration: Duration,
    /// How long a circuit may stay open before the relay closes it. Above zero, and at most
    /// `u32::MAX` seconds (libp2p panics above that).
    pub max_circuit_duration: Duration,
    /// How many bytes a circuit may carry before the relay closes it.
    pub max_circuit_bytes: u64,
    /// Who may hold a reservation: the relay's own members.
    pub members: RelayMembers,
    /// Who may open a circuit (to a peer holding a reservation): the federation's members.
    pub circuit_sources: RelayMembers,
}

impl Default for RelayServerOptions {
    fn default() -> Self {
        Self {
            max_reservations: DEFAULT_RELAY_MAX_RESERVATIONS,
            max_circuits: DEFAULT_RELAY_MAX_CIRCUITS,
            max_circuits_per_peer: DEFAULT_RELAY_MAX_CIRCUITS_PER_PEER,
            reservation_duration: DEFAULT_RELAY_RESERVATION_DURATION,
            max_circuit_duration: DEFAULT_RELAY_MAX_CIRCUIT_DURATION,
            max_circuit_bytes: DEFAULT_RELAY_MAX_CIRCUIT_BYTES,
            members: RelayMembers::default(),
            circuit_sources: RelayMembers::default(),
        }
    }
}

impl RelayServerOptions {
    /// What is wrong with these options, as `(option, problem)`, if anything.
    pub(crate) fn problem(&self) -> Option<(&'static str, &'static str)> {
        if self.reservation_duration.is_zero() {
            Some(("relay_server.reservation_duration", "must be above zero"))
        } else if self.max_circuit_duration.is_zero() {
            Some(("relay_server.max_circuit_duration", "must be above zero"))
        } else if self.max_circuit_duration.as_secs() > u64::from(u32::MAX) {
            Some((
                "relay_server.max_circuit_duration",
                "must be at most u32::MAX seconds",
            ))
        } else {
            None
        }
    }
}

/// The relay server for `local_peer_id`, serving `options.members` only.
///
/// libp2p's default rate limiters (per peer and per IP address) are replaced, not added to:
/// members are known agencies, and many of them may sit behind one NAT address, which the
/// per-IP limit (about one reservation or circuit a minute) would starve. The counts in
/// `options` still bound what any member can take.
///
/// The server advertises itself at once instead of waiting for a confirmed external
/// address: being a relay is the operator's decision.
pub(crate) fn server(local_peer_id: PeerId, options: &RelayServerOptions) -> relay::Behaviour {
    let config = relay::Config {
        max_reservations: options.max_reservations,
        reservation_duration: options.reservation_duration,
        reservation_rate_limiters: vec![members_only(options.members.clone())],
        max_circuits: options.max_circuits,
        max_circuits_per_peer: options.max_circuits_per_peer,
        max_circuit_duration: options.max_circuit_duration,
        max_circuit_bytes: options.max_circuit_bytes,
        circuit_src_rate_limiters: vec![members_only(options.circuit_sources.clone())],
        // `max_reservations_per_peer` stays libp2p's.
        ..relay::Config::default()
    };
    let mut server = relay::Behaviour::new(local_peer_id, config);
    server.set_status(Some(relay::Status::Enable));
    server
}

/// A "rate limiter" that lets members through and no one else. The relay answers a refusal
/// with `RESOURCE_LIMIT_EXCEEDED` and reports it as a denied request, which the loop logs.
fn members_only(members: RelayMembers) -> Box<dyn relay::RateLimiter> {
    // The third argument is the relay's clock (`web_time::Instant`), unused here.
    Box::new(move |peer: PeerId, _addr: &Multiaddr, _now| members.contains(&peer))
}

impl EventLoop {
    /// Relay server events: denials become [`NetworkEvent::RelayRefused`]; the rest is logged.
    pub(crate) fn handle_relay_server(&mut self, event: relay::Event) {
        // The deprecated variants are still emitted by libp2p 0.57; they are logged only.
        #[allow(deprecated)]
        match event {
            relay::Event::ReservationReqDenied {
                src_peer_id,
                status,
            } => self.relay_refused(src_peer_id, None, "reservation", status),
            relay::Event::CircuitReqDenied {
                src_peer_id,
                dst_peer_id,
                status,
            } => self.relay_refused(src_peer_id, Some(dst_peer_id), "circuit", status),
            relay::Event::ReservationReqAccepted {
                src_peer_id,
                renewed,
            } => {
                tracing::debug!(target: RELAY_EVENTS_TARGET, event = "reservation_granted", peer = %src_peer_id, renewed);
            }
            relay::Event::ReservationClosed { src_peer_id } => {
                tracing::debug!(target: RELAY_EVENTS_TARGET, event = "reservation_closed", peer = %src_peer_id);
            }
            relay::Event::ReservationTimedOut { src_peer_id } => {
                tracing::debug!(target: RELAY_EVENTS_TARGET, event = "reservation_expired", peer = %src_peer_id);
            }
            relay::Event::CircuitReqAccepted {
                src_peer_id,
                dst_peer_id,
            } => {
                tracing::debug!(target: RELAY_EVENTS_TARGET, event = "circuit_opened", src = %src_peer_id, dst = %dst_peer_id);
            }
            relay::Event::CircuitClosed {
                src_peer_id,
                dst_peer_id,
                error,
            } => {
                let error = error.map(|error| error.to_string());
                tracing::debug!(target: RELAY_EVENTS_TARGET, event = "circuit_closed", src = %src_peer_id, dst = %dst_peer_id, ?error);
            }
            relay::Event::CircuitReqOutboundConnectFailed {
                src_peer_id,
                dst_peer_id,
                error,
            } => {
                // The destination refused the circuit (e.g. it stopped listening through us).
                let error = error_chain(&error);
                tracing::debug!(target: RELAY_EVENTS_TARGET, event = "circuit_destination_failed", src = %src_peer_id, dst = %dst_peer_id, %error);
            }
            relay::Event::ReservationReqAcceptFailed { src_peer_id, error }
            | relay::Event::ReservationReqDenyFailed { src_peer_id, error } => {
                let error = error_chain(&error);
                tracing::debug!(peer = %src_peer_id, %error, "relay could not answer a reservation request");
            }
            relay::Event::CircuitReqDenyFailed {
                src_peer_id,
                dst_peer_id,
                error,
            }
            | relay::Event::CircuitReqAcceptFailed {
                src_peer_id,
                dst_peer_id,
                error,
            } => {
                let error = error_chain(&error);
                tracing::debug!(src = %src_peer_id, dst = %dst_peer_id, %error, "relay could not answer a circuit request");
            }
            relay::Event::StatusChanged { status } => {
                tracing::info!(?status, "relay advertisement changed");
            }
        }
    }

    /// Logs and announces a request the relay turned down, whoever turned it down (the
    /// member filter answers `RESOURCE_LIMIT_EXCEEDED`, as do the counts; a destination
    /// without reservation gets `NO_RESERVATION`).
    fn relay_refused(
        &self,
        peer: PeerId,
        dst: Option<PeerId>,
        what: &'static str,
        status: relay::StatusCode,
    ) {
        let member = self
            .relay_members
            .as_ref()
            .is_some_and(|members| members.contains(&peer));
        let dst = dst.map(|dst| dst.to_string());
        // `debug`: a refused peer may ask as often as it likes.
        tracing::debug!(target: RELAY_EVENTS_TARGET, event = "relay_refused", peer = %peer, what, ?status, member, ?dst);
        self.emit(NetworkEvent::RelayRefused { peer, what });
    }

    /// Relay client events: a first acceptance of a reservation is announced; circuits are
    /// logged (the connection they carry shows as usual).
    pub(crate) fn handle_relay_client(&mut self, event: relay::client::Event) {
        match event {
            relay::client::Event::ReservationReqAccepted {
                relay_peer_id,
                renewal,
                limit,
            } => {
                if self.reservations.accepted(relay_peer_id) {
                    tracing::info!(relay = %relay_peer_id, ?limit, "reservation accepted");
                    tracing::debug!(target: RELAY_EVENTS_TARGET, event = "reservation_accepted", relay = %relay_peer_id);
                    self.emit(NetworkEvent::ReservationAccepted {
                        relay: relay_peer_id,
                    });
                } else {
                    tracing::debug!(relay = %relay_peer_id, renewal, "reservation renewed");
                }
            }
            relay::client::Event::OutboundCircuitEstablished {
                relay_peer_id,
                limit,
            } => {
                tracing::debug!(target: RELAY_EVENTS_TARGET, event = "circuit_out", relay = %relay_peer_id, ?limit);
            }
            relay::client::Event::InboundCircuitEstablished { src_peer_id, limit } => {
                tracing::debug!(target: RELAY_EVENTS_TARGET, event = "circuit_in", src = %src_peer_id, ?limit);
            }
        }
    }

    /// The outcome of a hole punch between two peers connected through a relay.
    pub(crate) fn handle_dcutr(&mut self, event: dcutr::Event) {
        let peer = event.remote_peer_id;
        let succeeded = match event.result {
            Ok(connection) => {
                tracing::info!(peer = %peer, ?connection, "direct connection through hole punching");
                true
            }
            Err(error) => {
                // Expected wherever the networks do not allow it; the relayed connection stays.
                let error = error_chain(&error);
                tracing::debug!(peer = %peer, %error, "hole punching failed");
                false
            }
        };
        tracing::debug!(target: RELAY_EVENTS_TARGET, event = "direct_upgrade", peer = %peer, succeeded);
        self.emit(NetworkEvent::DirectUpgrade { peer, succeeded });
    }
}

/// `error` and its sources, joined with ": " (libp2p's relay errors say little on their own).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_shared_between_clones_and_replaced_whole() {
        let (a, b) = (PeerId::random(), PeerId::random());
        let members = RelayMembers::new([a].into());
        let seen_by_relay = members.clone();
        assert!(seen_by_relay.contains(&a) && !seen_by_relay.contains(&b));

        members.set([b].into());

        assert!(!seen_by_relay.contains(&a) && seen_by_relay.contains(&b));
        assert_eq!(seen_by_relay.len(), 1);
    }

    #[test]
    fn member_filter_lets_members_through_only() {
        let (member, stranger) = (PeerId::random(), PeerId::random());
        let members = RelayMembers::new([member].into());
        let mut filter = members_only(members.clone());
        let addr: Multiaddr = "/ip4/10.0.0.1/tcp/7100".parse().unwrap();
        // `web_time::Instant` is `std`'s on native targets.
        let now = std::time::Instant::now();

        assert!(filter.try_next(member, &addr, now));
        assert!(!filter.try_next(stranger, &addr, now));
        members.set([stranger].into());
        assert!(filter.try_next(stranger, &addr, now), "follows the set");
    }

    #[test]
    fn defaults_are_raised_for_documents_and_checked() {
        let options = RelayServerOptions::default();
        assert_eq!(options.max_circuit_bytes, 1 << 30);
        assert_eq!(options.max_circuit_duration, Duration::from_secs(3600));
        assert!(options.members.is_empty());
        assert_eq!(options.problem(), None);
        let too_long = RelayServerOptions {
            max_circuit_duration: Duration::from_secs(u64::from(u32::MAX) + 1),
            ..RelayServerOptions::default()
        };
        assert_eq!(
            too_long.problem().map(|(option, _)| option),
            Some("relay_server.max_circuit_duration")
        );
    }
}
