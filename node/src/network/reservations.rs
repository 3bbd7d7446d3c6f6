//! Keeping reservations on relays: [`Reservations`], the state of each relay this node
//! listens through, and the event loop's handlers for it.
//!
//! Listening on `<relay addr>/p2p/<relay>/p2p-circuit` makes libp2p's relay client dial the
//! relay (if not connected) and ask for a reservation; the relay then forwards circuits to
//! this node. Every way that ends (the relay refuses or stops renewing, the connection to it
//! closes, it cannot be dialed) closes that listener, so one rule keeps the reservation:
//! when the listener closes while the node still wants the relay, say so
//! ([`NetworkEvent::ReservationLost`]) and listen again after a backoff that doubles from
//! [`MIN_BACKOFF`] to [`MAX_BACKOFF`] and starts over once a reservation is accepted. Each
//! attempt takes the next of the relay's addresses, so a relay with several is reached on
//! whichever works.
//!
//! [`Reservations`] does no I/O: the loop asks it what to listen on and tells it what
//! happened, which keeps the retry rules testable without a swarm.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use tokio::time::Instant;

use super::command::Reply;
use super::event_loop::EventLoop;
use super::relay::{RELAY_EVENTS_TARGET, error_chain};
use super::{NetworkError, NetworkEvent};

/// The wait before the first retry after a reservation ends or an attempt fails.
pub(crate) const MIN_BACKOFF: Duration = Duration::from_secs(1);

/// The longest wait between two attempts.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The `reason` of a [`NetworkEvent::ReservationLost`] caused by `stop_listening_via_relay`.
pub(crate) const STOPPED: &str = "stopped listening via this relay";

/// One relay the node wants a reservation on.
#[derive(Debug)]
struct Relay {
    /// The relay's addresses, without `/p2p/`; never empty.
    addrs: Vec<Multiaddr>,
    /// Which of `addrs` the next attempt uses.
    next_addr: usize,
    /// The wait after the next failure.
    backoff: Duration,
    phase: Phase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// About to listen: `want` or `next_attempt` handed out an address, `listening` or
    /// `failed` comes next.
    Starting,
    /// A circuit listener is open; `accepted` once the relay granted the reservation.
    Listening {
        listener: ListenerId,
        accepted: bool,
    },
    /// Waiting to try again.
    Waiting { until: Instant },
}

/// What became of a relay whose listener closed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Closed {
    pub(crate) relay: PeerId,
    /// Whether a reservation had been accepted on it (else an attempt failed).
    pub(crate) was_accepted: bool,
    /// How long until the next attempt.
    pub(crate) retry_in: Duration,
}

/// The relays this node listens through, keyed by relay, with their retry deadlines.
#[derive(Debug, Default)]
pub(crate) struct Reservations {
    relays: HashMap<PeerId, Relay>,
    /// The relay behind each open circuit listener.
    listeners: HashMap<ListenerId, PeerId>,
    retries: BTreeSet<(Instant, PeerId)>,
    /// `stop_listening_via_relay` callers, answered when their listener has closed.
    stopping: HashMap<ListenerId, Reply<()>>,
}

impl Reservations {
    /// Records that the node wants a reservation on `relay`, reachable at `addrs` (not
    /// empty). Returns the circuit address to listen on now, or `None` when a listener is
    /// already open (only the addresses are updated then, for the next attempt).
    pub(crate) fn want(&mut self, relay: PeerId, addrs: Vec<Multiaddr>) -> Option<Multiaddr> {
        debug_assert!(!addrs.is_empty(), "checked by the caller");
        let state = match self.relays.entry(relay) {
            Entry::Occupied(entry) => {
                let state = entry.into_mut();
                // The same list again keeps its turn; a new one starts from its first address.
                if state.addrs != addrs {
                    state.addrs = addrs;
                    state.next_addr = 0;
                }
                match state.phase {
                    Phase::Listening { .. } | Phase::Starting => return None,
                    // Asked again while waiting: try now rather than at the deadline.
                    Phase::Waiting { until } => {
                        self.retries.remove(&(until, relay));
                    }
                }
                state
            }
            Entry::Vacant(entry) => entry.insert(Relay {
                addrs,
                next_addr: 0,
                backoff: MIN_BACKOFF,
                phase: Phase::Starting,
            }),
        };
        Some(state.take_circuit_addr(relay))
    }

    /// The circuit address for the retry of `relay` that is due, or `None` if the relay is
    /// no longer wanted or not waiting.
    pub(crate) fn next_attempt(&mut self, relay: PeerId) -> Option<Multiaddr> {
        let state = self.relays.get_mut(&relay)?;
        let Phase::Waiting { until } = state.phase else {
            return None;
        };
        self.retries.remove(&(until, relay));
        Some(state.take_circuit_addr(relay))
    }

    /// A listener is open for `relay`.
    pub(crate) fn listening(&mut self, relay: PeerId, listener: ListenerId) {
        if let Some(state) = self.relays.get_mut(&relay) {
            state.phase = Phase::Listening {
                listener,
                accepted: false,
            };
            self.listeners.insert(listener, relay);
        }
    }

    /// An attempt on `relay` could not even start; schedules the next. Returns the wait.
    pub(crate) fn failed(&mut self, relay: PeerId, now: Instant) -> Option<Duration> {
        let state = self.relays.get_mut(&relay)?;
        Some(state.schedule(relay, now, &mut self.retries))
    }

    /// The relay granted a reservation. Returns `true` the first time for a listener (a
    /// renewal or a stray event returns `false`), and resets the backoff.
    pub(crate) fn accepted(&mut self, relay: PeerId) -> bool {
        let Some(state) = self.relays.get_mut(&relay) else {
            return false;
        };
        match &mut state.phase {
            Phase::Listening { accepted, .. } if !*accepted => {
                *accepted = true;
                state.backoff = MIN_BACKOFF;
                true
            }
            _ => false,
        }
    }

    /// A listener closed. If it was a wanted relay's, schedules the next attempt and says so.
    pub(crate) fn closed(&mut self, listener: ListenerId, now: Instant) -> Option<Closed> {
        let relay = self.listeners.remove(&listener)?;
        let state = self.relays.get_mut(&relay)?;
        let Phase::Listening {
            listener: current,
            accepted,
        } = state.phase
        else {
            return None;
        };
        if current != listener {
            return None;
        }
        let retry_in = state.schedule(relay, now, &mut self.retries);
        Some(Closed {
            relay,
            was_accepted: accepted,
            retry_in,
        })
    }

    /// Forgets `relay`. Returns its open listener, if any, and whether it held a reservation.
    pub(crate) fn stop(&mut self, relay: PeerId) -> Option<(Option<ListenerId>, bool)> {
        let state = self.relays.remove(&relay)?;
        match state.phase {
            Phase::Listening { listener, accepted } => {
                self.listeners.remove(&listener);
                Some((Some(listener), accepted))
            }
            Phase::Waiting { until } => {
                self.retries.remove(&(until, relay));
                Some((None, false))
            }
            Phase::Starting => Some((None, false)),
        }
    }

    /// Holds `reply` until `listener` has closed.
    pub(crate) fn answer_when_closed(&mut self, listener: ListenerId, reply: Reply<()>) {
        self.stopping.insert(listener, reply);
    }

    /// The reply owed for `listener`'s close, if a stop waits for it.
    pub(crate) fn take_stopping(&mut self, listener: ListenerId) -> Option<Reply<()>> {
        self.stopping.remove(&listener)
    }

    /// Relays holding an accepted reservation.
    pub(crate) fn active(&self) -> Vec<PeerId> {
        self.relays
            .iter()
            .filter(|(_, state)| matches!(state.phase, Phase::Listening { accepted: true, .. }))
            .map(|(relay, _)| *relay)
            .collect()
    }

    pub(crate) fn has_retries(&self) -> bool {
        !self.retries.is_empty()
    }

    /// Waits until the earliest retry is due and returns that relay (still waiting: the
    /// caller takes its address with [`next_attempt`](Self::next_attempt)). Pending forever
    /// when none is scheduled.
    ///
    /// Cancel-safe: it changes nothing, so dropping it in a `select!` loses nothing.
    pub(crate) async fn next_retry(&self) -> PeerId {
        match self.retries.first() {
            Some(&(until, relay)) => {
                tokio::time::sleep_until(until).await;
                relay
            }
            None => std::future::pending().await,
        }
    }
}

impl Relay {
    /// The next address as a circuit address; moves on to the one after.
    fn take_circuit_addr(&mut self, relay: PeerId) -> Multiaddr {
        self.phase = Phase::Starting;
        let addr = self.addrs[self.next_addr % self.addrs.len()].clone();
        self.next_addr = (self.next_addr + 1) % self.addrs.len();
        circuit_addr(addr, relay)
    }

    /// Schedules a retry after the current backoff and doubles it; returns the wait.
    fn schedule(
        &mut self,
        relay: PeerId,
        now: Instant,
        retries: &mut BTreeSet<(Instant, PeerId)>,
    ) -> Duration {
        let wait = self.backoff;
        let until = now + wait;
        self.phase = Phase::Waiting { until };
        retries.insert((until, relay));
        self.backoff = (wait * 2).min(MAX_BACKOFF);
        wait
    }
}

/// `<addr>/p2p/<relay>/p2p-circuit`: where to listen (or, with `/p2p/<peer>` added, what
/// to dial) to be reached through `relay`.
pub(crate) fn circuit_addr(addr: Multiaddr, relay: PeerId) -> Multiaddr {
    addr.with(Protocol::P2p(relay)).with(Protocol::P2pCircuit)
}

/// `addr` without a trailing `/p2p/<relay>`, if it is a plain address of `relay` (it names
/// no other peer and goes through no relay itself: circuits over circuits are not
/// supported).
pub(crate) fn relay_address(relay: PeerId, mut addr: Multiaddr) -> Option<Multiaddr> {
    if let Some(Protocol::P2p(named)) = addr.iter().last() {
        if named != relay {
            return None;
        }
        addr.pop();
    }
    let plain = !addr.is_empty()
        && addr
            .iter()
            .all(|protocol| !matches!(protocol, Protocol::P2p(_) | Protocol::P2pCircuit));
    plain.then_some(addr)
}

impl EventLoop {
    /// `listen_via_relay`: records the relay's addresses and listens through it unless a
    /// listener is open already.
    pub(crate) fn listen_via_relay(
        &mut self,
        relay: PeerId,
        addrs: Vec<Multiaddr>,
    ) -> Result<(), NetworkError> {
        if relay == *self.swarm.local_peer_id() {
            return Err(NetworkError::InvalidRelay {
                relay,
                problem: "the relay is this node",
            });
        }
        let addrs: Vec<Multiaddr> = addrs
            .into_iter()
            .filter_map(|addr| relay_address(relay, addr))
            .collect();
        if addrs.is_empty() {
            return Err(NetworkError::InvalidRelay {
                relay,
                problem: "no usable address (plain, ending in nothing or its own /p2p/)",
            });
        }
        // The relay client dials the relay with one address and asks the behaviours for more.
        self.add_addresses(relay, addrs.clone());
        let Some(circuit) = self.reservations.want(relay, addrs) else {
            tracing::debug!(relay = %relay, "already listening via this relay");
            return Ok(());
        };
        match self.swarm.listen_on(circuit.clone()) {
            Ok(listener) => {
                tracing::info!(relay = %relay, %circuit, "listening via relay");
                self.reservations.listening(relay, listener);
                Ok(())
            }
            Err(source) => {
                self.reservations.stop(relay);
                Err(NetworkError::Listen {
                    addr: circuit,
                    source,
                })
            }
        }
    }

    /// A retry is due: listens on the relay's next address.
    pub(crate) fn retry_reservation(&mut self, relay: PeerId) {
        let Some(circuit) = self.reservations.next_attempt(relay) else {
            return;
        };
        match self.swarm.listen_on(circuit.clone()) {
            Ok(listener) => {
                tracing::debug!(relay = %relay, %circuit, "asking the relay for a reservation again");
                self.reservations.listening(relay, listener);
            }
            Err(error) => {
                // The relay transport takes every well-formed circuit address; not expected.
                let retry_in = self.reservations.failed(relay, Instant::now());
                tracing::warn!(relay = %relay, %circuit, %error, ?retry_in, "cannot listen via relay");
            }
        }
    }

    /// `stop_listening_via_relay`: forgets the relay and closes its listener; `reply` is
    /// answered once the listener has closed, or at once if none is open.
    pub(crate) fn stop_listening_via_relay(&mut self, relay: PeerId, reply: Reply<()>) {
        let Some((listener, was_accepted)) = self.reservations.stop(relay) else {
            let _ = reply.send(());
            return;
        };
        tracing::info!(relay = %relay, "no longer listening via relay");
        if was_accepted {
            self.reservation_lost(relay, STOPPED.to_owned());
        }
        match listener {
            Some(listener) if self.swarm.remove_listener(listener) => {
                self.reservations.answer_when_closed(listener, reply);
            }
            _ => {
                let _ = reply.send(());
            }
        }
    }

    /// A listener closed: if it was a relay's, announces the loss and schedules the retry.
    /// Returns whether it was one of ours.
    pub(crate) fn relay_listener_closed(
        &mut self,
        listener: ListenerId,
        reason: Result<(), &std::io::Error>,
    ) -> bool {
        if let Some(reply) = self.reservations.take_stopping(listener) {
            // Closed by `stop_listening_via_relay`; the relay client has dropped the
            // reservation, so circuits still coming from the relay are refused.
            let _ = reply.send(());
            return true;
        }
        let Some(closed) = self.reservations.closed(listener, Instant::now()) else {
            return false;
        };
        let Closed {
            relay,
            was_accepted,
            retry_in,
        } = closed;
        let reason = match reason {
            Err(error) => error_chain(error),
            // Closed without error: the connection to the relay went away, or never came.
            Ok(()) => self.peers.dial_error(&relay).map_or_else(
                || "connection to the relay closed".to_owned(),
                str::to_owned,
            ),
        };
        if was_accepted {
            tracing::warn!(relay = %relay, %reason, ?retry_in, "reservation lost");
        } else {
            tracing::debug!(relay = %relay, %reason, ?retry_in, "reservation attempt failed");
        }
        self.reservation_lost(relay, reason);
        true
    }

    fn reservation_lost(&self, relay: PeerId, reason: String) {
        tracing::debug!(target: RELAY_EVENTS_TARGET, event = "reservation_lost", relay = %relay, %reason);
        self.emit(NetworkEvent::ReservationLost { relay, reason });
    }

    /// `add_relayed_address`: `<relay_addr>/p2p/<relay>/p2p-circuit/p2p/<peer>` as a hint
    /// for `peer`, dialed after its direct addresses.
    pub(crate) fn add_relayed_address(
        &mut self,
        peer: PeerId,
        relay: PeerId,
        relay_addr: Multiaddr,
    ) -> Result<(), NetworkError> {
        if relay == peer {
            return Err(NetworkError::InvalidRelay {
                relay,
                problem: "the relay is the peer itself",
            });
        }
        let Some(addr) = relay_address(relay, relay_addr) else {
            return Err(NetworkError::InvalidRelay {
                relay,
                problem: "not a plain address of the relay",
            });
        };
        let circuit = circuit_addr(addr, relay).with(Protocol::P2p(peer));
        tracing::debug!(peer = %peer, %circuit, "relayed address added");
        self.add_addresses(peer, vec![circuit]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> Multiaddr {
        format!("/ip4/10.0.0.1/tcp/{port}").parse().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_doubles_to_a_minute_and_starts_over_once_accepted() {
        let mut reservations = Reservations::default();
        let relay = PeerId::random();
        reservations.want(relay, vec![addr(1)]).expect("listen now");
        let mut waits = Vec::new();
        for _ in 0..8 {
            let listener = ListenerId::next();
            reservations.listening(relay, listener);
            let closed = reservations.closed(listener, Instant::now()).expect("ours");
            assert!(!closed.was_accepted);
            waits.push(closed.retry_in.as_secs());
            assert_eq!(reservations.next_retry().await, relay);
            reservations.next_attempt(relay).expect("due");
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);

        let listener = ListenerId::next();
        reservations.listening(relay, listener);
        assert!(reservations.accepted(relay));
        assert!(!reservations.accepted(relay), "a renewal is not news");
        assert_eq!(reservations.active(), vec![relay]);
        let closed = reservations.closed(listener, Instant::now()).expect("ours");
        assert!(closed.was_accepted);
        assert_eq!(closed.retry_in, MIN_BACKOFF);
        assert!(reservations.active().is_empty());
    }

    #[test]
    fn attempts_take_the_relays_addresses_in_turn() {
        let mut reservations = Reservations::default();
        let relay = PeerId::random();
        let first = reservations.want(relay, vec![addr(1), addr(2)]);
        assert_eq!(first, Some(circuit_addr(addr(1), relay)));
        let listener = ListenerId::next();
        reservations.listening(relay, listener);
        assert_eq!(
            reservations.want(relay, vec![addr(1), addr(2)]),
            None,
            "listening already"
        );
        reservations.closed(listener, Instant::now()).expect("ours");

        assert_eq!(
            reservations.next_attempt(relay),
            Some(circuit_addr(addr(2), relay))
        );
        reservations.failed(relay, Instant::now());
        assert_eq!(
            reservations.next_attempt(relay),
            Some(circuit_addr(addr(1), relay))
        );
    }

    #[test]
    fn stopped_relay_is_not_retried_and_its_listener_is_not_ours_any_more() {
        let mut reservations = Reservations::default();
        let relay = PeerId::random();
        reservations.want(relay, vec![addr(1)]);
        let listener = ListenerId::next();
        reservations.listening(relay, listener);
        assert!(reservations.accepted(relay));

        assert_eq!(reservations.stop(relay), Some((Some(listener), true)));

        assert_eq!(reservations.closed(listener, Instant::now()), None);
        assert!(!reservations.has_retries());
        assert_eq!(reservations.next_attempt(relay), None);
        assert_eq!(reservations.stop(relay), None);
    }

    #[test]
    fn relay_addresses_must_be_plain_addresses_of_that_relay() {
        let (relay, other) = (PeerId::random(), PeerId::random());
        assert_eq!(
            relay_address(relay, addr(1).with(Protocol::P2p(relay))),
            Some(addr(1))
        );
        assert_eq!(relay_address(relay, addr(1)), Some(addr(1)));
        assert_eq!(
            relay_address(relay, addr(1).with(Protocol::P2p(other))),
            None
        );
        assert_eq!(relay_address(relay, circuit_addr(addr(1), other)), None);
        assert_eq!(relay_address(relay, Multiaddr::empty()), None);
    }
}
