//! The federation authority's side: creating a federation, admitting nodes, showing the
//! roster. These are the operations behind `lienthong federation …`, kept in the library so
//! that tests and simulations set up federations the same way operators do.
//!
//! A federation directory holds:
//!
//! ```text
//! FED/root.key     the root authority's secret key, mode 0600: keep it offline
//! FED/root.pub     its public key, which every node pins
//! FED/roster.bin   the current signed roster
//! FED/nodes.json   data directories of nodes admitted on this machine, so that a new
//!                  roster can be installed in each of them
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use lienthong_protocol::OrganId;
use lienthong_protocol::keys::{AgencyKey, PublicKey};
use lienthong_protocol::roster::{AgencyRecord, Role, Roster, SignedRoster};
use serde::{Deserialize, Serialize};

use crate::clock;
use crate::data_dir::{self, DataDir};
use crate::identity;

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

/// A federation directory.
#[derive(Debug, Clone)]
pub struct FederationDir {
    root: PathBuf,
}

impl FederationDir {
    /// The federation directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FederationDir { root: root.into() }
    }

    fn root_key(&self) -> PathBuf {
        self.root.join("root.key")
    }

    fn root_pub(&self) -> PathBuf {
        self.root.join("root.pub")
    }

    fn roster(&self) -> PathBuf {
        self.root.join("roster.bin")
    }

    fn nodes(&self) -> PathBuf {
        self.root.join("nodes.json")
    }

    /// Creates the authority key and an empty signed roster (serial 0).
    ///
    /// # Errors
    /// When the directory already holds a federation, or on I/O errors.
    pub fn create(&self, name: &str) -> anyhow::Result<SignedRoster> {
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("creating {}", self.root.display()))?;
        if self.root_key().exists() {
            bail!(
                "{} already holds a federation (root.key exists)",
                self.root.display()
            );
        }
        let key = AgencyKey::generate().context("generating the root authority key")?;
        data_dir::create_secret(&self.root_key(), key.to_text().as_bytes())
            .with_context(|| format!("writing {}", self.root_key().display()))?;
        data_dir::write_atomic(
            &self.root_pub(),
            format!("{}\n", key.public_key()).as_bytes(),
            0o644,
        )?;
        let signed = SignedRoster::sign(&key, Roster::new(name, clock::now()))?;
        data_dir::write_atomic(&self.roster(), &signed.to_wire(), 0o644)?;
        self.save_nodes(&BTreeMap::new())?;
        Ok(signed)
    }

    /// The root authority's public key.
    ///
    /// # Errors
    /// When `root.pub` is missing or not a key.
    pub fn root_public_key(&self) -> anyhow::Result<PublicKey> {
        read_public_key(&self.root_pub())
    }

    fn authority(&self) -> anyhow::Result<AgencyKey> {
        let text = data_dir::read_secret(&self.root_key())
            .with_context(|| format!("reading the authority key {}", self.root_key().display()))?;
        Ok(AgencyKey::from_text(&text)?)
    }

    /// The current signed roster, verified against `root.pub`.
    ///
    /// # Errors
    /// When the files are missing or the roster does not verify.
    pub fn signed_roster(&self) -> anyhow::Result<SignedRoster> {
        let root = self.root_public_key()?;
        let wire = std::fs::read(self.roster())
            .with_context(|| format!("reading {}", self.roster().display()))?;
        SignedRoster::from_wire(Bytes::from(wire), &root)
            .with_context(|| format!("verifying {}", self.roster().display()))
    }

    /// Admits the node in `node_dir` (or refreshes its record), re-signs the roster with a
    /// higher serial, and installs the roster and the root key in that node's data directory
    /// and in every other node directory admitted from here. A running node picks the new
    /// roster up by itself.
    ///
    /// # Errors
    /// When the node has no `identity.json`, when its id is admitted with another key, or
    /// on I/O errors.
    pub fn admit(&self, node_dir: &Path, relays: &[OrganId]) -> anyhow::Result<AgencyRecord> {
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
        // A running daemon knows its bound addresses; otherwise use the configured ones.
        let addresses = match read_json::<DaemonInfo>(&node.daemon()) {
            Ok(daemon) if daemon.peer_id == identity.peer_id => daemon.listen_addrs,
            _ => identity.listen.clone(),
        };
        let mut roster = self.signed_roster()?.roster().clone();
        if let Some(existing) = roster.agency(&identity.organ_id)
            && existing.public_key != identity.public_key
        {
            bail!(
                "{} is already a member with another key ({}); a key change is a rotation, not an admission",
                identity.organ_id,
                existing.public_key.fmt_short()
            );
        }
        let record = AgencyRecord {
            organ_id: identity.organ_id.clone(),
            name: identity.name.clone(),
            public_key: identity.public_key,
            peer_id: identity.peer_id.clone(),
            addresses,
            relays: relays.to_vec(),
            role: identity.role,
        };
        roster.upsert(record.clone());
        roster.serial += 1;
        roster.issued_at = clock::now();
        let signed = SignedRoster::sign(&self.authority()?, roster)?;
        data_dir::write_atomic(&self.roster(), &signed.to_wire(), 0o644)?;

        let mut nodes = self.load_nodes()?;
        let absolute = std::fs::canonicalize(node_dir).unwrap_or_else(|_| node_dir.to_path_buf());
        nodes.insert(identity.organ_id.to_string(), absolute);
        self.save_nodes(&nodes)?;
        for dir in nodes.values() {
            if dir.is_dir() {
                self.install(&DataDir::new(dir), &signed)?;
            }
        }
        Ok(record)
    }

    /// Writes the root key and `signed` into a node's data directory.
    fn install(&self, node: &DataDir, signed: &SignedRoster) -> anyhow::Result<()> {
        let root = self.root_public_key()?;
        data_dir::write_atomic(&node.root_key(), format!("{root}\n").as_bytes(), 0o644)
            .with_context(|| format!("installing {}", node.root_key().display()))?;
        data_dir::write_atomic(&node.roster(), &signed.to_wire(), 0o644)
            .with_context(|| format!("installing {}", node.roster().display()))
    }

    fn load_nodes(&self) -> anyhow::Result<BTreeMap<String, PathBuf>> {
        if !self.nodes().exists() {
            return Ok(BTreeMap::new());
        }
        read_json(&self.nodes())
    }

    fn save_nodes(&self, nodes: &BTreeMap<String, PathBuf>) -> anyhow::Result<()> {
        let json = serde_json::to_vec_pretty(nodes)?;
        data_dir::write_atomic(&self.nodes(), &json, 0o644)?;
        Ok(())
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
