//! The roster as the running node uses it: verified against the pinned root key, merged
//! from every source (the file an authority installs, gossip, peers on connect), indexed,
//! and judged at the time of use (validity windows, revocations, keys in their grace period).
//!
//! A node without a roster runs, but accepts nothing from peers and sends nothing: it does
//! not know who anyone is.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use libp2p::{Multiaddr, PeerId};
use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::keys::PublicKey;
use lienthong_protocol::roster::{
    AgencyRecord, MemberStatus, Role, RosterBundle, RosterError, RosterVersion,
};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::clock;
use crate::data_dir::{self, DataDir};
use crate::identity::peer_id_of;
use crate::roster::federation::read_public_key;

/// One member, with what the network layer needs precomputed.
#[derive(Debug, Clone)]
pub struct Member {
    /// The roster record, shared with the roster it came from.
    pub record: Arc<AgencyRecord>,
    /// Its peer id (derived from its key, and equal to the record's).
    pub peer_id: PeerId,
    /// The address hints that parse as multiaddrs.
    pub addresses: Vec<Multiaddr>,
}

/// A verified roster, indexed.
#[derive(Debug)]
pub struct Membership {
    bundle: RosterBundle,
    members: Vec<Member>,
    by_organ: HashMap<OrganId, usize>,
    /// Current peer ids, and previous ones with the time their grace ends.
    by_peer: HashMap<PeerId, (usize, Option<Timestamp>)>,
}

/// Why a roster was not taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MembershipError {
    /// `root.pub` or the roster file could not be read.
    #[error("cannot read the roster files in {dir}: {message}")]
    Files {
        /// The data directory.
        dir: String,
        /// What went wrong.
        message: String,
    },
    /// The roster does not verify against the pinned root key, is invalid, or is not newer.
    #[error("roster refused: {0}")]
    Refused(#[from] RosterError),
    /// A record's peer id does not match its key.
    #[error("roster record of {organ_id} names peer id {claimed}, but its key gives {derived}")]
    PeerIdMismatch {
        /// The agency.
        organ_id: OrganId,
        /// The peer id in the record.
        claimed: String,
        /// The peer id the key gives.
        derived: Box<PeerId>,
    },
}

impl MembershipError {
    /// A short label for metrics: `wrong_root`, `not_newer`, `invalid`, …
    pub fn label(&self) -> &'static str {
        match self {
            MembershipError::Files { .. } => "files",
            MembershipError::Refused(RosterError::WrongSigner { .. }) => "wrong_root",
            MembershipError::Refused(RosterError::NotNewer(_)) => "not_newer",
            MembershipError::Refused(
                RosterError::NotDelegated { .. } | RosterError::OutOfScope { .. },
            ) => "not_delegated",
            MembershipError::Refused(RosterError::BadSignature(_)) => "bad_signature",
            MembershipError::Refused(_) | MembershipError::PeerIdMismatch { .. } => "invalid",
        }
    }
}

impl Membership {
    /// Indexes a verified bundle, checking every peer id (current and previous) against its
    /// key.
    ///
    /// # Errors
    /// [`MembershipError::PeerIdMismatch`].
    pub fn new(bundle: RosterBundle) -> Result<Self, MembershipError> {
        let agencies = &bundle.roster().agencies;
        let mut members = Vec::with_capacity(agencies.len());
        let mut by_organ = HashMap::with_capacity(agencies.len());
        let mut by_peer = HashMap::with_capacity(agencies.len());
        for record in agencies {
            let derived = checked_peer_id(&record.organ_id, &record.public_key, &record.peer_id)?;
            for previous in &record.previous_keys {
                let old =
                    checked_peer_id(&record.organ_id, &previous.public_key, &previous.peer_id)?;
                by_peer.insert(old, (members.len(), Some(previous.until)));
            }
            let addresses = record
                .addresses
                .iter()
                .filter_map(|a| match a.parse::<Multiaddr>() {
                    // A node admitted before it ran may list its configured addresses:
                    // port 0 or 0.0.0.0 cannot be dialled, so they are no hint.
                    Ok(addr) if !dialable(&addr) => None,
                    Ok(addr) => Some(addr),
                    Err(e) => {
                        warn!(organ = %record.organ_id, address = %a, error = %e, "roster address is not a multiaddr; ignored");
                        None
                    }
                })
                .collect();
            by_organ.insert(record.organ_id.clone(), members.len());
            by_peer.insert(derived, (members.len(), None));
            members.push(Member {
                record: record.clone(),
                peer_id: derived,
                addresses,
            });
        }
        Ok(Membership {
            bundle,
            members,
            by_organ,
            by_peer,
        })
    }

    /// The bundle.
    pub fn bundle(&self) -> &RosterBundle {
        &self.bundle
    }

    /// The root section's serial.
    pub fn serial(&self) -> u64 {
        self.bundle.roster().root_serial
    }

    /// Every section's serial.
    pub fn version(&self) -> RosterVersion {
        self.bundle.version()
    }

    /// Every record, whatever its standing.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The record of an agency, whatever its standing.
    pub fn member(&self, organ_id: &OrganId) -> Option<&Member> {
        self.by_organ.get(organ_id).map(|i| &self.members[*i])
    }

    /// The agency if it is a member in good standing at `now`; otherwise why not (`None`
    /// when the roster does not list it at all).
    ///
    /// # Errors
    /// The agency's [`MemberStatus`] when it is listed but not active.
    pub fn active(
        &self,
        organ_id: &OrganId,
        now: Timestamp,
    ) -> Result<Option<&Member>, MemberStatus> {
        let Some(member) = self.member(organ_id) else {
            return Ok(None);
        };
        match member.record.status_at(now) {
            MemberStatus::Active => Ok(Some(member)),
            other => Err(other),
        }
    }

    /// The member whose node has this peer id: its current one, or a previous one still in
    /// its grace period.
    pub fn member_by_peer(&self, peer: &PeerId, now: Timestamp) -> Option<&Member> {
        let (i, until) = self.by_peer.get(peer)?;
        until
            .is_none_or(|until| now < until)
            .then(|| &self.members[*i])
    }

    /// Whether `key` speaks for `organ_id` at `now` (current key, or a previous one in its
    /// grace period).
    pub fn key_matches(&self, organ_id: &OrganId, key: &PublicKey, now: Timestamp) -> bool {
        self.member(organ_id)
            .is_some_and(|m| m.record.accepts_key(key, now))
    }

    /// Whether the peer is an active relay of the federation.
    pub fn is_relay(&self, peer: &PeerId, now: Timestamp) -> bool {
        self.member_by_peer(peer, now).is_some_and(|m| {
            m.record.role == Role::Relay && m.record.status_at(now) == MemberStatus::Active
        })
    }

    /// The active relays `organ_id` names, in the roster's order (its first choice
    /// first). Relays that are not (or no longer) active relay members are left out.
    pub fn relays_of(&self, organ_id: &OrganId, now: Timestamp) -> Vec<&Member> {
        let Some(member) = self.member(organ_id) else {
            return Vec::new();
        };
        member
            .record
            .relays
            .iter()
            .filter_map(|relay| self.member(relay))
            .filter(|relay| {
                relay.record.role == Role::Relay
                    && relay.record.status_at(now) == MemberStatus::Active
            })
            .collect()
    }

    /// The peer ids of the active members that name `relay` as one of their relays
    /// (current ones, and previous ones in their grace period): who may hold a
    /// reservation on it and have packages held there.
    pub fn members_of_relay(&self, relay: &OrganId, now: Timestamp) -> HashSet<PeerId> {
        self.by_peer
            .iter()
            .filter(|(_, (i, until))| {
                let record = &self.members[*i].record;
                until.is_none_or(|until| now < until)
                    && record.status_at(now) == MemberStatus::Active
                    && record.relays.contains(relay)
            })
            .map(|(peer, _)| *peer)
            .collect()
    }

    /// The peer ids allowed to connect at `now`: every active member's node, including old
    /// peer ids in their grace period.
    pub fn allowed_peers(&self, now: Timestamp) -> HashSet<PeerId> {
        self.by_peer
            .iter()
            .filter(|(_, (i, until))| {
                until.is_none_or(|until| now < until)
                    && self.members[*i].record.status_at(now) == MemberStatus::Active
            })
            .map(|(peer, _)| *peer)
            .collect()
    }
}

/// Whether an address hint can be dialled at all.
fn dialable(addr: &Multiaddr) -> bool {
    use libp2p::multiaddr::Protocol;
    !addr.iter().any(|p| match p {
        Protocol::Tcp(0) | Protocol::Udp(0) => true,
        Protocol::Ip4(ip) => ip.is_unspecified(),
        Protocol::Ip6(ip) => ip.is_unspecified(),
        _ => false,
    })
}

fn checked_peer_id(
    organ_id: &OrganId,
    key: &PublicKey,
    claimed: &str,
) -> Result<PeerId, MembershipError> {
    let derived = peer_id_of(key);
    if derived.to_string() != claimed {
        return Err(MembershipError::PeerIdMismatch {
            organ_id: organ_id.clone(),
            claimed: claimed.to_owned(),
            derived: Box::new(derived),
        });
    }
    Ok(derived)
}

/// The current membership, shared by every part of the node.
pub type MembershipWatch = watch::Receiver<Option<Arc<Membership>>>;

/// Where a roster offer came from; for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RosterSource {
    /// `roster.bin`, installed by an authority.
    File,
    /// The `lienthong/roster/1` gossip topic.
    Gossip(PeerId),
    /// A peer asked on connect.
    Peer(PeerId),
}

impl std::fmt::Display for RosterSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RosterSource::File => f.write_str("roster.bin"),
            RosterSource::Gossip(peer) => write!(f, "gossip from {peer}"),
            RosterSource::Peer(peer) => write!(f, "peer {peer}"),
        }
    }
}

/// Keeps the node's roster: pins the root key, takes only offers that verify to it and
/// are newer in some section, merges them, writes the result to `roster.current` before
/// publishing it, so a restart starts from the newest roster it had.
#[derive(Debug)]
pub struct RosterKeeper {
    dir: DataDir,
    /// The root key, pinned at the first roster the node took.
    root: Mutex<Option<PublicKey>>,
    sender: watch::Sender<Option<Arc<Membership>>>,
}

impl RosterKeeper {
    /// Loads what the node has (`roster.current`, then `roster.bin` merged in) and returns
    /// the keeper with the receiving side of its watch.
    ///
    /// # Errors
    /// When a roster file exists but cannot be used.
    pub fn load(dir: DataDir) -> Result<(RosterKeeper, MembershipWatch), MembershipError> {
        let files = |message: String| MembershipError::Files {
            dir: dir.root().display().to_string(),
            message,
        };
        let root = if dir.root_key().exists() {
            Some(read_public_key(&dir.root_key()).map_err(|e| files(format!("{e:#}")))?)
        } else {
            None
        };
        let (sender, receiver) = watch::channel(None);
        let keeper = RosterKeeper {
            dir: dir.clone(),
            root: Mutex::new(root),
            sender,
        };
        let now = clock::now();
        if let Some(root) = root {
            for path in [dir.current_roster(), dir.roster()] {
                if !path.exists() {
                    continue;
                }
                let wire =
                    std::fs::read(&path).map_err(|e| files(format!("{}: {e}", path.display())))?;
                match keeper.merge(Bytes::from(wire), &root, now) {
                    Ok(_) | Err(MembershipError::Refused(RosterError::NotNewer(_))) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok((keeper, receiver))
    }

    /// The node's data directory, where the roster files are.
    pub fn data_dir(&self) -> &DataDir {
        &self.dir
    }

    /// The pinned root key.
    pub fn root(&self) -> Option<PublicKey> {
        self.root.lock().ok().and_then(|r| *r)
    }

    /// Offers a roster bundle. Blocking (signature checks, fsync): call from a blocking
    /// thread.
    ///
    /// # Errors
    /// [`MembershipError`] when it is not taken: not verifying to the pinned root, invalid,
    /// or not newer than what the node has.
    pub fn offer(
        &self,
        wire: Bytes,
        source: RosterSource,
    ) -> Result<Arc<Membership>, MembershipError> {
        let root = {
            let mut pinned = self.root.lock().map_err(|_| MembershipError::Files {
                dir: self.dir.root().display().to_string(),
                message: "roster lock poisoned".to_owned(),
            })?;
            match *pinned {
                Some(root) => root,
                // A node not admitted yet pins the root an authority installs beside it.
                None if source == RosterSource::File => {
                    let root = read_public_key(&self.dir.root_key()).map_err(|e| {
                        MembershipError::Files {
                            dir: self.dir.root().display().to_string(),
                            message: format!("{e:#}"),
                        }
                    })?;
                    *pinned = Some(root);
                    root
                }
                None => {
                    return Err(MembershipError::Files {
                        dir: self.dir.root().display().to_string(),
                        message: "no root key pinned yet; the node takes its first roster from an authority".to_owned(),
                    });
                }
            }
        };
        let membership = self.merge(wire, &root, clock::now())?;
        info!(
            target: "lienthong::events::roster",
            version = %membership.version(),
            members = membership.members().len(),
            %source,
            "roster updated"
        );
        Ok(membership)
    }

    fn merge(
        &self,
        wire: Bytes,
        root: &PublicKey,
        now: Timestamp,
    ) -> Result<Arc<Membership>, MembershipError> {
        let offered = RosterBundle::from_wire(wire, root, now)?;
        let merged = match self.sender.borrow().as_ref() {
            Some(current) => current.bundle().merge(&offered, root, now)?,
            None => offered,
        };
        let membership = Arc::new(Membership::new(merged)?);
        data_dir::write_atomic(
            &self.dir.current_roster(),
            &membership.bundle().to_wire(),
            0o644,
        )
        .map_err(|e| MembershipError::Files {
            dir: self.dir.root().display().to_string(),
            message: format!("writing roster.current: {e}"),
        })?;
        self.sender.send_replace(Some(membership.clone()));
        Ok(membership)
    }
}
