//! Who may connect: the allow list (federation membership) and the temporary block list
//! (misbehaving peers), and the event loop's handlers for them.
//!
//! Both lists are libp2p's `allow_block_list` behaviours, which refuse a connection as the
//! swarm sets it up (in either direction) and report it as `ConnectionDenied`. The loop adds:
//!
//! - an allow list that can be off (`None`: no roster yet, everyone allowed), which the
//!   libp2p behaviour cannot express on its own;
//! - expiry of blocks, kept in [`Blocks`] and lifted by a timer arm of the loop;
//! - closing connections already open to a peer that is no longer welcome (libp2p's
//!   `disallow_peer` closes them only for a peer that was in the set, and switching the list
//!   on closes nothing), each announced as a [`NetworkEvent::ConnectionRefused`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use libp2p::PeerId;
use libp2p::allow_block_list::{self, AllowedPeers};
use libp2p::swarm::ConnectionDenied;
use tokio::time::Instant;

use super::NetworkEvent;
use super::event_loop::EventLoop;
use super::swarm_event::EVENTS_TARGET;

/// Stands in for "forever" when `now + duration` does not fit an `Instant`.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// Why a connection was refused or closed by this node's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusedReason {
    /// The peer is not in the allow list (not a federation member).
    NotAllowed,
    /// The peer is blocked for a while.
    Blocked,
}

/// Blocked peers and when each block ends, earliest first.
#[derive(Debug, Default)]
pub(crate) struct Blocks {
    until: HashMap<PeerId, Instant>,
    expiries: BTreeSet<(Instant, PeerId)>,
}

impl Blocks {
    /// Blocks `peer` until `until`, or keeps a later end already set: blocking again extends
    /// a block, never shortens it. Returns when the block now ends.
    pub(crate) fn block(&mut self, peer: PeerId, until: Instant) -> Instant {
        if let Some(&current) = self.until.get(&peer) {
            if current >= until {
                return current;
            }
            self.expiries.remove(&(current, peer));
        }
        self.until.insert(peer, until);
        self.expiries.insert((until, peer));
        until
    }

    /// Lifts the block on `peer`; whether there was one.
    pub(crate) fn remove(&mut self, peer: &PeerId) -> bool {
        match self.until.remove(peer) {
            Some(until) => {
                self.expiries.remove(&(until, *peer));
                true
            }
            None => false,
        }
    }

    pub(crate) fn contains(&self, peer: &PeerId) -> bool {
        self.until.contains_key(peer)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.until.is_empty()
    }

    /// Every blocked peer with the time its block has left at `now`.
    pub(crate) fn remaining(&self, now: Instant) -> Vec<(PeerId, Duration)> {
        self.expiries
            .iter()
            .map(|&(until, peer)| (peer, until.saturating_duration_since(now)))
            .collect()
    }

    /// Waits until the earliest block ends and returns that peer (still blocked: the caller
    /// lifts it). Pending forever when no one is blocked.
    ///
    /// Cancel-safe: it changes nothing, so dropping it in a `select!` loses nothing.
    pub(crate) async fn next_expired(&self) -> PeerId {
        match self.expiries.first() {
            Some(&(until, peer)) => {
                tokio::time::sleep_until(until).await;
                peer
            }
            None => std::future::pending().await,
        }
    }
}

/// Which list refused a connection, if it was one of ours.
pub(crate) fn refusal(cause: &ConnectionDenied) -> Option<RefusedReason> {
    if cause
        .downcast_ref::<allow_block_list::NotAllowed>()
        .is_some()
    {
        Some(RefusedReason::NotAllowed)
    } else if cause.downcast_ref::<allow_block_list::Blocked>().is_some() {
        Some(RefusedReason::Blocked)
    } else {
        None
    }
}

impl EventLoop {
    /// Whether the allow list lets `peer` in (always, while it is off).
    pub(crate) fn is_allowed(&self, peer: &PeerId) -> bool {
        self.swarm
            .behaviour()
            .allow_list
            .as_ref()
            .is_none_or(|list| list.allowed_peers().contains(peer))
    }

    pub(crate) fn is_blocked(&self, peer: &PeerId) -> bool {
        self.blocks.contains(peer)
    }

    /// Replaces the allow list (`None`: everyone allowed) and closes the connections of every
    /// peer it leaves out.
    pub(crate) fn set_allowed(&mut self, peers: Option<HashSet<PeerId>>) {
        let behaviour = self.swarm.behaviour_mut();
        let Some(peers) = peers else {
            if behaviour.allow_list.is_enabled() {
                behaviour.allow_list = None.into();
                tracing::info!("allow list off: every peer may connect");
            }
            return;
        };
        match behaviour.allow_list.as_mut() {
            Some(list) => {
                let gone: Vec<PeerId> = list.allowed_peers().difference(&peers).copied().collect();
                for peer in gone {
                    list.disallow_peer(peer);
                }
                for peer in &peers {
                    list.allow_peer(*peer);
                }
            }
            None => {
                let mut list = allow_block_list::Behaviour::<AllowedPeers>::default();
                for peer in &peers {
                    list.allow_peer(*peer);
                }
                behaviour.allow_list = Some(list).into();
            }
        }
        tracing::info!(allowed = peers.len(), "allow list set");
        let outside: Vec<PeerId> = self
            .swarm
            .connected_peers()
            .filter(|peer| !peers.contains(peer))
            .copied()
            .collect();
        for peer in outside {
            self.close_refused(peer, RefusedReason::NotAllowed);
        }
    }

    /// Blocks `peer` for `duration` (or longer, if it is blocked for longer already) and
    /// closes its connections.
    pub(crate) fn block(&mut self, peer: PeerId, duration: Duration) {
        let now = Instant::now();
        let until = now.checked_add(duration).unwrap_or(now + FOREVER);
        let until = self.blocks.block(peer, until);
        self.swarm.behaviour_mut().block_list.block_peer(peer);
        let remaining = until.saturating_duration_since(now);
        tracing::info!(peer = %peer, ?remaining, "peer blocked");
        tracing::debug!(target: EVENTS_TARGET, event = "peer_blocked", peer = %peer, remaining_ms = remaining.as_millis());
        self.close_refused(peer, RefusedReason::Blocked);
    }

    /// Every blocked peer and the time its block has left.
    pub(crate) fn blocked(&self) -> Vec<(PeerId, Duration)> {
        self.blocks.remaining(Instant::now())
    }

    /// Lifts the block on `peer` once its time is up.
    pub(crate) fn unblock(&mut self, peer: PeerId) {
        if !self.blocks.remove(&peer) {
            tracing::debug!(peer = %peer, "unblock of a peer not blocked");
            return;
        }
        self.swarm.behaviour_mut().block_list.unblock_peer(peer);
        tracing::info!(peer = %peer, "peer unblocked");
        tracing::debug!(target: EVENTS_TARGET, event = "peer_unblocked", peer = %peer);
        self.emit(NetworkEvent::PeerUnblocked(peer));
    }

    /// Closes every connection to `peer`, if it has any, and says why.
    fn close_refused(&mut self, peer: PeerId, reason: RefusedReason) {
        if self.swarm.disconnect_peer_id(peer).is_ok() {
            tracing::info!(peer = %peer, ?reason, "closing connections of a refused peer");
            self.connection_refused(peer, reason);
        }
    }

    /// Announces that the lists refused (or closed) a connection of `peer`.
    pub(crate) fn connection_refused(&self, peer: PeerId, reason: RefusedReason) {
        tracing::debug!(target: EVENTS_TARGET, event = "connection_refused", peer = %peer, ?reason);
        self.emit(NetworkEvent::ConnectionRefused { peer, reason });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn blocking_again_extends_and_never_shortens() {
        let mut blocks = Blocks::default();
        let peer = PeerId::random();
        let now = Instant::now();

        blocks.block(peer, now + Duration::from_secs(1));
        blocks.block(peer, now + Duration::from_secs(60));
        let kept = blocks.block(peer, now + Duration::from_secs(5));

        assert_eq!(kept, now + Duration::from_secs(60));
        assert_eq!(blocks.remaining(now), vec![(peer, Duration::from_secs(60))]);
    }

    #[tokio::test(start_paused = true)]
    async fn expiries_come_earliest_first() {
        let mut blocks = Blocks::default();
        let (early, late) = (PeerId::random(), PeerId::random());
        let now = Instant::now();
        blocks.block(late, now + Duration::from_secs(10));
        blocks.block(early, now + Duration::from_secs(2));

        assert_eq!(blocks.next_expired().await, early);
        assert!(Instant::now() >= now + Duration::from_secs(2));
        assert!(blocks.remove(&early));
        assert_eq!(blocks.next_expired().await, late);
        assert!(blocks.remove(&late));
        assert!(blocks.is_empty());
        assert!(!blocks.remove(&late));
    }
}
