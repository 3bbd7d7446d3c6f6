//! Gossip: the messages the node receives ([`GossipMessage`]), how it reports on them
//! ([`GossipAcceptance`]), and the event loop's gossipsub handlers.
//!
//! gossipsub runs with application validation: a received message is held in gossipsub's
//! cache, unforwarded, until the node reports on it. The node checks the author's signature
//! on the content (the roster) off the loop, then calls
//! [`report_gossip`](super::NetworkHandle::report_gossip). Only `Accept` forwards it, so a
//! forged or replayed roster stops at the first honest node.
//!
//! The report must come within gossipsub's cache lifetime (ten heartbeats, about 10 s): after
//! that the message is gone, the report is only logged, and nothing is forwarded.

use std::fmt;

use bytes::Bytes;
use libp2p::PeerId;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, PublishError};
use tokio::sync::mpsc;

use super::event_loop::EventLoop;
use super::swarm_event::EVENTS_TARGET;
use super::{NetworkError, NetworkEvent};

/// A gossip message for the node, not yet forwarded to anyone.
///
/// The node must answer it with [`report_gossip`](super::NetworkHandle::report_gossip)
/// (`id` and `source` as given) within a few seconds; until then no peer gets it from here.
pub struct GossipMessage {
    /// The topic it was published on.
    pub topic: String,
    /// The peer that forwarded it to us (not necessarily its author). A rejection counts
    /// against this peer.
    pub source: PeerId,
    /// Its author, whose signature gossipsub has checked (`ValidationMode::Strict`). Always
    /// `Some` in practice; `Option` because gossipsub's message type allows anonymous ones.
    pub author: Option<PeerId>,
    /// What to report on.
    pub id: GossipMessageId,
    /// The content, undecoded.
    pub data: Bytes,
}

impl fmt::Debug for GossipMessage {
    // By hand: the content is shown by length only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GossipMessage")
            .field("topic", &self.topic)
            .field("source", &self.source)
            .field("author", &self.author)
            .field("id", &self.id)
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// Identifies a received gossip message when reporting on it. Opaque.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct GossipMessageId(gossipsub::MessageId);

impl fmt::Debug for GossipMessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GossipMessageId({})", self.0)
    }
}

impl fmt::Display for GossipMessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The node's verdict on a [`GossipMessage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GossipAcceptance {
    /// Valid: forward it to the mesh.
    Accept,
    /// Invalid (bad signature, forged, older than what we hold on purpose): drop it and hold
    /// it against the peer that sent it. Not forwarded.
    Reject,
    /// Not invalid, but not worth forwarding (a duplicate, no room to check it): drop it.
    Ignore,
}

impl From<GossipAcceptance> for MessageAcceptance {
    fn from(acceptance: GossipAcceptance) -> Self {
        match acceptance {
            GossipAcceptance::Accept => Self::Accept,
            GossipAcceptance::Reject => Self::Reject,
            GossipAcceptance::Ignore => Self::Ignore,
        }
    }
}

impl EventLoop {
    /// Publishes `data` on `topic`, signed by this node. No peer subscribed yet is fine: the
    /// message is simply not sent, and the node publishes again (or is asked) later.
    pub(crate) fn publish_gossip(
        &mut self,
        topic: String,
        data: Bytes,
    ) -> Result<(), NetworkError> {
        let len = data.len();
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        match gossipsub.publish(IdentTopic::new(topic.as_str()), Vec::from(data)) {
            Ok(id) => {
                tracing::debug!(%topic, message_id = %id, len, "gossip published");
                Ok(())
            }
            Err(PublishError::NoPeersSubscribedToTopic) => {
                tracing::debug!(%topic, len, "no peer subscribed to the topic; gossip not sent");
                Ok(())
            }
            Err(source) => {
                tracing::warn!(%topic, len, error = %source, "cannot publish gossip");
                Err(NetworkError::Publish { topic, source })
            }
        }
    }

    /// Passes the node's verdict on to gossipsub: forward, or drop (and count it against the
    /// source).
    pub(crate) fn report_gossip(
        &mut self,
        id: &GossipMessageId,
        source: PeerId,
        acceptance: GossipAcceptance,
    ) {
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        if gossipsub.report_message_validation_result(&id.0, &source, acceptance.into()) {
            tracing::debug!(message_id = %id, source = %source, ?acceptance, "gossip reported");
        } else {
            // Reported twice, or too late: the cache has let it go, and nothing was forwarded.
            tracing::debug!(message_id = %id, source = %source, ?acceptance, "gossip report for a message no longer held");
        }
    }

    pub(crate) fn handle_gossipsub(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => self.handle_gossip_message(propagation_source, message_id, message),
            gossipsub::Event::Subscribed { peer_id, topic } => {
                tracing::debug!(peer = %peer_id, %topic, "peer subscribed");
                self.emit(NetworkEvent::TopicSubscribed {
                    peer: peer_id,
                    topic: topic.into_string(),
                });
            }
            gossipsub::Event::Unsubscribed { peer_id, topic } => {
                tracing::debug!(peer = %peer_id, %topic, "peer unsubscribed");
            }
            gossipsub::Event::GossipsubNotSupported { peer_id } => {
                tracing::debug!(peer = %peer_id, "peer does not speak gossip");
            }
            gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            } => {
                tracing::warn!(peer = %peer_id, ?failed_messages, "peer too slow for gossip");
            }
        }
    }

    /// Queues a received message for the node; when the queue is full (or the node has gone)
    /// it is reported `Ignore` at once, so it is neither held nor forwarded from here.
    fn handle_gossip_message(
        &mut self,
        source: PeerId,
        id: gossipsub::MessageId,
        message: gossipsub::Message,
    ) {
        self.counters
            .gossip_received
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = GossipMessageId(id);
        let topic = message.topic.into_string();
        let len = message.data.len();
        let received = GossipMessage {
            topic,
            source,
            author: message.source,
            id: id.clone(),
            data: Bytes::from(message.data),
        };
        match self.gossip.try_send(received) {
            Ok(()) => {
                tracing::debug!(message_id = %id, source = %source, author = ?message.source, len, "gossip received");
                tracing::debug!(target: EVENTS_TARGET, event = "gossip_received", message_id = %id, source = %source);
            }
            Err(error) => {
                let why = match error {
                    mpsc::error::TrySendError::Full(_) => "gossip queue full",
                    mpsc::error::TrySendError::Closed(_) => "no gossip consumer",
                };
                tracing::warn!(message_id = %id, source = %source, why, "dropping gossip");
                self.report_gossip(&id, source, GossipAcceptance::Ignore);
            }
        }
    }
}
