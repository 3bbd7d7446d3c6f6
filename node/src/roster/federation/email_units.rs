//! Listing and unlisting units on official email in this authority's section.

use anyhow::bail;
use lienthong_protocol::OrganId;
use lienthong_protocol::roster::{EmailUnit, Role, RosterBundle};

use super::FederationDir;

impl FederationDir {
    /// Lists `unit` (or updates its name, address or certificate) as reached by official
    /// email, re-signs this authority's section and installs the roster in every node
    /// admitted from here; the others get it by gossip.
    ///
    /// # Errors
    /// When the unit is outside this authority's scope, is already a member, its record
    /// does not validate, or on I/O errors.
    pub fn list_email_unit(&self, unit: EmailUnit) -> anyhow::Result<RosterBundle> {
        self.check_scope(&unit.organ_id, Role::Agency)?;
        unit.validate()?;
        if self
            .bundle()?
            .roster()
            .agency(&unit.organ_id)
            .is_some_and(|a| a.revoked.is_none())
        {
            bail!(
                "{} is a member with its own node; it is reached through the federation, not by email",
                unit.organ_id
            );
        }
        let mut section = self.own_section()?;
        if section.email_units.iter().any(|u| u == &unit) {
            return self.bundle();
        }
        section.upsert_email_unit(unit);
        self.publish(section)
    }

    /// Takes `organ_id` off this authority's units on official email: members stop
    /// mailing it, and its mail is no longer taken as its documents.
    ///
    /// # Errors
    /// When this authority does not list it, or on I/O errors.
    pub fn unlist_email_unit(&self, organ_id: &OrganId) -> anyhow::Result<RosterBundle> {
        let mut section = self.own_section()?;
        let before = section.email_units.len();
        section.email_units.retain(|u| &u.organ_id != organ_id);
        if section.email_units.len() == before {
            bail!("{organ_id} is not listed as an email unit by this authority");
        }
        self.publish(section)
    }
}
