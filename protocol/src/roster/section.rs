//! One authority's signed part of the roster.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{AgencyRecord, Delegation, EmailUnit, RosterError};
use crate::envelope::Timestamp;
use crate::keys::{AgencyKey, PUBLIC_KEY_LEN, PublicKey, SIGNATURE_LEN, Signature};

/// Signing domain of roster sections, so no other signed object can be passed off as one.
pub const ROSTER_DOMAIN: &str = "lienthong/roster/v1";
/// First four bytes of a signed section.
pub const ROSTER_MAGIC: &[u8; 4] = b"LTRS";
const VERSION: u8 = 1;
const PREFIX_LEN: usize = 4 + 1 + PUBLIC_KEY_LEN + SIGNATURE_LEN + 4;

/// What one authority signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterSection {
    /// The federation's name, e.g. "Liên thông văn bản tỉnh Tây Ninh".
    pub federation: String,
    /// The signing authority's name.
    #[serde(default)]
    pub authority: String,
    /// Increases with every change this authority makes.
    pub serial: u64,
    /// When the authority signed this version.
    pub issued_at: Timestamp,
    /// The agencies this authority admits. Shared, not copied, with the effective roster
    /// and a node's membership index: a national roster lists a thousand agencies, and a
    /// province run on one machine holds one roster per node.
    #[serde(default)]
    pub agencies: Vec<Arc<AgencyRecord>>,
    /// Delegations to other authorities; honoured only in the root's section.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delegations: Vec<Delegation>,
    /// Units this authority lists as reached by official email (they run no node).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_units: Vec<EmailUnit>,
}

impl RosterSection {
    /// An empty section, serial 0.
    pub fn new(
        federation: impl Into<String>,
        authority: impl Into<String>,
        issued_at: Timestamp,
    ) -> Self {
        RosterSection {
            federation: federation.into(),
            authority: authority.into(),
            serial: 0,
            issued_at,
            agencies: Vec::new(),
            delegations: Vec::new(),
            email_units: Vec::new(),
        }
    }

    /// The record of an agency.
    pub fn agency(&self, organ_id: &crate::OrganId) -> Option<&AgencyRecord> {
        self.agencies
            .iter()
            .find(|a| &a.organ_id == organ_id)
            .map(|a| &**a)
    }

    /// The record of an agency, to change it.
    pub fn agency_mut(&mut self, organ_id: &crate::OrganId) -> Option<&mut AgencyRecord> {
        self.agencies
            .iter_mut()
            .find(|a| &a.organ_id == organ_id)
            .map(Arc::make_mut)
    }

    /// Adds or replaces the email unit with the same `OrganId`.
    pub fn upsert_email_unit(&mut self, unit: EmailUnit) {
        match self
            .email_units
            .iter_mut()
            .find(|u| u.organ_id == unit.organ_id)
        {
            Some(existing) => *existing = unit,
            None => self.email_units.push(unit),
        }
    }

    /// Adds or replaces the record with the same `OrganId`.
    pub fn upsert(&mut self, record: AgencyRecord) {
        match self.agency_mut(&record.organ_id.clone()) {
            Some(existing) => *existing = record,
            None => self.agencies.push(Arc::new(record)),
        }
    }

    /// What a signature cannot check within one section: one record per agency, one agency
    /// per key, names and peer ids present, delegations to distinct keys.
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
            if let (Some(from), Some(until)) = (record.valid_from, record.valid_until)
                && until <= from
            {
                return Err(invalid("its validity ends before it starts".to_owned()));
            }
        }
        for unit in &self.email_units {
            unit.validate()?;
            if !ids.insert(&unit.organ_id) {
                return Err(RosterError::Invalid {
                    organ_id: Some(unit.organ_id.to_string()),
                    problem: "listed more than once (as a member or an email unit)".to_owned(),
                });
            }
        }
        let mut addresses = HashSet::new();
        for unit in &self.email_units {
            if !addresses.insert(unit.address.to_ascii_lowercase()) {
                return Err(RosterError::Invalid {
                    organ_id: Some(unit.organ_id.to_string()),
                    problem: format!("its address {} is another unit's too", unit.address),
                });
            }
        }
        let mut delegated = HashSet::new();
        for delegation in &self.delegations {
            if !delegated.insert(delegation.authority_key) {
                return Err(RosterError::Invalid {
                    organ_id: None,
                    problem: format!(
                        "two delegations to the key {}",
                        delegation.authority_key.fmt_short()
                    ),
                });
            }
        }
        Ok(())
    }
}

/// A section with its authority's signature over its exact JSON bytes.
///
/// Wire form: `magic "LTRS" ‖ version 1 ‖ signer key (32) ‖ signature (64) ‖ u32 BE length ‖
/// JSON`. The signature covers `u32 BE length of the domain ‖ domain ‖ JSON`.
#[derive(Debug, Clone)]
pub struct SignedSection {
    section: RosterSection,
    signer: PublicKey,
    wire: Bytes,
}

fn signed_message(payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(4 + ROSTER_DOMAIN.len() + payload.len());
    message.extend_from_slice(&(ROSTER_DOMAIN.len() as u32).to_be_bytes());
    message.extend_from_slice(ROSTER_DOMAIN.as_bytes());
    message.extend_from_slice(payload);
    message
}

impl SignedSection {
    /// Validates and signs a section.
    ///
    /// # Errors
    /// [`RosterError::Invalid`] when the section does not validate.
    pub fn sign(authority: &AgencyKey, section: RosterSection) -> Result<Self, RosterError> {
        section.validate()?;
        let payload = serde_json::to_vec_pretty(&section).map_err(RosterError::Payload)?;
        let signer = authority.public_key();
        let signature = authority.sign(&signed_message(&payload));
        let mut wire = Vec::with_capacity(PREFIX_LEN + payload.len());
        wire.extend_from_slice(ROSTER_MAGIC);
        wire.push(VERSION);
        wire.extend_from_slice(signer.as_bytes());
        wire.extend_from_slice(signature.as_bytes());
        wire.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        wire.extend_from_slice(&payload);
        Ok(SignedSection {
            section,
            signer,
            wire: Bytes::from(wire),
        })
    }

    /// Reads a signed section and verifies its signature, whoever signed it; the caller
    /// decides whether that signer may sign it. The signature is checked before the JSON is
    /// parsed.
    ///
    /// # Errors
    /// [`RosterError`] saying what was wrong.
    pub fn from_wire(wire: Bytes) -> Result<Self, RosterError> {
        if wire.len() < 4 || &wire[..4] != ROSTER_MAGIC {
            return Err(RosterError::BadMagic);
        }
        if wire.len() < PREFIX_LEN {
            return Err(RosterError::Truncated("the header is incomplete"));
        }
        if wire[4] != VERSION {
            return Err(RosterError::UnsupportedVersion(wire[4]));
        }
        let mut signer = [0u8; PUBLIC_KEY_LEN];
        signer.copy_from_slice(&wire[5..5 + PUBLIC_KEY_LEN]);
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(&wire[5 + PUBLIC_KEY_LEN..5 + PUBLIC_KEY_LEN + SIGNATURE_LEN]);
        let mut len = [0u8; 4];
        len.copy_from_slice(&wire[PREFIX_LEN - 4..PREFIX_LEN]);
        let len = u32::from_be_bytes(len) as usize;
        let payload = &wire[PREFIX_LEN..];
        if payload.len() != len {
            return Err(RosterError::Truncated("the payload length does not match"));
        }
        let signer = PublicKey::from_bytes(&signer).map_err(|_| RosterError::BadSignerKey)?;
        signer
            .verify(&signed_message(payload), &Signature::from_bytes(&signature))
            .map_err(RosterError::BadSignature)?;
        let section: RosterSection =
            serde_json::from_slice(payload).map_err(RosterError::Payload)?;
        section.validate()?;
        Ok(SignedSection {
            section,
            signer,
            wire,
        })
    }

    /// The wire form.
    pub fn to_wire(&self) -> Bytes {
        self.wire.clone()
    }

    /// The section.
    pub fn section(&self) -> &RosterSection {
        &self.section
    }

    /// The key that signed it.
    pub fn signer(&self) -> &PublicKey {
        &self.signer
    }
}
