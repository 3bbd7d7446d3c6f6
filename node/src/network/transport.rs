//! The transport stack: TCP (or, for tests and simulations, memory, optionally through
//! simulated links) + Noise + Yamux.
//!
//! Both variants run the same upgrades, so in-memory tests exercise the real handshake and
//! multiplexer; only the socket layer differs.

use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::Boxed;
use libp2p::core::upgrade::Version;
use libp2p::identity::Keypair;
use libp2p::{PeerId, Transport as _, noise, tcp, yamux};

use super::{NetworkError, Transport};

/// An authenticated, multiplexed transport ready for the swarm.
pub(crate) type BoxedTransport = Boxed<(PeerId, StreamMuxerBox)>;

/// Builds the transport stack for `kind`, authenticated with `keypair`.
///
/// # Errors
///
/// [`NetworkError::Noise`] if the Noise configuration cannot be derived from the keypair.
pub(crate) fn build(keypair: &Keypair, kind: Transport) -> Result<BoxedTransport, NetworkError> {
    let noise = noise::Config::new(keypair).map_err(|source| NetworkError::Noise { source })?;
    let transport = match kind {
        Transport::Tcp => tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
            .upgrade(Version::V1Lazy)
            .authenticate(noise)
            .multiplex(yamux::Config::default())
            .boxed(),
        #[cfg(feature = "testing")]
        Transport::Memory => libp2p::core::transport::MemoryTransport::new()
            .upgrade(Version::V1Lazy)
            .authenticate(noise)
            .multiplex(yamux::Config::default())
            .boxed(),
        #[cfg(feature = "testing")]
        Transport::Linked(links) => super::links::ReleasingMemory::default()
            .and_then(move |channel, endpoint| std::future::ready(links.attach(channel, &endpoint)))
            .upgrade(Version::V1Lazy)
            .authenticate(noise)
            .multiplex(yamux::Config::default())
            .boxed(),
    };
    Ok(transport)
}
