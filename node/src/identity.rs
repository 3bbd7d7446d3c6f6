//! The agency's identity: one ed25519 key that signs its packages and receipts and is also
//! its node's libp2p identity, so the peer id is bound to the agency key and a peer cannot
//! claim an agency whose key it does not hold.

use std::io;
use std::path::Path;

use libp2p::PeerId;
use libp2p::identity::Keypair;
use lienthong_protocol::keys::{AgencyKey, KeyError, PublicKey};

use crate::data_dir;

/// The agency key and the libp2p identity derived from it.
#[derive(Debug)]
pub struct Identity {
    key: AgencyKey,
    keypair: Keypair,
}

/// Why the agency key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The key file could not be read, is readable by others, or could not be written.
    #[error("agency key file {path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The key file does not hold a key.
    #[error("agency key file {path} does not hold a key")]
    Key {
        /// The file.
        path: String,
        /// What is wrong with it.
        #[source]
        source: KeyError,
    },
}

impl Identity {
    /// A new random identity.
    ///
    /// # Errors
    /// [`IdentityError::Key`] when the system has no randomness to give.
    pub fn generate() -> Result<Identity, IdentityError> {
        let key = AgencyKey::generate().map_err(|source| IdentityError::Key {
            path: "(new key)".to_owned(),
            source,
        })?;
        Ok(Identity::from_key(key))
    }

    /// The identity for an existing agency key.
    pub fn from_key(key: AgencyKey) -> Identity {
        let mut secret = *key.to_bytes();
        // ed25519_from_bytes zeroizes the buffer it is given.
        let keypair = Keypair::ed25519_from_bytes(&mut secret)
            .unwrap_or_else(|_| unreachable!("32 bytes are always an ed25519 secret key"));
        Identity { key, keypair }
    }

    /// Loads the key file (hex, mode 0600).
    ///
    /// # Errors
    /// [`IdentityError`] naming the file.
    pub fn load(path: &Path) -> Result<Identity, IdentityError> {
        let shown = path.display().to_string();
        let text = data_dir::read_secret(path).map_err(|source| IdentityError::Io {
            path: shown.clone(),
            source,
        })?;
        let key = AgencyKey::from_text(&text).map_err(|source| IdentityError::Key {
            path: shown,
            source,
        })?;
        Ok(Identity::from_key(key))
    }

    /// Writes the key to a new file with mode 0600; never overwrites an existing key.
    ///
    /// # Errors
    /// [`IdentityError::Io`], also when the file exists.
    pub fn save_new(&self, path: &Path) -> Result<(), IdentityError> {
        data_dir::create_secret(path, self.key.to_text().as_bytes()).map_err(|source| {
            IdentityError::Io {
                path: path.display().to_string(),
                source,
            }
        })
    }

    /// A second handle on the agency key, for work on another thread. The key is not
    /// `Clone` so that copies are made on purpose only.
    pub fn clone_key(&self) -> AgencyKey {
        AgencyKey::from_bytes(&self.key.to_bytes())
    }

    /// The X25519 key packages are sealed to for this agency, derived from the agency key
    /// and published in the roster.
    pub fn encryption_key(&self) -> lienthong_protocol::seal::EncryptionKey {
        lienthong_protocol::seal::EncryptionSecret::derive(&self.key).public()
    }

    /// The agency key, for signing.
    pub fn agency_key(&self) -> &AgencyKey {
        &self.key
    }

    /// The agency's public key.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// The libp2p keypair (same key).
    pub fn keypair(&self) -> Keypair {
        self.keypair.clone()
    }

    /// The node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.keypair.public().to_peer_id()
    }
}

/// The peer id a node with agency key `key` has. The roster's `peer_id` must equal it.
pub fn peer_id_of(key: &PublicKey) -> PeerId {
    let ed = libp2p::identity::ed25519::PublicKey::try_from_bytes(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("a PublicKey is a valid ed25519 point"));
    libp2p::identity::PublicKey::from(ed).to_peer_id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_id_is_bound_to_the_agency_key() {
        let identity = Identity::generate().expect("key");
        assert_eq!(identity.peer_id(), peer_id_of(&identity.public_key()));
        let other = Identity::generate().expect("key");
        assert_ne!(identity.peer_id(), other.peer_id());
    }

    #[test]
    fn saved_key_loads_to_the_same_identity() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("agency.key");
        let identity = Identity::generate().expect("key");
        identity.save_new(&path).expect("save");
        let loaded = Identity::load(&path).expect("load");
        assert_eq!(loaded.peer_id(), identity.peer_id());
        assert!(identity.save_new(&path).is_err(), "never overwrites a key");
        std::fs::write(&path, "not hex").expect("write");
        assert!(matches!(
            Identity::load(&path),
            Err(IdentityError::Key { .. })
        ));
    }
}
