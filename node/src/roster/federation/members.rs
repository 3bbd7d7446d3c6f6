//! Admitting, revoking and rotating agencies in an authority's section.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use lienthong_protocol::OrganId;
use lienthong_protocol::roster::{AgencyRecord, PreviousKey, Revocation, Role, RosterBundle};

use super::{DaemonInfo, FederationDir, PublicIdentity, read_json};
use crate::clock;
use crate::clock::add;
use crate::data_dir::DataDir;
use crate::identity;

/// What a rotation did.
#[derive(Debug, Clone)]
pub struct RotationPlan {
    /// The rotated agency.
    pub organ_id: OrganId,
    /// Its new record.
    pub record: AgencyRecord,
    /// The bundle with the rotation.
    pub bundle: RosterBundle,
}

impl FederationDir {
    fn node_identity(node_dir: &Path) -> anyhow::Result<(DataDir, PublicIdentity)> {
        let node = DataDir::new(node_dir);
        let identity: PublicIdentity = read_json(&node.identity()).with_context(|| {
            format!(
                "{} is not an initialised node directory (run lienthong init)",
                node_dir.display()
            )
        })?;
        let derived = identity::peer_id_of(&identity.public_key).to_string();
        if derived != identity.peer_id {
            bail!(
                "identity.json of {} names peer id {} but its key gives {derived}",
                node_dir.display(),
                identity.peer_id
            );
        }
        Ok((node, identity))
    }

    pub(super) fn check_scope(&self, organ_id: &OrganId, role: Role) -> anyhow::Result<()> {
        let info = self.info()?;
        if let Some(scope) = info.scope
            && !organ_id.is_under(scope)
        {
            bail!(
                "{} may only admit agencies under {scope}, not {organ_id}",
                info.name
            );
        }
        if role == Role::Relay && !info.relays {
            bail!("{} may not designate relays", info.name);
        }
        Ok(())
    }

    /// Admits the node in `node_dir`, or refreshes its record (its current addresses, its
    /// relays), re-signs this authority's section with a higher serial if anything changed,
    /// and installs the roster in that node's data directory and in every other node
    /// directory admitted from here. Admitting a member again with nothing changed only
    /// re-installs the current roster. A running node picks the roster up by itself.
    ///
    /// # Errors
    /// When the node has no `identity.json`, is outside this authority's scope, is a member
    /// with another key (that is a rotation), or on I/O errors.
    pub fn admit(&self, node_dir: &Path, relays: &[OrganId]) -> anyhow::Result<AgencyRecord> {
        self.admit_until(node_dir, relays, None)
    }

    /// [`FederationDir::admit`] with the membership ending at `valid_until` (a pilot, a
    /// temporary unit); `None` keeps what the record had.
    ///
    /// # Errors
    /// As [`FederationDir::admit`].
    pub fn admit_until(
        &self,
        node_dir: &Path,
        relays: &[OrganId],
        valid_until: Option<lienthong_protocol::envelope::Timestamp>,
    ) -> anyhow::Result<AgencyRecord> {
        let (node, identity) = Self::node_identity(node_dir)?;
        let mut section = self.own_section()?;
        let bundle = self.bundle()?;
        let before = section.agency(&identity.organ_id).cloned();
        let record = self.record_for(&section, &bundle, &node, &identity, relays, valid_until)?;
        self.remember_node(&identity.organ_id, node_dir)?;
        if before.as_ref() == Some(&record) {
            // Already a member, nothing new: re-install what there is.
            self.install(&node, &bundle)?;
            return Ok(record);
        }
        section.upsert(record.clone());
        let bundle = self.publish(section)?;
        self.install(&node, &bundle)?;
        Ok(record)
    }

    /// Admits many nodes at once with one new section: a simulated province or country
    /// starts with a thousand members, and admitting them one by one would sign and
    /// install a growing roster a thousand times. Each entry is a node directory and the
    /// relays it names.
    ///
    /// # Errors
    /// As [`FederationDir::admit`], for the first node that cannot be admitted; nothing is
    /// published then.
    pub fn admit_many(&self, nodes: &[(&Path, Vec<OrganId>)]) -> anyhow::Result<RosterBundle> {
        let mut section = self.own_section()?;
        let bundle = self.bundle()?;
        let mut admitted = Vec::with_capacity(nodes.len());
        for (node_dir, relays) in nodes {
            let (node, identity) = Self::node_identity(node_dir)?;
            let record = self.record_for(&section, &bundle, &node, &identity, relays, None)?;
            section.upsert(record);
            admitted.push((identity.organ_id, *node_dir));
        }
        self.remember_nodes(&admitted)?;
        self.publish(section)
    }

    /// The record `identity` gets in `section`: its existing one refreshed, or a new one.
    fn record_for(
        &self,
        section: &lienthong_protocol::roster::RosterSection,
        bundle: &RosterBundle,
        node: &DataDir,
        identity: &PublicIdentity,
        relays: &[OrganId],
        valid_until: Option<lienthong_protocol::envelope::Timestamp>,
    ) -> anyhow::Result<AgencyRecord> {
        self.check_scope(&identity.organ_id, identity.role)?;
        // A running daemon knows its bound addresses; otherwise use the configured ones.
        let addresses = match read_json::<DaemonInfo>(&node.daemon()) {
            Ok(daemon) if daemon.peer_id == identity.peer_id => daemon.listen_addrs,
            _ => identity.listen.clone(),
        };
        if let Some(other) = bundle.roster().agency(&identity.organ_id) {
            if section.agency(&identity.organ_id).is_none() {
                bail!(
                    "{} is admitted by another authority of this federation",
                    identity.organ_id
                );
            }
            if other.public_key != identity.public_key {
                bail!(
                    "{} is already a member with another key ({}); a key change is a rotation (lienthong federation rotate)",
                    identity.organ_id,
                    other.public_key.fmt_short()
                );
            }
        }
        let mut record = section
            .agency(&identity.organ_id)
            .cloned()
            .unwrap_or_else(|| {
                AgencyRecord::new(
                    identity.organ_id.clone(),
                    identity.name.clone(),
                    identity.public_key,
                    identity.peer_id.clone(),
                )
            });
        record.name = identity.name.clone();
        record.addresses = addresses;
        record.relays = relays.to_vec();
        record.role = identity.role;
        if identity.encryption_key.is_some() {
            record.encryption_key = identity.encryption_key;
        }
        if valid_until.is_some() {
            record.valid_until = valid_until;
        }
        Ok(record)
    }

    /// Revokes an agency: from the next roster on, nothing it signs is accepted and its node
    /// is refused. The record stays, so that refusals can say why.
    ///
    /// # Errors
    /// When this authority did not admit the agency, or on I/O errors.
    pub fn revoke(&self, organ_id: &OrganId, reason: &str) -> anyhow::Result<RosterBundle> {
        let mut section = self.own_section()?;
        let Some(record) = section.agency_mut(organ_id) else {
            bail!("{organ_id} is not admitted by this authority");
        };
        if record.revoked.is_some() {
            bail!("{organ_id} is already revoked");
        }
        record.revoked = Some(Revocation {
            at: clock::now(),
            reason: reason.to_owned(),
        });
        self.publish(section)
    }

    /// Rotates an agency's key to the one its node prepared (`lienthong key rotate` wrote
    /// it to `identity.json`). The old key stays accepted for `grace`, so that packages and
    /// receipts signed just before the switch still verify.
    ///
    /// # Errors
    /// When the node has prepared no new key, this authority did not admit it, or on I/O
    /// errors.
    pub fn rotate(&self, node_dir: &Path, grace: Duration) -> anyhow::Result<RotationPlan> {
        let (node, identity) = Self::node_identity(node_dir)?;
        let (Some(next_key), Some(next_peer)) =
            (identity.next_public_key, identity.next_peer_id.clone())
        else {
            bail!(
                "{} has prepared no new key: run `lienthong key rotate --data-dir {}` on that node first",
                identity.organ_id,
                node_dir.display()
            );
        };
        if identity::peer_id_of(&next_key).to_string() != next_peer {
            bail!(
                "the prepared key and peer id of {} do not match",
                identity.organ_id
            );
        }
        let mut section = self.own_section()?;
        let Some(record) = section.agency_mut(&identity.organ_id) else {
            bail!("{} is not admitted by this authority", identity.organ_id);
        };
        if record.public_key == next_key {
            bail!("{} already uses its new key", identity.organ_id);
        }
        let now = clock::now();
        record.previous_keys.retain(|p| p.until > now);
        record.previous_keys.push(PreviousKey {
            public_key: record.public_key,
            peer_id: record.peer_id.clone(),
            until: add(now, grace),
        });
        record.public_key = next_key;
        record.encryption_key = identity.next_encryption_key;
        record.peer_id = next_peer;
        let record = record.clone();
        let bundle = self.publish(section)?;
        self.remember_node(&identity.organ_id, node_dir)?;
        self.install(&node, &bundle)?;
        Ok(RotationPlan {
            organ_id: identity.organ_id,
            record,
            bundle,
        })
    }
}
