//! Reading many receipts with one signature check for all of them.
//!
//! The result is, by construction, what [`SignedReceipt::from_wire`] on each receipt in turn
//! gives: the same checks run in the same order per receipt (`parse_unverified`, the
//! signature, `decode_verified`), the signatures are checked with
//! [`verify_batch`](crate::keys::verify_batch), which accepts exactly what `verify_strict`
//! accepts, and when the batch fails each receipt is verified on its own so that the first
//! bad one is named.

use bytes::Bytes;

use crate::keys::{PublicKey, Signature, verify_batch};

use super::receipt::UnverifiedReceipt;
use super::{EnvelopeError, EnvelopeLimits, SignedReceipt};

/// The first receipt of a list, in order, that [`SignedReceipt::from_wire`] refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BatchRefusal {
    /// Its position in the list, from 0.
    pub(crate) index: usize,
    /// Why `from_wire` refuses it.
    pub(crate) error: EnvelopeError,
}

/// Reads and verifies every receipt of `wires`, checking all signatures in one batch.
///
/// # Errors
/// The first receipt that [`SignedReceipt::from_wire`] would refuse, and why.
pub(crate) fn receipts_from_wire(
    wires: impl IntoIterator<Item = Bytes>,
    limits: &EnvelopeLimits,
) -> Result<Vec<SignedReceipt>, BatchRefusal> {
    let mut parsed: Vec<UnverifiedReceipt> = Vec::new();
    // The receipts before a malformed one still decide which is named first.
    let mut malformed = None;
    for (index, wire) in wires.into_iter().enumerate() {
        match SignedReceipt::parse_unverified(wire, limits) {
            Ok(receipt) => parsed.push(receipt),
            Err(error) => {
                malformed = Some(BatchRefusal { index, error });
                break;
            }
        }
    }

    let entries: Vec<(&[u8], &Signature, &PublicKey)> = parsed
        .iter()
        .map(|r| (r.body(), r.signature(), r.signer()))
        .collect();
    let all_verify = verify_batch(&entries).is_ok();
    drop(entries);

    let mut receipts = Vec::with_capacity(parsed.len());
    for (index, receipt) in parsed.into_iter().enumerate() {
        let read = if all_verify {
            receipt.decode_verified(limits)
        } else {
            receipt.verify_one(limits)
        };
        match read {
            Ok(receipt) => receipts.push(receipt),
            Err(error) => return Err(BatchRefusal { index, error }),
        }
    }
    match malformed {
        Some(refusal) => Err(refusal),
        None => Ok(receipts),
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::VerifyingKey;
    use ed25519_dalek::hazmat::{ExpandedSecretKey, raw_sign};
    use sha2::Sha512;

    use super::*;
    use crate::StatusCode;
    use crate::envelope::encoding::{self, PREFIX_LEN};
    use crate::envelope::receipt::encode_body;
    use crate::envelope::{EnvelopeKind, PackageId, ReceiptFields, Timestamp};
    use crate::keys::AgencyKey;

    fn fields(i: u64) -> ReceiptFields {
        ReceiptFields {
            package_id: PackageId::from_bytes([7; 32]),
            sender: "000.00.00.G22".parse().expect("id"),
            recipient: "000.00.00.H53".parse().expect("id"),
            document_id: Some("000.00.00.G22,2026/11/21,7/VPCP".into()),
            code: StatusCode::Arrived,
            issued_at: Timestamp::from_millis(1_795_239_540_000 + i),
            description: None,
        }
    }

    fn wires(count: u64) -> Vec<Bytes> {
        let limits = EnvelopeLimits::default();
        (0..count)
            .map(|i| {
                let key = AgencyKey::from_bytes(&[(i % 3) as u8 + 1; 32]);
                SignedReceipt::sign(&key, fields(i), &limits)
                    .expect("signs")
                    .to_wire()
            })
            .collect()
    }

    /// Both ways of reading a list: the batch, and `from_wire` one by one.
    fn both(wires: &[Bytes], limits: &EnvelopeLimits) -> [Result<Vec<Bytes>, BatchRefusal>; 2] {
        let batch = receipts_from_wire(wires.iter().cloned(), limits);
        let single: Result<Vec<SignedReceipt>, BatchRefusal> = wires
            .iter()
            .enumerate()
            .map(|(index, w)| {
                SignedReceipt::from_wire(w.clone(), limits)
                    .map_err(|error| BatchRefusal { index, error })
            })
            .collect();
        [batch, single].map(|r| r.map(|v| v.iter().map(SignedReceipt::to_wire).collect()))
    }

    #[test]
    fn reads_what_from_wire_reads() {
        let limits = EnvelopeLimits::default();
        let wires = wires(12);
        let [batch, single] = both(&wires, &limits);
        assert_eq!(batch, Ok(wires.clone()));
        assert_eq!(single, Ok(wires));
        assert_eq!(receipts_from_wire([], &limits), Ok(Vec::new()));
    }

    #[test]
    fn names_the_first_bad_receipt_whatever_is_wrong_later() {
        let limits = EnvelopeLimits::default();
        let mut wires = wires(6);
        let flip = |w: &Bytes, at: usize| {
            let mut bytes = w.to_vec();
            bytes[at] ^= 1;
            Bytes::from(bytes)
        };
        // A bad signature at 2, garbage at 4: 2 is named, though 4 fails an earlier check.
        wires[2] = flip(&wires[2], 40);
        wires[4] = flip(&wires[4], 0);
        let [batch, single] = both(&wires, &limits);
        assert_eq!(
            batch,
            Err(BatchRefusal {
                index: 2,
                error: EnvelopeError::BadSignature {
                    envelope: EnvelopeKind::Receipt
                }
            })
        );
        assert_eq!(batch, single);

        // Validly signed but refused by these limits, after a bad signature: the first wins.
        let strict = EnvelopeLimits {
            max_description_len: 3,
            ..EnvelopeLimits::default()
        };
        let mut long = fields(99);
        long.description = Some("Đã nhận".into());
        let key = AgencyKey::from_bytes(&[1; 32]);
        let long = SignedReceipt::sign(&key, long, &limits)
            .expect("signs")
            .to_wire();
        let mut wires = self::wires(4);
        wires[3] = flip(&wires[3], PREFIX_LEN - 5);
        wires[1] = long;
        let [batch, single] = both(&wires, &strict);
        assert!(matches!(
            batch,
            Err(BatchRefusal {
                index: 1,
                error: EnvelopeError::TooLarge { .. }
            })
        ));
        assert_eq!(batch, single);
    }

    #[test]
    fn every_single_byte_change_is_judged_as_from_wire_judges_it() {
        let limits = EnvelopeLimits::default();
        let wires = wires(3);
        let target = &wires[1];
        let mut refused = 0;
        for at in 0..target.len() {
            for mask in [0x01, 0x80, 0xff] {
                let mut bytes = target.to_vec();
                bytes[at] ^= mask;
                let mut list = wires.clone();
                list[1] = Bytes::from(bytes);
                let [batch, single] = both(&list, &limits);
                assert_eq!(batch, single, "byte {at} ^ {mask:#04x}");
                refused += usize::from(batch.is_err());
            }
        }
        // Every change is refused: any byte is signed, or frames what is.
        assert_eq!(refused, target.len() * 3);
    }

    /// A receipt signed under a key with a small-order component: `from_wire` accepts it only
    /// when the torsion cancels; the batch must agree every time.
    #[test]
    fn receipts_under_keys_with_a_small_order_component_are_judged_as_from_wire_judges_them() {
        let limits = EnvelopeLimits::default();
        let order_8: [u8; 32] = [
            0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef,
            0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88,
            0x6d, 0x53, 0xfc, 0x05,
        ];
        let secret = ExpandedSecretKey::from(&[21u8; 32]);
        let torsion = VerifyingKey::from_bytes(&order_8).expect("a point");
        let mixed =
            VerifyingKey::from(VerifyingKey::from(&secret).to_edwards() + torsion.to_edwards());
        let signer = PublicKey::from_bytes(mixed.as_bytes()).expect("not weak");
        let honest = wires(2);
        let mut accepted = 0;
        for i in 0..64 {
            let body = encode_body(&fields(1000 + i)).expect("encodes");
            let signature =
                Signature::from_bytes(&raw_sign::<Sha512>(&secret, &body, &mixed).to_bytes());
            let wire = encoding::assemble(EnvelopeKind::Receipt, &signer, &signature, &body, &[])
                .expect("assembles");
            let list = [honest[0].clone(), wire, honest[1].clone()];
            let [batch, single] = both(&list, &limits);
            assert_eq!(batch, single, "receipt {i}");
            accepted += usize::from(single.is_ok());
        }
        assert!(accepted > 0 && accepted < 64, "{accepted}");
    }
}
