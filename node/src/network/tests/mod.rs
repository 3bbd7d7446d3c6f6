//! Swarm-level tests: whole nodes over libp2p's memory transport (and some over loopback
//! TCP, relays among them), with Noise and Yamux as in production.
//!
//! No sleeps: every wait is on an event or a reply, under [`within`]'s deadline.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use libp2p::identity::Keypair;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{GossipMessage, Inbound, NetworkEvent, NetworkHandle, Options, Spawned, spawn};

mod access;
mod events;
mod gossip;
mod kad;
mod limits;
mod relay;
mod request;
mod tcp;

/// The deadline of every wait. Generous: CI machines have two cores and debug builds.
const DEADLINE: Duration = Duration::from_secs(20);

/// What the tests' nodes answer when their inbound queue is full.
const BUSY: Bytes = Bytes::from_static(b"busy");

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
}

/// Awaits `future`, failing the test with `what` if it takes longer than [`DEADLINE`].
async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(DEADLINE, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// A running network layer and what `spawn` handed back.
struct TestNode {
    handle: NetworkHandle,
    /// Taken by the test's router, if it has one.
    inbound: Option<mpsc::Receiver<Inbound>>,
    /// Received gossip, unread unless a test reads it.
    gossip: mpsc::Receiver<GossipMessage>,
    task: JoinHandle<()>,
    shutdown: CancellationToken,
    addrs: Vec<Multiaddr>,
}

impl TestNode {
    /// Starts an in-memory node named `name` (the span's field).
    async fn memory(name: &str) -> Self {
        Self::start(name, Options::memory()).await
    }

    async fn start(name: &str, options: Options) -> Self {
        Self::start_with(name, Keypair::generate_ed25519(), options).await
    }

    /// Starts a node with a given identity (e.g. to restart one).
    async fn start_with(name: &str, keypair: Keypair, options: Options) -> Self {
        init_tracing();
        let options = Options {
            busy_response: BUSY,
            ..options
        };
        let shutdown = CancellationToken::new();
        let span = tracing::info_span!("node", name);
        let Spawned {
            handle,
            inbound,
            gossip,
            task,
        } = within(
            "spawn",
            spawn(keypair, options, shutdown.clone()).instrument(span),
        )
        .await
        .expect("spawn");
        let addrs = handle.listen_addrs().await.expect("listen addrs");
        Self {
            handle,
            inbound: Some(inbound),
            gossip,
            task,
            shutdown,
            addrs,
        }
    }

    fn peer_id(&self) -> PeerId {
        self.handle.local_peer_id()
    }

    /// Tells this node where `other` listens.
    async fn knows(&self, other: &TestNode) {
        self.handle
            .add_addresses(other.peer_id(), other.addrs.clone())
            .await
            .expect("add addresses");
    }

    /// Runs a router that answers every request with `answer(request)`.
    fn serve(&mut self, answer: impl Fn(Bytes) -> Bytes + Send + 'static) -> JoinHandle<()> {
        let mut inbound = self.inbound.take().expect("router already running");
        tokio::spawn(async move {
            while let Some(request) = inbound.recv().await {
                let _ = request.reply.send(answer(request.request));
            }
        })
    }

    /// Cancels the node and waits for its event loop to end.
    async fn stop(self) {
        self.shutdown.cancel();
        within("event loop to stop", self.task)
            .await
            .expect("event loop panicked");
    }
}

/// Waits for the first event matching `wanted`, skipping others.
async fn next_matching(
    events: &mut broadcast::Receiver<NetworkEvent>,
    wanted: impl Fn(&NetworkEvent) -> bool,
) -> NetworkEvent {
    within("network event", async {
        loop {
            match events.recv().await {
                Ok(event) if wanted(&event) => return event,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("event channel closed"),
            }
        }
    })
    .await
}
