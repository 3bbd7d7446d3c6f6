//! A libp2p node in the test process that speaks the federation's wire protocol with any
//! key: a member gone bad (it holds a member's key) or a stranger. The attack tests use it
//! to send what no honest node would.

use std::path::Path;

use bytes::Bytes;
use lienthong_node::identity::Identity;
use lienthong_node::network::{self, NetworkHandle, Options, Spawned};
use lienthong_protocol::envelope::EnvelopeLimits;
use lienthong_protocol::keys::AgencyKey;
use lienthong_protocol::wire::Response;
use lienthong_simulations::process::ProcessNode;
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

/// A libp2p node in the test process, with some identity.
#[allow(missing_debug_implementations)]
pub struct Attacker {
    /// The runtime its network runs on, for tests that drive it directly.
    pub runtime: Runtime,
    /// Its network.
    pub handle: NetworkHandle,
    identity: Identity,
    shutdown: CancellationToken,
}

impl Attacker {
    /// An attacker with this identity.
    ///
    /// # Errors
    /// When its network cannot start.
    pub fn with_identity(identity: Identity) -> anyhow::Result<Attacker> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let shutdown = CancellationToken::new();
        let Spawned { handle, .. } = runtime.block_on(network::spawn(
            identity.keypair(),
            Options {
                mdns: false,
                gossip_topics: vec!["lienthong/roster/1".to_owned()],
                ..Options::default()
            },
            shutdown.clone(),
        ))?;
        Ok(Attacker {
            runtime,
            handle,
            identity,
            shutdown,
        })
    }

    /// The rogue member: it holds a member's key.
    ///
    /// # Errors
    /// When the key cannot be read or the network cannot start.
    pub fn member(dir: &Path) -> anyhow::Result<Attacker> {
        Attacker::with_identity(Identity::load(&dir.join("agency.key"))?)
    }

    /// A stranger with a fresh key.
    ///
    /// # Errors
    /// When the network cannot start.
    pub fn stranger() -> anyhow::Result<Attacker> {
        Attacker::with_identity(Identity::generate()?)
    }

    /// The key it signs with.
    pub fn key(&self) -> &AgencyKey {
        self.identity.agency_key()
    }

    /// Sends a frame to a node and decodes its answer.
    ///
    /// # Errors
    /// When the node cannot be reached or answers with a frame that does not decode.
    pub fn send(&self, target: &ProcessNode, frame: Bytes) -> anyhow::Result<Response> {
        let peer: libp2p::PeerId = target.info().peer_id.parse()?;
        let addr: libp2p::Multiaddr = target.info().listen_addrs[0].parse()?;
        self.runtime.block_on(async {
            self.handle.add_addresses(peer, vec![addr]).await?;
            let answer = self.handle.request(peer, frame).await?;
            Ok(Response::decode(answer, &EnvelopeLimits::default())?)
        })
    }

    /// Publishes on the roster topic.
    ///
    /// # Errors
    /// When the network refuses.
    pub fn publish(&self, data: Bytes) -> anyhow::Result<()> {
        self.publish_on("lienthong/roster/1", data)
    }

    /// Publishes on any gossip topic (e.g. a province's receipt topic).
    ///
    /// # Errors
    /// When the network refuses.
    pub fn publish_on(&self, topic: &str, data: Bytes) -> anyhow::Result<()> {
        self.runtime.block_on(self.handle.publish(topic, data))?;
        Ok(())
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
