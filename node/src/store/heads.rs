//! On every node: the latest verified checkpoint of each member's evidence log, as seen on
//! the checkpoint gossip topics and by checkpoint catch-up, and the first fork seen.
//!
//! A head is replaced only by one that extends it (the decision is
//! `lienthong_protocol::evidence::follow`), durably, and only if the head the decision was
//! made against is still the stored one ([`Store::record_head`]), so that two announcements
//! of one log decided at once cannot both land. A fork keeps the held head and both signed
//! notes: they are the evidence that the log signed two histories.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `heads` | the log's origin (`lienthong/<organ_id>`) | [`HeldHead`] |

use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::tlog::TreeHead;
use serde::{Deserialize, Serialize};
use tracing::debug;

use super::Store;
use super::encoding::{self, Initial, Versioned};
use super::error::StoreError;
use super::keys::Tree;

/// What a node keeps about one member's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldHead {
    /// The latest head verified; `None` when a fork was seen before any head was held.
    pub head: Option<TreeHead>,
    /// The signed note of that head, with every verified cosignature line seen for it.
    pub note: Vec<u8>,
    /// When it was taken.
    pub at: Option<Timestamp>,
    /// How it came: `gossip` or `catch_up`.
    pub seen: String,
    /// The first fork this log presented against a held head, if it ever did.
    pub fork: Option<HeadFork>,
}

/// A checkpoint, validly signed by the log, that does not extend the head held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadFork {
    /// The head held.
    pub held: TreeHead,
    /// Its signed note.
    pub held_note: Vec<u8>,
    /// The head presented.
    pub presented: TreeHead,
    /// Its signed note.
    pub presented_note: Vec<u8>,
    /// How they disagree, for people.
    pub kind: String,
    /// How the presented one came: `gossip` or `catch_up`.
    pub seen: String,
    /// When it was seen.
    pub at: Timestamp,
}

impl Versioned for HeldHead {
    const VERSION: u8 = 1;
    type Previous = Initial;
    fn migrate(previous: Initial) -> Self {
        match previous {}
    }
}

impl Store {
    /// What this node keeps about the log `origin`.
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn held_head(&self, origin: &str) -> Result<Option<HeldHead>, StoreError> {
        let key = origin.as_bytes();
        self.db()
            .get(Tree::Heads, key)?
            .map(|value| encoding::read(Tree::Heads, key, &value))
            .transpose()
    }

    /// Every log this node keeps a head or a fork of, by origin.
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn held_heads(&self) -> Result<Vec<(String, HeldHead)>, StoreError> {
        self.db()
            .iter(Tree::Heads)
            .map(|item| {
                let (key, value) = item?;
                let held = encoding::read(Tree::Heads, &key, &value)?;
                Ok((String::from_utf8_lossy(&key).into_owned(), held))
            })
            .collect()
    }

    /// Records `head` with its `note` as the one held for `origin`, durably, if the head
    /// stored is still `decided_against`; keeps a fork recorded before. Returns whether it
    /// was recorded (`false`: another decision landed meanwhile).
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors: the head is not known.
    pub fn record_head(
        &self,
        origin: &str,
        decided_against: Option<TreeHead>,
        head: TreeHead,
        note: &[u8],
        seen: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let key = origin.as_bytes();
        let recorded = self.db().transaction("record head", |tx| {
            let stored: Option<HeldHead> = tx
                .get(Tree::Heads, key)?
                .map(|value| encoding::read(Tree::Heads, key, &value))
                .transpose()?;
            if stored.as_ref().and_then(|held| held.head) != decided_against {
                return Ok(false);
            }
            let held = HeldHead {
                head: Some(head),
                note: note.to_vec(),
                at: Some(at),
                seen: seen.to_owned(),
                fork: stored.and_then(|held| held.fork),
            };
            tx.insert(Tree::Heads, key, &encoding::write("held head", &held)?)?;
            Ok(true)
        })?;
        self.sync()?;
        debug!(origin, size = head.size, recorded, "log head recorded");
        Ok(recorded)
    }

    /// Records that `origin` presented `fork`, durably. Returns whether it is the first
    /// fork recorded for this log (the one to raise the alarm for); a later one is not kept.
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors.
    pub fn record_head_fork(&self, origin: &str, fork: &HeadFork) -> Result<bool, StoreError> {
        let key = origin.as_bytes();
        let first = self.db().transaction("record head fork", |tx| {
            let mut held: HeldHead = match tx.get(Tree::Heads, key)? {
                Some(value) => encoding::read(Tree::Heads, key, &value)?,
                None => HeldHead {
                    head: None,
                    note: Vec::new(),
                    at: None,
                    seen: fork.seen.clone(),
                    fork: None,
                },
            };
            if held.fork.is_some() {
                return Ok(false);
            }
            held.fork = Some(fork.clone());
            tx.insert(Tree::Heads, key, &encoding::write("held head", &held)?)?;
            Ok(true)
        })?;
        self.sync()?;
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(size: u64) -> TreeHead {
        TreeHead {
            size,
            root: [size as u8; 32],
        }
    }

    #[test]
    fn heads_replace_only_the_head_decided_against_and_keep_the_first_fork() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let origin = "lienthong/000.00.01.H53";
        let now = Timestamp::from_millis(1_780_000_000_000);
        assert_eq!(store.held_head(origin).unwrap(), None);
        assert!(
            store
                .record_head(origin, None, head(3), b"n3", "gossip", now)
                .unwrap()
        );
        assert!(
            !store
                .record_head(origin, None, head(4), b"n4", "gossip", now)
                .unwrap()
        );
        assert!(
            store
                .record_head(origin, Some(head(3)), head(5), b"n5", "catch_up", now)
                .unwrap()
        );
        let fork = HeadFork {
            held: head(5),
            held_note: b"n5".to_vec(),
            presented: head(5),
            presented_note: b"other".to_vec(),
            kind: "same size, different root".into(),
            seen: "gossip".into(),
            at: now,
        };
        assert!(store.record_head_fork(origin, &fork).unwrap());
        assert!(!store.record_head_fork(origin, &fork).unwrap());
        let held = store.held_head(origin).unwrap().unwrap();
        assert_eq!(held.head, Some(head(5)));
        assert_eq!(held.note, b"n5");
        assert_eq!(held.fork, Some(fork));
        // A later head keeps the fork.
        assert!(
            store
                .record_head(origin, Some(head(5)), head(6), b"n6", "gossip", now)
                .unwrap()
        );
        assert!(store.held_head(origin).unwrap().unwrap().fork.is_some());
        assert_eq!(store.held_heads().unwrap().len(), 1);
    }
}
