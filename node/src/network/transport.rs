//! The transport stack: TCP (or, for tests and simulations, memory, optionally through
//! simulated links) + Noise + Yamux.
//!
//! Both variants run the same upgrades, so in-memory tests exercise the real handshake and
//! multiplexer; only the socket layer differs.
//!
//! On TCP the whole upgrade (protocol negotiation, Noise, Yamux) is bounded in time: a
//! connection that opens and then says nothing, or stops halfway through the handshake,
//! holds a descriptor and a handshake slot (see `limits`) until the timeout drops it.
//! Memory connections hold no descriptor, and a simulation's links may delay them at will.
//!
//! When accepting fails (out of descriptors, say), libp2p-tcp reports it as a listener error,
//! pauses that listener 100 ms and goes on accepting: the listener neither ends nor spins.

use std::time::Duration;

use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::Boxed;
use libp2p::core::upgrade::Version;
use libp2p::identity::Keypair;
use libp2p::{PeerId, Transport as _, noise, tcp, yamux};

use super::{NetworkError, Transport};

/// An authenticated, multiplexed transport ready for the swarm.
pub(crate) type BoxedTransport = Boxed<(PeerId, StreamMuxerBox)>;

/// Builds the transport stack for `kind`, authenticated with `keypair`; on TCP a connection
/// not secured and multiplexed within `handshake_timeout` is dropped.
///
/// # Errors
///
/// [`NetworkError::Noise`] if the Noise configuration cannot be derived from the keypair.
pub(crate) fn build(
    keypair: &Keypair,
    kind: Transport,
    handshake_timeout: Duration,
) -> Result<BoxedTransport, NetworkError> {
    let noise = noise::Config::new(keypair).map_err(|source| NetworkError::Noise { source })?;
    let transport = match kind {
        Transport::Tcp => tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
            .upgrade(Version::V1Lazy)
            .authenticate(noise)
            .multiplex(yamux::Config::default())
            .timeout(handshake_timeout)
            .boxed(),
        #[cfg(feature = "testing")]
        Transport::Memory => libp2p::core::transport::MemoryTransport::new()
            .upgrade(Version::V1Lazy)
            .authenticate(noise)
            .multiplex(yamux::Config::default())
            .boxed(),
        Transport::Linked(links) => super::links::ReleasingMemory::default()
            .and_then(move |channel, endpoint| std::future::ready(links.attach(channel, &endpoint)))
            .upgrade(Version::V1Lazy)
            .authenticate(noise)
            .multiplex(yamux::Config::default())
            .boxed(),
    };
    Ok(transport)
}
