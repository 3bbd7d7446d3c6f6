//! The composed behaviour: what the swarm speaks on every connection.

use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{StreamProtocol, identify, kad, mdns, ping, request_response};

use super::Options;
use super::codec::{Codec, PROTOCOL};

/// Identify's protocol version: peers announcing another one are not fed to Kademlia.
pub(crate) const IDENTIFY_PROTOCOL_VERSION: &str = "/lienthong/1";

/// Our own DHT, separate from the public IPFS one (`/ipfs/kad/1.0.0`).
pub(crate) const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/lienthong/kad/1");

/// Every protocol a lienthong node runs, in the order the swarm polls them.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// Learns peers' listen addresses (fed to Kademlia) and agent versions.
    pub(crate) identify: identify::Behaviour,
    /// Liveness and round-trip time.
    pub(crate) ping: ping::Behaviour,
    /// Records (`OrganId -> peer id + addresses`) and routing; off with `Options::kademlia`.
    pub(crate) kademlia: Toggle<kad::Behaviour<kad::store::MemoryStore>>,
    /// Local-network discovery; off with `Options::mdns`, or when it cannot start.
    pub(crate) mdns: Toggle<mdns::tokio::Behaviour>,
    /// The delivery protocol: opaque request and response frames.
    pub(crate) request_response: request_response::Behaviour<Codec>,
}

impl Behaviour {
    /// Builds the behaviour for `keypair` as `options` ask.
    ///
    /// mDNS is best-effort: if it cannot start (no usable interface, no multicast) the node
    /// runs without it and says so at `warn`, since peers can still come from the roster and
    /// Kademlia.
    pub(crate) fn new(keypair: &Keypair, options: &Options) -> Self {
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
            Codec::new(options.max_frame_size),
            [(PROTOCOL, request_response::ProtocolSupport::Full)],
            request_response::Config::default().with_request_timeout(options.request_timeout),
        );

        Self {
            identify,
            ping: ping::Behaviour::new(ping::Config::new()),
            kademlia: kademlia.into(),
            mdns: mdns.into(),
            request_response,
        }
    }
}
