//! The event loop's book of known peers: addresses, connection count, identify and ping data.
//!
//! Roster hints (`add_addresses`, `add_relayed_address`) and learned addresses (identify,
//! mDNS, outbound connections) are kept apart: hints are authoritative and never pushed out
//! by a flood of learned addresses; learned ones are capped and the oldest go first.
//!
//! Addresses through a relay (`…/p2p-circuit`) are dialed after direct ones: a circuit
//! costs the relay's bandwidth and has limits, so it is the way in only where no direct one
//! works. The swarm dials a few addresses of a peer at once, so both kinds may be tried
//! together; the first connection to come up is used (usually the direct one, which takes
//! fewer round trips), and DCUtR may add a direct connection to a relayed one later.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

/// At most this many hinted and this many learned addresses are kept per peer.
const MAX_ADDRESSES: usize = 16;

/// What the node knows about one peer, as [`NetworkHandle::connected_peers`] reports it.
///
/// [`NetworkHandle::connected_peers`]: super::NetworkHandle::connected_peers
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's libp2p identity.
    pub peer_id: PeerId,
    /// Addresses to dial it at, in the order they are tried: direct roster hints, direct
    /// learned addresses, then addresses through a relay (no `/p2p/` suffix of the peer's).
    pub addresses: Vec<Multiaddr>,
    /// Whether at least one connection is open.
    pub connected: bool,
    /// Whether the peer is reached through a relay only: connected, and every open
    /// connection is a relayed circuit. It turns `false` once a direct connection opens
    /// (a direct dial, or DCUtR's hole punching).
    pub relayed: bool,
    /// The agent version the peer announced over identify (e.g. `lienthong/0.1.0`).
    pub agent_version: Option<String>,
    /// The last round-trip time ping measured.
    pub rtt: Option<Duration>,
}

#[derive(Debug, Default)]
struct PeerState {
    hinted: Vec<Multiaddr>,
    learned: VecDeque<Multiaddr>,
    connections: u32,
    /// How many of `connections` are relayed circuits.
    relayed_connections: u32,
    agent_version: Option<String>,
    rtt: Option<Duration>,
    /// Why the last dial failed, until a request consumes it or a connection succeeds.
    last_dial_error: Option<String>,
    /// The last request or response to or from the peer, or the moment it connected.
    last_active: Option<Instant>,
}

/// Known peers, keyed by peer id. Owned by the event loop; no locking.
#[derive(Debug, Default)]
pub(crate) struct PeerBook {
    peers: HashMap<PeerId, PeerState>,
}

impl PeerBook {
    /// Records roster hints. Returns the addresses as stored (normalised), for the swarm and
    /// Kademlia; addresses naming another peer are dropped.
    pub(crate) fn add_hints(&mut self, peer: PeerId, addrs: Vec<Multiaddr>) -> Vec<Multiaddr> {
        let state = self.peers.entry(peer).or_default();
        let mut accepted = Vec::with_capacity(addrs.len());
        for addr in addrs {
            let Some(addr) = normalise(peer, addr) else {
                continue;
            };
            if !state.hinted.contains(&addr) {
                if state.hinted.len() == MAX_ADDRESSES {
                    state.hinted.remove(0);
                }
                state.hinted.push(addr.clone());
            }
            accepted.push(addr);
        }
        accepted
    }

    /// Records an address learned from the network. Returns `false` if it names another peer.
    pub(crate) fn learn_address(&mut self, peer: PeerId, addr: Multiaddr) -> bool {
        let Some(addr) = normalise(peer, addr) else {
            return false;
        };
        let state = self.peers.entry(peer).or_default();
        if !state.hinted.contains(&addr) && !state.learned.contains(&addr) {
            if state.learned.len() == MAX_ADDRESSES {
                state.learned.pop_front();
            }
            state.learned.push_back(addr);
        }
        true
    }

    /// Forgets a learned address (e.g. mDNS expiry). Hints stay.
    pub(crate) fn forget_address(&mut self, peer: &PeerId, addr: &Multiaddr) {
        if let Some(state) = self.peers.get_mut(peer) {
            state.learned.retain(|known| known != addr);
        }
    }

    /// Addresses to dial `peer` at: direct hints, direct learned, then relayed ones.
    pub(crate) fn dial_addresses(&self, peer: &PeerId) -> Vec<Multiaddr> {
        self.peers
            .get(peer)
            .map_or_else(Vec::new, PeerState::dial_order)
    }

    /// A connection to `peer` opened; `connections` are open now.
    pub(crate) fn connection_opened(&mut self, peer: PeerId, connections: u32, relayed: bool) {
        let state = self.peers.entry(peer).or_default();
        state.connections = connections;
        if relayed {
            state.relayed_connections += 1;
        }
        state.last_dial_error = None;
        state.last_active = Some(Instant::now());
    }

    /// A request or response went to or came from `peer`.
    pub(crate) fn touch(&mut self, peer: &PeerId) {
        if let Some(state) = self.peers.get_mut(peer) {
            state.last_active = Some(Instant::now());
        }
    }

    /// Connected peers with no request or response for at least `idle`.
    pub(crate) fn idle_connected(&self, idle: Duration) -> Vec<PeerId> {
        let now = Instant::now();
        self.peers
            .iter()
            .filter(|(_, s)| {
                s.connections > 0
                    && s.last_active
                        .is_some_and(|at| now.duration_since(at) >= idle)
            })
            .map(|(peer, _)| *peer)
            .collect()
    }

    /// A connection to `peer` closed; `connections` remain open.
    pub(crate) fn connection_closed(&mut self, peer: PeerId, connections: u32, relayed: bool) {
        let state = self.peers.entry(peer).or_default();
        state.connections = connections;
        if relayed {
            state.relayed_connections = state.relayed_connections.saturating_sub(1);
        }
        state.relayed_connections = state.relayed_connections.min(connections);
    }

    pub(crate) fn set_agent_version(&mut self, peer: PeerId, agent_version: String) {
        self.peers.entry(peer).or_default().agent_version = Some(agent_version);
    }

    pub(crate) fn set_rtt(&mut self, peer: PeerId, rtt: Duration) {
        self.peers.entry(peer).or_default().rtt = Some(rtt);
    }

    pub(crate) fn record_dial_error(&mut self, peer: PeerId, reason: String) {
        self.peers.entry(peer).or_default().last_dial_error = Some(reason);
    }

    /// The reason of the last failed dial to `peer`, if one is recorded; left in place.
    pub(crate) fn dial_error(&self, peer: &PeerId) -> Option<&str> {
        self.peers.get(peer)?.last_dial_error.as_deref()
    }

    /// Takes the reason of the last failed dial to `peer`, if one is recorded.
    pub(crate) fn take_dial_error(&mut self, peer: &PeerId) -> Option<String> {
        self.peers.get_mut(peer)?.last_dial_error.take()
    }

    /// Every known peer, or only those connected now.
    pub(crate) fn infos(&self, connected_only: bool) -> Vec<PeerInfo> {
        self.peers
            .iter()
            .filter(|(_, state)| !connected_only || state.connections > 0)
            .map(|(peer_id, state)| PeerInfo {
                peer_id: *peer_id,
                addresses: state.dial_order(),
                connected: state.connections > 0,
                relayed: state.connections > 0 && state.relayed_connections == state.connections,
                agent_version: state.agent_version.clone(),
                rtt: state.rtt,
            })
            .collect()
    }
}

impl PeerState {
    /// Hints before learned addresses, direct before relayed.
    fn dial_order(&self) -> Vec<Multiaddr> {
        let all = || self.hinted.iter().chain(&self.learned);
        all()
            .filter(|addr| !is_relayed(addr))
            .chain(all().filter(|addr| is_relayed(addr)))
            .cloned()
            .collect()
    }
}

/// Whether `addr` goes through a relay (`/p2p-circuit`).
pub(crate) fn is_relayed(addr: &Multiaddr) -> bool {
    addr.iter().any(|protocol| protocol == Protocol::P2pCircuit)
}

/// Strips a trailing `/p2p/<peer>`; `None` if the address names a different peer.
fn normalise(peer: PeerId, mut addr: Multiaddr) -> Option<Multiaddr> {
    match addr.iter().last() {
        Some(Protocol::P2p(named)) if named == peer => {
            addr.pop();
            Some(addr)
        }
        Some(Protocol::P2p(named)) => {
            tracing::debug!(peer = %peer, named = %named, %addr, "ignoring an address of another peer");
            None
        }
        _ => Some(addr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> Multiaddr {
        format!("/ip4/10.0.0.1/tcp/{port}").parse().unwrap()
    }

    #[test]
    fn hints_come_first_and_survive_a_flood_of_learned_addresses() {
        let mut book = PeerBook::default();
        let peer = PeerId::random();
        for port in 0..40 {
            book.learn_address(peer, addr(1000 + port));
        }
        book.add_hints(peer, vec![addr(1)]);
        let addrs = book.dial_addresses(&peer);
        assert_eq!(addrs[0], addr(1));
        assert_eq!(addrs.len(), 1 + MAX_ADDRESSES);
        assert_eq!(
            addrs[1],
            addr(1000 + 40 - MAX_ADDRESSES as u16),
            "oldest learned go first"
        );
    }

    #[test]
    fn strips_own_p2p_suffix_and_drops_other_peers_addresses() {
        let mut book = PeerBook::default();
        let peer = PeerId::random();
        let other = PeerId::random();
        let accepted = book.add_hints(
            peer,
            vec![
                addr(1).with(Protocol::P2p(peer)),
                addr(2).with(Protocol::P2p(other)),
            ],
        );
        assert_eq!(accepted, vec![addr(1)]);
        assert!(!book.learn_address(peer, addr(3).with(Protocol::P2p(other))));
        assert_eq!(book.dial_addresses(&peer), vec![addr(1)]);
    }

    #[test]
    fn dial_error_is_cleared_by_a_connection() {
        let mut book = PeerBook::default();
        let peer = PeerId::random();
        book.record_dial_error(peer, "refused".into());
        book.connection_opened(peer, 1, false);
        assert_eq!(book.take_dial_error(&peer), None);
        book.record_dial_error(peer, "refused".into());
        assert_eq!(book.take_dial_error(&peer).as_deref(), Some("refused"));
        assert_eq!(book.take_dial_error(&peer), None);
    }

    #[test]
    fn reports_unconnected_peers_too() {
        let mut book = PeerBook::default();
        let peer = PeerId::random();
        book.add_hints(peer, vec![addr(1)]);
        let infos = book.infos(false);
        assert_eq!(infos.len(), 1);
        assert!(!infos[0].connected);
        book.connection_opened(peer, 1, false);
        book.connection_opened(peer, 2, false);
        book.set_rtt(peer, Duration::from_millis(3));
        let info = &book.infos(false)[0];
        assert!(info.connected && !info.relayed);
        assert_eq!(info.rtt, Some(Duration::from_millis(3)));
    }

    #[test]
    fn relayed_addresses_come_after_direct_ones_hinted_or_learned() {
        let mut book = PeerBook::default();
        let (peer, relay) = (PeerId::random(), PeerId::random());
        let circuit = addr(9)
            .with(Protocol::P2p(relay))
            .with(Protocol::P2pCircuit);
        book.add_hints(peer, vec![circuit.clone().with(Protocol::P2p(peer))]);
        book.add_hints(peer, vec![addr(1)]);
        book.learn_address(peer, addr(2));

        assert_eq!(book.dial_addresses(&peer), vec![addr(1), addr(2), circuit]);
    }

    #[test]
    fn relayed_while_every_open_connection_is_a_circuit() {
        let mut book = PeerBook::default();
        let peer = PeerId::random();
        let relayed = |book: &PeerBook| book.infos(false)[0].relayed;

        book.connection_opened(peer, 1, true);
        assert!(relayed(&book));
        book.connection_opened(peer, 2, false); // hole punched
        assert!(!relayed(&book));
        book.connection_closed(peer, 1, false);
        assert!(relayed(&book));
        book.connection_closed(peer, 0, true);
        assert!(!relayed(&book), "not connected at all");
    }
}
