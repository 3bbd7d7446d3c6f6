//! Merkle tree hashing as RFC 6962 §2.1 defines it (kept unchanged by RFC 9162 §2.1.1).
//!
//! Leaves and interior nodes are hashed with different one-byte prefixes, so that no leaf
//! can be passed off as an interior node (a second-preimage attack on the tree). The tree
//! over `n` leaves splits at the largest power of two below `n`: the left subtree is always
//! perfect, which is what lets the frontier in `compact` and the proof algorithms in
//! `proof` work with bit arithmetic on indices.

use sha2::{Digest as _, Sha256};

use super::Hash;

/// Prefix of a leaf hash's input.
const LEAF_PREFIX: u8 = 0x00;
/// Prefix of an interior node hash's input.
const NODE_PREFIX: u8 = 0x01;

/// The hash of a leaf with these bytes: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The Merkle tree hash (MTH) of these leaf hashes, in order; [`empty_root`] for none.
///
/// This reads every leaf hash. A node that only appends should keep a
/// [`CompactTree`](super::CompactTree) instead, which gives the same root in O(log n).
pub fn root(leaf_hashes: &[Hash]) -> Hash {
    if leaf_hashes.is_empty() {
        empty_root()
    } else {
        subtree_root(leaf_hashes)
    }
}

/// MTH of a non-empty run of leaf hashes. An empty run gives the empty root, so the
/// function is total, but callers never pass one.
pub(super) fn subtree_root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let (left, right) = leaves.split_at(split(leaves.len() as u64) as usize);
            node_hash(&subtree_root(left), &subtree_root(right))
        }
    }
}

/// Where the tree over `n` leaves splits: the largest power of two strictly below `n`.
/// Defined for `n >= 2`; gives 1 for smaller `n` so that callers' loops stay total.
pub(super) fn split(n: u64) -> u64 {
    if n < 2 {
        return 1;
    }
    1 << (u64::BITS - 1 - (n - 1).leading_zeros())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The leaves of the reference tree in Certificate Transparency's test suites (the C++
    /// and Go implementations both use it).
    const CT_LEAVES: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];

    /// The roots of its first 1..=8 leaves.
    const CT_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// A different construction of the same tree, to check [`root`] against: hash
    /// neighbours pairwise level by level, carrying an unpaired last node up unchanged.
    pub(crate) fn bottom_up_root(leaves: &[Hash]) -> Hash {
        if leaves.is_empty() {
            return empty_root();
        }
        let mut level = leaves.to_vec();
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|pair| match pair {
                    [left, right] => node_hash(left, right),
                    [single] => *single,
                    _ => unreachable!(),
                })
                .collect();
        }
        level[0]
    }

    /// The reference tree's leaf hashes.
    pub(crate) fn ct_leaf_hashes() -> Vec<Hash> {
        CT_LEAVES.iter().map(|leaf| leaf_hash(leaf)).collect()
    }

    pub(crate) fn leaves(n: usize) -> Vec<Hash> {
        (0..n as u64).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn empty_tree_root_is_sha256_of_nothing() {
        assert_eq!(
            hex::encode(root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn certificate_transparency_reference_roots() {
        let hashes = ct_leaf_hashes();
        for (size, expected) in (1..=8).zip(CT_ROOTS) {
            assert_eq!(hex::encode(root(&hashes[..size])), expected, "size {size}");
        }
    }

    #[test]
    fn root_agrees_with_bottom_up_construction() {
        let all = leaves(300);
        for n in 0..=all.len() {
            assert_eq!(root(&all[..n]), bottom_up_root(&all[..n]), "size {n}");
        }
    }

    #[test]
    fn split_is_largest_power_of_two_below() {
        for n in 2..2000u64 {
            let k = split(n);
            assert!(k.is_power_of_two() && k < n && 2 * k >= n, "n {n} k {k}");
        }
        assert_eq!(split(u64::MAX), 1 << 63);
    }
}
