//! The federation roster: who is a member, with which key, reachable how.
//!
//! A roster is signed by the federation's root authority (for a province's pilot, its
//! provincial office; nationally, the Government Office). Every node pins the root's public
//! key and accepts only a roster that verifies against it, so the roster is what binds an
//! agency id (`OrganId`) to the key that signs its packages and receipts.
//!
//! The roster travels as JSON signed byte for byte ([`SignedRoster`]): operators can read
//! it, and the signature never depends on re-serialising it.

mod error;
mod signed;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

pub use error::RosterError;
pub use signed::{ROSTER_DOMAIN, ROSTER_MAGIC, SignedRoster};

use crate::envelope::Timestamp;
use crate::keys::PublicKey;
use crate::organ_id::OrganId;

/// The directory of a federation at one serial number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    /// The federation's name, e.g. "Liên thông văn bản tỉnh Tây Ninh".
    pub federation: String,
    /// Increases with every change; a node never goes back to a lower serial.
    pub serial: u64,
    /// When the authority signed this version.
    pub issued_at: Timestamp,
    /// The member agencies.
    pub agencies: Vec<AgencyRecord>,
}

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

impl Roster {
    /// An empty roster, serial 0.
    pub fn new(federation: impl Into<String>, issued_at: Timestamp) -> Self {
        Roster {
            federation: federation.into(),
            serial: 0,
            issued_at,
            agencies: Vec::new(),
        }
    }

    /// The record of an agency.
    pub fn agency(&self, organ_id: &OrganId) -> Option<&AgencyRecord> {
        self.agencies.iter().find(|a| &a.organ_id == organ_id)
    }

    /// The record whose key is `key`.
    pub fn agency_by_key(&self, key: &PublicKey) -> Option<&AgencyRecord> {
        self.agencies.iter().find(|a| &a.public_key == key)
    }

    /// Adds or replaces the record with the same `OrganId`.
    pub fn upsert(&mut self, record: AgencyRecord) {
        match self
            .agencies
            .iter_mut()
            .find(|a| a.organ_id == record.organ_id)
        {
            Some(existing) => *existing = record,
            None => self.agencies.push(record),
        }
    }

    /// Checks what a signature cannot: one record per agency, one agency per key, names
    /// present, relays that are members with the relay role.
    ///
    /// # Errors
    /// [`RosterError::Invalid`] naming the record and the problem.
    pub fn validate(&self) -> Result<(), RosterError> {
        let mut ids = HashSet::new();
        let mut keys = HashSet::new();
        for record in &self.agencies {
            let invalid = |problem: String| RosterError::Invalid {
                organ_id: Some(record.organ_id.to_string()),
                problem,
            };
            if !ids.insert(&record.organ_id) {
                return Err(invalid("listed more than once".to_owned()));
            }
            if !keys.insert(record.public_key) {
                return Err(invalid(format!(
                    "its key {} is already another member's",
                    record.public_key.fmt_short()
                )));
            }
            if record.name.trim().is_empty() {
                return Err(invalid("has no name".to_owned()));
            }
            if record.peer_id.trim().is_empty() {
                return Err(invalid("has no peer id".to_owned()));
            }
        }
        for record in &self.agencies {
            for relay in &record.relays {
                match self.agency(relay) {
                    Some(r) if r.role == Role::Relay => {}
                    Some(_) => {
                        return Err(RosterError::Invalid {
                            organ_id: Some(record.organ_id.to_string()),
                            problem: format!("its relay {relay} does not have the relay role"),
                        });
                    }
                    None => {
                        return Err(RosterError::Invalid {
                            organ_id: Some(record.organ_id.to_string()),
                            problem: format!("its relay {relay} is not a member"),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}
