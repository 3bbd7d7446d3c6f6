//! Key rotation on the node's side.
//!
//! 1. `lienthong key rotate` prepares a new key (`agency.key.next`) and publishes its
//!    public half in `identity.json`.
//! 2. The authority runs `lienthong federation rotate`: the roster now names the new key,
//!    and keeps the old one accepted for a grace period.
//! 3. At its next start the node sees the roster name its prepared key and switches:
//!    `agency.key.next` becomes `agency.key` (the old one is kept as `agency.key.old`).
//!    Packages still queued in its outbox are signed again with the new key. A package's
//!    id does not cover the signer, so ids stay the same and recipients that already hold
//!    a package answer idempotently.
//!
//! What was in flight at the switch: packages and receipts signed with the old key (on the
//! wire, at a relay, or queued elsewhere) are accepted until the grace period ends; after
//! it, the old key is refused like any other.

use std::collections::HashSet;

use anyhow::Context as _;
use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::{EnvelopeLimits, SignedPackage};
use lienthong_protocol::keys::AgencyKey;
use tracing::{info, warn};

use crate::data_dir::{self, DataDir};
use crate::identity::Identity;
use crate::roster::federation::{PublicIdentity, read_json};
use crate::roster::membership::Membership;
use crate::store::Store;

/// Prepares a new key for this node: writes `agency.key.next` (0600) and names its public
/// half in `identity.json` for the authority. A key prepared before is kept.
///
/// # Errors
/// When the node directory is not initialised, or on I/O errors.
pub fn prepare(dir: &DataDir) -> anyhow::Result<PublicIdentity> {
    let mut identity: PublicIdentity = read_json(&dir.identity())?;
    let next = if dir.next_agency_key().exists() {
        Identity::load(&dir.next_agency_key())?
    } else {
        let next = Identity::generate()?;
        next.save_new(&dir.next_agency_key())?;
        next
    };
    identity.next_public_key = Some(next.public_key());
    identity.next_peer_id = Some(next.peer_id().to_string());
    identity.next_encryption_key = Some(next.encryption_key());
    data_dir::write_atomic(
        &dir.identity(),
        &serde_json::to_vec_pretty(&identity)?,
        0o644,
    )?;
    Ok(identity)
}

/// Loads the node's identity, switching to the prepared key when the roster already names
/// it as this agency's key.
///
/// # Errors
/// When a key file cannot be read or renamed.
pub fn switch_if_rotated(
    dir: &DataDir,
    organ: &OrganId,
    membership: Option<&Membership>,
) -> anyhow::Result<Identity> {
    let next_path = dir.next_agency_key();
    if next_path.exists() {
        let next = Identity::load(&next_path)?;
        let rotated = membership
            .and_then(|m| m.member(organ))
            .is_some_and(|m| m.record.public_key == next.public_key());
        if rotated {
            std::fs::rename(dir.agency_key(), dir.old_agency_key())
                .context("keeping the old agency key")?;
            std::fs::rename(&next_path, dir.agency_key())
                .context("installing the new agency key")?;
            if let Ok(mut identity) = read_json::<PublicIdentity>(&dir.identity()) {
                identity.public_key = next.public_key();
                identity.peer_id = next.peer_id().to_string();
                identity.encryption_key = Some(next.encryption_key());
                identity.next_public_key = None;
                identity.next_peer_id = None;
                identity.next_encryption_key = None;
                data_dir::write_atomic(
                    &dir.identity(),
                    &serde_json::to_vec_pretty(&identity)?,
                    0o644,
                )?;
            }
            info!(peer = %next.peer_id(), "switched to the rotated agency key");
            return Ok(next);
        }
    }
    Ok(Identity::load(&dir.agency_key())?)
}

/// Makes `identity.json` name this node's encryption key, which nodes initialised before
/// relays existed did not write, so that the authority's next `admit` publishes it.
///
/// # Errors
/// When `identity.json` cannot be read or written.
pub fn publish_encryption_key(dir: &DataDir, identity: &Identity) -> anyhow::Result<()> {
    let mut public: PublicIdentity = read_json(&dir.identity())?;
    let key = identity.encryption_key();
    if public.public_key == identity.public_key() && public.encryption_key != Some(key) {
        public.encryption_key = Some(key);
        data_dir::write_atomic(&dir.identity(), &serde_json::to_vec_pretty(&public)?, 0o644)?;
        info!(
            "encryption key published in identity.json; admit the node again to put it in the roster"
        );
    }
    Ok(())
}

/// Signs again, with `key`, every queued package of this agency still signed with another
/// key (after a rotation). Ids are unchanged.
///
/// # Errors
/// When the store cannot be read or written.
pub fn resign_queued(
    store: &Store,
    key: &AgencyKey,
    limits: &EnvelopeLimits,
) -> anyhow::Result<usize> {
    let mut seen = HashSet::new();
    let mut resigned = 0;
    for entry in store.pending_outbox()? {
        if !seen.insert(entry.package_id) {
            continue;
        }
        let Some(package) = store.package(&entry.package_id)? else {
            continue;
        };
        if package.signer() == &key.public_key() {
            continue;
        }
        let again = SignedPackage::sign(
            key,
            package.fields().clone(),
            package.content().clone(),
            limits,
        )?;
        if again.id() != package.id() {
            warn!(package = %package.id(), "signing again changed the id; left as it was");
            continue;
        }
        store.replace_package(&again)?;
        resigned += 1;
    }
    if resigned > 0 {
        info!(
            resigned,
            "queued packages signed again with the rotated key"
        );
    }
    Ok(resigned)
}
