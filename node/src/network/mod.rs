//! The node's network layer: a libp2p swarm that moves opaque request and response frames
//! between agencies, gossips signed messages (the roster), keeps out peers that are not
//! members or misbehave, discovers peers (roster hints, identify, Kademlia, mDNS), and
//! reaches units on other networks through relays (circuit relay v2, with DCUtR hole
//! punching where the networks allow it).
//!
//! The layer is byte-opaque. It carries a request frame (a signed package) to a peer and
//! brings its response frame (a signed receipt) back, and knows nothing of their content:
//! decoding and signature checks happen in the router, off the event loop. That keeps the
//! loop fast and lets this layer be tested on its own.
//!
//! # Shape
//!
//! One `EventLoop` task owns the `Swarm`. A cloneable
//! [`NetworkHandle`] sends it typed commands over a bounded queue, each with a oneshot
//! reply. Inbound requests go to the router as [`Inbound`]s over another bounded queue; when
//! it is full the peer is answered `Options::busy_response` at once instead of being
//! buffered. Every pending answer is keyed by its request or query id, and every one is
//! answered `ShuttingDown` when the loop stops.
//!
//! Gossip messages go to the node as [`GossipMessage`]s over a third bounded queue, and are
//! forwarded only once the node reports them valid ([`NetworkHandle::report_gossip`]). Who
//! may connect is the node's call too: [`NetworkHandle::set_allowed`] (the roster) and
//! [`NetworkHandle::block`] (peers caught misbehaving, e.g. on a
//! [`NetworkEvent::ProtocolViolation`]).
//!
//! A unit that cannot be dialed (a separate network, a NAT) keeps a reservation on a
//! provincial relay with [`NetworkHandle::listen_via_relay`]; senders learn its relayed
//! address ([`NetworkHandle::add_relayed_address`]) and reach it through the relay when no
//! direct address works. Relay nodes serve members only ([`RelayServerOptions::members`]).
//!
//! # Layout
//!
//! - `options`: [`Options`], [`Transport`] and defaults.
//! - `behaviour`: the derived `Behaviour` (allow and block lists, connection limits, relay
//!   server and client, DCUtR, identify, ping, Kademlia, mDNS, gossipsub, request-response).
//! - `limits`: [`ConnectionLimits`], and how they keep descriptors for the store and
//!   members' connections from being crowded out; `per_address`: handshakes per source IP.
//! - `codec`: length-prefixed frames, size-capped before allocation; [`PROTOCOL`].
//! - `transport`: TCP (or memory, through simulated links) + Noise + Yamux, the TCP handshake
//!   bounded in time; `spawn` adds the relay client transport on top of either.
//! - `relay`: [`RelayServerOptions`], [`RelayMembers`] and the member filter; the loop's
//!   relay and DCUtR handlers. `reservations`: keeping reservations on relays.
//! - `command`: the handle-to-loop commands.
//! - `handle`: [`NetworkHandle`], [`Inbound`], [`NetworkEvent`].
//! - `event_loop`: the loop, commands and inbound requests; `swarm_event`: swarm events.
//! - `gossip`: [`GossipMessage`], [`GossipAcceptance`] and the loop's gossip handlers.
//! - `access`: the allow and block lists, block expiry, [`RefusedReason`].
//! - `routes`: [`Routes`], every way to a peer, added in one command.
//! - `peers`: the book of known peers ([`PeerInfo`]); `pending`: outbound requests and
//!   their deadlines.
//! - `error`: [`NetworkError`], [`RequestError`].
//!
//! # Example
//!
//! ```no_run
//! use bytes::Bytes;
//! use lienthong_node::network::{self, Options};
//! use libp2p::identity::Keypair;
//! use tokio_util::sync::CancellationToken;
//!
//! # async fn example(peer: libp2p::PeerId, addr: libp2p::Multiaddr) -> anyhow::Result<()> {
//! let shutdown = CancellationToken::new();
//! let options = Options {
//!     busy_response: Bytes::from_static(b"busy"),
//!     ..Options::default()
//! };
//! let network::Spawned { handle, mut inbound, mut gossip, task } =
//!     network::spawn(Keypair::generate_ed25519(), options, shutdown.clone()).await?;
//! println!("listening on {:?}", handle.listen_addrs().await?);
//!
//! // The router: answer each request (here with an echo).
//! tokio::spawn(async move {
//!     while let Some(request) = inbound.recv().await {
//!         let _ = request.reply.send(request.request);
//!     }
//! });
//!
//! // Gossip validation: here everything is accepted, and so forwarded.
//! let reporter = handle.clone();
//! tokio::spawn(async move {
//!     while let Some(message) = gossip.recv().await {
//!         let verdict = network::GossipAcceptance::Accept;
//!         let _ = reporter.report_gossip(message.id, message.source, verdict).await;
//!     }
//! });
//!
//! handle.add_addresses(peer, vec![addr]).await?;
//! let receipt = handle.request(peer, Bytes::from_static(b"package")).await?;
//! # let _ = receipt;
//! shutdown.cancel();
//! task.await?;
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;

use libp2p::identity::Keypair;
use libp2p::{SwarmBuilder, noise, yamux};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::tasks::{Stage, Tasks};

mod access;
mod behaviour;
mod codec;
mod command;
mod error;
mod event_loop;
mod gossip;
mod handle;
mod limits;
mod links;
mod options;
mod peers;
mod pending;
mod per_address;
mod relay;
mod reservations;
mod routes;
mod swarm_event;
mod transport;
pub use links::{LinkControl, LinkFate, Links};

#[cfg(all(test, feature = "testing"))]
mod tests;

pub use access::RefusedReason;
pub use codec::PROTOCOL;
pub use error::{NetworkError, RequestError};
pub use gossip::{GossipAcceptance, GossipMessage, GossipMessageId};
pub use handle::{Inbound, NetworkEvent, NetworkHandle};
pub use limits::{
    ConnectionLimits, DEFAULT_MAX_ESTABLISHED, DEFAULT_MAX_PENDING_INBOUND, DEFAULT_MAX_PER_PEER,
};
pub use options::{
    DEFAULT_GOSSIP_MAX_MESSAGE_SIZE, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_IDLE_CONNECTION_TIMEOUT,
    DEFAULT_MAX_FRAME_SIZE, DEFAULT_PING_INTERVAL, DEFAULT_QUEUE, DEFAULT_REQUEST_TIMEOUT,
    DIAL_CONCURRENCY, Options, Transport, WireCounters,
};
pub use peers::PeerInfo;
pub use relay::{
    DEFAULT_RELAY_MAX_CIRCUIT_BYTES, DEFAULT_RELAY_MAX_CIRCUIT_DURATION,
    DEFAULT_RELAY_MAX_CIRCUITS, DEFAULT_RELAY_MAX_CIRCUITS_PER_PEER,
    DEFAULT_RELAY_MAX_RESERVATIONS, DEFAULT_RELAY_RESERVATION_DURATION, RELAY_EVENTS_TARGET,
    RelayMembers, RelayServerOptions,
};
pub use routes::Routes;
pub use swarm_event::EVENTS_TARGET;

use behaviour::Behaviour;
use event_loop::EventLoop;
use options::MIN_GOSSIP_MESSAGE_SIZE;

/// How many [`NetworkEvent`]s a subscriber may fall behind before it starts missing some.
const EVENT_CAPACITY: usize = 256;

/// What [`spawn`] hands back: the handle and the queues the node drains.
#[derive(Debug)]
pub struct Spawned {
    /// The handle to the event loop; clone it freely.
    pub handle: NetworkHandle,
    /// Inbound requests, for the router (capacity `Options::inbound_queue`).
    pub inbound: mpsc::Receiver<Inbound>,
    /// Received gossip, for the node to validate and report on (capacity
    /// `Options::gossip_queue`). Dropping it makes every received message `Ignore`d.
    pub gossip: mpsc::Receiver<GossipMessage>,
    /// The event loop's task; it ends after shutdown.
    pub task: JoinHandle<()>,
}

/// Builds the swarm, starts listening and spawns the event loop.
///
/// Returns once every listener has reported the address it bound (so port 0 works and the
/// caller can publish real addresses) and the node is subscribed to `Options::gossip_topics`,
/// with: the handle, the queues of inbound requests and of gossip, and the loop's task.
/// Everyone is allowed and no one blocked until the node says otherwise. The loop runs until
/// `shutdown` is cancelled or every handle is dropped; it then answers everything pending
/// with `ShuttingDown`, closes every connection and ends. The task runs in the caller's
/// current span.
///
/// # Errors
///
/// [`NetworkError::InvalidOption`] for a zero-capacity queue, a zero connection limit or
/// handshake timeout, a frame limit above
/// `u32::MAX`, a gossip message limit below 1024 or relay server durations out of range;
/// [`NetworkError::GossipSetup`], [`NetworkError::Subscribe`]; [`NetworkError::Noise`]; [`NetworkError::Listen`] when an
/// address is refused,
/// [`NetworkError::ListenerClosed`] or [`NetworkError::ListenTimeout`] when a listener fails
/// to bind; [`NetworkError::ShuttingDown`] when `shutdown` is cancelled meanwhile.
///
/// # Cancel safety
///
/// Cancel-safe: dropping the future before it returns drops the swarm and closes its
/// listeners; nothing keeps running.
pub async fn spawn(
    keypair: Keypair,
    options: Options,
    shutdown: CancellationToken,
) -> Result<Spawned, NetworkError> {
    // libp2p runs each connection in its own task; give those tasks the caller's span too, so
    // what the codec logs on a connection is attributed to the right node.
    let span = tracing::Span::current();
    let executor = move |task| drop(tokio::spawn(Instrument::instrument(task, span.clone())));
    let Started {
        handle,
        inbound,
        gossip,
        event_loop,
    } = build(keypair, options, shutdown, executor).await?;
    let task = tokio::spawn(event_loop.instrument(tracing::Span::current()));
    Ok(Spawned {
        handle,
        inbound,
        gossip,
        task,
    })
}

/// [`spawn`] for a node: the event loop and every connection's task run in the node's
/// [`Tasks`] (stage [`Stage::Network`]), and stop when that stage does.
///
/// # Errors
/// As [`spawn`].
pub(crate) async fn start(
    keypair: Keypair,
    options: Options,
    tasks: &Tasks,
) -> Result<
    (
        NetworkHandle,
        mpsc::Receiver<Inbound>,
        mpsc::Receiver<GossipMessage>,
    ),
    NetworkError,
> {
    let connections = tasks.clone();
    let executor = move |task| connections.spawn(Stage::Network, "connection", task);
    let Started {
        handle,
        inbound,
        gossip,
        event_loop,
    } = build(keypair, options, tasks.token(Stage::Network), executor).await?;
    tasks.spawn(Stage::Network, "network event loop", event_loop);
    Ok((handle, inbound, gossip))
}

/// What [`build`] hands back: the event loop not yet running.
struct Started<L> {
    handle: NetworkHandle,
    inbound: mpsc::Receiver<Inbound>,
    gossip: mpsc::Receiver<GossipMessage>,
    event_loop: L,
}

/// Builds the swarm, starts listening and waits for the listeners; the event loop is the
/// caller's to run. `executor` runs each connection's task.
async fn build(
    keypair: Keypair,
    options: Options,
    shutdown: CancellationToken,
    executor: impl Fn(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>) + Send + 'static,
) -> Result<Started<impl std::future::Future<Output = ()> + Send + 'static>, NetworkError> {
    check(&options)?;
    let local_peer_id = keypair.public().to_peer_id();
    let transport = transport::build(
        &keypair,
        options.transport.clone(),
        options.handshake_timeout,
    )?;
    let gossipsub = behaviour::gossipsub(&keypair, &options)?;
    let idle = options.idle_connection_timeout;
    let dial_concurrency =
        std::num::NonZeroU8::new(DIAL_CONCURRENCY).unwrap_or(std::num::NonZeroU8::MIN);
    // The constructor hands over a ready transport, so this step cannot fail (`Infallible`).
    let Ok(builder) = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_other_transport(|_| transport);
    // The relay client transport goes in front of TCP (or memory): it takes the addresses
    // with `/p2p-circuit` and leaves the rest to the other. Circuits get their own Noise and
    // Yamux, end to end between the two units, so the relay sees only ciphertext.
    let builder = builder
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|source| NetworkError::Noise { source })?;
    let Ok(builder) = builder.with_behaviour(|keypair, relay_client| {
        Behaviour::new(keypair, &options, gossipsub, relay_client)
    });
    let swarm = builder
        .with_swarm_config(|_| {
            libp2p::swarm::Config::with_executor(executor)
                .with_idle_connection_timeout(idle)
                .with_dial_concurrency_factor(dial_concurrency)
        })
        .build();

    let (command_tx, command_rx) = mpsc::channel(options.command_queue);
    let (inbound_tx, inbound_rx) = mpsc::channel(options.inbound_queue);
    let (gossip_tx, gossip_rx) = mpsc::channel(options.gossip_queue);
    let (events_tx, _) = broadcast::channel(EVENT_CAPACITY);
    let handle = NetworkHandle::new(
        command_tx,
        events_tx.downgrade(),
        local_peer_id,
        options.request_timeout,
        options.max_frame_size,
        options.counters.clone(),
    );

    let mut event_loop = EventLoop::new(
        swarm, command_rx, inbound_tx, gossip_tx, events_tx, &options, shutdown,
    );
    let listeners: HashMap<_, _> = event_loop.listen(&options.listen)?;
    event_loop.wait_for_listeners(listeners).await?;
    tracing::info!(peer = %local_peer_id, "network started");

    Ok(Started {
        handle,
        inbound: inbound_rx,
        gossip: gossip_rx,
        event_loop: event_loop.run(),
    })
}

/// Refuses options that would panic (zero-capacity channels) or silently misbehave.
fn check(options: &Options) -> Result<(), NetworkError> {
    let problem = if options.inbound_queue == 0 {
        Some(("inbound_queue", "must be at least 1"))
    } else if options.command_queue == 0 {
        Some(("command_queue", "must be at least 1"))
    } else if options.gossip_queue == 0 {
        Some(("gossip_queue", "must be at least 1"))
    } else if options.gossip_max_message_size < MIN_GOSSIP_MESSAGE_SIZE {
        Some(("gossip_max_message_size", "must be at least 1024"))
    } else if u32::try_from(options.max_frame_size).is_err() {
        Some(("max_frame_size", "must fit the 32-bit frame length"))
    } else if options.request_timeout.is_zero() {
        Some(("request_timeout", "must be above zero"))
    } else if options.handshake_timeout.is_zero() {
        Some(("handshake_timeout", "must be above zero"))
    } else if let Some(limit) = options.connection_limits.zero() {
        Some((limit, "must be at least 1"))
    } else {
        options
            .relay_server
            .as_ref()
            .and_then(RelayServerOptions::problem)
    };
    match problem {
        Some((option, problem)) => Err(NetworkError::InvalidOption { option, problem }),
        None => Ok(()),
    }
}
