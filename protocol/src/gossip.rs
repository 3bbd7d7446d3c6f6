//! What nodes publish on the receipts gossip topics: batches of the signed receipts their
//! agency issued recently.
//!
//! A receipt names a package, its parties, the edXML DocumentId, a status code and a time,
//! and never any document content, so it can be gossiped to a whole province: the parties
//! learn where their documents stand even when no direct connection carried the receipt,
//! and a monitoring office sees the province's exchanges. Receipts travel exactly as signed,
//! so any node can check them without trusting whoever forwarded them.
//!
//! A batch is `version (1) ‖ count (u32 BE) ‖ count × (length (u32 BE) ‖ receipt wire form)`,
//! the list layout of [`wire`](crate::wire): 1 to [`MAX_GOSSIP_RECEIPTS`] receipts, none
//! twice, at most [`MAX_GOSSIP_BATCH_LEN`] bytes in all. [`decode_receipt_batch`] checks
//! every signature in one batch verification, as strictly as [`SignedReceipt::from_wire`]
//! checks one, and refuses the whole batch if any receipt is bad: the node then rejects the
//! gossip message, so that gossipsub neither forwards it nor keeps trusting its sender.

use std::collections::HashSet;

use bytes::{BufMut, Bytes, BytesMut};

use crate::envelope::{
    BatchRefusal, EnvelopeError, EnvelopeLimits, SignedReceipt, receipts_from_wire,
};

/// The receipt batch layout version.
pub const RECEIPT_BATCH_VERSION: u8 = 1;

/// Most receipts one batch carries.
pub const MAX_GOSSIP_RECEIPTS: usize = 256;
// The error texts say 256.
const _: () = assert!(MAX_GOSSIP_RECEIPTS == 256);

/// Largest batch encoded or decoded, in bytes: the node's default gossipsub message cap
/// (1 MiB). 256 receipts of a few hundred bytes (the usual size) take well under 100 KiB;
/// receipts with the longest descriptions (about 8.5 KiB each under the default limits)
/// fill it at about 120. Use [`receipt_batch_len`] to fill a batch up to a smaller cap.
pub const MAX_GOSSIP_BATCH_LEN: usize = 1024 * 1024;

/// Version and count.
const HEADER_LEN: usize = 1 + 4;
/// The length prefix of each receipt.
const ENTRY_PREFIX_LEN: usize = 4;

/// Why a receipt batch was not encoded or was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GossipError {
    /// A batch with no receipt: encoding an empty slice, or a count of 0.
    #[error("a receipt batch holds no receipt")]
    Empty,
    /// More than [`MAX_GOSSIP_RECEIPTS`] receipts.
    #[error("a receipt batch holds {count} receipts, more than 256")]
    TooManyReceipts {
        /// How many the slice holds or the batch declares.
        count: usize,
    },
    /// More than [`MAX_GOSSIP_BATCH_LEN`] bytes; refused before anything is read.
    #[error("a receipt batch of {len} bytes is larger than the limit of {max}")]
    TooLarge {
        /// The batch's length, or what it would be encoded.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A layout version this code does not read.
    #[error("receipt batch version {0} is not supported (this node reads version 1)")]
    UnsupportedVersion(u8),
    /// The batch ends early.
    #[error("receipt batch truncated while reading {0}")]
    Truncated(&'static str),
    /// The batch has bytes after its last receipt.
    #[error("{0} bytes after the last receipt of the batch")]
    TrailingBytes(usize),
    /// A receipt (same signed body) appears twice; `index` is the second copy, from 0.
    #[error("receipt {} of {count} repeats an earlier one", index + 1)]
    Duplicate {
        /// Position of the second copy, from 0.
        index: usize,
        /// Receipts in the batch.
        count: usize,
    },
    /// A receipt that does not decode or verify: the first one, in order. The message
    /// carries the reason (logs print only the top error); `error` has it typed.
    #[error("receipt {} of {count}: {error}", index + 1)]
    Receipt {
        /// Its position in the batch, from 0 (the message counts from 1).
        index: usize,
        /// Receipts in the batch.
        count: usize,
        /// What [`SignedReceipt::from_wire`] says of it.
        error: EnvelopeError,
    },
}

/// The encoded length of a batch of `receipts`, counted as [`encode_receipt_batch`] writes
/// it (whether or not it would accept them).
pub fn receipt_batch_len(receipts: &[SignedReceipt]) -> usize {
    receipts.iter().fold(HEADER_LEN, |len, receipt| {
        len.saturating_add(ENTRY_PREFIX_LEN + receipt.to_wire().len())
    })
}

/// The gossip message for `receipts`, in their order.
///
/// # Errors
/// [`GossipError::Empty`], [`GossipError::TooManyReceipts`], [`GossipError::Duplicate`] or
/// [`GossipError::TooLarge`]: a batch peers would refuse is never produced.
pub fn encode_receipt_batch(receipts: &[SignedReceipt]) -> Result<Bytes, GossipError> {
    let count = receipts.len();
    if count == 0 {
        return Err(GossipError::Empty);
    }
    if count > MAX_GOSSIP_RECEIPTS {
        return Err(GossipError::TooManyReceipts { count });
    }
    check_no_duplicates(receipts)?;
    let len = receipt_batch_len(receipts);
    if len > MAX_GOSSIP_BATCH_LEN {
        return Err(GossipError::TooLarge {
            len,
            max: MAX_GOSSIP_BATCH_LEN,
        });
    }
    let mut out = BytesMut::with_capacity(len);
    out.put_u8(RECEIPT_BATCH_VERSION);
    // At most 256, and each receipt is at most 1 MiB here: both fit a u32.
    out.put_u32(count as u32);
    for receipt in receipts {
        let wire = receipt.to_wire();
        out.put_u32(wire.len() as u32);
        out.put_slice(&wire);
    }
    Ok(out.freeze())
}

/// Reads a gossiped batch and verifies every receipt in it, all signatures in one batch
/// verification. The receipts stay slices of `data`.
///
/// A receipt is accepted here exactly when [`SignedReceipt::from_wire`] accepts it; whether
/// its signer speaks for its issuer is for the node to check against the roster.
///
/// # Errors
/// [`GossipError`] saying what was wrong, for a receipt which one (the first bad one) and
/// why. Any error refuses the whole batch.
pub fn decode_receipt_batch(
    data: Bytes,
    limits: &EnvelopeLimits,
) -> Result<Vec<SignedReceipt>, GossipError> {
    if data.len() > MAX_GOSSIP_BATCH_LEN {
        return Err(GossipError::TooLarge {
            len: data.len(),
            max: MAX_GOSSIP_BATCH_LEN,
        });
    }
    let entries = split_entries(&data)?;
    let count = entries.len();
    let receipts =
        receipts_from_wire(entries, limits).map_err(|BatchRefusal { index, error }| {
            GossipError::Receipt {
                index,
                count,
                error,
            }
        })?;
    check_no_duplicates(&receipts)?;
    Ok(receipts)
}

/// The receipts' wire forms, as slices of `data`: the header and every length are checked
/// against what `data` holds before anything is sliced or allocated.
fn split_entries(data: &Bytes) -> Result<Vec<Bytes>, GossipError> {
    let version = *data.first().ok_or(GossipError::Truncated("the version"))?;
    if version != RECEIPT_BATCH_VERSION {
        return Err(GossipError::UnsupportedVersion(version));
    }
    let count = read_u32(data, 1, "the receipt count")? as usize;
    if count == 0 {
        return Err(GossipError::Empty);
    }
    if count > MAX_GOSSIP_RECEIPTS {
        return Err(GossipError::TooManyReceipts { count });
    }
    let mut entries = Vec::with_capacity(count);
    let mut at = HEADER_LEN;
    for _ in 0..count {
        let len = read_u32(data, at, "a receipt length")? as usize;
        at += ENTRY_PREFIX_LEN;
        if data.len() - at < len {
            return Err(GossipError::Truncated("a receipt"));
        }
        entries.push(data.slice(at..at + len));
        at += len;
    }
    if at < data.len() {
        return Err(GossipError::TrailingBytes(data.len() - at));
    }
    Ok(entries)
}

/// The big-endian `u32` at `at`.
fn read_u32(data: &[u8], at: usize, what: &'static str) -> Result<u32, GossipError> {
    match data.get(at..).and_then(|rest| rest.get(..4)) {
        Some(b) => Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        None => Err(GossipError::Truncated(what)),
    }
}

fn check_no_duplicates(receipts: &[SignedReceipt]) -> Result<(), GossipError> {
    let mut seen = HashSet::with_capacity(receipts.len());
    match receipts.iter().position(|r| !seen.insert(r.id())) {
        Some(index) => Err(GossipError::Duplicate {
            index,
            count: receipts.len(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::envelope::{EnvelopeKind, PackageId, ReceiptFields, Timestamp};
    use crate::keys::AgencyKey;
    use crate::{OrganId, StatusCode};

    fn id(text: &str) -> OrganId {
        text.parse().expect("valid id")
    }

    /// `count` receipts from three agencies' keys, with all the optional fields in use.
    fn receipts(count: u64) -> Vec<SignedReceipt> {
        let limits = EnvelopeLimits::default();
        (0..count)
            .map(|i| {
                let key = AgencyKey::from_bytes(&[(i % 3) as u8 + 1; 32]);
                let fields = ReceiptFields {
                    package_id: PackageId::from_bytes([(i % 251) as u8; 32]),
                    sender: id("000.00.00.G22"),
                    recipient: id("000.00.00.H53"),
                    document_id: Some(format!("000.00.00.G22,2026/11/21,{i}/VPCP")),
                    code: if i % 2 == 0 {
                        StatusCode::Arrived
                    } else {
                        StatusCode::Rejected
                    },
                    issued_at: Timestamp::from_millis(1_795_239_540_000 + i),
                    description: (i % 2 == 1).then(|| "Sai thể thức".to_owned()),
                };
                SignedReceipt::sign(&key, fields, &limits).expect("signs")
            })
            .collect()
    }

    fn decode(data: impl Into<Bytes>) -> Result<Vec<SignedReceipt>, GossipError> {
        decode_receipt_batch(data.into(), &EnvelopeLimits::default())
    }

    /// Where receipt `index` of an encoded batch starts (after its length prefix).
    fn offset_of(receipts: &[SignedReceipt], index: usize) -> usize {
        HEADER_LEN
            + receipts[..index]
                .iter()
                .map(|r| ENTRY_PREFIX_LEN + r.to_wire().len())
                .sum::<usize>()
            + ENTRY_PREFIX_LEN
    }

    #[test]
    fn round_trips_receipts_from_several_signers() {
        for count in [1, 2, 10, 256] {
            let receipts = receipts(count);
            let batch = encode_receipt_batch(&receipts).expect("encodes");
            assert_eq!(batch.len(), receipt_batch_len(&receipts));
            assert_eq!(batch[0], RECEIPT_BATCH_VERSION);
            let back = decode(batch).expect("decodes");
            assert_eq!(back, receipts);
            assert_eq!(back[0].fields(), receipts[0].fields());
        }
    }

    #[test]
    fn one_tampered_receipt_refuses_the_batch_and_is_named() {
        let receipts = receipts(10);
        let batch = encode_receipt_batch(&receipts).expect("encodes");
        let start = offset_of(&receipts, 2);
        let wire_len = receipts[2].to_wire().len();
        // A bit of the signature's R, of its s, of the signed body (the issuing time).
        for at in [start + 37 + 3, start + 37 + 40, start + wire_len - 20] {
            let mut bytes = batch.to_vec();
            bytes[at] ^= 0x04;
            let err = decode(bytes).expect_err("refused");
            assert_eq!(
                err,
                GossipError::Receipt {
                    index: 2,
                    count: 10,
                    error: EnvelopeError::BadSignature {
                        envelope: EnvelopeKind::Receipt
                    }
                },
                "byte {at}"
            );
            assert_eq!(
                err.to_string(),
                "receipt 3 of 10: receipt signature does not verify"
            );
        }
        // A receipt whose frame is broken (bad magic) is named the same way.
        let mut bytes = batch.to_vec();
        bytes[offset_of(&receipts, 7)] = b'X';
        assert!(matches!(
            decode(bytes),
            Err(GossipError::Receipt {
                index: 7,
                count: 10,
                error: EnvelopeError::BadMagic { .. }
            })
        ));
    }

    #[test]
    fn empty_oversized_and_repeated_batches_are_refused_both_ways() {
        assert_eq!(encode_receipt_batch(&[]), Err(GossipError::Empty));
        let many = receipts(257);
        assert_eq!(
            encode_receipt_batch(&many),
            Err(GossipError::TooManyReceipts { count: 257 })
        );
        let mut twice = receipts(3);
        twice.push(twice[1].clone());
        assert_eq!(
            encode_receipt_batch(&twice),
            Err(GossipError::Duplicate { index: 3, count: 4 })
        );

        // The same on the decoding side, with hand-made batches.
        let list = |receipts: &[SignedReceipt], count: u32| {
            let mut out = vec![RECEIPT_BATCH_VERSION];
            out.extend_from_slice(&count.to_be_bytes());
            for r in receipts {
                out.extend_from_slice(&(r.to_wire().len() as u32).to_be_bytes());
                out.extend_from_slice(&r.to_wire());
            }
            out
        };
        assert_eq!(decode(list(&[], 0)), Err(GossipError::Empty));
        assert_eq!(
            decode(list(&many, 257)),
            Err(GossipError::TooManyReceipts { count: 257 })
        );
        // A huge count is refused before anything is read.
        assert_eq!(
            decode(list(&[], u32::MAX)),
            Err(GossipError::TooManyReceipts {
                count: u32::MAX as usize
            })
        );
        assert_eq!(
            decode(list(&twice, 4)),
            Err(GossipError::Duplicate { index: 3, count: 4 })
        );
        let big = vec![0u8; MAX_GOSSIP_BATCH_LEN + 1];
        assert_eq!(
            decode(big),
            Err(GossipError::TooLarge {
                len: MAX_GOSSIP_BATCH_LEN + 1,
                max: MAX_GOSSIP_BATCH_LEN
            })
        );
    }

    #[test]
    fn batches_over_the_byte_cap_are_not_encoded() {
        // Receipts with the longest descriptions, in 4-byte characters (chữ Nôm): about
        // 8.3 KiB each.
        let limits = EnvelopeLimits::default();
        let key = AgencyKey::from_bytes(&[4; 32]);
        let long: Vec<SignedReceipt> = (0..140)
            .map(|i| {
                let mut fields = receipts(1)[0].fields().clone();
                fields.issued_at = Timestamp::from_millis(i);
                fields.description = Some("𡨸".repeat(limits.max_description_len));
                SignedReceipt::sign(&key, fields, &limits).expect("signs")
            })
            .collect();
        let fitting = long
            .iter()
            .scan(HEADER_LEN, |len, r| {
                *len += ENTRY_PREFIX_LEN + r.to_wire().len();
                Some(*len)
            })
            .take_while(|len| *len <= MAX_GOSSIP_BATCH_LEN)
            .count();
        assert!((100..140).contains(&fitting), "{fitting}");
        assert!(encode_receipt_batch(&long[..fitting]).is_ok());
        assert!(matches!(
            encode_receipt_batch(&long[..fitting + 1]),
            Err(GossipError::TooLarge { .. })
        ));
    }

    #[test]
    fn truncated_trailing_and_foreign_bytes_are_refused() {
        let receipts = receipts(3);
        let batch = encode_receipt_batch(&receipts).expect("encodes");
        assert_eq!(
            decode(Bytes::new()),
            Err(GossipError::Truncated("the version"))
        );
        assert_eq!(
            decode(vec![2, 0, 0, 0, 1]),
            Err(GossipError::UnsupportedVersion(2))
        );
        assert_eq!(
            decode(vec![1, 0, 0]),
            Err(GossipError::Truncated("the receipt count"))
        );
        for cut in 5..batch.len() {
            let err = decode(batch.slice(..cut)).expect_err("truncated");
            assert!(
                matches!(err, GossipError::Truncated(_)),
                "cut at {cut}: {err:?}"
            );
        }
        let mut long = batch.to_vec();
        long.extend_from_slice(&[0, 0]);
        assert_eq!(decode(long), Err(GossipError::TrailingBytes(2)));
        // A receipt length past the end is truncation, not a huge allocation.
        let mut lying = batch.to_vec();
        lying[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(decode(lying), Err(GossipError::Truncated("a receipt")));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any change to a batch (bytes set, cut, added) decodes to an error or to receipts
        /// that encode back to the same bytes, and never panics.
        #[test]
        fn mutations_never_panic(
            changes in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
            cut in proptest::option::of(any::<usize>()),
            extra in proptest::collection::vec(any::<u8>(), 0..3),
        ) {
            let receipts = receipts(4);
            let mut bytes = encode_receipt_batch(&receipts).expect("encodes").to_vec();
            for (at, value) in changes {
                let at = at % bytes.len();
                bytes[at] = value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut % (bytes.len() + 1));
            }
            bytes.extend_from_slice(&extra);
            let data = Bytes::from(bytes);
            if let Ok(back) = decode(data.clone()) {
                prop_assert_eq!(encode_receipt_batch(&back).expect("re-encodes"), data);
            }
        }
    }
}
