//! Inclusion proofs (audit paths) and consistency proofs, RFC 9162 §2.1.3 and §2.1.4.
//!
//! Proofs are made from the full list of leaf hashes, which the node keeps anyway (32 bytes
//! a fact); making one reads O(n) hashes. Checking follows RFC 9162's algorithms step by
//! step, which work on the bits of the indices rather than rebuilding the tree's shape.
//! Since the proofs are made by recursion over the tree's shape and checked by that bit
//! arithmetic, the tests below check each against the other.
//!
//! Before running the algorithm the checkers compare the proof's length with the exact
//! length a proof for those sizes has, so a truncated or padded proof is reported as such
//! rather than as a root mismatch.

use super::Hash;
use super::hash::{node_hash, split, subtree_root};

/// Why a proof was not made or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not in a tree of {size} leaves")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree's size.
        size: u64,
    },
    /// A consistency proof was asked for from a larger tree to a smaller one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizesOutOfOrder {
        /// The size said to come first.
        old: u64,
        /// The size said to come later.
        new: u64,
    },
    /// The proof does not have the number of hashes a proof for these sizes has.
    #[error("proof has {actual} hashes, but a proof for these sizes has {expected}")]
    WrongLength {
        /// The number a proof for these sizes has.
        expected: usize,
        /// The number given.
        actual: usize,
    },
    /// The inclusion proof, applied to the leaf hash, does not give the root hash.
    #[error("inclusion proof does not lead from the leaf to the root hash")]
    RootMismatch,
    /// Two tree heads of the same size have different roots: they are different trees.
    #[error("two trees of {size} leaves have different root hashes")]
    SameSizeDifferentRoots {
        /// The size both heads claim.
        size: u64,
    },
    /// The consistency proof does not rebuild the old root: the old tree is not a prefix
    /// of the tree the proof was made from.
    #[error("consistency proof does not rebuild the old root hash")]
    OldRootMismatch,
    /// The consistency proof rebuilds the old root but not the new one.
    #[error("consistency proof does not rebuild the new root hash")]
    NewRootMismatch,
}

/// The inclusion proof (audit path) of leaf `index` in the tree over `leaf_hashes`: the
/// sibling hashes from the leaf up to the root (RFC 9162 §2.1.3.1).
///
/// # Errors
/// [`ProofError::IndexOutOfRange`] when `index` is not below the number of leaves.
pub fn inclusion_proof(leaf_hashes: &[Hash], index: u64) -> Result<Vec<Hash>, ProofError> {
    let size = leaf_hashes.len() as u64;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::with_capacity(inclusion_len(index, size));
    audit_path(leaf_hashes, index, &mut proof);
    Ok(proof)
}

/// PATH(m, D[n]): pushes the deepest sibling first.
fn audit_path(leaves: &[Hash], m: u64, proof: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split(leaves.len() as u64);
    let (left, right) = leaves.split_at(k as usize);
    if m < k {
        audit_path(left, m, proof);
        proof.push(subtree_root(right));
    } else {
        audit_path(right, m - k, proof);
        proof.push(subtree_root(left));
    }
}

/// The consistency proof from the tree of the first `old_size` leaves to the tree over all
/// of `leaf_hashes` (RFC 9162 §2.1.4.1). Empty when `old_size` is 0 or all the leaves,
/// where there is nothing to prove.
///
/// # Errors
/// [`ProofError::SizesOutOfOrder`] when `old_size` is more than the number of leaves.
pub fn consistency_proof(leaf_hashes: &[Hash], old_size: u64) -> Result<Vec<Hash>, ProofError> {
    let size = leaf_hashes.len() as u64;
    if old_size > size {
        return Err(ProofError::SizesOutOfOrder {
            old: old_size,
            new: size,
        });
    }
    if old_size == 0 || old_size == size {
        return Ok(Vec::new());
    }
    let mut proof = Vec::with_capacity(consistency_len(old_size, size));
    subproof(old_size, leaf_hashes, true, &mut proof);
    Ok(proof)
}

/// SUBPROOF(m, D[n], b): `whole` is true while the old tree's root is a node of the new
/// tree that the verifier already has, so it need not be sent.
fn subproof(m: u64, leaves: &[Hash], whole: bool, proof: &mut Vec<Hash>) {
    let n = leaves.len() as u64;
    if m == n {
        if !whole {
            proof.push(subtree_root(leaves));
        }
        return;
    }
    let k = split(n);
    let (left, right) = leaves.split_at(k as usize);
    if m <= k {
        subproof(m, left, whole, proof);
        proof.push(subtree_root(right));
    } else {
        subproof(m - k, right, false, proof);
        proof.push(subtree_root(left));
    }
}

/// Checks that `proof` shows the leaf with hash `leaf_hash` at `index` in the tree of
/// `size` leaves with root `root` (RFC 9162 §2.1.3.2).
///
/// # Errors
/// [`ProofError::IndexOutOfRange`], [`ProofError::WrongLength`] or
/// [`ProofError::RootMismatch`].
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    let wrong_length = ProofError::WrongLength {
        expected,
        actual: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if snode == 0 {
            return Err(wrong_length);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(wrong_length);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks that `proof` shows the tree of `old_size` leaves with root `old_root` is a prefix
/// of the tree of `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots; the empty tree is a prefix of every
/// tree, with an empty proof.
///
/// # Errors
/// [`ProofError::SizesOutOfOrder`], [`ProofError::WrongLength`],
/// [`ProofError::SameSizeDifferentRoots`], [`ProofError::OldRootMismatch`] or
/// [`ProofError::NewRootMismatch`].
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder {
            old: old_size,
            new: new_size,
        });
    }
    let expected = if old_size == 0 || old_size == new_size {
        0
    } else {
        consistency_len(old_size, new_size)
    };
    let wrong_length = ProofError::WrongLength {
        expected,
        actual: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    if old_size == new_size {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::SameSizeDifferentRoots { size: old_size })
        };
    }
    if old_size == 0 {
        return Ok(());
    }
    // Step 2: when the old tree is perfect its root is a node of the new tree, and the
    // proof omits it; start from the old root itself.
    let (seed, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        proof.split_first().ok_or(wrong_length.clone())?
    };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if snode == 0 {
            return Err(wrong_length);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(wrong_length);
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}

/// The number of hashes in the inclusion proof of `index` in a tree of `size` leaves
/// (`index < size`): one per level of PATH's recursion.
fn inclusion_len(mut index: u64, mut size: u64) -> usize {
    let mut len = 0;
    while size > 1 {
        let k = split(size);
        if index < k {
            size = k;
        } else {
            index -= k;
            size -= k;
        }
        len += 1;
    }
    len
}

/// The number of hashes in the consistency proof from `old` to `new` leaves
/// (`0 < old < new`): one per level of SUBPROOF's recursion, plus the old subtree's root
/// when it is not a node the verifier already has.
fn consistency_len(mut old: u64, mut new: u64) -> usize {
    let mut len = 0;
    let mut whole = true;
    while old != new {
        let k = split(new);
        if old <= k {
            new = k;
        } else {
            old -= k;
            new -= k;
            whole = false;
        }
        len += 1;
    }
    len + usize::from(!whole)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::hash::root;
    use super::super::hash::tests::leaves;
    use super::*;

    /// Every way of changing one byte of one hash: the byte's position and the xor mask.
    fn flip(hash: &Hash, byte: usize, mask: u8) -> Hash {
        let mut flipped = *hash;
        flipped[byte] ^= mask;
        flipped
    }

    fn h(hex_hash: &str) -> Hash {
        let mut hash = [0; 32];
        hex::decode_to_slice(hex_hash, &mut hash).unwrap();
        hash
    }

    /// The Certificate Transparency reference tree (see `hash`'s tests) and the proofs
    /// over it that transparency-dev/merkle's tests list, with their corruptions.
    #[test]
    fn certificate_transparency_reference_proofs() {
        let tree = super::super::hash::tests::ct_leaf_hashes();
        let roots: Vec<Hash> = (0..=8).map(|n| root(&tree[..n])).collect();
        let inclusion = [
            (
                0,
                8,
                vec![
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                vec![
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                vec!["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                vec![
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (index, size, expected) in inclusion {
            let expected: Vec<Hash> = expected.into_iter().map(h).collect();
            let n = size as usize;
            assert_eq!(
                inclusion_proof(&tree[..n], index).unwrap(),
                expected,
                "{index} in {size}"
            );
            let leaf = &tree[index as usize];
            verify_inclusion(leaf, index, size, &expected, &roots[n]).unwrap();
            for (i, s) in [
                (index ^ 1, size),
                (index ^ 2, size),
                (index, size * 2),
                (index, size / 2),
            ] {
                assert!(
                    verify_inclusion(leaf, i, s, &expected, &roots[n]).is_err(),
                    "{i} in {s}"
                );
            }
        }
        let consistency = [
            (
                1,
                8,
                vec![
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                vec![
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                vec![
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                6,
                7,
                vec![
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        for (old, new, expected) in consistency {
            let expected: Vec<Hash> = expected.into_iter().map(h).collect();
            let (m, n) = (old as usize, new as usize);
            assert_eq!(
                consistency_proof(&tree[..n], old).unwrap(),
                expected,
                "{old} -> {new}"
            );
            verify_consistency(old, new, &roots[m], &roots[n], &expected).unwrap();
            let mut padded = expected.clone();
            padded.insert(0, expected[0]);
            let corrupt = [
                (old - 1, new, roots[m], roots[n], expected.clone()),
                (old + 1, new, roots[m], roots[n], expected.clone()),
                (old ^ 2, new, roots[m], roots[n], expected.clone()),
                (old, new * 2, roots[m], roots[n], expected.clone()),
                (old, new / 2, roots[m], roots[n], expected.clone()),
                (old, new, roots[n], roots[m], expected.clone()),
                (old, new, roots[m], roots[n], Vec::new()),
                (old, new, roots[m], roots[n], padded),
            ];
            for (o, n2, r1, r2, proof) in corrupt {
                assert!(
                    verify_consistency(o, n2, &r1, &r2, &proof).is_err(),
                    "{o} -> {n2}"
                );
            }
        }
    }

    #[test]
    fn every_inclusion_proof_verifies_up_to_64_leaves() {
        let all = leaves(64);
        for n in 1..=all.len() {
            let tree = &all[..n];
            let tree_root = root(tree);
            for (i, leaf) in tree.iter().enumerate() {
                let proof = inclusion_proof(tree, i as u64).unwrap();
                verify_inclusion(leaf, i as u64, n as u64, &proof, &tree_root)
                    .unwrap_or_else(|e| panic!("size {n} index {i}: {e}"));
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies_up_to_64_leaves() {
        let all = leaves(64);
        let roots: Vec<Hash> = (0..=all.len()).map(|n| root(&all[..n])).collect();
        for n in 0..=all.len() {
            for m in 0..=n {
                let proof = consistency_proof(&all[..n], m as u64).unwrap();
                verify_consistency(m as u64, n as u64, &roots[m], &roots[n], &proof)
                    .unwrap_or_else(|e| panic!("{m} -> {n}: {e}"));
            }
        }
    }

    #[test]
    fn single_leaf_tree_has_empty_proof() {
        let tree = leaves(1);
        assert_eq!(inclusion_proof(&tree, 0).unwrap(), Vec::<Hash>::new());
        verify_inclusion(&tree[0], 0, 1, &[], &tree[0]).unwrap();
    }

    #[test]
    fn out_of_range_and_out_of_order_are_named() {
        let tree = leaves(5);
        let r = root(&tree);
        assert_eq!(
            inclusion_proof(&tree, 5),
            Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            verify_inclusion(&tree[0], 7, 5, &[], &r),
            Err(ProofError::IndexOutOfRange { index: 7, size: 5 })
        );
        assert_eq!(
            consistency_proof(&tree, 6),
            Err(ProofError::SizesOutOfOrder { old: 6, new: 5 })
        );
        assert_eq!(
            verify_consistency(6, 5, &r, &r, &[]),
            Err(ProofError::SizesOutOfOrder { old: 6, new: 5 })
        );
    }

    #[test]
    fn equal_sizes_need_equal_roots_and_no_proof() {
        let tree = leaves(7);
        let r = root(&tree);
        let other = root(&leaves(8)[1..]);
        verify_consistency(7, 7, &r, &r, &[]).unwrap();
        assert_eq!(
            verify_consistency(7, 7, &r, &other, &[]),
            Err(ProofError::SameSizeDifferentRoots { size: 7 })
        );
        assert_eq!(
            verify_consistency(7, 7, &r, &r, &[r]),
            Err(ProofError::WrongLength {
                expected: 0,
                actual: 1
            })
        );
    }

    #[test]
    fn truncated_and_padded_proofs_are_wrong_length() {
        let tree = leaves(13);
        let r = root(&tree);
        let mut proof = inclusion_proof(&tree, 6).unwrap();
        let expected = proof.len();
        proof.push(r);
        assert_eq!(
            verify_inclusion(&tree[6], 6, 13, &proof, &r),
            Err(ProofError::WrongLength {
                expected,
                actual: expected + 1
            })
        );
        let mut proof = consistency_proof(&tree, 5).unwrap();
        let expected = proof.len();
        proof.pop();
        assert_eq!(
            verify_consistency(5, 13, &root(&tree[..5]), &r, &proof),
            Err(ProofError::WrongLength {
                expected,
                actual: expected - 1
            })
        );
    }

    #[test]
    fn a_rewritten_history_is_not_consistent() {
        // The log of 10 facts drops fact 3 and appends two more: the old root cannot be
        // rebuilt from the new tree.
        let honest = leaves(10);
        let mut rewritten = honest.clone();
        rewritten.remove(3);
        rewritten.extend(leaves(12)[10..].iter().copied());
        let proof = consistency_proof(&rewritten, 10).unwrap();
        assert_eq!(
            verify_consistency(10, 11, &root(&honest), &root(&rewritten), &proof),
            Err(ProofError::OldRootMismatch)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn inclusion_proofs_verify_and_any_flip_fails(
            n in 1usize..300,
            picks in proptest::collection::vec(any::<prop::sample::Index>(), 4),
            byte in 0usize..32,
            mask in 1u8..=255,
        ) {
            let tree = leaves(n);
            let tree_root = root(&tree);
            for pick in &picks {
                let i = pick.index(n);
                let index = i as u64;
                let proof = inclusion_proof(&tree, index).unwrap();
                prop_assert_eq!(
                    verify_inclusion(&tree[i], index, n as u64, &proof, &tree_root),
                    Ok(())
                );
                // A changed leaf, root or proof hash fails. (A wrong size can pass when the path's
                // shape is the same; the size is bound to the root by the signed checkpoint.)
                let bad_leaf = flip(&tree[i], byte, mask);
                prop_assert!(verify_inclusion(&bad_leaf, index, n as u64, &proof, &tree_root).is_err());
                let bad_root = flip(&tree_root, byte, mask);
                prop_assert!(verify_inclusion(&tree[i], index, n as u64, &proof, &bad_root).is_err());
                for at in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[at] = flip(&bad[at], byte, mask);
                    prop_assert!(verify_inclusion(&tree[i], index, n as u64, &bad, &tree_root).is_err());
                }
                // The leaf claimed at its sibling's index hashes in the other order.
                let sibling = index ^ 1;
                if sibling < n as u64 {
                    prop_assert!(verify_inclusion(&tree[i], sibling, n as u64, &proof, &tree_root).is_err());
                }
            }
        }

        #[test]
        fn consistency_proofs_verify_and_any_flip_fails(
            n in 1usize..300,
            picks in proptest::collection::vec(any::<prop::sample::Index>(), 4),
            byte in 0usize..32,
            mask in 1u8..=255,
        ) {
            let tree = leaves(n);
            let new_root = root(&tree);
            for pick in &picks {
                let m = pick.index(n + 1);
                let old_root = root(&tree[..m]);
                let (old, new) = (m as u64, n as u64);
                let proof = consistency_proof(&tree, old).unwrap();
                prop_assert_eq!(verify_consistency(old, new, &old_root, &new_root, &proof), Ok(()));
                if m == 0 {
                    // Every tree extends the empty one; there is nothing to tamper with.
                    continue;
                }
                let bad_old = flip(&old_root, byte, mask);
                prop_assert!(verify_consistency(old, new, &bad_old, &new_root, &proof).is_err());
                let bad_new = flip(&new_root, byte, mask);
                prop_assert!(verify_consistency(old, new, &old_root, &bad_new, &proof).is_err());
                for at in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[at] = flip(&bad[at], byte, mask);
                    prop_assert!(verify_consistency(old, new, &old_root, &new_root, &bad).is_err());
                }
            }
        }
    }
}
