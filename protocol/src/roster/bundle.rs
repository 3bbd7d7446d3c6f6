//! The roster as nodes hold and pass it on: the root's section and the delegated ones,
//! verified together against the pinned root key, merged section by section.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use super::{AgencyRecord, Delegation, EmailUnit, MemberStatus, Role, RosterError, SignedSection};
use crate::OrganId;
use crate::envelope::Timestamp;
use crate::keys::PublicKey;

/// First four bytes of a bundle.
pub const BUNDLE_MAGIC: &[u8; 4] = b"LTRB";
const VERSION: u8 = 1;
/// Most sections in a bundle: the root and one per delegated authority (63 provinces and
/// then some), bounded so a hostile bundle cannot make a node verify without end.
const MAX_SECTIONS: usize = 256;

/// The serial of every section, by signer: what a node has, compared with what it is offered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosterVersion(pub BTreeMap<PublicKey, u64>);

impl RosterVersion {
    /// The serial of one signer's section.
    pub fn serial_of(&self, signer: &PublicKey) -> Option<u64> {
        self.0.get(signer).copied()
    }

    /// Whether `other` has some section newer than this one's (or one this lacks).
    pub fn is_behind(&self, other: &RosterVersion) -> bool {
        other
            .0
            .iter()
            .any(|(key, serial)| self.0.get(key).is_none_or(|mine| mine < serial))
    }
}

impl fmt::Display for RosterVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(key, serial)| format!("{}:{serial}", key.fmt_short()))
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl Serialize for RosterVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let map: BTreeMap<String, u64> = self.0.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        map.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RosterVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, u64>::deserialize(deserializer)?;
        let mut version = BTreeMap::new();
        for (key, serial) in map {
            let key: PublicKey = key.parse().map_err(serde::de::Error::custom)?;
            version.insert(key, serial);
        }
        Ok(RosterVersion(version))
    }
}

/// The effective roster: every section's agencies together, with who admitted them.
#[derive(Debug, Clone)]
pub struct Roster {
    /// The federation's name.
    pub federation: String,
    /// The root section's serial.
    pub root_serial: u64,
    /// Every section's serial.
    pub version: RosterVersion,
    /// Every agency of every section (the sections' records, shared).
    pub agencies: Vec<Arc<AgencyRecord>>,
    /// The root's delegations.
    pub delegations: Vec<Delegation>,
    /// Every section's units on official email.
    pub email_units: Vec<EmailUnit>,
    by_organ: HashMap<OrganId, usize>,
}

impl Roster {
    /// The record of an agency, whatever its standing.
    pub fn agency(&self, organ_id: &OrganId) -> Option<&AgencyRecord> {
        self.by_organ.get(organ_id).map(|i| &*self.agencies[*i])
    }

    /// The unit on official email listed as `organ_id`, if one is.
    pub fn email_unit(&self, organ_id: &OrganId) -> Option<&EmailUnit> {
        self.email_units.iter().find(|u| &u.organ_id == organ_id)
    }

    /// The unit on official email whose address is `address`, if one is.
    pub fn email_unit_by_address(&self, address: &str) -> Option<&EmailUnit> {
        self.email_units.iter().find(|u| u.has_address(address))
    }

    /// An agency's standing at `now`; `None` when the roster does not list it.
    pub fn status(&self, organ_id: &OrganId, now: Timestamp) -> Option<MemberStatus> {
        self.agency(organ_id).map(|a| a.status_at(now))
    }
}

/// The root section and the delegated ones, verified together.
#[derive(Debug, Clone)]
pub struct RosterBundle {
    root: SignedSection,
    delegated: Vec<SignedSection>,
    roster: Roster,
}

impl RosterBundle {
    /// Checks a root section and delegated sections against the pinned root key at `now`:
    /// the root section must be signed by `root_key`; every other by a key the root
    /// delegated to, still valid, admitting only agencies under its level-1 code (and relays
    /// only with that right); no agency or key in two sections; relays that are members.
    ///
    /// # Errors
    /// [`RosterError`] naming the first problem.
    pub fn verify(
        root: SignedSection,
        delegated: Vec<SignedSection>,
        root_key: &PublicKey,
        now: Timestamp,
    ) -> Result<Self, RosterError> {
        if root.signer() != root_key {
            return Err(RosterError::WrongSigner {
                found: root.signer().fmt_short().to_string(),
                expected: root_key.fmt_short().to_string(),
            });
        }
        let mut signers = HashSet::from([*root_key]);
        for section in &delegated {
            if !signers.insert(*section.signer()) {
                return Err(RosterError::Conflict(format!(
                    "two sections signed by {}",
                    section.signer().fmt_short()
                )));
            }
            let delegation = delegation_for(&root, section.signer(), now).ok_or_else(|| {
                RosterError::NotDelegated {
                    signer: section.signer().fmt_short().to_string(),
                }
            })?;
            check_scope(delegation, section)?;
        }
        let roster = effective(&root, &delegated)?;
        let mut delegated = delegated;
        delegated.sort_by_key(|s| *s.signer());
        Ok(RosterBundle {
            root,
            delegated,
            roster,
        })
    }

    /// A bundle of the root section alone.
    ///
    /// # Errors
    /// As [`RosterBundle::verify`].
    pub fn of_root(
        root: SignedSection,
        root_key: &PublicKey,
        now: Timestamp,
    ) -> Result<Self, RosterError> {
        RosterBundle::verify(root, Vec::new(), root_key, now)
    }

    /// Reads a bundle and verifies it (see [`RosterBundle::verify`]). Signatures are checked
    /// before any section is parsed.
    ///
    /// # Errors
    /// [`RosterError`] saying what was wrong.
    pub fn from_wire(
        wire: Bytes,
        root_key: &PublicKey,
        now: Timestamp,
    ) -> Result<Self, RosterError> {
        if wire.len() < 4 || &wire[..4] != BUNDLE_MAGIC {
            return Err(RosterError::BadMagic);
        }
        if wire.len() < 9 {
            return Err(RosterError::Truncated("the bundle header is incomplete"));
        }
        if wire[4] != VERSION {
            return Err(RosterError::UnsupportedVersion(wire[4]));
        }
        let count = u32::from_be_bytes([wire[5], wire[6], wire[7], wire[8]]) as usize;
        if count == 0 || count > MAX_SECTIONS {
            return Err(RosterError::Invalid {
                organ_id: None,
                problem: format!("a bundle holds 1 to {MAX_SECTIONS} sections, not {count}"),
            });
        }
        let mut at = 9;
        let mut sections = Vec::with_capacity(count);
        for _ in 0..count {
            let Some(len) = wire.get(at..at + 4) else {
                return Err(RosterError::Truncated("a section length is missing"));
            };
            let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            at += 4;
            if wire.len() - at < len {
                return Err(RosterError::Truncated("a section is cut short"));
            }
            sections.push(SignedSection::from_wire(wire.slice(at..at + len))?);
            at += len;
        }
        if at != wire.len() {
            return Err(RosterError::Truncated("bytes after the last section"));
        }
        let root = sections.remove(0);
        RosterBundle::verify(root, sections, root_key, now)
    }

    /// The wire form: magic, version, section count, then each section length-prefixed, the
    /// root's first.
    pub fn to_wire(&self) -> Bytes {
        let mut out = BytesMut::new();
        out.put_slice(BUNDLE_MAGIC);
        out.put_u8(VERSION);
        out.put_u32(1 + self.delegated.len() as u32);
        for section in std::iter::once(&self.root).chain(&self.delegated) {
            let wire = section.to_wire();
            out.put_u32(wire.len() as u32);
            out.put_slice(&wire);
        }
        out.freeze()
    }

    /// The root's section.
    pub fn root(&self) -> &SignedSection {
        &self.root
    }

    /// The delegated sections.
    pub fn delegated(&self) -> &[SignedSection] {
        &self.delegated
    }

    /// The section signed by `signer`.
    pub fn section_by(&self, signer: &PublicKey) -> Option<&SignedSection> {
        std::iter::once(&self.root)
            .chain(&self.delegated)
            .find(|s| s.signer() == signer)
    }

    /// The effective roster.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The serial of every section.
    pub fn version(&self) -> RosterVersion {
        self.roster.version.clone()
    }

    /// This bundle with `section` added or replacing the section of the same signer (the root
    /// or a delegated authority), verified.
    ///
    /// # Errors
    /// As [`RosterBundle::verify`].
    pub fn with_section(
        &self,
        section: SignedSection,
        root_key: &PublicKey,
        now: Timestamp,
    ) -> Result<Self, RosterError> {
        if section.signer() == root_key {
            let delegated = self.kept_sections(&section, now);
            return RosterBundle::verify(section, delegated, root_key, now);
        }
        let mut delegated: Vec<SignedSection> = self
            .delegated
            .iter()
            .filter(|s| s.signer() != section.signer())
            .cloned()
            .collect();
        delegated.push(section);
        RosterBundle::verify(self.root.clone(), delegated, root_key, now)
    }

    /// Delegated sections still backed by a valid delegation of `root`.
    fn kept_sections(&self, root: &SignedSection, now: Timestamp) -> Vec<SignedSection> {
        self.delegated
            .iter()
            .filter(|s| delegation_for(root, s.signer(), now).is_some())
            .cloned()
            .collect()
    }

    /// Merges an offered bundle into this one, section by section: each signer's section
    /// with the higher serial wins; sections whose delegation the newer root withdrew are
    /// dropped. An authority that signed two different sections under one serial is a
    /// conflict, and the section already held is kept.
    ///
    /// # Errors
    /// [`RosterError::NotNewer`] when the offer has nothing newer than this bundle (a replay
    /// of an old roster), [`RosterError::Conflict`] on equivocation, or a verification error.
    pub fn merge(
        &self,
        offered: &RosterBundle,
        root_key: &PublicKey,
        now: Timestamp,
    ) -> Result<Self, RosterError> {
        let mine = self.version();
        let theirs = offered.version();
        if !mine.is_behind(&theirs) {
            return Err(RosterError::NotNewer(format!(
                "offered {theirs}, this node has {mine}"
            )));
        }
        let pick = |a: &SignedSection, b: &SignedSection| -> Result<SignedSection, RosterError> {
            match a.section().serial.cmp(&b.section().serial) {
                std::cmp::Ordering::Less => Ok(b.clone()),
                std::cmp::Ordering::Greater => Ok(a.clone()),
                std::cmp::Ordering::Equal if a.to_wire() == b.to_wire() => Ok(a.clone()),
                std::cmp::Ordering::Equal => Err(RosterError::Conflict(format!(
                    "{} signed two different sections with serial {}",
                    a.signer().fmt_short(),
                    a.section().serial
                ))),
            }
        };
        let root = pick(&self.root, &offered.root)?;
        let mut delegated: BTreeMap<PublicKey, SignedSection> = BTreeMap::new();
        for section in self.delegated.iter().chain(&offered.delegated) {
            let chosen = match delegated.get(section.signer()) {
                Some(held) => pick(held, section)?,
                None => section.clone(),
            };
            delegated.insert(*section.signer(), chosen);
        }
        let delegated: Vec<SignedSection> = delegated
            .into_values()
            .filter(|s| delegation_for(&root, s.signer(), now).is_some())
            .collect();
        RosterBundle::verify(root, delegated, root_key, now)
    }
}

/// The root's valid delegation to `signer`.
fn delegation_for<'a>(
    root: &'a SignedSection,
    signer: &PublicKey,
    now: Timestamp,
) -> Option<&'a Delegation> {
    root.section()
        .delegations
        .iter()
        .find(|d| &d.authority_key == signer && d.is_valid_at(now))
}

fn check_scope(delegation: &Delegation, section: &SignedSection) -> Result<(), RosterError> {
    if !section.section().delegations.is_empty() {
        return Err(RosterError::OutOfScope {
            authority: delegation.name.clone(),
            organ_id: String::new(),
            problem: "only the root authority delegates".to_owned(),
        });
    }
    for unit in &section.section().email_units {
        if !unit.organ_id.is_under(delegation.scope) {
            return Err(RosterError::OutOfScope {
                authority: delegation.name.clone(),
                organ_id: unit.organ_id.to_string(),
                problem: format!("it is not under {}", delegation.scope),
            });
        }
    }
    for record in &section.section().agencies {
        let out = |problem: String| RosterError::OutOfScope {
            authority: delegation.name.clone(),
            organ_id: record.organ_id.to_string(),
            problem,
        };
        if !record.organ_id.is_under(delegation.scope) {
            return Err(out(format!("it is not under {}", delegation.scope)));
        }
        if record.role == Role::Relay && !delegation.relays {
            return Err(out(
                "the delegation does not allow designating relays".to_owned()
            ));
        }
    }
    Ok(())
}

/// Every section's agencies together, checked across sections.
fn effective(root: &SignedSection, delegated: &[SignedSection]) -> Result<Roster, RosterError> {
    let mut agencies = Vec::new();
    let mut by_organ = HashMap::new();
    let mut keys = HashSet::new();
    let mut version = BTreeMap::new();
    for section in std::iter::once(root).chain(delegated) {
        version.insert(*section.signer(), section.section().serial);
        for record in &section.section().agencies {
            if by_organ
                .insert(record.organ_id.clone(), agencies.len())
                .is_some()
            {
                return Err(RosterError::Conflict(format!(
                    "{} is listed by two authorities",
                    record.organ_id
                )));
            }
            if !keys.insert(record.public_key) {
                return Err(RosterError::Conflict(format!(
                    "the key of {} is another member's too",
                    record.organ_id
                )));
            }
            agencies.push(record.clone());
        }
    }
    let mut email_units: Vec<EmailUnit> = Vec::new();
    for section in std::iter::once(root).chain(delegated) {
        for unit in &section.section().email_units {
            if by_organ.contains_key(&unit.organ_id)
                || email_units.iter().any(|u| u.organ_id == unit.organ_id)
            {
                return Err(RosterError::Conflict(format!(
                    "{} is listed twice (as a member or an email unit)",
                    unit.organ_id
                )));
            }
            if email_units.iter().any(|u| u.has_address(&unit.address)) {
                return Err(RosterError::Conflict(format!(
                    "the address {} is two units'",
                    unit.address
                )));
            }
            email_units.push(unit.clone());
        }
    }
    for record in &agencies {
        for relay in &record.relays {
            match by_organ.get(relay).map(|i| &agencies[*i]) {
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
    Ok(Roster {
        federation: root.section().federation.clone(),
        root_serial: root.section().serial,
        version: RosterVersion(version),
        agencies,
        delegations: root.section().delegations.clone(),
        email_units,
        by_organ,
    })
}
