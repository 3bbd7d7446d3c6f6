//! Creating a federation's root authority, and delegating a province to another authority.

use std::path::Path;

use anyhow::{Context as _, bail};
use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::keys::AgencyKey;
use lienthong_protocol::organ_id::LevelOne;
use lienthong_protocol::roster::{Delegation, RosterBundle, RosterSection, SignedSection};

use super::{AuthorityInfo, FederationDir};
use crate::clock;
use crate::data_dir;

impl FederationDir {
    fn create_dir(&self) -> anyhow::Result<AgencyKey> {
        std::fs::create_dir_all(self.path())
            .with_context(|| format!("creating {}", self.path().display()))?;
        if self.key_path().exists() {
            bail!(
                "{} already holds an authority (authority.key exists)",
                self.path().display()
            );
        }
        let key = AgencyKey::generate().context("generating the authority key")?;
        data_dir::create_secret(&self.key_path(), key.to_text().as_bytes())
            .with_context(|| format!("writing {}", self.key_path().display()))?;
        Ok(key)
    }

    fn write_info(&self, info: &AuthorityInfo) -> anyhow::Result<()> {
        data_dir::write_atomic(&self.info_path(), &serde_json::to_vec_pretty(info)?, 0o644)?;
        Ok(())
    }

    /// Creates the root authority: its key, `root.pub`, and a roster with its empty section
    /// (serial 1).
    ///
    /// # Errors
    /// When the directory already holds an authority, or on I/O errors.
    pub fn create(&self, name: &str) -> anyhow::Result<RosterBundle> {
        let key = self.create_dir()?;
        let root = key.public_key();
        data_dir::write_atomic(&self.root_pub(), format!("{root}\n").as_bytes(), 0o644)?;
        self.write_info(&AuthorityInfo {
            name: name.to_owned(),
            federation: name.to_owned(),
            scope: None,
            relays: true,
        })?;
        let mut section = RosterSection::new(name, name, clock::now());
        section.serial = 1;
        let bundle =
            RosterBundle::of_root(SignedSection::sign(&key, section)?, &root, clock::now())?;
        self.save_bundle(&bundle)?;
        Ok(bundle)
    }

    /// Delegates the agencies under `scope` (e.g. `H53`) to a new authority in `out`: makes
    /// its key there, adds the delegation to this root's section, and gives the new
    /// authority an empty section of its own. Run it where the root key is kept, then hand
    /// `out` to the province over a safe channel.
    ///
    /// # Errors
    /// When this is not the root, `out` already holds an authority, or on I/O errors.
    pub fn delegate(
        &self,
        out: &Path,
        name: &str,
        scope: LevelOne,
        relays: bool,
        valid_until: Option<Timestamp>,
    ) -> anyhow::Result<RosterBundle> {
        let info = self.info()?;
        if info.scope.is_some() {
            bail!(
                "only the root authority delegates; {} is delegated itself",
                self.path().display()
            );
        }
        let province = FederationDir::new(out);
        let province_key = province.create_dir()?;
        let now = clock::now();
        let mut root_section = self.own_section()?;
        if root_section
            .delegations
            .iter()
            .any(|d| d.scope == scope && d.is_valid_at(now))
        {
            bail!("{scope} is already delegated; let that delegation expire or withdraw it first");
        }
        root_section.delegations.push(Delegation {
            name: name.to_owned(),
            authority_key: province_key.public_key(),
            scope,
            relays,
            valid_from: now,
            valid_until,
        });
        let bundle = self.publish(root_section)?;

        // The new authority's files, and its first (empty) section.
        let root = self.root_public_key()?;
        data_dir::write_atomic(&province.root_pub(), format!("{root}\n").as_bytes(), 0o644)?;
        province.write_info(&AuthorityInfo {
            name: name.to_owned(),
            federation: info.federation.clone(),
            scope: Some(scope),
            relays,
        })?;
        let mut section = RosterSection::new(info.federation, name, now);
        section.serial = 1;
        let bundle =
            bundle.with_section(SignedSection::sign(&province_key, section)?, &root, now)?;
        province.save_bundle(&bundle)?;
        self.save_bundle(&bundle)?;
        self.install_everywhere(&bundle)?;
        Ok(bundle)
    }
}
