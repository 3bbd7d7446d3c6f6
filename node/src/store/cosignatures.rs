//! Witnesses' cosignatures of this node's own checkpoints, kept beside the checkpoints.
//!
//! A cosignature is what makes a checkpoint worth more than the node's own word: a third
//! party saw it and checked it extends what it saw before. It is stored durably once
//! verified, with the size of the checkpoint it covers, so the API and later evidence
//! bundles show it, and so the node knows which head each witness holds for it: the next
//! consistency proof starts there.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `cosignatures` | checkpoint size (u64 BE) ‖ witness agency id | blob: the cosignature line |
//! | `meta` | `"witness_size:"` ‖ witness agency id | `u64` BE, bare: the last size it cosigned |

use lienthong_protocol::OrganId;

use super::Store;
use super::encoding::{self, corrupt};
use super::error::{Corruption, StoreError};
use super::keys::Tree;

fn witness_size_key(witness: &OrganId) -> Vec<u8> {
    let mut key = b"witness_size:".to_vec();
    key.extend_from_slice(witness.as_str().as_bytes());
    key
}

fn cosignature_key(size: u64, witness: &OrganId) -> Vec<u8> {
    let mut key = size.to_be_bytes().to_vec();
    key.extend_from_slice(witness.as_str().as_bytes());
    key
}

impl Store {
    /// Keeps `witness`'s verified cosignature `line` of this node's checkpoint at `size`,
    /// and `size` as the head that witness holds for this node, durably.
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors.
    pub fn record_cosignature(
        &self,
        size: u64,
        witness: &OrganId,
        line: &str,
    ) -> Result<(), StoreError> {
        let value = encoding::encode_blob(line.as_bytes());
        let key = cosignature_key(size, witness);
        let held = witness_size_key(witness);
        self.db().transaction("record cosignature", |tx| {
            tx.insert(Tree::Cosignatures, &key, &value)?;
            tx.insert(Tree::Meta, &held, &size.to_be_bytes())
        })?;
        self.sync()
    }

    /// The size of the last checkpoint `witness` cosigned for this node (0 if none).
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn witness_size(&self, witness: &OrganId) -> Result<u64, StoreError> {
        let key = witness_size_key(witness);
        match self.db().get(Tree::Meta, &key)? {
            None => Ok(0),
            Some(value) => <[u8; 8]>::try_from(&value[..])
                .map(u64::from_be_bytes)
                .map_err(|_| {
                    corrupt(
                        Tree::Meta,
                        &key,
                        Corruption::Length {
                            expected: 8,
                            found: value.len(),
                        },
                    )
                }),
        }
    }

    /// The cosignatures of this node's checkpoint at `size`: witness and line.
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn cosignatures(&self, size: u64) -> Result<Vec<(OrganId, String)>, StoreError> {
        self.db()
            .scan_prefix(Tree::Cosignatures, &size.to_be_bytes())
            .map(|item| {
                let (key, value) = item?;
                let bad = |problem| corrupt(Tree::Cosignatures, &key, problem);
                encoding::check_blob(&value).map_err(bad)?;
                let witness = std::str::from_utf8(&key[8..])
                    .ok()
                    .and_then(|id| id.parse().ok())
                    .ok_or_else(|| {
                        bad(Corruption::Missing {
                            what: "a witness agency id",
                        })
                    })?;
                let line = String::from_utf8_lossy(&value[1..]).into_owned();
                Ok((witness, line))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosignatures_are_kept_by_size_and_witness() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a: OrganId = "000.00.90.H53".parse().unwrap();
        let b: OrganId = "000.00.91.H53".parse().unwrap();
        assert_eq!(store.witness_size(&a).unwrap(), 0);
        store.record_cosignature(5, &a, "— a x").unwrap();
        store.record_cosignature(5, &b, "— b y").unwrap();
        store.record_cosignature(9, &a, "— a z").unwrap();
        assert_eq!(store.witness_size(&a).unwrap(), 9);
        assert_eq!(store.witness_size(&b).unwrap(), 5);
        assert_eq!(
            store.cosignatures(5).unwrap(),
            vec![(a.clone(), "— a x".to_owned()), (b, "— b y".to_owned())]
        );
        assert_eq!(
            store.cosignatures(9).unwrap(),
            vec![(a, "— a z".to_owned())]
        );
        assert!(store.cosignatures(7).unwrap().is_empty());
    }
}
