//! The roster as the running node uses it: verified against the pinned root key, indexed
//! by agency, by key and by peer id, and reloaded when `lienthong federation admit`
//! installs a new one.
//!
//! A node without a roster runs, but accepts nothing from peers and sends nothing: it does
//! not know who anyone is.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use libp2p::{Multiaddr, PeerId};
use lienthong_protocol::OrganId;
use lienthong_protocol::keys::PublicKey;
use lienthong_protocol::roster::{AgencyRecord, Role, SignedRoster};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::data_dir::DataDir;
use crate::federation::read_public_key;
use crate::identity::peer_id_of;

/// One member, with what the network layer needs precomputed.
#[derive(Debug, Clone)]
pub struct Member {
    /// The roster record.
    pub record: AgencyRecord,
    /// Its peer id (derived from its key, and equal to the record's).
    pub peer_id: PeerId,
    /// The address hints that parse as multiaddrs.
    pub addresses: Vec<Multiaddr>,
}

/// A verified roster, indexed.
#[derive(Debug)]
pub struct Membership {
    signed: SignedRoster,
    members: Vec<Member>,
    by_organ: HashMap<OrganId, usize>,
    by_peer: HashMap<PeerId, usize>,
}

/// Why a roster was not taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MembershipError {
    /// `root.pub` or `roster.bin` could not be read.
    #[error("cannot read the roster files in {dir}: {message}")]
    Files {
        /// The data directory.
        dir: String,
        /// What went wrong.
        message: String,
    },
    /// The roster does not verify against the pinned root key, or is invalid.
    #[error("roster refused: {0}")]
    Refused(#[from] lienthong_protocol::roster::RosterError),
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

impl Membership {
    /// Indexes a verified roster, checking every record's peer id against its key.
    ///
    /// # Errors
    /// [`MembershipError::PeerIdMismatch`].
    pub fn new(signed: SignedRoster) -> Result<Self, MembershipError> {
        let mut members = Vec::new();
        let mut by_organ = HashMap::new();
        let mut by_peer = HashMap::new();
        for record in &signed.roster().agencies {
            let derived = peer_id_of(&record.public_key);
            if derived.to_string() != record.peer_id {
                return Err(MembershipError::PeerIdMismatch {
                    organ_id: record.organ_id.clone(),
                    claimed: record.peer_id.clone(),
                    derived: Box::new(derived),
                });
            }
            let addresses = record
                .addresses
                .iter()
                .filter_map(|a| match a.parse::<Multiaddr>() {
                    Ok(addr) => Some(addr),
                    Err(e) => {
                        warn!(organ = %record.organ_id, address = %a, error = %e, "roster address is not a multiaddr; ignored");
                        None
                    }
                })
                .collect();
            by_organ.insert(record.organ_id.clone(), members.len());
            by_peer.insert(derived, members.len());
            members.push(Member {
                record: record.clone(),
                peer_id: derived,
                addresses,
            });
        }
        Ok(Membership {
            signed,
            members,
            by_organ,
            by_peer,
        })
    }

    /// Loads and verifies `DIR/roster.bin` against `DIR/root.pub`; `Ok(None)` when the node
    /// has not been admitted yet (neither file exists).
    ///
    /// # Errors
    /// [`MembershipError`] when the files exist but cannot be used.
    pub fn load(dir: &DataDir) -> Result<Option<Self>, MembershipError> {
        Membership::load_pinned(dir, None)
    }

    /// Like [`Membership::load`], but verifies against `pinned` when given: once a node has
    /// a root, a replaced `root.pub` does not change whom it trusts (that takes a restart,
    /// an operator's decision).
    ///
    /// # Errors
    /// [`MembershipError`] when the files exist but cannot be used.
    pub fn load_pinned(
        dir: &DataDir,
        pinned: Option<PublicKey>,
    ) -> Result<Option<Self>, MembershipError> {
        let files = |message: String| MembershipError::Files {
            dir: dir.root().display().to_string(),
            message,
        };
        if !dir.roster().exists() && !dir.root_key().exists() {
            return Ok(None);
        }
        let root = match pinned {
            Some(root) => root,
            None => read_public_key(&dir.root_key()).map_err(|e| files(format!("{e:#}")))?,
        };
        let wire = std::fs::read(dir.roster()).map_err(|e| files(format!("roster.bin: {e}")))?;
        let signed = SignedRoster::from_wire(Bytes::from(wire), &root)?;
        Ok(Some(Membership::new(signed)?))
    }

    /// The signed roster.
    pub fn signed(&self) -> &SignedRoster {
        &self.signed
    }

    /// The roster's serial number.
    pub fn serial(&self) -> u64 {
        self.signed.roster().serial
    }

    /// Every member.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The member with this agency id.
    pub fn member(&self, organ_id: &OrganId) -> Option<&Member> {
        self.by_organ.get(organ_id).map(|i| &self.members[*i])
    }

    /// The member whose node has this peer id.
    pub fn member_by_peer(&self, peer: &PeerId) -> Option<&Member> {
        self.by_peer.get(peer).map(|i| &self.members[*i])
    }

    /// Whether `key` is the roster's key for `organ_id`.
    pub fn key_matches(&self, organ_id: &OrganId, key: &PublicKey) -> bool {
        self.member(organ_id)
            .is_some_and(|m| &m.record.public_key == key)
    }

    /// Whether the peer is one of the federation's relays.
    pub fn is_relay(&self, peer: &PeerId) -> bool {
        self.member_by_peer(peer)
            .is_some_and(|m| m.record.role == Role::Relay)
    }
}

/// The current membership, shared by every part of the node.
pub type MembershipWatch = watch::Receiver<Option<Arc<Membership>>>;

/// Watches the data directory and publishes each new valid roster with a higher serial.
/// A roster that fails to verify is logged and ignored: the node keeps the one it has.
pub(crate) async fn watch_roster(
    dir: DataDir,
    sender: watch::Sender<Option<Arc<Membership>>>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut seen = stamp(&dir.roster());
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        let now = stamp(&dir.roster());
        if now == seen {
            continue;
        }
        seen = now;
        // The root is pinned by the first roster the node took.
        let pinned = sender.borrow().as_ref().map(|m| *m.signed().signer());
        let loaded = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || Membership::load_pinned(&dir, pinned)).await
        };
        match loaded {
            Ok(Ok(Some(membership))) => {
                let current = sender.borrow().as_ref().map_or(0, |m| m.serial());
                let had_one = sender.borrow().is_some();
                if had_one && membership.serial() <= current {
                    warn!(
                        serial = membership.serial(),
                        current, "roster with a serial not above the current one ignored"
                    );
                    continue;
                }
                info!(
                    serial = membership.serial(),
                    members = membership.members().len(),
                    "roster loaded"
                );
                sender.send_replace(Some(Arc::new(membership)));
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => warn!(error = %e, "new roster refused; keeping the current one"),
            Err(e) => warn!(error = %e, "roster reload task failed"),
        }
    }
}

/// What identifies a version of a file cheaply: modification time and length.
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}
