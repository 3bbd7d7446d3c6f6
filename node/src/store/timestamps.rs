//! RFC 3161 timestamp tokens over this node's own checkpoints, kept beside them.
//!
//! A token dates a checkpoint note, and with it every fact up to that size, by a timestamp
//! authority's signature rather than the node's clock (`evidence/timestamping.rs` takes
//! them). It is kept only once verified against the configured TSA certificate, durably,
//! before the node counts the checkpoint as timestamped; the evidence bundle reads it back
//! with [`Store::timestamp_at`].
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `timestamps` | checkpoint size (u64 BE) | blob: the token's DER (a CMS `ContentInfo`) |

use bytes::Bytes;

use super::Store;
use super::encoding::{self, corrupt};
use super::error::{Corruption, StoreError};
use super::keys::Tree;

impl Store {
    /// Keeps the verified timestamp `token` over this node's checkpoint at `size`, durably.
    /// A second token at the same size replaces the first.
    ///
    /// # Errors
    /// An engine or [`StoreError::Sync`] error: the checkpoint is not timestamped.
    pub fn record_timestamp(&self, size: u64, token: &[u8]) -> Result<(), StoreError> {
        let value = encoding::encode_blob(token);
        self.db().transaction("record timestamp", |tx| {
            tx.insert(Tree::Timestamps, &size.to_be_bytes(), &value)
        })?;
        self.sync()
    }

    /// The timestamp token (DER) over this node's checkpoint at `size`, if one was kept.
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn timestamp_at(&self, size: u64) -> Result<Option<Bytes>, StoreError> {
        let key = size.to_be_bytes();
        self.db()
            .get(Tree::Timestamps, &key)?
            .map(|value| {
                encoding::check_blob(&value)
                    .map_err(|problem| corrupt(Tree::Timestamps, &key, problem))?;
                Ok(value.into_bytes_from(1))
            })
            .transpose()
    }

    /// The sizes of the checkpoints that have a timestamp token, smallest first.
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn timestamps(&self) -> Result<Vec<u64>, StoreError> {
        self.db()
            .iter(Tree::Timestamps)
            .map(|item| size_of(&item?.0))
            .collect()
    }

    /// The largest checkpoint size that has a timestamp token, if any.
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn latest_timestamp(&self) -> Result<Option<u64>, StoreError> {
        self.db()
            .iter(Tree::Timestamps)
            .next_back()
            .map(|item| size_of(&item?.0))
            .transpose()
    }
}

fn size_of(key: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = key.try_into().map_err(|_| {
        corrupt(
            Tree::Timestamps,
            key,
            Corruption::Length {
                expected: 8,
                found: key.len(),
            },
        )
    })?;
    Ok(u64::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_kept_by_checkpoint_size() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.latest_timestamp().unwrap(), None);
        assert!(store.timestamps().unwrap().is_empty());
        store.record_timestamp(9, b"token nine").unwrap();
        store.record_timestamp(300, b"token 300").unwrap();
        assert_eq!(store.timestamps().unwrap(), vec![9, 300]);
        assert_eq!(store.latest_timestamp().unwrap(), Some(300));
        assert_eq!(
            store.timestamp_at(9).unwrap().as_deref(),
            Some(&b"token nine"[..])
        );
        assert_eq!(store.timestamp_at(10).unwrap(), None);
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.timestamp_at(300).unwrap().as_deref(),
            Some(&b"token 300"[..])
        );
    }
}
