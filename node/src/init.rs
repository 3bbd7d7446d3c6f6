//! Creating a node's data directory: what `lienthong init` does, and what `lienthong run`
//! does on first start of a development node.

use std::path::Path;

use anyhow::{Context as _, bail};
use lienthong_protocol::OrganId;
use lienthong_protocol::roster::Role;

use crate::config::Config;
use crate::data_dir::{self, DataDir};
use crate::identity::Identity;
use crate::roster::federation::PublicIdentity;

/// What to initialise a node with.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The agency's id.
    pub organ_id: OrganId,
    /// The agency's name.
    pub name: String,
    /// Listen multiaddrs; empty keeps the default.
    pub listen: Vec<String>,
    /// API address; `None` keeps the default.
    pub api: Option<std::net::SocketAddr>,
    /// The node's role.
    pub role: Role,
    /// Whether mDNS discovery is on.
    pub mdns: bool,
}

/// Creates `config.toml`, `agency.key` (0600), `api.token` (0600), `axis.secret` (0600, the
/// HMAC secret of the axis-compatible endpoints) and `identity.json` in `dir`. Refuses a
/// directory that is already initialised: an agency key is never replaced by accident.
///
/// # Errors
/// When the directory is initialised already, or on I/O errors.
pub fn init(dir: &Path, options: &InitOptions) -> anyhow::Result<PublicIdentity> {
    let data = DataDir::new(dir);
    if data.config().exists() || data.agency_key().exists() {
        bail!(
            "{} is already initialised (config.toml or agency.key exists)",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", dir.display()))?;
    }
    let mut config = Config::new(options.organ_id.clone(), options.name.clone());
    if !options.listen.is_empty() {
        config.network.listen = options.listen.clone();
    }
    if let Some(api) = options.api {
        config.api.listen = api;
    }
    config.role = options.role;
    config.network.mdns = options.mdns;
    // Check what the file will say before writing anything.
    let text = config.to_documented_toml();
    Config::parse(&text, "the new config")?;

    let identity = Identity::generate()?;
    identity.save_new(&data.agency_key())?;
    let token = lienthong_protocol::keys::AgencyKey::generate()?;
    let token = hex::encode(&token.to_bytes()[..]);
    data_dir::create_secret(&data.api_token(), format!("{token}\n").as_bytes())
        .with_context(|| format!("writing {}", data.api_token().display()))?;
    // The secret a QLVB puts in its axis SDK settings (`secret`); text, as the SDK keeps it.
    let axis_secret = dir.join(crate::config::AXIS_SECRET_FILE);
    let secret = lienthong_protocol::keys::AgencyKey::generate()?;
    let secret = hex::encode(&secret.to_bytes()[..]);
    data_dir::create_secret(&axis_secret, format!("{secret}\n").as_bytes())
        .with_context(|| format!("writing {}", axis_secret.display()))?;
    let public = PublicIdentity {
        organ_id: config.organ_id.clone(),
        name: config.name.clone(),
        public_key: identity.public_key(),
        peer_id: identity.peer_id().to_string(),
        role: config.role,
        listen: config.network.listen.clone(),
        next_public_key: None,
        next_peer_id: None,
        encryption_key: Some(identity.encryption_key()),
        next_encryption_key: None,
    };
    data_dir::write_atomic(
        &data.identity(),
        &serde_json::to_vec_pretty(&public)?,
        0o644,
    )?;
    // The config goes last: its presence marks a complete initialisation.
    data_dir::write_atomic(&data.config(), text.as_bytes(), 0o644)?;
    Ok(public)
}
