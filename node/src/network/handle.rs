//! [`NetworkHandle`], the cheap `Clone` every other component talks to the network through,
//! and what the network hands out: [`Inbound`] requests and [`NetworkEvent`]s (gossip
//! messages are in `gossip`).

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::command::Command;
use super::{
    GossipAcceptance, GossipMessageId, NetworkError, PeerInfo, RefusedReason, RequestError,
};

/// A request a peer sent, for the router.
///
/// The router answers by sending the response frame on `reply`. Dropping `reply` instead
/// makes the event loop drop the stream: the peer sees a failed request, and the loop logs it.
/// An answer later than `Options::request_timeout` is discarded (the peer has given up).
pub struct Inbound {
    /// The authenticated peer (Noise) that sent the request.
    pub peer: PeerId,
    /// The request frame, undecoded.
    pub request: Bytes,
    /// Where the response frame goes.
    pub reply: oneshot::Sender<Bytes>,
}

impl fmt::Debug for Inbound {
    // By hand: a request may be 64 MiB.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbound")
            .field("peer", &self.peer)
            .field("request_len", &self.request.len())
            .finish_non_exhaustive()
    }
}

/// Something that happened on the network, for [`NetworkHandle::subscribe`]rs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkEvent {
    /// The first connection to a peer opened. The delivery engine retries that peer at once.
    PeerConnected(PeerId),
    /// The last connection to a peer closed.
    PeerDisconnected(PeerId),
    /// A listener bound a new address after start-up (e.g. a new interface came up). The
    /// addresses bound during `spawn` come before anyone can subscribe: ask `listen_addrs`.
    ListenAddr(Multiaddr),
    /// The allow list or the block list refused a connection from or to `peer`, or closed the
    /// ones it had open (then a `PeerDisconnected` follows). Repeats for each attempt.
    ConnectionRefused {
        /// The refused peer.
        peer: PeerId,
        /// Which list refused it.
        reason: RefusedReason,
    },
    /// `peer` sent a request frame no honest peer sends (a length above
    /// `Options::max_frame_size`); the stream was closed unread. The node blocks such peers.
    ProtocolViolation {
        /// The offending peer (authenticated by Noise).
        peer: PeerId,
        /// What the codec refused, e.g. "frame of 4096 bytes exceeds the 1024-byte limit".
        reason: String,
    },
    /// A block set with [`NetworkHandle::block`] ran out: the peer may connect again, and
    /// what is held for it can be retried.
    PeerUnblocked(PeerId),
    /// `peer` subscribed to gossip `topic`: it now receives what this node publishes there
    /// (so a node may publish its current roster to a newcomer).
    TopicSubscribed {
        /// The subscriber.
        peer: PeerId,
        /// The topic, as passed to `Options::gossip_topics` on the peer's side.
        topic: String,
    },
    /// A relay granted this node a reservation ([`NetworkHandle::listen_via_relay`]): peers
    /// can now reach it through that relay. Announced once per reservation, not on renewals.
    ReservationAccepted {
        /// The relay.
        relay: PeerId,
    },
    /// A reservation on `relay` ended, or an attempt to get one failed. Unless it was
    /// stopped with [`NetworkHandle::stop_listening_via_relay`], the node asks again after a
    /// backoff (1 s doubling to 60 s), and a `ReservationAccepted` follows once it works.
    ReservationLost {
        /// The relay.
        relay: PeerId,
        /// Why, e.g. the relay refused, the connection to it closed, it cannot be dialed,
        /// or "stopped listening via this relay".
        reason: String,
    },
    /// This node is a relay and turned a request of `peer` down: not a member of
    /// `RelayServerOptions::members`, a limit reached, or, for a circuit, a destination
    /// without reservation or that refused it (e.g. it stopped listening through us).
    RelayRefused {
        /// Who asked: the would-be holder of a reservation, or a circuit's source.
        peer: PeerId,
        /// `"reservation"` or `"circuit"`.
        what: &'static str,
    },
    /// DCUtR tried to replace a relayed connection to `peer` by a direct one (hole
    /// punching). On success requests may use the direct connection; on failure the relayed
    /// one stays, as before.
    DirectUpgrade {
        /// The peer at the other end of the relayed connection.
        peer: PeerId,
        /// Whether a direct connection came up.
        succeeded: bool,
    },
}

/// A cheap, cloneable handle to the network's event loop.
///
/// Each method sends one command over a bounded queue and waits for the loop's answer. The
/// loop stops when shutdown is requested or when every handle is dropped; after that every
/// method fails with `ShuttingDown`.
#[derive(Debug, Clone)]
pub struct NetworkHandle {
    commands: mpsc::Sender<Command>,
    /// Weak, so that subscribers see the channel close when the loop stops.
    events: broadcast::WeakSender<NetworkEvent>,
    local_peer_id: PeerId,
    request_timeout: Duration,
    max_frame_size: usize,
    counters: std::sync::Arc<super::WireCounters>,
}

impl NetworkHandle {
    pub(crate) fn new(
        commands: mpsc::Sender<Command>,
        events: broadcast::WeakSender<NetworkEvent>,
        local_peer_id: PeerId,
        request_timeout: Duration,
        max_frame_size: usize,
        counters: std::sync::Arc<super::WireCounters>,
    ) -> Self {
        Self {
            commands,
            events,
            local_peer_id,
            request_timeout,
            max_frame_size,
            counters,
        }
    }

    /// The largest frame this network sends or takes (`Options::max_frame_size`): what an
    /// answer that lists many packages (a relay's mailbox) must fit.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// What this node put on and took off the wire so far.
    pub fn wire_counters(&self) -> &super::WireCounters {
        &self.counters
    }

    /// This node's peer id. No round trip to the loop.
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// The addresses the listeners are bound to, without a `/p2p/` suffix; and, while a
    /// reservation is held, the relayed addresses the relay gave
    /// (`…/p2p/<relay>/p2p-circuit/p2p/<this node>`).
    ///
    /// # Errors
    ///
    /// [`NetworkError::ShuttingDown`] if the loop has stopped.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it only reads.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NetworkError> {
        self.call(|reply| Command::ListenAddrs { reply }).await
    }

    /// Tells the network where `peer` can be reached (roster hints). The addresses are used
    /// for dials by [`request`](Self::request) and added to Kademlia's routing table.
    /// Addresses ending in another peer's `/p2p/` are ignored.
    ///
    /// # Errors
    ///
    /// [`NetworkError::ShuttingDown`] if the loop has stopped.
    ///
    /// # Cancel safety
    ///
    /// Cancelling after the command was queued still records the addresses; harmless, since
    /// adding the same addresses twice changes nothing.
    pub async fn add_addresses(
        &self,
        peer: PeerId,
        addrs: Vec<Multiaddr>,
    ) -> Result<(), NetworkError> {
        self.call(|reply| Command::AddAddresses { peer, addrs, reply })
            .await
    }

    /// Starts a connection to `peer` unless one exists, with its known addresses. Used to
    /// announce a (re)started node to the members it has business with: once connected, they
    /// learn its current addresses through identify and retry what they hold for it.
    ///
    /// # Errors
    ///
    /// [`NetworkError::ShuttingDown`] if the loop has stopped; `Ok(Err(reason))` when the dial
    /// could not even start (no address known).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a dial started anyway is harmless.
    pub async fn connect(&self, peer: PeerId) -> Result<Result<(), String>, NetworkError> {
        self.call(|reply| Command::Connect { peer, reply }).await
    }

    /// Sends `payload` to `peer` and returns its response frame. Dials first when not
    /// connected, with the addresses from [`add_addresses`](Self::add_addresses), identify,
    /// mDNS and Kademlia.
    ///
    /// Never waits longer than `Options::request_timeout` in total, queueing included.
    ///
    /// # Errors
    ///
    /// See [`RequestError`]; a frame over `Options::max_frame_size` is refused locally as
    /// [`RequestError::Io`] before anything is sent, and so is a peer outside the allow list
    /// ([`RequestError::NotAllowed`]) or blocked ([`RequestError::Blocked`]).
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe in effect: once queued, the request is sent even if this future is
    /// dropped, and the response is discarded. The peer may therefore have processed it.
    pub async fn request(&self, peer: PeerId, payload: Bytes) -> Result<Bytes, RequestError> {
        let (reply, rx) = oneshot::channel();
        let call = async {
            self.commands
                .send(Command::Request {
                    peer,
                    payload,
                    reply,
                })
                .await
                .map_err(|_| RequestError::ShuttingDown)?;
            rx.await.map_err(|_| RequestError::ShuttingDown)?
        };
        tokio::time::timeout(self.request_timeout, call)
            .await
            .unwrap_or(Err(RequestError::Timeout))
    }

    /// Every peer this node knows, connected or not, with what identify and ping told us.
    ///
    /// In a national federation that is every member of the roster; callers that only
    /// look at connections ask [`connected_peers`](Self::connected_peers) instead.
    ///
    /// # Errors
    ///
    /// [`NetworkError::ShuttingDown`] if the loop has stopped.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it only reads.
    pub async fn known_peers(&self) -> Result<Vec<PeerInfo>, NetworkError> {
        self.call(|reply| Command::Peers {
            connected_only: false,
            reply,
        })
        .await
    }

    /// The peers connected now. Cheaper than [`known_peers`](Self::known_peers) by the
    /// size of the roster: a node of a 1,000-member federation asked for this after
    /// deliveries and catch-ups, and building all 1,000 entries each time (their addresses
    /// copied) was a twentieth of a national simulation's CPU.
    ///
    /// # Errors
    ///
    /// [`NetworkError::ShuttingDown`] if the loop has stopped.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it only reads.
    pub async fn connected_peers(&self) -> Result<Vec<PeerInfo>, NetworkError> {
        self.call(|reply| Command::Peers {
            connected_only: true,
            reply,
        })
        .await
    }

    /// A receiver of [`NetworkEvent`]s from now on.
    ///
    /// The channel is bounded: a receiver that falls behind gets
    /// `RecvError::Lagged` and skips ahead. It reads `RecvError::Closed` once the loop stops.
    pub fn subscribe(&self) -> broadcast::Receiver<NetworkEvent> {
        match self.events.upgrade() {
            Some(events) => events.subscribe(),
            None => {
                // The loop is gone: hand out a receiver that is already closed.
                let (_, closed) = broadcast::channel(1);
                closed
            }
        }
    }

    /// Publishes `key -> value` in the DHT: stored locally, then on the closest peers.
    ///
    /// # Errors
    ///
    /// [`NetworkError::KadQuorumFailed`] when no peer took a copy (the record is still stored
    /// locally and served from here), [`NetworkError::KadStore`] when the local store refuses
    /// it (values are capped at 65 KiB), [`NetworkError::KadTimeout`],
    /// [`NetworkError::KademliaDisabled`], [`NetworkError::ShuttingDown`].
    ///
    /// # Cancel safety
    ///
    /// Once queued, the put runs to completion even if this future is dropped.
    pub async fn kad_put(&self, key: Vec<u8>, value: Vec<u8>) -> Result<(), NetworkError> {
        self.call(|reply| Command::KadPut { key, value, reply })
            .await?
    }

    /// Looks `key` up in the DHT: the local store first, then the network. Returns the first
    /// record found, or `Ok(None)` once the query has finished without one.
    ///
    /// # Errors
    ///
    /// [`NetworkError::KadTimeout`], [`NetworkError::KademliaDisabled`],
    /// [`NetworkError::ShuttingDown`].
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a dropped lookup changes nothing (its query finishes unobserved).
    pub async fn kad_get(&self, key: Vec<u8>) -> Result<Option<Vec<u8>>, NetworkError> {
        self.call(|reply| Command::KadGet { key, reply }).await?
    }

    /// Closes every connection to `peer`. Requests in flight on them fail with
    /// `ConnectionClosed`; a later request dials again.
    ///
    /// # Errors
    ///
    /// [`NetworkError::ShuttingDown`] if the loop has stopped.
    ///
    /// # Cancel safety
    ///
    /// Once queued, the peer is disconnected even if this future is dropped.
    pub async fn disconnect(&self, peer: PeerId) -> Result<(), NetworkError> {
        self.call(|reply| Command::Disconnect { peer, reply }).await
    }

    /// Names the peers whose connections stay open however idle (replacing the previous
    /// set). Other connections close once they carried no request or response for the
    /// idle timeout (at least the request timeout), even while gossip keeps a stream open.
    ///
    /// # Errors
    ///
    /// [`NetworkError::ShuttingDown`] if the loop has stopped.
    pub async fn keep_connected(
        &self,
        peers: std::collections::HashSet<PeerId>,
    ) -> Result<(), NetworkError> {
        self.call(|reply| Command::KeepConnected { peers, reply })
            .await
    }

    /// Publishes `data` on gossip `topic`, signed by this node, to the peers subscribed to it.
    /// This node need not be subscribed to `topic` itself.
    ///
    /// Having no peer subscribed yet is not an error: nothing is sent, and `Ok` is returned
    /// (the node republishes later, or newcomers fetch what they miss).
    ///
    /// # Errors
    ///
    /// [`NetworkError::Publish`] when gossipsub refuses the message (above
    /// `Options::gossip_max_message_size`, every peer's queue full, …);
    /// [`NetworkError::ShuttingDown`].
    ///
    /// # Cancel safety
    ///
    /// Once queued, the message is published even if this future is dropped.
    pub async fn publish(&self, topic: &str, data: Bytes) -> Result<(), NetworkError> {
        let topic = topic.to_owned();
        self.call(|reply| Command::Publish { topic, data, reply })
            .await?
    }

    /// Reports the node's verdict on a received [`GossipMessage`](super::GossipMessage),
    /// with its `id` and `source`: `Accept` forwards it to the mesh, `Reject` and `Ignore`
    /// drop it (`Reject` also holds it against `source`).
    ///
    /// A report for a message gossipsub no longer holds (reported already, or later than its
    /// cache keeps messages, about 10 s) is logged and changes nothing.
    ///
    /// # Errors
    ///
    /// [`NetworkError::ShuttingDown`] if the loop has stopped.
    ///
    /// # Cancel safety
    ///
    /// Once queued, the report takes effect even if this future is dropped.
    pub async fn report_gossip(
        &self,
        id: GossipMessageId,
        source: PeerId,
        acceptance: GossipAcceptance,
    ) -> Result<(), NetworkError> {
        self.report_gossip_all(vec![(id, source, acceptance)]).await
    }

    /// Reports the node's verdicts on many received messages at once, as
    /// [`report_gossip`](Self::report_gossip) does for one: one round trip to the event
    /// loop for a whole burst.
    ///
    /// # Errors
    ///
    /// [`NetworkError::ShuttingDown`] if the loop has stopped.
    ///
    /// # Cancel safety
    ///
    /// Once queued, the reports take effect even if this future is dropped.
    pub async fn report_gossip_all(
        &self,
        reports: Vec<(GossipMessageId, PeerId, GossipAcceptance)>,
    ) -> Result<(), NetworkError> {
        self.call(|reply| Command::ReportGossip { reports, reply })
            .await
    }

    /// Sets the federation membership: `Some(peers)` refuses connections from and to every
    /// other peer and closes the ones open (each announced as a `ConnectionRefused`);
    /// `None` lets every peer in (a node without a roster). Requests to a peer left out fail
    /// at once with [`RequestError::NotAllowed`].
    ///
    /// # Errors
    ///
    /// [`NetworkError::ShuttingDown`] if the loop has stopped.
    ///
    /// # Cancel safety
    ///
    /// Once queued, the list is set even if this future is dropped.
    pub async fn set_allowed(&self, peers: Option<HashSet<PeerId>>) -> Result<(), NetworkError> {
        self.call(|reply| Command::SetAllowed { peers, reply })
            .await
    }

    /// Blocks `peer` for `for_`: closes every connection to it and refuses new ones either
    /// way until the time is up, then announces `PeerUnblocked`. Blocking a blocked peer
    /// extends its block to `for_` from now if that ends later; it never shortens it.
    /// Requests to a blocked peer fail at once with [`RequestError::Blocked`].
    ///
    /// # Errors
    ///
    /// [`NetworkError::ShuttingDown`] if the loop has stopped.
    ///
    /// # Cancel safety
    ///
    /// Once queued, the block takes effect even if this future is dropped.
    pub async fn block(&self, peer: PeerId, for_: Duration) -> Result<(), NetworkError> {
        self.call(|reply| Command::Block {
            peer,
            duration: for_,
            reply,
        })
        .await
    }

    /// Every blocked peer and the time its block has left, soonest to end first.
    ///
    /// # Errors
    ///
    /// [`NetworkError::ShuttingDown`] if the loop has stopped.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it only reads.
    pub async fn blocked(&self) -> Result<Vec<(PeerId, Duration)>, NetworkError> {
        self.call(|reply| Command::Blocked { reply }).await
    }

    /// Makes this node reachable through `relay`: records `relay_addrs` as the relay's
    /// addresses and listens on `<relay addr>/p2p/<relay>/p2p-circuit`, which dials the
    /// relay if need be and asks it for a reservation. The loop keeps the reservation from
    /// then on: whenever it ends or cannot be had, it asks again after a backoff (1 s
    /// doubling to 60 s, taking the relay's addresses in turn) until
    /// [`stop_listening_via_relay`](Self::stop_listening_via_relay). Watch
    /// [`NetworkEvent::ReservationAccepted`] and [`NetworkEvent::ReservationLost`].
    ///
    /// Returns once the first attempt has started, not when it succeeds. Calling it again
    /// for the same relay updates its addresses, and tries at once if it was waiting.
    ///
    /// # Errors
    ///
    /// [`NetworkError::InvalidRelay`] when `relay` is this node or no address is usable
    /// (each must be a plain address of the relay, optionally ending in its `/p2p/`);
    /// [`NetworkError::Listen`] if the circuit address is refused;
    /// [`NetworkError::ShuttingDown`].
    ///
    /// # Cancel safety
    ///
    /// Once queued, the relay is listened through even if this future is dropped.
    pub async fn listen_via_relay(
        &self,
        relay: PeerId,
        relay_addrs: Vec<Multiaddr>,
    ) -> Result<(), NetworkError> {
        self.call(|reply| Command::ListenViaRelay {
            relay,
            addrs: relay_addrs,
            reply,
        })
        .await?
    }

    /// Stops listening through `relay` and keeping a reservation there. Returns once the
    /// circuit listener has closed: from then on the relay client refuses circuits the relay
    /// still forwards (the relay frees the slot when the reservation expires or the
    /// connection closes). Announced as a `ReservationLost` if a reservation was held. The
    /// connection to the relay stays: it may be a peer like any other.
    ///
    /// # Errors
    ///
    /// [`NetworkError::ShuttingDown`] if the loop has stopped.
    ///
    /// # Cancel safety
    ///
    /// Once queued, the node stops listening through the relay even if this future is dropped.
    pub async fn stop_listening_via_relay(&self, relay: PeerId) -> Result<(), NetworkError> {
        self.call(|reply| Command::StopListeningViaRelay { relay, reply })
            .await
    }

    /// The relays on which this node holds an accepted reservation right now.
    ///
    /// # Errors
    ///
    /// [`NetworkError::ShuttingDown`] if the loop has stopped.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it only reads.
    pub async fn reservations(&self) -> Result<Vec<PeerId>, NetworkError> {
        self.call(|reply| Command::Reservations { reply }).await
    }

    /// Tells the network that `peer` can be reached through `relay` at `relay_addr`: adds
    /// `<relay_addr>/p2p/<relay>/p2p-circuit/p2p/<peer>` to `peer`'s hints. It is dialed
    /// after the peer's direct addresses, so [`request`](Self::request) goes direct when it
    /// can and through the relay otherwise (or with only this address). A dial through a
    /// relay not yet connected dials the relay first. `peer` must hold a reservation there.
    ///
    /// # Errors
    ///
    /// [`NetworkError::InvalidRelay`] when `relay` is `peer`, or `relay_addr` is not a plain
    /// address of the relay (optionally ending in its `/p2p/`);
    /// [`NetworkError::ShuttingDown`].
    ///
    /// # Cancel safety
    ///
    /// Cancelling after the command was queued still records the address; harmless, since
    /// adding it twice changes nothing.
    pub async fn add_relayed_address(
        &self,
        peer: PeerId,
        relay: PeerId,
        relay_addr: Multiaddr,
    ) -> Result<(), NetworkError> {
        self.call(|reply| Command::AddRelayedAddress {
            peer,
            relay,
            relay_addr,
            reply,
        })
        .await?
    }

    /// Tells the network every way to each of `routes`' peers, in one round trip: their
    /// direct addresses (as [`add_addresses`](Self::add_addresses)) and their circuits (as
    /// [`add_relayed_address`](Self::add_relayed_address)). Returns the relayed addresses
    /// that cannot be used, which are skipped.
    ///
    /// # Errors
    ///
    /// [`NetworkError::ShuttingDown`] if the loop has stopped.
    ///
    /// # Cancel safety
    ///
    /// Cancelling after the command was queued still records the routes; harmless, since
    /// adding them twice changes nothing.
    pub async fn add_routes(
        &self,
        routes: Vec<super::Routes>,
    ) -> Result<Vec<NetworkError>, NetworkError> {
        self.call(|reply| Command::AddRoutes { routes, reply })
            .await
    }

    /// Sends the command built by `command` and waits for its reply.
    async fn call<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NetworkError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| NetworkError::ShuttingDown)?;
        rx.await.map_err(|_| NetworkError::ShuttingDown)
    }
}
