//! The composed behaviour: what the swarm speaks on every connection.

use libp2p::allow_block_list::{self, AllowedPeers, BlockedPeers};
use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{
    StreamProtocol, connection_limits, dcutr, gossipsub, identify, kad, mdns, ping, relay,
    request_response,
};

use super::codec::{Codec, PROTOCOL};
use super::per_address;
use super::{NetworkError, Options};

/// Identify's protocol version: peers announcing another one are not fed to Kademlia.
pub(crate) const IDENTIFY_PROTOCOL_VERSION: &str = "/lienthong/1";

/// Our own DHT, separate from the public IPFS one (`/ipfs/kad/1.0.0`).
pub(crate) const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/lienthong/kad/1");

/// Our own gossip mesh, separate from public ones (`/meshsub/1.1.0`).
pub(crate) const GOSSIP_PROTOCOL_PREFIX: &str = "/lienthong/meshsub";

/// Every protocol a lienthong node runs, in the order the swarm polls them.
///
/// The two lists come first: the swarm asks each behaviour in field order whether to accept
/// a connection, so a refused peer is turned away before any other behaviour sets up state
/// for it, and before the connection limits count it: a stranger never holds an established
/// slot (see `limits`). The limits come next, before anything that sets up state for a
/// connection.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// Federation membership. Off (`None`) while the node has no roster: everyone may connect.
    /// Replaced whole when it is switched on or off (see `access`); the lists keep no
    /// per-connection state and their handler is a no-op, so that is safe with connections open.
    pub(crate) allow_list: Toggle<allow_block_list::Behaviour<AllowedPeers>>,
    /// Misbehaving peers, refused until their block expires (the event loop lifts it).
    pub(crate) block_list: allow_block_list::Behaviour<BlockedPeers>,
    /// Handshakes in progress per source address (`Options::connection_limits`).
    pub(crate) pending_per_address: per_address::Behaviour,
    /// Handshakes in progress in total, established connections in and out and per peer,
    /// dials in progress (`Options::connection_limits`).
    pub(crate) connection_limits: connection_limits::Behaviour,
    /// Relays circuits between members; on relay nodes only (`Options::relay_server`).
    pub(crate) relay_server: Toggle<relay::Behaviour>,
    /// Reservations on relays and circuits through them; paired with the relay transport
    /// the swarm is built with, so every node has it.
    pub(crate) relay_client: relay::client::Behaviour,
    /// Hole punching: turns a relayed connection into a direct one where the networks
    /// allow it.
    pub(crate) dcutr: dcutr::Behaviour,
    /// Learns peers' listen addresses (fed to Kademlia) and agent versions.
    pub(crate) identify: identify::Behaviour,
    /// Liveness and round-trip time.
    pub(crate) ping: ping::Behaviour,
    /// Records (`OrganId -> peer id + addresses`) and routing; off with `Options::kademlia`.
    pub(crate) kademlia: Toggle<kad::Behaviour<kad::store::MemoryStore>>,
    /// Local-network discovery; off with `Options::mdns`, or when it cannot start.
    pub(crate) mdns: Toggle<mdns::tokio::Behaviour>,
    /// Signed gossip (the roster); nothing is forwarded before the node accepts it.
    pub(crate) gossipsub: gossipsub::Behaviour,
    /// The delivery protocol: opaque request and response frames.
    pub(crate) request_response: request_response::Behaviour<Codec>,
}

impl Behaviour {
    /// Builds the behaviour for `keypair` as `options` ask, with `gossipsub` from
    /// [`gossipsub()`] and the `relay_client` paired with the swarm's relay transport, with
    /// everyone allowed and no one blocked.
    ///
    /// Infallible, so that it fits the swarm builder's closure: what can fail
    /// ([`gossipsub()`]) is built beforehand.
    ///
    /// mDNS is best-effort: if it cannot start (no usable interface, no multicast) the node
    /// runs without it and says so at `warn`, since peers can still come from the roster and
    /// Kademlia.
    pub(crate) fn new(
        keypair: &Keypair,
        options: &Options,
        gossipsub: gossipsub::Behaviour,
        relay_client: relay::client::Behaviour,
    ) -> Self {
        let peer_id = keypair.public().to_peer_id();

        let identify = identify::Behaviour::new(
            identify::Config::new(IDENTIFY_PROTOCOL_VERSION.to_owned(), keypair.public())
                .with_agent_version(format!("lienthong/{}", env!("CARGO_PKG_VERSION"))),
        );

        let kademlia = options.kademlia.then(|| {
            let store = kad::store::MemoryStore::new(peer_id);
            let mut kademlia =
                kad::Behaviour::with_config(peer_id, store, kad::Config::new(KAD_PROTOCOL));
            // Every node is a reachable agency server; don't wait for a confirmed external
            // address before answering DHT queries.
            kademlia.set_mode(Some(kad::Mode::Server));
            kademlia
        });

        let mdns = if options.mdns {
            match mdns::tokio::Behaviour::new(mdns::Config::default(), peer_id) {
                Ok(mdns) => Some(mdns),
                Err(error) => {
                    tracing::warn!(%error, "mdns cannot start; continuing without it");
                    None
                }
            }
        } else {
            None
        };

        let request_response = request_response::Behaviour::with_codec(
            Codec::counted(options.max_frame_size, options.counters.clone()),
            [(PROTOCOL, request_response::ProtocolSupport::Full)],
            request_response::Config::default().with_request_timeout(options.request_timeout),
        );

        let relay_server = options
            .relay_server
            .as_ref()
            .map(|server| super::relay::server(peer_id, server));

        Self {
            allow_list: None.into(),
            block_list: allow_block_list::Behaviour::default(),
            pending_per_address: per_address::Behaviour::new(
                options.connection_limits.pending_inbound_per_address,
            ),
            connection_limits: options.connection_limits.behaviour(),
            relay_server: relay_server.into(),
            relay_client,
            dcutr: dcutr::Behaviour::new(peer_id),
            identify,
            ping: ping::Behaviour::new(ping::Config::new().with_interval(options.ping_interval)),
            kademlia: kademlia.into(),
            mdns: mdns.into(),
            gossipsub,
            request_response,
        }
    }
}

/// Heartbeats a received message stays cached, awaiting the node's verdict.
const GOSSIP_HISTORY_HEARTBEATS: usize = 10;
/// How long a message to forward may wait for its connection.
const GOSSIP_FORWARD_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// gossipsub with signed messages, strict validation and validation by the node.
///
/// - `Signed`: every message carries its author and a signature by the author's key, so no
///   member can put words in another's mouth, and `Strict` refuses unsigned ones.
/// - `validate_messages`: a received message is held (not forwarded) until the node reports
///   on it with `report_gossip`; a forged or stale roster stops at the first honest node.
/// - Peer scoring stays off: a rejected message only stops there; the node blocks repeat
///   offenders itself.
/// - A received message waits in the cache for the node's verdict ten heartbeats (about
///   10 s, not gossipsub's 5): a node checking a province's burst on a busy machine must
///   not lose what it has not yet judged. What is forwarded may wait 5 s (not 1 s) for a
///   slow connection before it is dropped: a receipt is still news after a second.
///
/// # Errors
///
/// [`NetworkError::GossipSetup`] if gossipsub refuses its configuration,
/// [`NetworkError::Subscribe`] if a topic cannot be subscribed to.
pub(crate) fn gossipsub(
    keypair: &Keypair,
    options: &Options,
) -> Result<gossipsub::Behaviour, NetworkError> {
    let config = gossipsub::ConfigBuilder::default()
        .protocol_id_prefix(GOSSIP_PROTOCOL_PREFIX)
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        .max_transmit_size(options.gossip_max_message_size)
        .history_length(GOSSIP_HISTORY_HEARTBEATS)
        .forward_queue_duration(GOSSIP_FORWARD_WAIT)
        .build()
        .map_err(|error| NetworkError::GossipSetup {
            reason: error.to_string(),
        })?;
    let mut gossipsub = gossipsub::Behaviour::new(
        gossipsub::MessageAuthenticity::Signed(keypair.clone()),
        config,
    )
    .map_err(|reason| NetworkError::GossipSetup {
        reason: reason.to_owned(),
    })?;
    for topic in &options.gossip_topics {
        gossipsub
            .subscribe(&gossipsub::IdentTopic::new(topic))
            .map_err(|source| NetworkError::Subscribe {
                topic: topic.clone(),
                source,
            })?;
    }
    Ok(gossipsub)
}
