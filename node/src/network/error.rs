//! Errors of the network layer: one enum for starting and managing the swarm, one for a request.

use std::io;

use libp2p::{Multiaddr, PeerId, TransportError};
use thiserror::Error;

/// Why starting the network or one of its management operations failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// An [`Options`](super::Options) value cannot work, e.g. a queue of capacity zero.
    #[error("option `{option}` {problem}")]
    InvalidOption {
        /// The name of the field in `Options`.
        option: &'static str,
        /// What is wrong with its value.
        problem: &'static str,
    },
    /// The Noise configuration could not be derived from the node's keypair.
    #[error("cannot set up the noise handshake")]
    Noise {
        /// What libp2p's noise crate reported.
        #[source]
        source: libp2p::noise::Error,
    },
    /// The transport refused to listen on an address from `Options::listen`.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The refused address.
        addr: Multiaddr,
        /// Why the transport refused it.
        #[source]
        source: TransportError<io::Error>,
    },
    /// A listener closed during start-up before it reported a bound address.
    #[error("listener for {addr} closed before it was bound")]
    ListenerClosed {
        /// The address the listener was started for.
        addr: Multiaddr,
        /// The error that closed it, if the transport gave one.
        #[source]
        source: Option<io::Error>,
    },
    /// Some listeners did not report a bound address within the start-up deadline.
    #[error("listeners did not report a bound address in time: {addrs:?}")]
    ListenTimeout {
        /// The addresses still waiting for a bound address.
        addrs: Vec<Multiaddr>,
    },
    /// The event loop has stopped: shutdown was requested, or every handle was dropped.
    #[error("network event loop stopped")]
    ShuttingDown,
    /// A Kademlia operation was asked of a node started with `Options::kademlia = false`.
    #[error("kademlia is disabled on this node")]
    KademliaDisabled,
    /// The local record store refused the record (too large, or the store is full).
    #[error("local record store refused the record")]
    KadStore {
        /// What the store reported.
        #[source]
        source: libp2p::kad::store::Error,
    },
    /// A put stored the record locally but no peer accepted a copy (e.g. no known peers).
    ///
    /// The record is still served to peers that ask this node for it.
    #[error("record stored locally but no peer accepted a copy")]
    KadQuorumFailed,
    /// A Kademlia query ran out of time before it finished.
    #[error("kademlia query timed out")]
    KadTimeout,
    /// gossipsub refused the configuration built from `Options` (at start-up only).
    #[error("cannot set up gossip: {reason}")]
    GossipSetup {
        /// What gossipsub reported.
        reason: String,
    },
    /// Subscribing to a topic from `Options::gossip_topics` failed at start-up.
    #[error("cannot subscribe to gossip topic `{topic}`")]
    Subscribe {
        /// The topic.
        topic: String,
        /// What gossipsub reported.
        #[source]
        source: libp2p::gossipsub::SubscriptionError,
    },
    /// `listen_via_relay` or `add_relayed_address` was given a relay it cannot use: this
    /// node or the destination itself, or no plain address of the relay.
    #[error("cannot use relay {relay}: {problem}")]
    InvalidRelay {
        /// The relay.
        relay: PeerId,
        /// What is wrong.
        problem: &'static str,
    },
    /// A message could not be published: too large, failed to sign, every peer's queue full.
    ///
    /// Having no peer subscribed to the topic is not this error: `publish` returns `Ok`.
    #[error("cannot publish on gossip topic `{topic}`")]
    Publish {
        /// The topic.
        topic: String,
        /// What gossipsub reported.
        #[source]
        source: libp2p::gossipsub::PublishError,
    },
}

/// Why [`NetworkHandle::request`](super::NetworkHandle::request) got no response frame.
///
/// For every variant but [`DialFailure`](Self::DialFailure), [`NotAllowed`](Self::NotAllowed),
/// [`Blocked`](Self::Blocked) and [`ShuttingDown`](Self::ShuttingDown) the peer may or may not
/// have received and processed the request: the caller has to make resending harmless
/// (packages carry content-derived ids).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RequestError {
    /// No connection to the peer could be established (no known address, all dials failed).
    #[error("cannot reach peer: {reason}")]
    DialFailure {
        /// The dial error as the swarm reported it.
        reason: String,
    },
    /// No response arrived within `Options::request_timeout`.
    #[error("no response within the request timeout")]
    Timeout,
    /// The connection closed before the response arrived.
    #[error("connection closed before the response arrived")]
    ConnectionClosed,
    /// The peer does not speak the delivery protocol.
    #[error("peer does not support the delivery protocol")]
    UnsupportedProtocols,
    /// The stream failed: a frame over the size limit, the peer reset the stream, and the like.
    #[error("stream failed: {reason}")]
    Io {
        /// The I/O error's message, e.g. which limit a frame exceeded.
        reason: String,
    },
    /// The peer is not in the allow list set by `set_allowed`; nothing was sent.
    #[error("peer is not in the allow list")]
    NotAllowed,
    /// The peer is blocked (`block`) for a while yet; nothing was sent.
    #[error("peer is blocked")]
    Blocked,
    /// The event loop has stopped before the request completed.
    #[error("network event loop stopped")]
    ShuttingDown,
}
