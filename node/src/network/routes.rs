//! [`Routes`]: every way to one peer the node knows from its roster, given to the network in
//! one command for the whole roster ([`NetworkHandle::add_routes`](super::NetworkHandle::add_routes))
//! rather than one command per address before each request.

use libp2p::{Multiaddr, PeerId};

use super::NetworkError;
use super::event_loop::EventLoop;

/// Where one peer can be reached: its own addresses, and relays that open circuits to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes {
    /// The peer.
    pub peer: PeerId,
    /// Addresses to dial it at directly (roster hints).
    pub direct: Vec<Multiaddr>,
    /// Relays it keeps a reservation on, each with an address of the relay: dialled as
    /// `<address>/p2p/<relay>/p2p-circuit/p2p/<peer>`, after the direct ones.
    pub relayed: Vec<(PeerId, Multiaddr)>,
}

impl Routes {
    /// No route yet to `peer`.
    pub fn to(peer: PeerId) -> Routes {
        Routes {
            peer,
            direct: Vec::new(),
            relayed: Vec::new(),
        }
    }

    /// Whether there is no way to the peer in it.
    pub fn is_empty(&self) -> bool {
        self.direct.is_empty() && self.relayed.is_empty()
    }
}

impl EventLoop {
    /// `add_routes`: each peer's direct addresses as hints, then its circuits. Returns the
    /// relayed addresses that cannot be used (each is skipped; the others go in).
    pub(crate) fn add_routes(&mut self, routes: Vec<Routes>) -> Vec<NetworkError> {
        let mut unusable = Vec::new();
        for Routes {
            peer,
            direct,
            relayed,
        } in routes
        {
            if !direct.is_empty() {
                self.add_addresses(peer, direct);
            }
            for (relay, address) in relayed {
                if let Err(e) = self.add_relayed_address(peer, relay, address) {
                    unusable.push(e);
                }
            }
        }
        unusable
    }
}
