//! How the event loop reacts to swarm and behaviour events. Plain `fn`s: nothing here awaits.
//!
//! Lifecycle goes to `info`, connections to `debug`, failures to `warn`, each with structured
//! fields. Machine-readable events (for simulations and loopback tests) use the target
//! [`EVENTS_TARGET`] at `debug`, fields only.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, InboundFailure, InboundRequestId, OutboundFailure};
use libp2p::swarm::{DialError, ListenError, SwarmEvent};
use libp2p::{PeerId, identify, kad, mdns, ping};

use super::RequestError;
use super::access::refusal;
use super::behaviour::{BehaviourEvent, IDENTIFY_PROTOCOL_VERSION};
use super::codec::{FrameError, RequestFrame};
use super::event_loop::EventLoop;
use super::limits::is_limit;
use super::peers::is_relayed;
use super::{NetworkError, NetworkEvent};

/// The tracing target of machine-readable network events.
pub const EVENTS_TARGET: &str = "lienthong::events::network";

impl EventLoop {
    pub(crate) fn handle_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(event) => self.handle_behaviour_event(event),
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
                tracing::debug!(target: EVENTS_TARGET, event = "listen_addr", %address);
                // A relay hands its external addresses out with each reservation (a client
                // refuses a reservation without any), and being a relay is the operator's
                // decision: its own listen addresses are those.
                if self.relay_members.is_some() && !is_relayed(&address) {
                    self.swarm.add_external_address(address.clone());
                }
                self.emit(NetworkEvent::ListenAddr(address));
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                tracing::info!(%address, "no longer listening");
                if self.relay_members.is_some() && !is_relayed(&address) {
                    self.swarm.remove_external_address(&address);
                }
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                addresses,
                reason,
            } => {
                if !self.relay_listener_closed(listener_id, reason.as_ref().map(|_| ())) {
                    match reason {
                        Ok(()) => tracing::info!(?addresses, "listener closed"),
                        Err(error) => tracing::warn!(?addresses, %error, "listener failed"),
                    }
                }
            }
            // Out of descriptors, typically: libp2p-tcp pauses the listener and goes on.
            SwarmEvent::ListenerError { error, .. } => self.refusals.listener(&error),
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                self.peers
                    .connection_opened(peer_id, num_established.get(), endpoint.is_relayed());
                if endpoint.is_dialer() {
                    self.peers
                        .learn_address(peer_id, endpoint.get_remote_address().clone());
                }
                if num_established.get() == 1 {
                    let address = endpoint.get_remote_address();
                    let relayed = endpoint.is_relayed();
                    tracing::debug!(peer = %peer_id, %address, relayed, "peer connected");
                    tracing::debug!(target: EVENTS_TARGET, event = "peer_connected", peer = %peer_id);
                    self.emit(NetworkEvent::PeerConnected(peer_id));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                endpoint,
                ..
            } => {
                self.peers
                    .connection_closed(peer_id, num_established, endpoint.is_relayed());
                if num_established == 0 {
                    let cause = cause.map(|cause| cause.to_string());
                    tracing::debug!(peer = %peer_id, ?cause, "peer disconnected");
                    tracing::debug!(target: EVENTS_TARGET, event = "peer_disconnected", peer = %peer_id);
                    self.emit(NetworkEvent::PeerDisconnected(peer_id));
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => match peer_id {
                // A dial to a peer we are connected to: DCUtR's hole punching through a
                // relayed connection, which fails wherever the networks do not allow it. Not
                // a reason to give for anything else, so not recorded.
                Some(peer) if self.swarm.is_connected(&peer) => {
                    tracing::debug!(peer = %peer, %error, "extra dial to a connected peer failed");
                }
                Some(peer) => {
                    // Debug: an offline peer fails every retry; whoever asked for the
                    // connection reports the outcome (the outbox's last error, a warning).
                    tracing::debug!(peer = %peer, %error, "dial failed");
                    if let DialError::Denied { cause } = &error {
                        if let Some(reason) = refusal(cause) {
                            self.connection_refused(peer, reason);
                        } else if is_limit(cause) {
                            self.counters
                                .outbound_limited
                                .fetch_add(1, Ordering::Relaxed);
                            self.refusals.outbound(cause);
                        }
                    }
                    self.peers.record_dial_error(peer, error.to_string());
                }
                None => tracing::debug!(%error, "dial failed"),
            },
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                peer_id,
                ..
            } => {
                let refused = match (&error, peer_id) {
                    (ListenError::Denied { cause }, Some(peer)) => {
                        refusal(cause).map(|reason| (peer, reason))
                    }
                    _ => None,
                };
                if let ListenError::Denied { cause } = &error
                    && is_limit(cause)
                {
                    self.counters
                        .inbound_limited
                        .fetch_add(1, Ordering::Relaxed);
                    self.refusals.inbound(cause);
                }
                match refused {
                    Some((peer, reason)) => {
                        // `debug`: a refused peer may retry as often as it likes.
                        tracing::debug!(peer = %peer, %send_back_addr, ?reason, "incoming connection refused");
                        self.connection_refused(peer, reason);
                    }
                    None => {
                        tracing::debug!(?peer_id, %send_back_addr, %error, "incoming connection failed");
                    }
                }
            }
            SwarmEvent::Dialing { .. }
            | SwarmEvent::IncomingConnection { .. }
            | SwarmEvent::NewExternalAddrCandidate { .. }
            | SwarmEvent::ExternalAddrConfirmed { .. }
            | SwarmEvent::ExternalAddrExpired { .. }
            | SwarmEvent::NewExternalAddrOfPeer { .. } => {}
            // `SwarmEvent` is `#[non_exhaustive]`; a variant added by a libp2p upgrade shows
            // up here in trace logs until it gets a handler.
            other => tracing::trace!(event = ?other, "unhandled swarm event"),
        }
    }

    fn handle_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::RequestResponse(event) => self.handle_request_response(event),
            BehaviourEvent::Kademlia(event) => self.handle_kademlia(event),
            BehaviourEvent::Identify(event) => self.handle_identify(event),
            BehaviourEvent::Mdns(event) => self.handle_mdns(event),
            BehaviourEvent::Ping(event) => self.handle_ping(event),
            BehaviourEvent::Gossipsub(event) => self.handle_gossipsub(event),
            BehaviourEvent::RelayServer(event) => self.handle_relay_server(event),
            BehaviourEvent::RelayClient(event) => self.handle_relay_client(event),
            BehaviourEvent::Dcutr(event) => self.handle_dcutr(event),
            // The lists and limits report nothing: their refusals come as connection errors
            // above.
            BehaviourEvent::AllowList(never)
            | BehaviourEvent::BlockList(never)
            | BehaviourEvent::PendingPerAddress(never)
            | BehaviourEvent::ConnectionLimits(never) => match never {},
        }
    }

    fn handle_message(
        &mut self,
        peer: PeerId,
        message: request_response::Message<RequestFrame, Bytes>,
    ) {
        match message {
            request_response::Message::Request {
                request_id,
                request: RequestFrame::Data(request),
                channel,
            } => self.handle_inbound_request(peer, request_id, request, channel),
            request_response::Message::Request {
                request_id,
                request: RequestFrame::Refused(refused),
                channel,
            } => {
                // Dropping the channel closes the stream unanswered; the rest of the
                // frame is never read.
                drop(channel);
                self.handle_refused_request(peer, request_id, refused);
            }
            request_response::Message::Response {
                request_id,
                response,
            } => match self.requests.remove(request_id) {
                Some(pending) => {
                    tracing::debug!(peer = %peer, request_id = %request_id, len = response.len(), "response received");
                    let _ = pending.reply.send(Ok(response));
                }
                None => {
                    tracing::debug!(peer = %peer, request_id = %request_id, "response after the deadline; dropped");
                }
            },
        }
    }

    fn handle_request_response(&mut self, event: request_response::Event<RequestFrame, Bytes>) {
        match event {
            request_response::Event::Message { peer, message, .. } => {
                self.peers.touch(&peer);
                self.handle_message(peer, message);
            }
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                let Some(pending) = self.requests.remove(request_id) else {
                    tracing::debug!(peer = %peer, request_id = %request_id, %error, "failure after the deadline");
                    return;
                };
                // Debug: a peer that is offline, just left, or does not speak the protocol
                // fails requests as a matter of course; the caller gets the error and
                // reports what it means (a delivery's last error, a stuck document).
                tracing::debug!(peer = %peer, request_id = %request_id, %error, "request failed");
                let error = match error {
                    OutboundFailure::DialFailure => RequestError::DialFailure {
                        reason: self
                            .peers
                            .take_dial_error(&peer)
                            .unwrap_or_else(|| "dial failed".to_owned()),
                    },
                    OutboundFailure::Timeout => RequestError::Timeout,
                    OutboundFailure::ConnectionClosed => RequestError::ConnectionClosed,
                    OutboundFailure::UnsupportedProtocols => RequestError::UnsupportedProtocols,
                    OutboundFailure::Io(error) => RequestError::Io {
                        reason: error.to_string(),
                    },
                };
                let _ = pending.reply.send(Err(error));
            }
            request_response::Event::InboundFailure {
                peer,
                request_id,
                error: InboundFailure::ResponseOmission,
                ..
            } => {
                // The loop dropped the channel on purpose (a refused frame) or the router gave
                // no answer, which `handle_reply` has logged already.
                tracing::debug!(peer = %peer, request_id = %request_id, "inbound request closed unanswered");
            }
            request_response::Event::InboundFailure {
                peer,
                request_id,
                error: error @ InboundFailure::Timeout,
                ..
            } => {
                // This node did not answer in time: too busy, which its operator can mend.
                tracing::warn!(peer = %peer, request_id = %request_id, %error, "inbound request failed");
            }
            request_response::Event::InboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                // The peer left, or does not speak the protocol, before the answer went out;
                // a member asks again.
                tracing::debug!(peer = %peer, request_id = %request_id, %error, "inbound request failed");
            }
            request_response::Event::ResponseSent {
                peer, request_id, ..
            } => {
                tracing::debug!(peer = %peer, request_id = %request_id, "response sent");
            }
        }
    }

    fn handle_kademlia(&mut self, event: kad::Event) {
        match event {
            kad::Event::OutboundQueryProgressed { id, result, .. } => match result {
                kad::QueryResult::PutRecord(result) => {
                    let Some(reply) = self.kad_puts.remove(&id) else {
                        tracing::debug!(query = ?id, "put result for no waiter");
                        return;
                    };
                    let result = match result {
                        Ok(_) => Ok(()),
                        Err(kad::PutRecordError::QuorumFailed { .. }) => {
                            Err(NetworkError::KadQuorumFailed)
                        }
                        Err(kad::PutRecordError::Timeout { .. }) => Err(NetworkError::KadTimeout),
                    };
                    // Debug: a node with no peers yet (alone, or the first of its
                    // federation) stores its record only locally, which is normal; the
                    // caller gets the result and says what it means.
                    if let Err(error) = &result {
                        tracing::debug!(query = ?id, %error, "kademlia put incomplete");
                    }
                    let _ = reply.send(result);
                }
                kad::QueryResult::GetRecord(result) => self.handle_get_record(id, result),
                kad::QueryResult::RepublishRecord(Err(error)) => {
                    tracing::debug!(%error, "kademlia republish incomplete");
                }
                kad::QueryResult::Bootstrap(_)
                | kad::QueryResult::GetClosestPeers(_)
                | kad::QueryResult::GetProviders(_)
                | kad::QueryResult::StartProviding(_)
                | kad::QueryResult::RepublishProvider(_)
                | kad::QueryResult::RepublishRecord(Ok(_)) => {}
            },
            kad::Event::RoutingUpdated { peer, .. } => {
                tracing::trace!(peer = %peer, "kademlia routing updated");
            }
            kad::Event::InboundRequest { .. }
            | kad::Event::UnroutablePeer { .. }
            | kad::Event::RoutablePeer { .. }
            | kad::Event::PendingRoutablePeer { .. }
            | kad::Event::ModeChanged { .. } => {}
        }
    }

    /// The first record found answers the waiter and ends the query; a query that finishes
    /// without one answers `None`.
    fn handle_get_record(&mut self, id: kad::QueryId, result: kad::GetRecordResult) {
        let answer = match result {
            Ok(kad::GetRecordOk::FoundRecord(found)) => {
                if let Some(mut query) = self
                    .swarm
                    .behaviour_mut()
                    .kademlia
                    .as_mut()
                    .and_then(|kademlia| kademlia.query_mut(&id))
                {
                    query.finish();
                }
                Ok(Some(found.record.value))
            }
            Ok(kad::GetRecordOk::FinishedWithNoAdditionalRecord { .. })
            | Err(kad::GetRecordError::NotFound { .. }) => Ok(None),
            Err(kad::GetRecordError::Timeout { .. }) => Err(NetworkError::KadTimeout),
        };
        // After the first answer the entry is gone, so later steps of the query land here.
        if let Some(reply) = self.kad_gets.remove(&id) {
            let _ = reply.send(answer);
        }
    }

    fn handle_identify(&mut self, event: identify::Event) {
        match event {
            identify::Event::Received { peer_id, info, .. } => {
                self.peers.set_agent_version(peer_id, info.agent_version);
                if info.protocol_version != IDENTIFY_PROTOCOL_VERSION {
                    tracing::debug!(
                        peer = %peer_id,
                        protocol_version = %info.protocol_version,
                        "peer speaks another protocol version; not routing to it"
                    );
                    return;
                }
                let local = Protocol::P2p(*self.swarm.local_peer_id());
                for addr in info.listen_addrs {
                    // A relayed address through this node (we relay for the peer) cannot be
                    // dialed from here.
                    if addr.iter().any(|protocol| protocol == local) {
                        continue;
                    }
                    if self.peers.learn_address(peer_id, addr.clone())
                        && let Some(kademlia) = self.swarm.behaviour_mut().kademlia.as_mut()
                    {
                        kademlia.add_address(&peer_id, strip_p2p(addr));
                    }
                }
            }
            identify::Event::Error { peer_id, error, .. } => {
                tracing::debug!(peer = %peer_id, %error, "identify failed");
            }
            identify::Event::Sent { .. } | identify::Event::Pushed { .. } => {}
        }
    }

    fn handle_mdns(&mut self, event: mdns::Event) {
        match event {
            mdns::Event::Discovered(found) => {
                for (peer, addr) in found {
                    tracing::debug!(peer = %peer, %addr, "discovered on the local network");
                    if self.peers.learn_address(peer, addr.clone())
                        && let Some(kademlia) = self.swarm.behaviour_mut().kademlia.as_mut()
                    {
                        kademlia.add_address(&peer, strip_p2p(addr));
                    }
                }
            }
            mdns::Event::Expired(gone) => {
                for (peer, addr) in gone {
                    self.peers.forget_address(&peer, &strip_p2p(addr));
                }
            }
        }
    }

    fn handle_ping(&mut self, event: ping::Event) {
        match event.result {
            Ok(rtt) => self.peers.set_rtt(event.peer, rtt),
            Err(error) => tracing::debug!(peer = %event.peer, %error, "ping failed"),
        }
    }

    /// A request frame the codec refused: a violation (the node blocks the peer) when only
    /// a misbehaving peer sends it, otherwise a broken stream, logged only.
    fn handle_refused_request(
        &mut self,
        peer: PeerId,
        request_id: InboundRequestId,
        refused: FrameError,
    ) {
        if refused.is_violation() {
            let reason = refused.to_string();
            tracing::warn!(peer = %peer, request_id = %request_id, %reason, "protocol violation");
            tracing::debug!(target: EVENTS_TARGET, event = "protocol_violation", peer = %peer, %reason);
            self.emit(NetworkEvent::ProtocolViolation { peer, reason });
        } else {
            tracing::debug!(peer = %peer, request_id = %request_id, %refused, "inbound request frame incomplete");
        }
    }

    /// Sends `event` to subscribers; having none is fine.
    pub(crate) fn emit(&self, event: NetworkEvent) {
        let _ = self.events.send(event);
    }
}

/// Drops a trailing `/p2p/…` so Kademlia stores plain addresses.
fn strip_p2p(mut addr: libp2p::Multiaddr) -> libp2p::Multiaddr {
    if let Some(Protocol::P2p(_)) = addr.iter().last() {
        addr.pop();
    }
    addr
}
