//! At most so many handshakes in progress from one source IP address.
//!
//! libp2p's `connection_limits` bounds handshakes in total, not per source. Without this, a
//! single machine could hold every handshake slot, renewing each as the handshake timeout
//! drops it, and no member could connect in; with it, a flood has to come from many
//! addresses to do that. Only handshakes are counted: once established, a connection is a
//! member's (the allow list refuses the rest), and agencies behind one NAT are many members
//! on one address.
//!
//! Relayed connections are not counted: their only address is the relay's, shared by every
//! member behind it, and they cost no descriptor. Nor are addresses without an IP (the
//! memory transport's).

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::net::IpAddr;
use std::task::{Context, Poll};

use libp2p::PeerId;
use libp2p::core::transport::PortUse;
use libp2p::core::{Endpoint, Multiaddr};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::behaviour::{ConnectionClosed, ConnectionEstablished, ListenFailure};
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm, dummy,
};

/// Why a connection was refused: its source address has `max` handshakes in progress.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TooManyFromAddress {
    address: IpAddr,
    max: u32,
}

impl fmt::Display for TooManyFromAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} has {} handshakes in progress already, the most one address may have",
            self.address, self.max
        )
    }
}

impl std::error::Error for TooManyFromAddress {}

/// Counts inbound handshakes per source IP and refuses those above `max`.
#[derive(Debug)]
pub(crate) struct Behaviour {
    max: u32,
    by_address: HashMap<IpAddr, u32>,
    pending: HashMap<ConnectionId, IpAddr>,
}

impl Behaviour {
    /// At most `max` handshakes at once from one address.
    pub(crate) fn new(max: u32) -> Self {
        Self {
            max,
            by_address: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    /// Ends the handshake of `connection`, if it was counted. Called on every way a
    /// handshake ends; the second call for one connection does nothing.
    fn release(&mut self, connection: ConnectionId) {
        let Some(address) = self.pending.remove(&connection) else {
            return;
        };
        if let Some(count) = self.by_address.get_mut(&address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.by_address.remove(&address);
            }
        }
    }

    #[cfg(test)]
    fn in_progress(&self, address: IpAddr) -> u32 {
        self.by_address.get(&address).copied().unwrap_or(0)
    }
}

/// The IP a connection comes from, unless it is relayed or has none.
fn source(local: &Multiaddr, remote: &Multiaddr) -> Option<IpAddr> {
    let relayed = |addr: &Multiaddr| addr.iter().any(|p| p == Protocol::P2pCircuit);
    if relayed(local) || relayed(remote) {
        return None;
    }
    match remote.iter().next()? {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip).to_canonical()),
        _ => None,
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        let Some(address) = source(local_addr, remote_addr) else {
            return Ok(());
        };
        let count = self.by_address.get(&address).copied().unwrap_or(0);
        if count >= self.max {
            return Err(ConnectionDenied::new(TooManyFromAddress {
                address,
                max: self.max,
            }));
        }
        self.by_address.insert(address, count + 1);
        self.pending.insert(connection_id, address);
        Ok(())
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.release(connection_id);
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        // A behaviour before this one may refuse an established connection, so this one's
        // `handle_established_inbound_connection` is never called: the swarm then reports a
        // listen failure, as for a handshake that failed or timed out.
        match event {
            FromSwarm::ListenFailure(ListenFailure { connection_id, .. })
            | FromSwarm::ConnectionEstablished(ConnectionEstablished { connection_id, .. })
            | FromSwarm::ConnectionClosed(ConnectionClosed { connection_id, .. }) => {
                self.release(connection_id);
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use libp2p::swarm::ListenError;

    use super::*;

    fn addr(text: &str) -> Multiaddr {
        text.parse().expect("multiaddr")
    }

    fn local() -> Multiaddr {
        addr("/ip4/10.0.0.1/tcp/7100")
    }

    fn id(n: usize) -> ConnectionId {
        ConnectionId::new_unchecked(n)
    }

    fn arrive(b: &mut Behaviour, n: usize, from: &str) -> Result<(), ConnectionDenied> {
        b.handle_pending_inbound_connection(id(n), &local(), &addr(from))
    }

    fn fail(b: &mut Behaviour, n: usize, from: &str) {
        b.on_swarm_event(FromSwarm::ListenFailure(ListenFailure {
            local_addr: &local(),
            send_back_addr: &addr(from),
            error: &ListenError::Aborted,
            connection_id: id(n),
            peer_id: None,
        }));
    }

    const FLOOD: &str = "/ip4/203.0.113.7/tcp/40000";
    const MEMBER: &str = "/ip4/198.51.100.2/tcp/40000";

    #[test]
    fn one_address_gets_at_most_max_handshakes_and_others_are_untouched() {
        let mut b = Behaviour::new(2);
        arrive(&mut b, 1, FLOOD).expect("first");
        arrive(&mut b, 2, FLOOD).expect("second");
        let refused = arrive(&mut b, 3, FLOOD).expect_err("third from the same address");
        assert!(refused.downcast_ref::<TooManyFromAddress>().is_some());

        arrive(&mut b, 4, MEMBER).expect("another address still gets in");
        assert_eq!(b.in_progress("203.0.113.7".parse().expect("ip")), 2);
    }

    #[test]
    fn a_slot_comes_back_when_its_handshake_ends_however_it_ends() {
        let mut b = Behaviour::new(1);
        let ip: IpAddr = "203.0.113.7".parse().expect("ip");

        // Fails or times out.
        arrive(&mut b, 1, FLOOD).expect("first");
        fail(&mut b, 1, FLOOD);
        assert_eq!(b.in_progress(ip), 0);

        // Completes.
        arrive(&mut b, 2, FLOOD).expect("after the failure");
        b.handle_established_inbound_connection(id(2), PeerId::random(), &local(), &addr(FLOOD))
            .expect("established");
        assert_eq!(b.in_progress(ip), 0);

        // Completes, but a behaviour before this one refuses it: the swarm reports a
        // failure for a connection already released, which changes nothing.
        arrive(&mut b, 3, FLOOD).expect("after the establishment");
        fail(&mut b, 2, FLOOD);
        assert_eq!(b.in_progress(ip), 1, "connection 3 still counts");
        fail(&mut b, 3, FLOOD);
        assert_eq!(b.in_progress(ip), 0);
        assert!(b.by_address.is_empty() && b.pending.is_empty());
    }

    #[test]
    fn relayed_and_memory_connections_are_not_counted() {
        let mut b = Behaviour::new(1);
        let relay = "/ip4/203.0.113.1/tcp/7100/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit";
        for n in 0..3 {
            b.handle_pending_inbound_connection(
                id(n),
                &addr(relay),
                &addr("/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"),
            )
            .expect("relayed");
            arrive(&mut b, 10 + n, "/memory/7").expect("memory");
        }
        assert!(b.pending.is_empty());
    }

    #[test]
    fn an_ipv4_client_on_a_dual_stack_socket_counts_as_its_ipv4_address() {
        let mut b = Behaviour::new(1);
        arrive(&mut b, 1, "/ip6/::ffff:203.0.113.7/tcp/40000").expect("mapped");
        assert!(arrive(&mut b, 2, FLOOD).is_err(), "the same machine");
    }
}
