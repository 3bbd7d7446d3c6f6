//! Checking many signatures at once, with exactly the outcome of checking each with
//! [`PublicKey::verify`].
//!
//! ed25519-dalek's `verify_batch` checks one random linear combination of the cofactorless
//! verification equations, `Σ zᵢ·(Rᵢ − sᵢ·B + kᵢ·Aᵢ) = 0`. That is not `verify_strict`:
//!
//! - it computes with the point `R`'s bytes decode to but hashes the bytes as given, so a
//!   non-canonical encoding of `R` passes the batch and fails `verify_strict`;
//! - it does not refuse a small-order `R` (`R` = identity, `s = k·a` passes it outright);
//! - when `R` or `A` has a small-order component, a failing equation can leave an error term
//!   that is a small-order point, which `zᵢ` cancels whenever it is a multiple of that
//!   point's order (1 in 2 for order 2). The weights are derived from the inputs alone, so a
//!   key holder can grind a message until the batch passes a signature `verify_strict`
//!   refuses, deterministically, on every node.
//!
//! So an entry joins the batch only if its `s` is canonical (`< ℓ`), its `R` is a
//! canonically encoded point that is torsion-free and not the identity, and its key is
//! torsion-free (keys are already never small-order: see [`PublicKey::from_bytes`]). For such
//! entries every error term lies in the prime-order subgroup, where a 128-bit weight cancels
//! it with probability at most 2⁻¹²⁸ per attempt, however the inputs are ground. Anything
//! else (which no honest signer produces) is checked on its own with `verify_strict`.
//!
//! The cost: the subgroup check on `R` is a full scalar multiplication, and it costs more
//! than the batch saves. Measured with `benches/receipt_batch.rs` (64 receipts, one key,
//! AMD EPYC), per signature: bare `verify_batch` 15 µs, `verify_strict` 37 µs, this function
//! about 47 µs (the check on `R` alone is about 29 µs). It is the price of never accepting in
//! a batch what one-by-one verification refuses; without it a batch is not as strict.

use std::collections::HashMap;

use ed25519_dalek::VerifyingKey;

use super::{PublicKey, Signature, VerifyError};

/// ℓ, the order of the prime-order subgroup, little-endian: a canonical `s` is below it.
const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// p = 2²⁵⁵ − 19, little-endian: a canonical `y` coordinate is below it.
const FIELD_PRIME: [u8; 32] = [
    0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
];

/// Checks that every `(message, signature, key)` verifies, in one batch where that is as
/// strict as [`PublicKey::verify`] (see the module docs), one by one otherwise.
///
/// `Ok` exactly when [`PublicKey::verify`] accepts every entry (an empty list included); the
/// error does not say which entry failed: verify one by one to find out.
///
/// # Errors
/// [`VerifyError::BadSignature`] when some signature does not verify.
pub fn verify_batch(entries: &[(&[u8], &Signature, &PublicKey)]) -> Result<(), VerifyError> {
    // One check per distinct key: a batch usually comes from one or a few agencies.
    let mut torsion_free_keys: HashMap<&PublicKey, bool> = HashMap::new();
    let mut messages = Vec::with_capacity(entries.len());
    let mut signatures = Vec::with_capacity(entries.len());
    let mut keys = Vec::with_capacity(entries.len());
    for &(message, signature, key) in entries {
        let key_is_batchable = *torsion_free_keys
            .entry(key)
            .or_insert_with(|| key.0.to_edwards().is_torsion_free());
        if key_is_batchable && is_batchable(signature) {
            messages.push(message);
            signatures.push(ed25519_dalek::Signature::from_bytes(signature.as_bytes()));
            keys.push(key.0);
        } else {
            key.verify(message, signature)?;
        }
    }
    if messages.is_empty() {
        return Ok(());
    }
    ed25519_dalek::verify_batch(&messages, &signatures, &keys)
        .map_err(|_| VerifyError::BadSignature)
}

/// Whether a signature's `s` is canonical and its `R` a canonically encoded, torsion-free
/// point other than the identity: what the batch equation needs to be as strict as
/// `verify_strict`.
fn is_batchable(signature: &Signature) -> bool {
    let (r, s) = signature.as_bytes().split_at(32);
    let (Ok(r), Ok(s)) = (<&[u8; 32]>::try_from(r), <&[u8; 32]>::try_from(s)) else {
        return false;
    };
    if !is_below(s, &GROUP_ORDER) || !is_canonical_y(r) {
        return false;
    }
    // A verifying key is ed25519-dalek's only public way to decompress a point.
    match VerifyingKey::from_bytes(r) {
        Ok(point) => !point.is_weak() && point.to_edwards().is_torsion_free(),
        Err(_) => false,
    }
}

/// Whether the `y` coordinate of an encoded point (the sign bit of `x` masked off) is below
/// p. With `y` canonical, the only other non-canonical encodings have `x = 0`, which only the
/// small-order points `y = ±1` have.
fn is_canonical_y(encoded: &[u8; 32]) -> bool {
    let mut y = *encoded;
    y[31] &= 0x7f;
    is_below(&y, &FIELD_PRIME)
}

/// `a < b`, both little-endian.
fn is_below(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().rev().cmp(b.iter().rev()) == std::cmp::Ordering::Less
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::hazmat::{ExpandedSecretKey, raw_sign};
    use sha2::Sha512;

    use super::*;
    use crate::keys::AgencyKey;

    /// A point of order 8, from its encoding (RFC 8032 lists the small-order points).
    fn torsion_point() -> ed25519_dalek::VerifyingKey {
        let order_8: [u8; 32] = [
            0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef,
            0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88,
            0x6d, 0x53, 0xfc, 0x05,
        ];
        let point = VerifyingKey::from_bytes(&order_8).expect("a point");
        // Small order, and not 1, 2 or 4: 4·T is not the identity.
        assert!(point.is_weak());
        let twice = point.to_edwards() + point.to_edwards();
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_ne!((twice + twice).compress().to_bytes(), identity);
        point
    }

    #[test]
    fn honest_signatures_from_many_signers_verify_together() {
        let signers: Vec<AgencyKey> = (0..5).map(|i| AgencyKey::from_bytes(&[i; 32])).collect();
        let messages: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; usize::from(i)]).collect();
        let signed: Vec<(Signature, PublicKey)> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let key = &signers[i % signers.len()];
                (key.sign(m), key.public_key())
            })
            .collect();
        let entries: Vec<(&[u8], &Signature, &PublicKey)> = messages
            .iter()
            .zip(&signed)
            .map(|(m, (s, k))| (m.as_slice(), s, k))
            .collect();
        assert_eq!(verify_batch(&entries), Ok(()));
        assert_eq!(verify_batch(&[]), Ok(()));

        // One wrong message, one signature under the wrong key.
        let mut wrong = entries.clone();
        wrong[17].0 = b"another message";
        assert_eq!(verify_batch(&wrong), Err(VerifyError::BadSignature));
        let mut wrong = entries.clone();
        wrong[3].2 = &signed[4].1;
        assert_eq!(verify_batch(&wrong), Err(VerifyError::BadSignature));
    }

    #[test]
    fn non_canonical_and_small_order_signatures_are_not_batched() {
        let key = AgencyKey::from_bytes(&[5; 32]);
        let good = key.sign(b"m");
        assert!(is_batchable(&good));

        // s + ℓ: the same scalar, a second encoding.
        let mut bytes = *good.as_bytes();
        let mut carry = 0u16;
        for (s, l) in bytes[32..].iter_mut().zip(GROUP_ORDER) {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
        assert!(!is_batchable(&Signature::from_bytes(&bytes)));

        // R the identity, R of order 8, R = y + p (non-canonical y = 1).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut y_plus_p = FIELD_PRIME;
        y_plus_p[0] += 1;
        for r in [identity, *torsion_point().as_bytes(), y_plus_p] {
            let mut bytes = *good.as_bytes();
            bytes[..32].copy_from_slice(&r);
            assert!(!is_batchable(&Signature::from_bytes(&bytes)), "{r:02x?}");
        }

        // R with a small-order component: rB + T.
        let r = VerifyingKey::from_bytes(good.as_bytes()[..32].try_into().expect("32 bytes"))
            .expect("a point");
        let mixed = VerifyingKey::from(r.to_edwards() + torsion_point().to_edwards());
        assert!(!mixed.is_weak());
        let mut bytes = *good.as_bytes();
        bytes[..32].copy_from_slice(mixed.as_bytes());
        assert!(!is_batchable(&Signature::from_bytes(&bytes)));
    }

    /// A key with a small-order component, `a·B + T`, signs with `a`: the equation's error
    /// term is `k·T`, a small-order point. `verify_strict` refuses unless `k·T = 0`; a plain
    /// batch also passes whenever its weight happens to cancel `k·T`. Grinding the message
    /// finds such signatures; ours must judge each as `verify_strict` does.
    #[test]
    fn keys_with_a_small_order_component_are_judged_as_verify_strict_judges_them() {
        let secret = ExpandedSecretKey::from(&[11u8; 32]);
        let honest = VerifyingKey::from(&secret);
        let mixed = VerifyingKey::from(honest.to_edwards() + torsion_point().to_edwards());
        let public = PublicKey::from_bytes(mixed.as_bytes()).expect("not weak, so accepted");
        let (filler_key, filler_message) = (AgencyKey::from_bytes(&[12; 32]), b"filler");
        let filler = filler_key.sign(filler_message);

        let (mut plain_batch_fooled, mut strict_accepts) = (0, 0);
        for i in 0u32..200 {
            let message = i.to_be_bytes();
            let dalek = raw_sign::<Sha512>(&secret, &message, &mixed);
            let signature = Signature::from_bytes(&dalek.to_bytes());
            let strict = public.verify(&message, &signature);
            let entries = [
                (&message[..], &signature, &public),
                (&filler_message[..], &filler, &filler_key.public_key()),
            ];
            assert_eq!(verify_batch(&entries), strict, "message {i}");
            if strict.is_ok() {
                strict_accepts += 1;
            } else if ed25519_dalek::verify_batch(
                &[&message[..], &filler_message[..]],
                &[
                    dalek,
                    ed25519_dalek::Signature::from_bytes(filler.as_bytes()),
                ],
                &[mixed, filler_key.public_key().0],
            )
            .is_ok()
            {
                plain_batch_fooled += 1;
            }
        }
        // k·T = 0 for about 1 in 8 messages; the plain batch is fooled for about 1 in 8 of
        // the rest. Both must have happened for the test to mean anything.
        assert!(strict_accepts > 0, "no signature verify_strict accepts");
        assert!(plain_batch_fooled > 0, "the plain batch was never fooled");
    }
}
