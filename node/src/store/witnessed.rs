//! On a witness: the last tree head it cosigned for each log, and the forks it saw.
//!
//! A witness must never cosign two histories of one log, even across a crash, so the head
//! it cosigns is stored durably before the cosignature leaves the node
//! ([`Store::record_cosigned`]), and only if the head it decided against is still the
//! stored one (two decisions about one log racing each other cannot both land). A fork,
//! once seen, stays recorded beside the head: it is evidence, and what `/metrics`, the log
//! and the dashboard report.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `witnessed` | the log's origin (`lienthong/<organ_id>`) | [`WitnessedLog`] |

use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::tlog::TreeHead;
use serde::{Deserialize, Serialize};
use tracing::debug;

use super::Store;
use super::encoding::{self, Initial, Versioned};
use super::error::StoreError;
use super::keys::Tree;

/// What a witness keeps about one log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessedLog {
    /// The last head cosigned; `None` when a fork was seen before any cosignature.
    pub head: Option<TreeHead>,
    /// When it was cosigned.
    pub cosigned_at: Option<Timestamp>,
    /// The first fork this log presented, if it ever did.
    pub fork: Option<SeenFork>,
}

/// A checkpoint, validly signed by the log, that contradicts the head cosigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenFork {
    /// The head the witness had cosigned.
    pub seen: Option<TreeHead>,
    /// The head presented.
    pub presented: TreeHead,
    /// How they disagree, for people.
    pub kind: String,
    /// When it was presented.
    pub at: Timestamp,
}

impl Versioned for WitnessedLog {
    const VERSION: u8 = 1;
    type Previous = Initial;
    fn migrate(previous: Initial) -> Self {
        match previous {}
    }
}

impl Store {
    /// What this witness keeps about the log `origin`.
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn witnessed(&self, origin: &str) -> Result<Option<WitnessedLog>, StoreError> {
        let key = origin.as_bytes();
        self.db()
            .get(Tree::Witnessed, key)?
            .map(|value| encoding::read(Tree::Witnessed, key, &value))
            .transpose()
    }

    /// Every log this witness keeps something about, by origin.
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn witnessed_logs(&self) -> Result<Vec<(String, WitnessedLog)>, StoreError> {
        self.db()
            .iter(Tree::Witnessed)
            .map(|item| {
                let (key, value) = item?;
                let log = encoding::read(Tree::Witnessed, &key, &value)?;
                Ok((String::from_utf8_lossy(&key).into_owned(), log))
            })
            .collect()
    }

    /// Records `head` as the last one cosigned for `origin`, durably, if the head stored
    /// is still `decided_against` (what the decision to cosign was made against). Returns
    /// whether it was recorded; `false` means another decision landed meanwhile, and the
    /// cosignature must not be handed out.
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors: do not hand the cosignature out.
    pub fn record_cosigned(
        &self,
        origin: &str,
        decided_against: Option<TreeHead>,
        head: TreeHead,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let key = origin.as_bytes();
        let recorded = self.db().transaction("record cosigned", |tx| {
            let stored: Option<WitnessedLog> = tx
                .get(Tree::Witnessed, key)?
                .map(|value| encoding::read(Tree::Witnessed, key, &value))
                .transpose()?;
            if stored.as_ref().and_then(|log| log.head) != decided_against {
                return Ok(false);
            }
            let log = WitnessedLog {
                head: Some(head),
                cosigned_at: Some(at),
                fork: stored.and_then(|log| log.fork),
            };
            tx.insert(
                Tree::Witnessed,
                key,
                &encoding::write("witnessed log", &log)?,
            )?;
            Ok(true)
        })?;
        self.sync()?;
        debug!(origin, size = head.size, recorded, "cosigned head recorded");
        Ok(recorded)
    }

    /// Records that `origin` presented `fork`, durably; the first fork seen is kept.
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors.
    pub fn record_fork(&self, origin: &str, fork: &SeenFork) -> Result<(), StoreError> {
        let key = origin.as_bytes();
        self.db().transaction("record fork", |tx| {
            let mut log: WitnessedLog = match tx.get(Tree::Witnessed, key)? {
                Some(value) => encoding::read(Tree::Witnessed, key, &value)?,
                None => WitnessedLog {
                    head: None,
                    cosigned_at: None,
                    fork: None,
                },
            };
            if log.fork.is_some() {
                return Ok(());
            }
            log.fork = Some(fork.clone());
            tx.insert(
                Tree::Witnessed,
                key,
                &encoding::write("witnessed log", &log)?,
            )
        })?;
        self.sync()
    }
}
