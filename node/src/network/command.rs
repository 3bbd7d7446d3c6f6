//! Commands from [`NetworkHandle`](super::NetworkHandle) to the event loop.
//!
//! Every command carries a oneshot `reply`. The loop answers each one exactly once; if the
//! loop stops first, the dropped `reply` reads as `ShuttingDown` on the handle's side.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::oneshot;

use super::{GossipAcceptance, GossipMessageId, NetworkError, PeerInfo, RequestError};

/// A oneshot reply channel.
pub(crate) type Reply<T> = oneshot::Sender<T>;

/// Where a request's response frame, or why there is none, goes.
pub(crate) type RequestReply = Reply<Result<Bytes, RequestError>>;

/// Where a put's outcome goes.
pub(crate) type KadPutReply = Reply<Result<(), NetworkError>>;

/// Where a get's record (or `None`) goes.
pub(crate) type KadGetReply = Reply<Result<Option<Vec<u8>>, NetworkError>>;

/// One operation on the swarm, sent by a handle and answered by the event loop.
pub(crate) enum Command {
    /// Sent by `listen_addrs`; answered with the addresses listeners are bound to.
    ListenAddrs { reply: Reply<Vec<Multiaddr>> },
    /// Sent by `add_addresses` (roster hints); answered once the swarm and Kademlia know them.
    AddAddresses {
        peer: PeerId,
        addrs: Vec<Multiaddr>,
        reply: Reply<()>,
    },
    /// Sent by `request`; answered with the peer's response frame or why there is none,
    /// within `Options::request_timeout`.
    Request {
        peer: PeerId,
        payload: Bytes,
        reply: RequestReply,
    },
    /// Sent by `known_peers` and `connected_peers`; answered with every peer the node
    /// knows, or only those connected now.
    Peers {
        connected_only: bool,
        reply: Reply<Vec<PeerInfo>>,
    },
    /// Sent by `kad_put`; answered when the put query finishes.
    KadPut {
        key: Vec<u8>,
        value: Vec<u8>,
        reply: KadPutReply,
    },
    /// Sent by `kad_get`; answered with the first record found, or `None` once the query
    /// finishes without one.
    KadGet { key: Vec<u8>, reply: KadGetReply },
    /// Sent by `disconnect`; answered once every connection to the peer is closing.
    Disconnect { peer: PeerId, reply: Reply<()> },
    /// Sent by `keep_connected`: peers whose connections are never closed for idleness.
    KeepConnected {
        peers: std::collections::HashSet<PeerId>,
        reply: Reply<()>,
    },
    /// Sent by `connect`; answered once a dial has started (or the peer was connected
    /// already), not when it completes: the outcome shows as a `PeerConnected` event.
    Connect {
        peer: PeerId,
        reply: Reply<Result<(), String>>,
    },
    /// Sent by `publish`; answered once gossipsub has queued the message for its peers (or
    /// found none subscribed).
    Publish {
        topic: String,
        data: Bytes,
        reply: Reply<Result<(), NetworkError>>,
    },
    /// Sent by `report_gossip` and `report_gossip_all`; answered once gossipsub has
    /// forwarded or dropped every message reported.
    ReportGossip {
        reports: Vec<(GossipMessageId, PeerId, GossipAcceptance)>,
        reply: Reply<()>,
    },
    /// Sent by `set_allowed`; answered once the list is in force and the connections of the
    /// peers it leaves out are closing.
    SetAllowed {
        peers: Option<HashSet<PeerId>>,
        reply: Reply<()>,
    },
    /// Sent by `block`; answered once the block is in force and the peer's connections are
    /// closing.
    Block {
        peer: PeerId,
        duration: Duration,
        reply: Reply<()>,
    },
    /// Sent by `blocked`; answered with every blocked peer and the time its block has left.
    Blocked {
        reply: Reply<Vec<(PeerId, Duration)>>,
    },
    /// Sent by `listen_via_relay`; answered once the first attempt at a reservation has
    /// started (or the relay was listened through already), or why none can.
    ListenViaRelay {
        relay: PeerId,
        addrs: Vec<Multiaddr>,
        reply: Reply<Result<(), NetworkError>>,
    },
    /// Sent by `stop_listening_via_relay`; answered once the relay's circuit listener has
    /// closed (at once if none was open).
    StopListeningViaRelay { relay: PeerId, reply: Reply<()> },
    /// Sent by `reservations`; answered with the relays holding an accepted reservation.
    Reservations { reply: Reply<Vec<PeerId>> },
    /// Sent by `add_routes`; answered, with the relayed addresses that cannot be used, once
    /// every route is in the book.
    AddRoutes {
        routes: Vec<super::Routes>,
        reply: Reply<Vec<NetworkError>>,
    },
    /// Sent by `add_relayed_address`; answered once the relayed address is in the book.
    AddRelayedAddress {
        peer: PeerId,
        relay: PeerId,
        relay_addr: Multiaddr,
        reply: Reply<Result<(), NetworkError>>,
    },
}

impl fmt::Debug for Command {
    // By hand: payloads may be 64 MiB, so they are shown by length only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ListenAddrs { .. } => f.write_str("ListenAddrs"),
            Self::Connect { peer, .. } => f.debug_struct("Connect").field("peer", peer).finish(),
            Self::AddAddresses { peer, addrs, .. } => f
                .debug_struct("AddAddresses")
                .field("peer", peer)
                .field("addrs", addrs)
                .finish(),
            Self::Request { peer, payload, .. } => f
                .debug_struct("Request")
                .field("peer", peer)
                .field("payload_len", &payload.len())
                .finish(),
            Self::Peers { .. } => f.write_str("Peers"),
            Self::KadPut { key, value, .. } => f
                .debug_struct("KadPut")
                .field("key_len", &key.len())
                .field("value_len", &value.len())
                .finish(),
            Self::KadGet { key, .. } => f
                .debug_struct("KadGet")
                .field("key_len", &key.len())
                .finish(),
            Self::Disconnect { peer, .. } => {
                f.debug_struct("Disconnect").field("peer", peer).finish()
            }
            Self::KeepConnected { peers, .. } => f
                .debug_struct("KeepConnected")
                .field("peers", &peers.len())
                .finish(),
            Self::Publish { topic, data, .. } => f
                .debug_struct("Publish")
                .field("topic", topic)
                .field("data_len", &data.len())
                .finish(),
            Self::ReportGossip { reports, .. } => f
                .debug_struct("ReportGossip")
                .field("reports", reports)
                .finish(),
            Self::SetAllowed { peers, .. } => f
                .debug_struct("SetAllowed")
                .field("peers", &peers.as_ref().map(HashSet::len))
                .finish(),
            Self::Block { peer, duration, .. } => f
                .debug_struct("Block")
                .field("peer", peer)
                .field("duration", duration)
                .finish(),
            Self::Blocked { .. } => f.write_str("Blocked"),
            Self::ListenViaRelay { relay, addrs, .. } => f
                .debug_struct("ListenViaRelay")
                .field("relay", relay)
                .field("addrs", addrs)
                .finish(),
            Self::StopListeningViaRelay { relay, .. } => f
                .debug_struct("StopListeningViaRelay")
                .field("relay", relay)
                .finish(),
            Self::Reservations { .. } => f.write_str("Reservations"),
            Self::AddRoutes { routes, .. } => f
                .debug_struct("AddRoutes")
                .field("peers", &routes.len())
                .finish(),
            Self::AddRelayedAddress {
                peer,
                relay,
                relay_addr,
                ..
            } => f
                .debug_struct("AddRelayedAddress")
                .field("peer", peer)
                .field("relay", relay)
                .field("relay_addr", relay_addr)
                .finish(),
        }
    }
}

impl Command {
    /// Answers the command with "the loop is stopping", for commands still queued at shutdown.
    pub(crate) fn refuse(self) {
        // A caller that has gone away no longer needs the answer.
        match self {
            Self::Request { reply, .. } => {
                let _ = reply.send(Err(RequestError::ShuttingDown));
            }
            Self::KadPut { reply, .. } => {
                let _ = reply.send(Err(NetworkError::ShuttingDown));
            }
            Self::KadGet { reply, .. } => {
                let _ = reply.send(Err(NetworkError::ShuttingDown));
            }
            Self::Publish { reply, .. }
            | Self::ListenViaRelay { reply, .. }
            | Self::AddRelayedAddress { reply, .. } => {
                let _ = reply.send(Err(NetworkError::ShuttingDown));
            }
            // Their handles map a dropped reply to `ShuttingDown`.
            Self::ListenAddrs { .. }
            | Self::AddAddresses { .. }
            | Self::Peers { .. }
            | Self::Disconnect { .. }
            | Self::KeepConnected { .. }
            | Self::Connect { .. }
            | Self::ReportGossip { .. }
            | Self::SetAllowed { .. }
            | Self::Block { .. }
            | Self::Blocked { .. }
            | Self::StopListeningViaRelay { .. }
            | Self::AddRoutes { .. }
            | Self::Reservations { .. } => {}
        }
    }
}
