//! The evidence log: every fact this node signs or accepts, as the leaves of an
//! append-only Merkle tree, and the checkpoints the node signed over it.
//!
//! # Why in the store, in the same transaction
//!
//! A log kept beside the store could lose a leaf whose fact survived a crash, or keep a
//! leaf whose fact did not, and then the node's own checkpoints would not describe what it
//! holds. So each fact's leaf is appended by [`append`], inside the transaction that stores
//! the fact: both land, or neither. The tree's frontier ([`CompactTree`]) sits in `meta`
//! and is read and written in that same transaction, so leaf indexes are assigned in commit
//! order, also when a group commit applies several facts in one transaction (each
//! `SharedWrite::apply` appends after the writes before it in the batch; a failed batch
//! writes no leaf, and each write is then tried alone with its own).
//!
//! # Layout
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `meta` | `"evidence_tree"` | [`EvidenceTree`]: the frontier (size and perfect subtrees' roots); missing means empty |
//! | `evidence_leaves` | leaf index (u64 BE) | blob: leaf hash (32) ‖ leaf bytes (`evidence_leaf.rs`) |
//! | `checkpoints` | tree size (u64 BE) | blob: the signed checkpoint note this node issued at that size |
//! | `meta` | `"evidence_roster"` | `u64` BE, bare: the last roster serial logged |
//!
//! Signing is not the store's business: the node reads [`Store::evidence_tree`], signs a
//! checkpoint over it, and keeps the note with [`Store::record_checkpoint`].

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::tlog::{self, CompactTree, Hash};
use serde::{Deserialize, Serialize};
use tracing::debug;

use super::Store;
use super::encoding::{self, Initial, Versioned, corrupt};
use super::engine::{Tx, TxError};
use super::error::{Corruption, StoreError};
use super::evidence_leaf::{EvidenceLeaf, Fact};
use super::keys::Tree;

/// `meta` key of the evidence tree's frontier.
pub(super) const EVIDENCE_TREE: &[u8] = b"evidence_tree";
/// `meta` key of the last roster serial logged.
const EVIDENCE_ROSTER: &[u8] = b"evidence_roster";

/// The evidence tree's frontier as stored in `meta`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct EvidenceTree(pub(super) CompactTree);

impl Versioned for EvidenceTree {
    const VERSION: u8 = 1;
    type Previous = Initial;
    fn migrate(previous: Initial) -> Self {
        match previous {}
    }
}

/// One leaf as stored: its index, its hash and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLeaf {
    /// Its position in the log, from 0.
    pub index: u64,
    /// `SHA-256(0x00 ‖ data)`.
    pub hash: Hash,
    /// The leaf's bytes (see `evidence_leaf.rs` for the format).
    pub data: Bytes,
}

impl StoredLeaf {
    /// The fact the bytes say.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when they do not read as a leaf.
    pub fn leaf(&self) -> Result<EvidenceLeaf, StoreError> {
        EvidenceLeaf::decode(&self.data).map_err(|source| {
            corrupt(
                Tree::EvidenceLeaves,
                &self.index.to_be_bytes(),
                Corruption::Leaf { source },
            )
        })
    }
}

/// How a receipt came to be stored, for its leaf's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReceiptOrigin {
    /// Signed by this node with a submission or an acceptance.
    SignedHere,
    /// Recorded on its own (received, gossiped, or a refusal signed apart).
    Recorded,
}

/// Whether facts become leaves: always, but in a node the benchmark starts to measure
/// what the log costs (see [`stop_logging_for_benchmark`]).
static LOGGING: AtomicBool = AtomicBool::new(true);

/// The index [`append`] answers while the log is off: no leaf has it.
const NOT_LOGGED: u64 = u64::MAX;

/// Stops appending leaves in this process, for `lienthong-sim bench`'s `evidence` group
/// only: issue 26 asks what the log costs direct delivery, and the honest answer sets the
/// same build beside itself without the log, in the same run. A node started so proves
/// nothing about what it did; `node.rs` says so at WARN when it is asked to.
pub fn stop_logging_for_benchmark() {
    LOGGING.store(false, Ordering::Relaxed);
}

/// Inside a transaction: appends `leaf` to the log and returns its index. The frontier is
/// read and written in the same transaction, so concurrent writers (which sled runs one at
/// a time) get consecutive indexes in commit order.
pub(super) fn append(tx: &Tx<'_>, leaf: &EvidenceLeaf) -> Result<u64, TxError> {
    if !LOGGING.load(Ordering::Relaxed) {
        return Ok(NOT_LOGGED);
    }
    let mut tree = load_tree(tx)?;
    let data = leaf.encode();
    let hash = tlog::leaf_hash(&data);
    let index = tree.append(hash);
    let mut value = Vec::with_capacity(1 + 32 + data.len());
    value.push(encoding::BLOB_V1);
    value.extend_from_slice(&hash);
    value.extend_from_slice(&data);
    tx.insert(Tree::EvidenceLeaves, &index.to_be_bytes(), &value)?;
    tx.insert(
        Tree::Meta,
        EVIDENCE_TREE,
        &encoding::write("evidence tree", &EvidenceTree(tree))?,
    )?;
    Ok(index)
}

/// Inside a transaction: the leaf of a receipt stored at `at`.
pub(super) fn append_receipt(
    tx: &Tx<'_>,
    receipt: &lienthong_protocol::envelope::SignedReceipt,
    origin: ReceiptOrigin,
    at: Timestamp,
) -> Result<u64, TxError> {
    let (receipt, package) = (receipt.id(), receipt.package_id());
    let fact = match origin {
        ReceiptOrigin::SignedHere => Fact::ReceiptSigned { receipt, package },
        ReceiptOrigin::Recorded => Fact::ReceiptRecorded { receipt, package },
    };
    append(tx, &EvidenceLeaf::new(at, fact))
}

fn load_tree(tx: &Tx<'_>) -> Result<CompactTree, TxError> {
    match tx.get(Tree::Meta, EVIDENCE_TREE)? {
        Some(value) => {
            let EvidenceTree(tree) = encoding::read(Tree::Meta, EVIDENCE_TREE, &value)?;
            Ok(tree)
        }
        None => Ok(CompactTree::new()),
    }
}

/// SHA-256 of `bytes`, for the leaves that name bytes by their hash.
pub(super) fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

impl Store {
    /// The log's frontier: its size and, through [`CompactTree::root`], its root hash. One
    /// read, so size and root always belong together.
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn evidence_tree(&self) -> Result<CompactTree, StoreError> {
        match self.db().get(Tree::Meta, EVIDENCE_TREE)? {
            Some(value) => {
                let EvidenceTree(tree) = encoding::read(Tree::Meta, EVIDENCE_TREE, &value)?;
                Ok(tree)
            }
            None => Ok(CompactTree::new()),
        }
    }

    /// How many leaves the log holds.
    ///
    /// # Errors
    /// As [`Store::evidence_tree`].
    pub fn evidence_size(&self) -> Result<u64, StoreError> {
        Ok(self.evidence_tree()?.size())
    }

    /// The leaf at `index`, if the log is that long.
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn evidence_leaf(&self, index: u64) -> Result<Option<StoredLeaf>, StoreError> {
        let key = index.to_be_bytes();
        self.db()
            .get(Tree::EvidenceLeaves, &key)?
            .map(|value| stored_leaf(index, &value))
            .transpose()
    }

    /// Up to `limit` leaves from `from` on, in log order.
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn evidence_leaves(&self, from: u64, limit: usize) -> Result<Vec<StoredLeaf>, StoreError> {
        let mut leaves = Vec::with_capacity(limit.min(1024));
        for item in self
            .db()
            .range_from(Tree::EvidenceLeaves, &from.to_be_bytes())
            .take(limit)
        {
            let (key, value) = item?;
            leaves.push(stored_leaf(leaf_index(&key)?, &value)?);
        }
        Ok(leaves)
    }

    /// The hashes of the leaves in `range`, in order: what proofs are made from.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when a leaf in the range is missing (the log is shorter than
    /// `range.end`, or damaged); [`StoreError::Read`].
    pub fn evidence_hashes(&self, range: Range<u64>) -> Result<Vec<Hash>, StoreError> {
        let len = usize::try_from(range.end.saturating_sub(range.start)).unwrap_or(usize::MAX);
        let mut hashes = Vec::with_capacity(len.min(1 << 20));
        let mut expected = range.start;
        for item in self
            .db()
            .range_from(Tree::EvidenceLeaves, &range.start.to_be_bytes())
        {
            if expected >= range.end {
                break;
            }
            let (key, value) = item?;
            let index = leaf_index(&key)?;
            if index != expected {
                break;
            }
            hashes.push(stored_leaf(index, &value)?.hash);
            expected += 1;
        }
        if expected < range.end {
            return Err(corrupt(
                Tree::EvidenceLeaves,
                &expected.to_be_bytes(),
                Corruption::Missing {
                    what: "evidence leaf",
                },
            ));
        }
        Ok(hashes)
    }

    /// Appends a fact that is not stored anywhere else in the store (a roster taken), in
    /// its own transaction, durably. Returns its index.
    ///
    /// # Errors
    /// An engine or [`StoreError::Sync`] error.
    pub fn append_evidence(&self, leaf: &EvidenceLeaf) -> Result<u64, StoreError> {
        let index = self
            .db()
            .transaction("append evidence", |tx| append(tx, leaf))?;
        self.sync()?;
        Ok(index)
    }

    /// Logs that the roster with `serial` was taken, unless a roster of that serial or a
    /// later one was logged before: the roster lives in files of its own, so this is called
    /// whenever the node takes one, and at start for the one it starts with. Durable on
    /// return; `Some(index)` when a leaf was appended.
    ///
    /// # Errors
    /// An engine or [`StoreError::Sync`] error.
    pub fn log_roster(
        &self,
        serial: u64,
        roster_sha256: [u8; 32],
        at: Timestamp,
    ) -> Result<Option<u64>, StoreError> {
        let leaf = EvidenceLeaf::new(
            at,
            Fact::RosterTaken {
                serial,
                roster_sha256,
            },
        );
        let appended = self.db().transaction("log roster", |tx| {
            if let Some(value) = tx.get(Tree::Meta, EVIDENCE_ROSTER)?
                && let Ok(bytes) = <[u8; 8]>::try_from(&value[..])
                && u64::from_be_bytes(bytes) >= serial
            {
                return Ok(None);
            }
            tx.insert(Tree::Meta, EVIDENCE_ROSTER, &serial.to_be_bytes())?;
            append(tx, &leaf).map(Some)
        })?;
        if appended.is_some() {
            self.sync()?;
            debug!(serial, "roster logged");
        }
        Ok(appended)
    }

    /// Keeps the signed checkpoint `note` this node issued over the first `size` leaves,
    /// durably. A second note at the same size replaces the first (both say the same).
    ///
    /// # Errors
    /// An engine or [`StoreError::Sync`] error: do not hand the note out.
    pub fn record_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        let value = encoding::encode_blob(note);
        self.db().transaction("record checkpoint", |tx| {
            tx.insert(Tree::Checkpoints, &size.to_be_bytes(), &value)
        })?;
        self.sync()
    }

    /// The checkpoint note with the largest size, and that size.
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, Bytes)>, StoreError> {
        let Some(item) = self.db().iter(Tree::Checkpoints).next_back() else {
            return Ok(None);
        };
        let (key, value) = item?;
        let size = u64::from_be_bytes(fixed(Tree::Checkpoints, &key)?);
        Ok(Some((size, checkpoint_note(&key, value)?)))
    }

    /// The leaves about `package` (see [`Fact::package`]), in log order, read from a scan of
    /// the whole log: the log has no index by package, so this is linear in its size, as
    /// proofs are (`docs/evidence.md`, "Not yet").
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    ///
    /// [`Fact::package`]: super::Fact::package
    pub fn evidence_leaves_about(
        &self,
        package: &lienthong_protocol::envelope::PackageId,
    ) -> Result<Vec<StoredLeaf>, StoreError> {
        let mut found = Vec::new();
        for item in self.db().iter(Tree::EvidenceLeaves) {
            let (key, value) = item?;
            let stored = stored_leaf(leaf_index(&key)?, &value)?;
            if stored.leaf()?.fact.package() == Some(package) {
                found.push(stored);
            }
        }
        Ok(found)
    }

    /// The sizes of the checkpoints this node issued over more than `covering` leaves,
    /// newest first, at most `limit` of them.
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn checkpoint_sizes_above(
        &self,
        covering: u64,
        limit: usize,
    ) -> Result<Vec<u64>, StoreError> {
        let mut sizes = Vec::new();
        for item in self.db().iter(Tree::Checkpoints).rev() {
            let (key, _) = item?;
            let size = u64::from_be_bytes(fixed(Tree::Checkpoints, &key)?);
            if size <= covering || sizes.len() >= limit {
                break;
            }
            sizes.push(size);
        }
        Ok(sizes)
    }

    /// The indexes of the first and the last leaf whose time (when this node took the fact)
    /// falls in `period` (start included, end excluded); `None` when no leaf does. A scan of
    /// the whole log, like [`Store::evidence_leaves_about`]: an archive asks this once.
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn evidence_indexes_between(
        &self,
        period: Range<Timestamp>,
    ) -> Result<Option<(u64, u64)>, StoreError> {
        let mut found: Option<(u64, u64)> = None;
        for item in self.db().iter(Tree::EvidenceLeaves) {
            let (key, value) = item?;
            let stored = stored_leaf(leaf_index(&key)?, &value)?;
            if period.contains(&stored.leaf()?.at) {
                let index = stored.index;
                found = Some(found.map_or((index, index), |(first, _)| (first, index)));
            }
        }
        Ok(found)
    }

    /// The sizes of the checkpoints this node issued over leaves `first..=last`: every one
    /// above `first` up to and including the first one that covers `last`, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn checkpoint_sizes_over(&self, first: u64, last: u64) -> Result<Vec<u64>, StoreError> {
        let mut sizes = Vec::new();
        let lowest = first.saturating_add(1);
        for item in self
            .db()
            .range_from(Tree::Checkpoints, &lowest.to_be_bytes())
        {
            let (key, _) = item?;
            let size = u64::from_be_bytes(fixed(Tree::Checkpoints, &key)?);
            sizes.push(size);
            if size > last {
                break;
            }
        }
        Ok(sizes)
    }

    /// The checkpoint note issued at `size`, if one was.
    ///
    /// # Errors
    /// [`StoreError::Read`], [`StoreError::Corrupt`].
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<Bytes>, StoreError> {
        let key = size.to_be_bytes();
        self.db()
            .get(Tree::Checkpoints, &key)?
            .map(|value| checkpoint_note(&key, value))
            .transpose()
    }
}

fn checkpoint_note(key: &[u8], value: super::engine::Value) -> Result<Bytes, StoreError> {
    encoding::check_blob(&value).map_err(|problem| corrupt(Tree::Checkpoints, key, problem))?;
    Ok(value.into_bytes_from(1))
}

fn leaf_index(key: &[u8]) -> Result<u64, StoreError> {
    Ok(u64::from_be_bytes(fixed(Tree::EvidenceLeaves, key)?))
}

fn fixed(tree: Tree, key: &[u8]) -> Result<[u8; 8], StoreError> {
    key.try_into().map_err(|_| {
        corrupt(
            tree,
            key,
            Corruption::Length {
                expected: 8,
                found: key.len(),
            },
        )
    })
}

fn stored_leaf(index: u64, value: &[u8]) -> Result<StoredLeaf, StoreError> {
    let key = index.to_be_bytes();
    encoding::check_blob(value).map_err(|problem| corrupt(Tree::EvidenceLeaves, &key, problem))?;
    let body = &value[1..];
    if body.len() < 32 {
        return Err(corrupt(
            Tree::EvidenceLeaves,
            &key,
            Corruption::Length {
                expected: 32,
                found: body.len(),
            },
        ));
    }
    let mut hash = [0; 32];
    hash.copy_from_slice(&body[..32]);
    Ok(StoredLeaf {
        index,
        hash,
        data: Bytes::copy_from_slice(&body[32..]),
    })
}
