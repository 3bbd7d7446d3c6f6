//! Runtime options of the network layer.
//!
//! `Options` is the runtime shape; the node's file `Config` converts into it, and that
//! conversion is where file values are validated. [`spawn`](super::spawn) re-checks only what
//! would otherwise panic (zero-capacity queues) or silently misbehave.

use std::time::Duration;

use bytes::Bytes;
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

use super::{ConnectionLimits, RelayServerOptions};

/// The largest package the node accepts (64 MiB) plus room for the signed envelope around it.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 64 * 1024 * 1024 + 64 * 1024;

/// How long a request may take, dial included. Large packages over slow links need time.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How long an idle connection stays open, so repeated deliveries to a peer reuse it.
pub const DEFAULT_IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// How long a TCP connection may take to become a Noise-secured, Yamux-multiplexed one. A
/// handshake is a few round trips, under a second even on a slow provincial line; one that
/// takes longer is stalled, and holds a descriptor and a handshake slot meanwhile.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many of a peer's addresses one dial tries at once (libp2p's default, set explicitly):
/// a dial in progress may hold this many sockets, which the descriptor budget counts.
pub const DIAL_CONCURRENCY: u8 = 8;

/// Default for [`Options::ping_interval`]: libp2p's own.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(15);

/// Default capacity of the inbound request queue, the gossip queue and the command queue.
pub const DEFAULT_QUEUE: usize = 256;

/// The largest gossip message accepted or published by default. gossipsub's own default
/// (64 KiB) is too small for a signed roster of a few thousand agencies.
pub const DEFAULT_GOSSIP_MAX_MESSAGE_SIZE: usize = 1024 * 1024;

/// The smallest `gossip_max_message_size` accepted: gossipsub's control messages need room.
pub(crate) const MIN_GOSSIP_MESSAGE_SIZE: usize = 1024;

/// What crossed the wire, for the simulations' per-document figures: request and response
/// frames this node wrote, and gossip messages it received (first copies); and the
/// connections the connection limits refused, for `/metrics`.
#[derive(Debug, Default)]
pub struct WireCounters {
    /// Request and response frames written.
    pub frames_sent: std::sync::atomic::AtomicU64,
    /// Gossip messages received, duplicates not counted.
    pub gossip_received: std::sync::atomic::AtomicU64,
    /// Inbound connections refused by the connection limits. Counted here, not announced
    /// as events: a flood would swamp the event subscribers.
    pub inbound_limited: std::sync::atomic::AtomicU64,
    /// Dials of this node's refused by the connection limits.
    pub outbound_limited: std::sync::atomic::AtomicU64,
}

/// Which transport the swarm runs on.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum Transport {
    /// TCP, secured with Noise and multiplexed with Yamux: what real nodes use.
    #[default]
    Tcp,
    /// libp2p's in-process memory transport (`/memory/N` addresses), with Noise and Yamux on
    /// top, so tests and simulations exercise the same upgrade stack without sockets.
    #[cfg(feature = "testing")]
    Memory,
    /// The memory transport through simulated links ([`Links`](super::Links)): partitions,
    /// drops, delays and byte counts decided by the embedding program. `lienthong demo` and
    /// the simulations run whole provinces in one process on it.
    Linked(super::Links),
}

/// Options of the network layer.
///
/// `Default` is a working local development node: TCP on an ephemeral loopback port, mDNS
/// and Kademlia on, not a relay.
#[derive(Debug, Clone)]
pub struct Options {
    /// Addresses to listen on. Port 0 is fine: [`spawn`](super::spawn) returns only once each
    /// listener has reported the address it actually bound.
    pub listen: Vec<Multiaddr>,
    /// Discover peers on the local network with mDNS.
    pub mdns: bool,
    /// Run the Kademlia DHT (records, routing). Without it `kad_put`/`kad_get` fail.
    pub kademlia: bool,
    /// The largest request or response frame accepted or sent, in bytes. A frame's length is a
    /// `u32`, so values above `u32::MAX` are refused.
    pub max_frame_size: usize,
    /// How long a request may take from the moment the event loop takes it, dial included.
    pub request_timeout: Duration,
    /// How long a connection without open streams is kept before it is closed.
    pub idle_connection_timeout: Duration,
    /// How long a TCP connection may take from accept (or connect) to secured and
    /// multiplexed; a connection still in its handshake then is dropped.
    pub handshake_timeout: Duration,
    /// How many connections are held at once (see `limits`). `Default` is generous; the
    /// node derives its own from its open-file limit.
    pub connection_limits: ConnectionLimits,
    /// How often each connection is pinged.
    pub ping_interval: Duration,
    /// Capacity of the queue of inbound requests to the router. When it is full, a new
    /// request is answered with `busy_response` at once.
    pub inbound_queue: usize,
    /// Capacity of the queue of commands from the handles to the event loop.
    pub command_queue: usize,
    /// The frame answered when the inbound queue is full. The network layer is byte-opaque,
    /// so the node supplies it (a signed or well-known "busy, retry later" message).
    pub busy_response: Bytes,
    /// The transport to run on.
    pub transport: Transport,
    /// Gossip topics subscribed to at start-up (the node passes `["lienthong/roster/1"]`).
    /// Empty: the node receives no gossip, though it may still publish.
    pub gossip_topics: Vec<String>,
    /// Capacity of the queue of received gossip messages to the node. When it is full, a new
    /// message is dropped and reported `Ignore`, so it is not forwarded from here; it comes
    /// again from another peer or is fetched.
    pub gossip_queue: usize,
    /// The largest gossip message published or accepted, in bytes (gossipsub's
    /// `max_transmit_size`, which bounds a whole gossip RPC). At least 1024.
    pub gossip_max_message_size: usize,
    /// Serve as a circuit relay for members (provincial relay nodes); `None`: not a relay.
    /// Every node can *use* relays either way (`NetworkHandle::listen_via_relay`).
    ///
    /// A relay hands out its listen addresses with each reservation, so it treats them as
    /// its external addresses: listen on addresses members can reach.
    pub relay_server: Option<RelayServerOptions>,
    /// Counts what this node puts on and takes off the wire.
    pub counters: std::sync::Arc<WireCounters>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: vec![
                Multiaddr::empty()
                    .with(Protocol::Ip4([127, 0, 0, 1].into()))
                    .with(Protocol::Tcp(0)),
            ],
            mdns: true,
            kademlia: true,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            idle_connection_timeout: DEFAULT_IDLE_CONNECTION_TIMEOUT,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            connection_limits: ConnectionLimits::default(),
            ping_interval: DEFAULT_PING_INTERVAL,
            inbound_queue: DEFAULT_QUEUE,
            command_queue: DEFAULT_QUEUE,
            busy_response: Bytes::new(),
            transport: Transport::Tcp,
            gossip_topics: Vec::new(),
            gossip_queue: DEFAULT_QUEUE,
            gossip_max_message_size: DEFAULT_GOSSIP_MAX_MESSAGE_SIZE,
            relay_server: None,
            counters: Default::default(),
        }
    }
}

#[cfg(feature = "testing")]
impl Options {
    /// Options for an in-memory node: listens on `/memory/0` (a fresh port), mDNS off.
    pub fn memory() -> Self {
        Self {
            listen: vec![Multiaddr::empty().with(Protocol::Memory(0))],
            mdns: false,
            transport: Transport::Memory,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_listens_on_an_ephemeral_loopback_port() {
        let options = Options::default();
        assert_eq!(
            options.listen,
            vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()]
        );
        assert_eq!(options.max_frame_size, 67_174_400);
        assert!(options.mdns && options.kademlia);
        assert!(options.gossip_topics.is_empty());
        assert!(options.relay_server.is_none());
    }
}
