//! The event loop: the only owner of the `Swarm`.
//!
//! It selects, in this order (`biased`), over: shutdown, commands from the handles, answers
//! from the router, request deadlines, block expiries, reservation retries, and swarm
//! events. Local work goes first, as libp2p's guidelines ask. Every `handle_*` is a plain
//! `fn` that never awaits: a slow router, a slow gossip validator or a slow caller can fill
//! a bounded queue, never stall the loop. Swarm events are handled in
//! [`swarm_event`](super::swarm_event), gossip in [`gossip`](super::gossip), the allow and
//! block lists in [`access`](super::access), relays in [`relay`](super::relay) and
//! [`reservations`](super::reservations).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use libp2p::core::transport::ListenerId;
use libp2p::kad;
use libp2p::request_response::{InboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{DialError, Swarm, SwarmEvent};
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::access::Blocks;
use super::behaviour::Behaviour;
use super::codec::{self, RequestFrame};
use super::command::{Command, KadGetReply, KadPutReply, RequestReply};
use super::limits::Refusals;
use super::peers::PeerBook;
use super::pending::PendingRequests;
use super::reservations::Reservations;
use super::swarm_event::EVENTS_TARGET;
use super::{
    GossipMessage, Inbound, NetworkError, NetworkEvent, Options, RelayMembers, RequestError,
};

/// How long [`spawn`](super::spawn) waits for listeners to report their bound address.
const LISTEN_DEADLINE: Duration = Duration::from_secs(10);

/// The router's answer to one inbound request, or why there is none.
pub(crate) struct ReplyReady {
    pub(crate) peer: PeerId,
    pub(crate) request_id: InboundRequestId,
    pub(crate) channel: ResponseChannel<Bytes>,
    pub(crate) outcome: Result<Bytes, ReplyMissing>,
}

/// Why an inbound request got no answer from the router.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ReplyMissing {
    /// The router dropped `Inbound::reply`.
    Dropped,
    /// The router did not answer within the request timeout; the peer has given up.
    TimedOut,
}

/// Owns the swarm and every piece of state tied to a request id, query id or peer id.
pub(crate) struct EventLoop {
    pub(crate) swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    /// To the router; `try_send` only, never awaited.
    pub(crate) inbound: mpsc::Sender<Inbound>,
    /// To the node's gossip validation; `try_send` only, never awaited.
    pub(crate) gossip: mpsc::Sender<GossipMessage>,
    pub(crate) events: broadcast::Sender<NetworkEvent>,
    shutdown: CancellationToken,
    pub(crate) busy_response: Bytes,
    pub(crate) request_timeout: Duration,
    max_frame_size: usize,
    pub(crate) peers: PeerBook,
    /// Outbound requests by `OutboundRequestId`.
    pub(crate) requests: PendingRequests,
    /// Inbound requests whose answer the router still owes, each bounded by the timeout.
    pub(crate) replies: FuturesUnordered<BoxFuture<'static, ReplyReady>>,
    pub(crate) kad_puts: HashMap<kad::QueryId, KadPutReply>,
    pub(crate) kad_gets: HashMap<kad::QueryId, KadGetReply>,
    /// Blocked peers and when each block ends.
    pub(crate) blocks: Blocks,
    /// Relays this node listens through, and when each is retried.
    pub(crate) reservations: Reservations,
    /// Who may use this node as a relay (`None`: not a relay); for logs, the relay
    /// behaviour holds its own clone.
    pub(crate) relay_members: Option<RelayMembers>,
    /// What this node put on and took off the wire.
    pub(super) counters: std::sync::Arc<super::WireCounters>,
    /// Peers whose connections stay open however idle (the node's province, its relays).
    kept: std::collections::HashSet<PeerId>,
    /// How long a connection may carry no request or response before it is closed.
    idle: Duration,
    /// When to look for idle connections.
    prune: tokio::time::Interval,
    /// Refusals by the connection limits and accept errors, logged once a minute at most.
    pub(crate) refusals: Refusals,
}

/// How long a connection may stay without requests before the loop closes it: the idle
/// timeout, but never less than a request may take (a large package in flight).
fn prune_after(options: &Options) -> Duration {
    options.idle_connection_timeout.max(options.request_timeout)
}

impl EventLoop {
    pub(crate) fn new(
        swarm: Swarm<Behaviour>,
        commands: mpsc::Receiver<Command>,
        inbound: mpsc::Sender<Inbound>,
        gossip: mpsc::Sender<GossipMessage>,
        events: broadcast::Sender<NetworkEvent>,
        options: &Options,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            swarm,
            commands,
            inbound,
            gossip,
            events,
            shutdown,
            busy_response: options.busy_response.clone(),
            request_timeout: options.request_timeout,
            max_frame_size: options.max_frame_size,
            peers: PeerBook::default(),
            requests: PendingRequests::default(),
            replies: FuturesUnordered::new(),
            kad_puts: HashMap::new(),
            kad_gets: HashMap::new(),
            blocks: Blocks::default(),
            reservations: Reservations::default(),
            relay_members: options
                .relay_server
                .as_ref()
                .map(|server| server.members.clone()),
            counters: options.counters.clone(),
            kept: std::collections::HashSet::new(),
            idle: prune_after(options),
            prune: {
                let every = (prune_after(options) / 4).max(Duration::from_secs(1));
                let mut prune =
                    tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                prune
            },
            refusals: Refusals::default(),
        }
    }

    /// Drives the swarm until every listener in `listeners` has reported a bound address.
    /// Other events are handled as usual, so none is lost.
    ///
    /// # Errors
    ///
    /// [`NetworkError::ListenerClosed`] if a listener closes first,
    /// [`NetworkError::ListenTimeout`] after [`LISTEN_DEADLINE`],
    /// [`NetworkError::ShuttingDown`] if shutdown is requested meanwhile.
    pub(crate) async fn wait_for_listeners(
        &mut self,
        mut listeners: HashMap<ListenerId, Multiaddr>,
    ) -> Result<(), NetworkError> {
        let deadline = tokio::time::sleep(LISTEN_DEADLINE);
        tokio::pin!(deadline);
        while !listeners.is_empty() {
            let event = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return Err(NetworkError::ShuttingDown),
                () = &mut deadline => {
                    return Err(NetworkError::ListenTimeout {
                        addrs: listeners.into_values().collect(),
                    });
                }
                event = self.swarm.select_next_some() => event,
            };
            match event {
                SwarmEvent::ListenerClosed {
                    listener_id,
                    addresses,
                    reason,
                } => {
                    if let Some(addr) = listeners.remove(&listener_id) {
                        let source = reason.err();
                        return Err(NetworkError::ListenerClosed { addr, source });
                    }
                    self.handle_swarm_event(SwarmEvent::ListenerClosed {
                        listener_id,
                        addresses,
                        reason,
                    });
                }
                event => {
                    if let SwarmEvent::NewListenAddr { listener_id, .. } = &event {
                        listeners.remove(listener_id);
                    }
                    self.handle_swarm_event(event);
                }
            }
        }
        Ok(())
    }

    /// Runs until shutdown is requested or every handle is dropped, then answers everything
    /// still waiting with `ShuttingDown` and drops the swarm (closing every connection).
    pub(crate) async fn run(mut self) {
        loop {
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => {
                    tracing::info!("network shutting down");
                    break;
                }
                command = self.commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => {
                        tracing::info!("every network handle dropped; stopping");
                        break;
                    }
                },
                Some(ready) = self.replies.next(), if !self.replies.is_empty() => {
                    self.handle_reply(ready);
                }
                id = self.requests.next_expired(), if !self.requests.is_empty() => {
                    if let Some(pending) = self.requests.remove(id) {
                        // Debug: the caller gets the timeout and reports what it means.
                        tracing::debug!(peer = %pending.peer, request_id = %id, "request timed out");
                        let _ = pending.reply.send(Err(RequestError::Timeout));
                    }
                }
                peer = self.blocks.next_expired(), if !self.blocks.is_empty() => {
                    self.unblock(peer);
                }
                relay = self.reservations.next_retry(), if self.reservations.has_retries() => {
                    self.retry_reservation(relay);
                }
                _ = self.prune.tick() => self.close_idle(),
                event = self.swarm.select_next_some() => self.handle_swarm_event(event),
            }
        }
        self.fail_pending();
    }

    /// Closes connections that carried no request or response for `idle`. libp2p's own
    /// idle timeout never fires between two nodes that share gossip: gossipsub keeps a
    /// stream open to every peer. Without this, every connection a node ever made (a DHT
    /// query's, one delivery to another province) stayed open, and a national federation's
    /// nodes ended up connected to nearly everyone. Kept peers, relays this node holds a
    /// reservation with, members of this relay and peers with a request in flight stay.
    fn close_idle(&mut self) {
        let reserved = self.reservations.active();
        for peer in self.peers.idle_connected(self.idle) {
            let member = self
                .relay_members
                .as_ref()
                .is_some_and(|members| members.contains(&peer));
            if self.kept.contains(&peer)
                || member
                || reserved.contains(&peer)
                || self.requests.has_peer(&peer)
            {
                continue;
            }
            tracing::debug!(peer = %peer, idle = ?self.idle, "closing an idle connection");
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    /// Peers whose connections stay open however idle.
    pub(crate) fn keep_connected(&mut self, peers: std::collections::HashSet<PeerId>) {
        self.kept = peers;
    }

    /// Answers every waiter with `ShuttingDown`: queued commands, requests, Kademlia queries.
    /// Inbound requests still waiting for the router are dropped; their peers see a failure.
    /// Stops waiting for a relay listener to close go with the loop (`ShuttingDown` too).
    fn fail_pending(&mut self) {
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            command.refuse();
        }
        for pending in self.requests.drain() {
            let _ = pending.reply.send(Err(RequestError::ShuttingDown));
        }
        for (_, reply) in self.kad_puts.drain() {
            let _ = reply.send(Err(NetworkError::ShuttingDown));
        }
        for (_, reply) in self.kad_gets.drain() {
            let _ = reply.send(Err(NetworkError::ShuttingDown));
        }
        self.replies = FuturesUnordered::new();
    }

    fn handle_command(&mut self, command: Command) {
        // A reply whose receiver is gone means the caller stopped waiting: nothing to do, so
        // every `send` result below is dropped on purpose.
        match command {
            Command::ListenAddrs { reply } => {
                let _ = reply.send(self.swarm.listeners().cloned().collect());
            }
            Command::AddAddresses { peer, addrs, reply } => {
                self.add_addresses(peer, addrs);
                let _ = reply.send(());
            }
            Command::Request {
                peer,
                payload,
                reply,
            } => self.start_request(peer, payload, reply),
            Command::Peers {
                connected_only,
                reply,
            } => {
                let _ = reply.send(self.peers.infos(connected_only));
            }
            Command::KadPut { key, value, reply } => self.start_kad_put(key, value, reply),
            Command::KadGet { key, reply } => self.start_kad_get(key, reply),
            Command::Connect { peer, reply } => {
                let _ = reply.send(self.connect(peer));
            }
            Command::Disconnect { peer, reply } => {
                if self.swarm.disconnect_peer_id(peer).is_ok() {
                    tracing::debug!(peer = %peer, "disconnecting");
                }
                let _ = reply.send(());
            }
            Command::KeepConnected { peers, reply } => {
                self.keep_connected(peers);
                let _ = reply.send(());
            }
            Command::Publish { topic, data, reply } => {
                let _ = reply.send(self.publish_gossip(topic, data));
            }
            Command::ReportGossip { reports, reply } => {
                for (id, source, acceptance) in reports {
                    self.report_gossip(&id, source, acceptance);
                }
                let _ = reply.send(());
            }
            Command::SetAllowed { peers, reply } => {
                self.set_allowed(peers);
                let _ = reply.send(());
            }
            Command::Block {
                peer,
                duration,
                reply,
            } => {
                self.block(peer, duration);
                let _ = reply.send(());
            }
            Command::Blocked { reply } => {
                let _ = reply.send(self.blocked());
            }
            Command::ListenViaRelay {
                relay,
                addrs,
                reply,
            } => {
                let _ = reply.send(self.listen_via_relay(relay, addrs));
            }
            Command::StopListeningViaRelay { relay, reply } => {
                self.stop_listening_via_relay(relay, reply);
            }
            Command::Reservations { reply } => {
                let _ = reply.send(self.reservations.active());
            }
            Command::AddRoutes { routes, reply } => {
                let _ = reply.send(self.add_routes(routes));
            }
            Command::AddRelayedAddress {
                peer,
                relay,
                relay_addr,
                reply,
            } => {
                let _ = reply.send(self.add_relayed_address(peer, relay, relay_addr));
            }
        }
    }

    pub(crate) fn add_addresses(&mut self, peer: PeerId, addrs: Vec<Multiaddr>) {
        for addr in self.peers.add_hints(peer, addrs) {
            if let Some(kademlia) = self.swarm.behaviour_mut().kademlia.as_mut() {
                kademlia.add_address(&peer, addr.clone());
            }
            self.swarm.add_peer_address(peer, addr);
        }
    }

    /// Dials `peer` unless connected or dialing; the reason when no dial can start.
    fn connect(&mut self, peer: PeerId) -> Result<(), String> {
        if peer == *self.swarm.local_peer_id() || self.swarm.is_connected(&peer) {
            return Ok(());
        }
        let known = self.peers.dial_addresses(&peer);
        let opts = DialOpts::peer_id(peer).condition(PeerCondition::DisconnectedAndNotDialing);
        let opts = if known.is_empty() {
            opts.build()
        } else {
            opts.addresses(known).build()
        };
        match self.swarm.dial(opts) {
            Ok(()) | Err(DialError::DialPeerConditionFalse(_)) => Ok(()),
            Err(error) => Err(error.to_string()),
        }
    }

    fn start_request(&mut self, peer: PeerId, payload: Bytes, reply: RequestReply) {
        if peer == *self.swarm.local_peer_id() {
            let reason = "cannot send a request to the local peer".to_owned();
            let _ = reply.send(Err(RequestError::DialFailure { reason }));
            return;
        }
        // The lists would refuse the connection anyway; say which, without dialing.
        if !self.is_allowed(&peer) {
            tracing::debug!(peer = %peer, "request to a peer outside the allow list not sent");
            let _ = reply.send(Err(RequestError::NotAllowed));
            return;
        }
        if self.is_blocked(&peer) {
            tracing::debug!(peer = %peer, "request to a blocked peer not sent");
            let _ = reply.send(Err(RequestError::Blocked));
            return;
        }
        // Refuse what the codec would refuse, before dialing or opening a stream for it.
        if let Err(error) = codec::frame_len(payload.len(), self.max_frame_size) {
            tracing::warn!(peer = %peer, len = payload.len(), %error, "request not sent");
            let reason = error.to_string();
            let _ = reply.send(Err(RequestError::Io { reason }));
            return;
        }
        // Dial ourselves rather than leave it to request-response: a dial that fails at once
        // (no address at all) then gets its reason back here, and roster hints are always
        // tried even after a failed dial made libp2p forget them. Other behaviours' addresses
        // are asked for only when the book has none: they hold the same addresses in another
        // form (with a `/p2p/` suffix), and the swarm would dial each twice.
        if !self.swarm.is_connected(&peer) {
            let known = self.peers.dial_addresses(&peer);
            let opts = DialOpts::peer_id(peer).condition(PeerCondition::DisconnectedAndNotDialing);
            let opts = if known.is_empty() {
                // Without addresses of its own, the dial asks Kademlia, mDNS and identify.
                opts.build()
            } else {
                opts.addresses(known).build()
            };
            match self.swarm.dial(opts) {
                Ok(()) => tracing::debug!(peer = %peer, "dialing"),
                // A dial is already under way; the request waits for it.
                Err(DialError::DialPeerConditionFalse(_)) => {}
                Err(error) => {
                    // Debug: a peer with no address yet; the caller gets the reason.
                    tracing::debug!(peer = %peer, %error, "cannot dial peer");
                    let reason = error.to_string();
                    let _ = reply.send(Err(RequestError::DialFailure { reason }));
                    return;
                }
            }
        }
        let len = payload.len();
        let id = self
            .swarm
            .behaviour_mut()
            .request_response
            .send_request(&peer, RequestFrame::Data(payload));
        tracing::debug!(peer = %peer, request_id = %id, len, "request queued");
        self.peers.touch(&peer);
        let deadline = Instant::now() + self.request_timeout;
        self.requests.insert(id, peer, deadline, reply);
    }

    fn start_kad_put(&mut self, key: Vec<u8>, value: Vec<u8>, reply: KadPutReply) {
        let Some(kademlia) = self.swarm.behaviour_mut().kademlia.as_mut() else {
            let _ = reply.send(Err(NetworkError::KademliaDisabled));
            return;
        };
        let record = kad::Record::new(key, value);
        match kademlia.put_record(record, kad::Quorum::One) {
            Ok(id) => {
                self.kad_puts.insert(id, reply);
            }
            Err(source) => {
                let _ = reply.send(Err(NetworkError::KadStore { source }));
            }
        }
    }

    fn start_kad_get(&mut self, key: Vec<u8>, reply: KadGetReply) {
        let Some(kademlia) = self.swarm.behaviour_mut().kademlia.as_mut() else {
            let _ = reply.send(Err(NetworkError::KademliaDisabled));
            return;
        };
        let id = kademlia.get_record(kad::RecordKey::new(&key));
        self.kad_gets.insert(id, reply);
    }

    /// Queues an inbound request for the router, or answers `busy_response` when the queue
    /// is full (or the router has gone).
    pub(crate) fn handle_inbound_request(
        &mut self,
        peer: PeerId,
        request_id: InboundRequestId,
        request: Bytes,
        channel: ResponseChannel<Bytes>,
    ) {
        let (reply, rx) = oneshot::channel();
        let len = request.len();
        match self.inbound.try_send(Inbound {
            peer,
            request,
            reply,
        }) {
            Ok(()) => {
                tracing::debug!(peer = %peer, request_id = %request_id, len, "inbound request queued");
                let timeout = self.request_timeout;
                self.replies.push(
                    async move {
                        let outcome = match tokio::time::timeout(timeout, rx).await {
                            Ok(Ok(response)) => Ok(response),
                            Ok(Err(_)) => Err(ReplyMissing::Dropped),
                            Err(_) => Err(ReplyMissing::TimedOut),
                        };
                        ReplyReady {
                            peer,
                            request_id,
                            channel,
                            outcome,
                        }
                    }
                    .boxed(),
                );
            }
            Err(error) => {
                let why = match error {
                    mpsc::error::TrySendError::Full(_) => "inbound queue full",
                    mpsc::error::TrySendError::Closed(_) => "router gone",
                };
                tracing::warn!(peer = %peer, request_id = %request_id, why, "answering busy");
                tracing::debug!(target: EVENTS_TARGET, event = "inbound_busy", peer = %peer);
                let busy = self.busy_response.clone();
                let request_response = &mut self.swarm.behaviour_mut().request_response;
                if request_response.send_response(channel, busy).is_err() {
                    tracing::debug!(peer = %peer, request_id = %request_id, "stream gone before busy answer");
                }
            }
        }
    }

    /// Passes the router's answer on to the peer.
    fn handle_reply(&mut self, ready: ReplyReady) {
        let ReplyReady {
            peer,
            request_id,
            channel,
            outcome,
        } = ready;
        match outcome {
            Ok(response) => {
                let request_response = &mut self.swarm.behaviour_mut().request_response;
                if request_response.send_response(channel, response).is_err() {
                    // Timed out or the connection closed; an `InboundFailure` says which.
                    tracing::debug!(peer = %peer, request_id = %request_id, "stream gone before the answer");
                }
            }
            Err(missing) => {
                // Dropping the channel resets the stream: the peer sees a failed request.
                tracing::warn!(peer = %peer, request_id = %request_id, ?missing, "router gave no answer");
            }
        }
    }

    /// Starts listening on every address; returns the listeners to wait for.
    pub(crate) fn listen(
        &mut self,
        addrs: &[Multiaddr],
    ) -> Result<HashMap<ListenerId, Multiaddr>, NetworkError> {
        let mut listeners = HashMap::with_capacity(addrs.len());
        let mut seen = HashSet::with_capacity(addrs.len());
        for addr in addrs.iter().filter(|addr| seen.insert(*addr)) {
            let id = self
                .swarm
                .listen_on(addr.clone())
                .map_err(|source| NetworkError::Listen {
                    addr: addr.clone(),
                    source,
                })?;
            listeners.insert(id, addr.clone());
        }
        Ok(listeners)
    }
}
