//! The authorities' side: creating a federation, delegating a province, admitting,
//! revoking and rotating agencies. These are the operations behind
//! `lienthong federation …`, kept in the library so that tests and simulations set up
//! federations the same way operators do.
//!
//! An authority directory holds:
//!
//! ```text
//! FED/authority.key   this authority's secret key, mode 0600: keep it offline
//! FED/authority.json  who it is: its name, the federation, and for a delegated authority
//!                     its level-1 scope
//! FED/root.pub        the root authority's public key, which every node pins
//! FED/roster.bin      the roster bundle as this authority last made or saw it
//! FED/nodes.json      data directories of nodes admitted from here, on this machine, where
//!                     each new roster is installed
//! ```
//!
//! A root directory is made by `lienthong federation new`; a province's by
//! `lienthong federation delegate` from the root's. Each signs only its own section; nodes
//! merge sections, so neither has to hold the other's latest.

mod authority;
mod email_units;
mod members;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bytes::Bytes;
use lienthong_protocol::OrganId;
use lienthong_protocol::keys::{AgencyKey, PublicKey};
use lienthong_protocol::organ_id::LevelOne;
use lienthong_protocol::roster::{Role, RosterBundle, RosterSection, SignedSection};
use lienthong_protocol::seal::EncryptionKey;
use serde::{Deserialize, Serialize};

pub use members::RotationPlan;

use crate::clock;
use crate::data_dir::{self, DataDir};

/// What `lienthong init` publishes about a node in `identity.json`: everything an authority
/// needs to admit it, and nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicIdentity {
    /// The agency's id.
    pub organ_id: OrganId,
    /// Its name.
    pub name: String,
    /// Its public key.
    pub public_key: PublicKey,
    /// Its node's peer id.
    pub peer_id: String,
    /// The node's role.
    pub role: Role,
    /// Its configured listen addresses (the running daemon's bound ones are preferred).
    pub listen: Vec<String>,
    /// The key the agency will switch to, once the authority rotates it in the roster
    /// (`lienthong key rotate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_public_key: Option<PublicKey>,
    /// The peer id that goes with `next_public_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_peer_id: Option<String>,
    /// The X25519 key packages are sealed to when a relay holds them for this agency
    /// (derived from the agency key). Older nodes wrote none; the daemon adds it at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_key: Option<EncryptionKey>,
    /// The encryption key that goes with `next_public_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_encryption_key: Option<EncryptionKey>,
}

/// What a running daemon writes to `daemon.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonInfo {
    /// The agency's id.
    pub organ_id: OrganId,
    /// The node's peer id.
    pub peer_id: String,
    /// The addresses other nodes can reach it at, ports bound.
    pub listen_addrs: Vec<String>,
    /// The local HTTP API address.
    pub api_addr: String,
    /// The daemon's process id.
    pub pid: u32,
}

/// Who an authority directory speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityInfo {
    /// The authority's name.
    pub name: String,
    /// The federation's name.
    pub federation: String,
    /// `None` for the root; the level-1 code for a delegated authority.
    pub scope: Option<LevelOne>,
    /// Whether it may designate relays (always for the root).
    pub relays: bool,
}

/// An authority directory.
#[derive(Debug, Clone)]
pub struct FederationDir {
    root: PathBuf,
}

impl FederationDir {
    /// The authority directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FederationDir { root: root.into() }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    fn key_path(&self) -> PathBuf {
        self.root.join("authority.key")
    }

    fn info_path(&self) -> PathBuf {
        self.root.join("authority.json")
    }

    fn root_pub(&self) -> PathBuf {
        self.root.join("root.pub")
    }

    fn roster_path(&self) -> PathBuf {
        self.root.join("roster.bin")
    }

    fn nodes_path(&self) -> PathBuf {
        self.root.join("nodes.json")
    }

    /// Who this directory speaks for.
    ///
    /// # Errors
    /// When `authority.json` is missing.
    pub fn info(&self) -> anyhow::Result<AuthorityInfo> {
        read_json(&self.info_path()).with_context(|| {
            format!(
                "{} is not a federation authority directory",
                self.root.display()
            )
        })
    }

    /// The root authority's public key.
    ///
    /// # Errors
    /// When `root.pub` is missing or not a key.
    pub fn root_public_key(&self) -> anyhow::Result<PublicKey> {
        read_public_key(&self.root_pub())
    }

    fn authority(&self) -> anyhow::Result<AgencyKey> {
        let text = data_dir::read_secret(&self.key_path())
            .with_context(|| format!("reading the authority key {}", self.key_path().display()))?;
        Ok(AgencyKey::from_text(&text)?)
    }

    /// The roster bundle as this authority holds it, verified against the root key.
    ///
    /// # Errors
    /// When the files are missing or the roster does not verify.
    pub fn bundle(&self) -> anyhow::Result<RosterBundle> {
        let root = self.root_public_key()?;
        let wire = std::fs::read(self.roster_path())
            .with_context(|| format!("reading {}", self.roster_path().display()))?;
        RosterBundle::from_wire(Bytes::from(wire), &root, clock::now())
            .with_context(|| format!("verifying {}", self.roster_path().display()))
    }

    /// This authority's own section.
    ///
    /// # Errors
    /// When the roster cannot be read or holds no section of this authority.
    pub fn own_section(&self) -> anyhow::Result<RosterSection> {
        let key = self.authority()?;
        let bundle = self.bundle()?;
        let section = bundle.section_by(&key.public_key()).with_context(|| {
            format!(
                "the roster in {} holds no section of this authority",
                self.root.display()
            )
        })?;
        Ok(section.section().clone())
    }

    /// Signs `section` as this authority (with a serial above the current one), puts it in
    /// the bundle, saves it, and installs it in every node directory admitted from here.
    fn publish(&self, mut section: RosterSection) -> anyhow::Result<RosterBundle> {
        let key = self.authority()?;
        let root = self.root_public_key()?;
        let current = self.bundle()?;
        let previous = current
            .section_by(&key.public_key())
            .map_or(0, |s| s.section().serial);
        section.serial = previous + 1;
        section.issued_at = clock::now();
        let signed = SignedSection::sign(&key, section)?;
        let bundle = current.with_section(signed, &root, clock::now())?;
        self.save_bundle(&bundle)?;
        self.install_everywhere(&bundle)?;
        Ok(bundle)
    }

    fn save_bundle(&self, bundle: &RosterBundle) -> anyhow::Result<()> {
        data_dir::write_atomic(&self.roster_path(), &bundle.to_wire(), 0o644)
            .with_context(|| format!("writing {}", self.roster_path().display()))
    }

    /// Writes the root key and the bundle into a node's data directory. A running node
    /// merges it with what it holds.
    fn install(&self, node: &DataDir, bundle: &RosterBundle) -> anyhow::Result<()> {
        let root = self.root_public_key()?;
        data_dir::write_atomic(&node.root_key(), format!("{root}\n").as_bytes(), 0o644)
            .with_context(|| format!("installing {}", node.root_key().display()))?;
        data_dir::write_atomic(&node.roster(), &bundle.to_wire(), 0o644)
            .with_context(|| format!("installing {}", node.roster().display()))
    }

    fn install_everywhere(&self, bundle: &RosterBundle) -> anyhow::Result<()> {
        for dir in self.load_nodes()?.values() {
            if dir.is_dir() {
                self.install(&DataDir::new(dir), bundle)?;
            }
        }
        Ok(())
    }

    fn remember_node(&self, organ_id: &OrganId, node_dir: &Path) -> anyhow::Result<()> {
        self.remember_nodes(&[(organ_id.clone(), node_dir)])
    }

    fn remember_nodes(&self, admitted: &[(OrganId, &Path)]) -> anyhow::Result<()> {
        let mut nodes = self.load_nodes()?;
        for (organ_id, node_dir) in admitted {
            let absolute =
                std::fs::canonicalize(node_dir).unwrap_or_else(|_| node_dir.to_path_buf());
            nodes.insert(organ_id.to_string(), absolute);
        }
        let json = serde_json::to_vec_pretty(&nodes)?;
        data_dir::write_atomic(&self.nodes_path(), &json, 0o644)?;
        Ok(())
    }

    fn load_nodes(&self) -> anyhow::Result<BTreeMap<String, PathBuf>> {
        if !self.nodes_path().exists() {
            return Ok(BTreeMap::new());
        }
        read_json(&self.nodes_path())
    }
}

/// Reads a hex public key file (`root.pub`).
///
/// # Errors
/// When the file is missing or holds no key.
pub fn read_public_key(path: &Path) -> anyhow::Result<PublicKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.trim()
        .parse()
        .with_context(|| format!("{} does not hold a public key", path.display()))
}

/// Reads a JSON file.
///
/// # Errors
/// When the file is missing or not the expected JSON.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not valid", path.display()))
}
