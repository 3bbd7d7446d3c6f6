//! [`CompactTree`]: the root of a growing tree without rereading its leaves.
//!
//! A tree of `n` leaves is a row of perfect subtrees, one per set bit of `n`, largest
//! (leftmost) first: 13 = 8 + 4 + 1 leaves is the roots of leaves 0..8, 8..12 and 12. These
//! at most 64 hashes (the right frontier, or "compact range" of the whole tree) are all
//! that is needed to append a leaf (merge equal-sized subtrees, like carrying in binary
//! addition) and to compute the root (hash the row together from the right, which is
//! exactly RFC 6962's split at the largest power of two). The node keeps one per log and
//! persists it with its size, so a restart does not reread every leaf.

use serde::{Deserialize, Serialize};

use super::Hash;
use super::hash::{empty_root, leaf_hash, node_hash};

/// The right frontier of an append-only Merkle tree: its size and the roots of its perfect
/// subtrees, largest first.
///
/// Serialises as `{ "size": n, "frontier": [hash, …] }`; deserialising checks that the
/// frontier has one hash per set bit of the size, so a damaged record is refused rather
/// than giving wrong roots.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Parts", into = "Parts")]
pub struct CompactTree {
    size: u64,
    frontier: Vec<Hash>,
}

/// A frontier that does not fit its size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a tree of {size} leaves has {expected} frontier hashes, not {actual}")]
pub struct CompactTreeError {
    /// The size given.
    pub size: u64,
    /// The number of set bits in the size.
    pub expected: usize,
    /// The number of hashes given.
    pub actual: usize,
}

/// The serialised form, checked on the way in.
#[derive(Serialize, Deserialize)]
struct Parts {
    size: u64,
    frontier: Vec<Hash>,
}

impl TryFrom<Parts> for CompactTree {
    type Error = CompactTreeError;

    fn try_from(parts: Parts) -> Result<Self, Self::Error> {
        CompactTree::from_parts(parts.size, parts.frontier)
    }
}

impl From<CompactTree> for Parts {
    fn from(tree: CompactTree) -> Self {
        Parts {
            size: tree.size,
            frontier: tree.frontier,
        }
    }
}

impl CompactTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The frontier of the tree over these leaf hashes.
    pub fn from_leaves(leaf_hashes: &[Hash]) -> Self {
        let mut tree = Self::new();
        for leaf in leaf_hashes {
            tree.append(*leaf);
        }
        tree
    }

    /// A frontier read back from storage.
    ///
    /// # Errors
    /// [`CompactTreeError`] when `frontier` does not have one hash per set bit of `size`.
    pub fn from_parts(size: u64, frontier: Vec<Hash>) -> Result<Self, CompactTreeError> {
        let expected = size.count_ones() as usize;
        if frontier.len() != expected {
            return Err(CompactTreeError {
                size,
                expected,
                actual: frontier.len(),
            });
        }
        Ok(CompactTree { size, frontier })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtrees' roots, largest (leftmost) first.
    pub fn frontier(&self) -> &[Hash] {
        &self.frontier
    }

    /// Appends a leaf by its hash and returns its index. O(log n) hashes.
    pub fn append(&mut self, leaf_hash: Hash) -> u64 {
        let index = self.size;
        let mut carry = leaf_hash;
        // Each trailing set bit of the old size is a subtree as large as `carry`: merge.
        let mut bits = self.size;
        while bits & 1 == 1 {
            if let Some(left) = self.frontier.pop() {
                carry = node_hash(&left, &carry);
            }
            bits >>= 1;
        }
        self.frontier.push(carry);
        self.size += 1;
        index
    }

    /// Appends a leaf by its bytes ([`leaf_hash`]) and returns its index.
    pub fn append_leaf(&mut self, data: &[u8]) -> u64 {
        self.append(leaf_hash(data))
    }

    /// The tree's root hash. O(log n) hashes.
    pub fn root(&self) -> Hash {
        let mut subtrees = self.frontier.iter().rev();
        let Some(&smallest) = subtrees.next() else {
            return empty_root();
        };
        subtrees.fold(smallest, |right, left| node_hash(left, &right))
    }
}

#[cfg(test)]
mod tests {
    use super::super::hash::root;
    use super::super::hash::tests::leaves;
    use super::*;

    #[test]
    fn root_matches_full_computation_for_every_prefix() {
        let all = leaves(300);
        let mut tree = CompactTree::new();
        assert_eq!(tree.root(), root(&[]));
        for (i, leaf) in all.iter().enumerate() {
            assert_eq!(tree.append(*leaf), i as u64);
            assert_eq!(tree.size(), i as u64 + 1);
            assert_eq!(tree.frontier().len(), tree.size().count_ones() as usize);
            assert_eq!(tree.root(), root(&all[..=i]), "size {}", i + 1);
        }
        assert_eq!(tree, CompactTree::from_leaves(&all));
    }

    /// The frontiers transparency-dev/merkle lists for the Certificate Transparency
    /// reference tree at sizes 1 to 8, by their perfect subtrees' hashes.
    #[test]
    fn certificate_transparency_reference_frontiers() {
        let h = |hex_hash: &str| {
            let mut hash = [0; 32];
            hex::decode_to_slice(hex_hash, &mut hash).unwrap();
            hash
        };
        let leaf = |i: usize| {
            h([
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
                "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            ][i])
        };
        let pair = |i: usize| {
            h([
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            ][i])
        };
        let four = h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7");
        let eight = h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
        let expected: [Vec<Hash>; 8] = [
            vec![leaf(0)],
            vec![pair(0)],
            vec![pair(0), leaf(2)],
            vec![four],
            vec![four, leaf(4)],
            vec![four, pair(2)],
            vec![four, pair(2), leaf(6)],
            vec![eight],
        ];
        let mut tree = CompactTree::new();
        for (leaf_hash, frontier) in super::super::hash::tests::ct_leaf_hashes()
            .into_iter()
            .zip(expected)
        {
            tree.append(leaf_hash);
            assert_eq!(tree.frontier(), frontier, "size {}", tree.size());
        }
    }

    #[test]
    fn append_leaf_hashes_the_data() {
        let mut tree = CompactTree::new();
        tree.append_leaf(b"fact");
        assert_eq!(tree.root(), leaf_hash(b"fact"));
    }

    #[test]
    fn serde_round_trip_and_damaged_frontier_refused() {
        let tree = CompactTree::from_leaves(&leaves(13));
        let json = serde_json::to_string(&tree).unwrap();
        let back: CompactTree = serde_json::from_str(&json).unwrap();
        assert_eq!(back, tree);
        assert_eq!(back.root(), tree.root());

        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        value["size"] = 12.into();
        let err = serde_json::from_value::<CompactTree>(value).unwrap_err();
        assert!(
            err.to_string()
                .contains("12 leaves has 2 frontier hashes, not 3"),
            "{err}"
        );

        assert_eq!(
            CompactTree::from_parts(5, vec![[0; 32]]),
            Err(CompactTreeError {
                size: 5,
                expected: 2,
                actual: 1
            })
        );
    }
}
