//! The federation roster: who is a member, with which key, reachable how, admitted by whom.
//!
//! A federation has one **root authority** (nationally the Government Office; for a pilot,
//! the provincial office). The root signs a [`RosterSection`] holding the agencies it admits
//! itself and its [`Delegation`]s: each lets a provincial authority admit the agencies under
//! one level-1 code (`*.H53` for Tây Ninh) in a section of its own, and possibly designate
//! relays. Every node pins the root key; a [`RosterBundle`] (the root section and the
//! delegated ones) is taken only when every section verifies back to that key.
//!
//! Each section has its own monotonic serial. Nodes merge bundles section by section, keeping
//! the highest serial of each signer, so updates from different authorities travel
//! independently and an old bundle can never roll a section back.
//!
//! Records carry validity windows, revocations and the keys an agency used before a
//! rotation (accepted until a date, so that packages and receipts in flight at the rotation
//! still verify). Which of these apply is decided at the time of use ([`Roster::status`]).
//!
//! Sections travel as JSON signed byte for byte: operators can read them, and a signature
//! never depends on re-serialising.

mod bundle;
mod email_unit;
mod error;
mod section;

use serde::{Deserialize, Serialize};

pub use bundle::{BUNDLE_MAGIC, Roster, RosterBundle, RosterVersion};
pub use email_unit::EmailUnit;
pub use error::RosterError;
pub use section::{ROSTER_DOMAIN, ROSTER_MAGIC, RosterSection, SignedSection};

use crate::envelope::Timestamp;
use crate::keys::PublicKey;
use crate::organ_id::{LevelOne, OrganId};
use crate::seal::EncryptionKey;

/// One member agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencyRecord {
    /// The agency's id.
    pub organ_id: OrganId,
    /// Its name, for people.
    pub name: String,
    /// The key that signs its packages and receipts; its node's libp2p identity too.
    pub public_key: PublicKey,
    /// The libp2p peer id derived from `public_key`, written out for operators. The node
    /// checks that it matches the key.
    pub peer_id: String,
    /// Addresses the node listens on (multiaddrs), as hints for dialing it.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// The relays that bridge to it and hold packages for it when it is offline.
    #[serde(default)]
    pub relays: Vec<OrganId>,
    /// What the node does.
    #[serde(default)]
    pub role: Role,
    /// Not a member before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
    /// Not a member after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
    /// Set when the authority revoked the agency: nothing it signs is accepted any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revocation>,
    /// Keys the agency used before a rotation, each accepted until its date.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_keys: Vec<PreviousKey>,
    /// The X25519 key packages held at a relay are sealed to: the public half of
    /// [`EncryptionSecret::derive`](crate::seal::EncryptionSecret::derive) of the agency's
    /// signing key. `None` means the agency has not published one, so nothing can be held
    /// for it at a relay; senders must reach it directly. It changes with `public_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_key: Option<EncryptionKey>,
}

/// A revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// When the authority revoked the agency.
    pub at: Timestamp,
    /// Why, for the operators who will see packages refused.
    pub reason: String,
}

/// A key an agency no longer uses, still accepted for a grace period after a rotation so
/// that packages and receipts it signed just before are not lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousKey {
    /// The old key.
    pub public_key: PublicKey,
    /// The old node's peer id.
    pub peer_id: String,
    /// Accepted until this time.
    pub until: Timestamp,
}

/// What a member node does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An agency's own node.
    #[default]
    Agency,
    /// A provincial relay: bridges networks and keeps mailboxes for its members.
    Relay,
}

/// The root's permission for another authority to admit agencies under one level-1 code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    /// The delegated authority, e.g. "UBND tỉnh Tây Ninh".
    pub name: String,
    /// The key that signs its section.
    pub authority_key: PublicKey,
    /// The level-1 code whose agencies it may admit, e.g. `H53`.
    pub scope: LevelOne,
    /// Whether it may designate relays (records with the relay role).
    #[serde(default)]
    pub relays: bool,
    /// Valid from this time.
    pub valid_from: Timestamp,
    /// Valid until this time, if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
}

impl Delegation {
    /// Whether the delegation holds at `now`.
    pub fn is_valid_at(&self, now: Timestamp) -> bool {
        self.valid_from <= now && self.valid_until.is_none_or(|until| now < until)
    }
}

/// Whether a record makes an agency a member at some time, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberStatus {
    /// A member.
    Active,
    /// Not a member yet (`valid_from` is later).
    NotYetValid(Timestamp),
    /// No longer a member (`valid_until` has passed).
    Expired(Timestamp),
    /// Revoked.
    Revoked(Revocation),
}

impl AgencyRecord {
    /// A plain record: no validity limits, not revoked, no previous keys, no encryption key.
    pub fn new(
        organ_id: OrganId,
        name: impl Into<String>,
        public_key: PublicKey,
        peer_id: impl Into<String>,
    ) -> Self {
        AgencyRecord {
            organ_id,
            name: name.into(),
            public_key,
            peer_id: peer_id.into(),
            addresses: Vec::new(),
            relays: Vec::new(),
            role: Role::Agency,
            valid_from: None,
            valid_until: None,
            revoked: None,
            previous_keys: Vec::new(),
            encryption_key: None,
        }
    }

    /// The record's standing at `now`.
    pub fn status_at(&self, now: Timestamp) -> MemberStatus {
        if let Some(revocation) = &self.revoked {
            return MemberStatus::Revoked(revocation.clone());
        }
        if let Some(from) = self.valid_from.filter(|from| now < *from) {
            return MemberStatus::NotYetValid(from);
        }
        if let Some(until) = self.valid_until.filter(|until| now >= *until) {
            return MemberStatus::Expired(until);
        }
        MemberStatus::Active
    }

    /// Whether `key` speaks for this agency at `now`: its current key, or a previous one
    /// still within its grace period.
    pub fn accepts_key(&self, key: &PublicKey, now: Timestamp) -> bool {
        &self.public_key == key
            || self
                .previous_keys
                .iter()
                .any(|p| &p.public_key == key && now < p.until)
    }
}

impl std::fmt::Display for MemberStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemberStatus::Active => f.write_str("active"),
            MemberStatus::NotYetValid(from) => write!(f, "not a member before {from}"),
            MemberStatus::Expired(until) => write!(f, "membership ended at {until}"),
            MemberStatus::Revoked(r) => write!(f, "revoked at {}: {}", r.at, r.reason),
        }
    }
}
