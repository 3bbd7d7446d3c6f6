//! Gossiped receipt batches, read from untrusted bytes.
//!
//! The first byte picks what the rest is:
//!
//! - 0: raw bytes for [`decode_receipt_batch`]: an error or receipts that encode back to
//!   the same bytes, never a panic.
//! - 1: a list of records, each making one receipt: honestly signed fields, an arbitrary body
//!   signed by a real key (so the strict decoding after the signature check sees arbitrary
//!   input), fields signed under a key with a small-order component (which `verify_strict`
//!   accepts only when the torsion cancels, and a careless batch check accepts more often),
//!   or a copy of an earlier one; then one byte of it may be flipped. The batch of them must
//!   be judged exactly as [`SignedReceipt::from_wire`] on each, in order, judges them.

#![no_main]

use std::collections::HashSet;
use std::sync::OnceLock;

use bytes::Bytes;
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::hazmat::{ExpandedSecretKey, raw_sign};
use libfuzzer_sys::fuzz_target;
use lienthong_protocol::envelope::{
    EnvelopeLimits, PackageId, RECEIPT_DOMAIN, ReceiptFields, SignedReceipt, Timestamp,
};
use lienthong_protocol::gossip::{
    GossipError, MAX_GOSSIP_BATCH_LEN, MAX_GOSSIP_RECEIPTS, decode_receipt_batch,
    encode_receipt_batch,
};
use lienthong_protocol::{AgencyKey, OrganId, StatusCode};
use sha2::Sha512;

struct Keys {
    honest: [AgencyKey; 2],
    /// The secret behind every mixed key.
    secret: ExpandedSecretKey,
    /// `a·B + m·T` for a point `T` of order 8 and `m` = 1 to 7.
    mixed: Vec<VerifyingKey>,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let order_8: [u8; 32] = [
            0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef,
            0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88,
            0x6d, 0x53, 0xfc, 0x05,
        ];
        let torsion = VerifyingKey::from_bytes(&order_8)
            .expect("a point")
            .to_edwards();
        let secret = ExpandedSecretKey::from(&[3u8; 32]);
        let mut point = VerifyingKey::from(&secret).to_edwards();
        let mixed = (1..8)
            .map(|_| {
                point = point + torsion;
                VerifyingKey::from(point)
            })
            .collect();
        Keys {
            honest: [
                AgencyKey::from_bytes(&[1; 32]),
                AgencyKey::from_bytes(&[2; 32]),
            ],
            secret,
            mixed,
        }
    })
}

fn field(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// `"LTRC" ‖ 1 ‖ signer ‖ signature ‖ length ‖ body`.
fn assemble(signer: &[u8; 32], signature: &[u8; 64], body: &[u8]) -> Vec<u8> {
    let mut wire = b"LTRC\x01".to_vec();
    wire.extend_from_slice(signer);
    wire.extend_from_slice(signature);
    wire.extend_from_slice(&(body.len() as u32).to_be_bytes());
    wire.extend_from_slice(body);
    wire
}

/// The body `SignedReceipt::sign` would write for these fields.
fn body(fields: &ReceiptFields) -> Vec<u8> {
    let key = &keys().honest[0];
    let limits = EnvelopeLimits::default();
    let wire = SignedReceipt::sign(key, fields.clone(), &limits).expect("small fields sign");
    wire.body_bytes().to_vec()
}

fn fields(bytes: &[u8]) -> ReceiptFields {
    let mut at = [0u8; 8];
    for (to, from) in at.iter_mut().zip(bytes) {
        *to = *from;
    }
    let rest = bytes.get(8..).unwrap_or_default();
    ReceiptFields {
        package_id: PackageId::from_bytes([bytes.first().copied().unwrap_or(0); 32]),
        sender: OrganId::parse("000.00.00.G22").expect("valid"),
        recipient: OrganId::parse("000.00.00.H53").expect("valid"),
        document_id: None,
        code: StatusCode::Arrived,
        issued_at: Timestamp::from_millis(u64::from_be_bytes(at)),
        description: (!rest.is_empty()).then(|| String::from_utf8_lossy(rest).into_owned()),
    }
}

/// One receipt from a record `kind ‖ flip at (u16 BE) ‖ flip mask ‖ len ‖ len bytes`.
fn record<'a>(data: &'a [u8], made: &[Vec<u8>]) -> Option<(Option<Vec<u8>>, &'a [u8])> {
    let (head, rest) = data.split_first_chunk::<5>()?;
    let len = usize::from(head[4]).min(rest.len());
    let (bytes, rest) = rest.split_at(len);
    let keys = keys();
    let mut wire = match head[0] % 4 {
        0 => {
            let key = &keys.honest[usize::from(head[0] >> 2) % 2];
            let limits = EnvelopeLimits::default();
            SignedReceipt::sign(key, fields(bytes), &limits)
                .expect("small fields sign")
                .to_wire()
                .to_vec()
        }
        1 => {
            let key = &keys.honest[usize::from(head[0] >> 2) % 2];
            let mut signed = field(RECEIPT_DOMAIN.as_bytes());
            signed.extend_from_slice(bytes);
            assemble(
                key.public_key().as_bytes(),
                key.sign(&signed).as_bytes(),
                &signed,
            )
        }
        2 => {
            let key = &keys.mixed[usize::from(head[0] >> 2) % keys.mixed.len()];
            let signed = body(&fields(bytes));
            let signature = raw_sign::<Sha512>(&keys.secret, &signed, key);
            assemble(key.as_bytes(), &signature.to_bytes(), &signed)
        }
        _ => match made.len() {
            0 => return Some((None, rest)),
            n => made[usize::from(head[0] >> 2) % n].clone(),
        },
    };
    if head[3] != 0 {
        let at = usize::from(u16::from_be_bytes([head[1], head[2]])) % wire.len();
        wire[at] ^= head[3];
    }
    Some((Some(wire), rest))
}

fn judge_like_from_wire(wires: &[Vec<u8>], limits: &EnvelopeLimits) {
    let mut batch = vec![1u8];
    batch.extend_from_slice(&(wires.len() as u32).to_be_bytes());
    for wire in wires {
        batch.extend_from_slice(&field(wire));
    }
    let decoded = decode_receipt_batch(Bytes::from(batch.clone()), limits);
    if batch.len() > MAX_GOSSIP_BATCH_LEN || wires.is_empty() || wires.len() > MAX_GOSSIP_RECEIPTS {
        assert!(decoded.is_err());
        return;
    }
    let singles: Vec<_> = wires
        .iter()
        .map(|w| SignedReceipt::from_wire(Bytes::copy_from_slice(w), limits))
        .collect();
    match decoded {
        Ok(receipts) => {
            assert_eq!(receipts.len(), singles.len());
            for (batched, single) in receipts.iter().zip(&singles) {
                assert_eq!(Some(batched), single.as_ref().ok());
            }
            assert_eq!(encode_receipt_batch(&receipts).expect("re-encodes"), batch);
        }
        Err(GossipError::Receipt { index, error, .. }) => {
            assert!(singles[..index].iter().all(Result::is_ok));
            assert_eq!(singles[index].as_ref().err(), Some(&error));
        }
        Err(GossipError::Duplicate { index, .. }) => {
            let ids: Vec<_> = singles
                .iter()
                .map(|s| s.as_ref().expect("all verify").id())
                .collect();
            let mut seen = HashSet::new();
            assert_eq!(ids.iter().position(|id| !seen.insert(*id)), Some(index));
        }
        Err(other) => panic!("{other:?} for a well-framed batch"),
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = EnvelopeLimits::default();
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let input = Bytes::copy_from_slice(rest);
        if let Ok(receipts) = decode_receipt_batch(input.clone(), &limits) {
            assert_eq!(encode_receipt_batch(&receipts).expect("re-encodes"), input);
        }
        return;
    }
    let mut wires = Vec::new();
    while let Some((wire, next)) = record(rest, &wires) {
        wires.extend(wire);
        rest = next;
        if wires.len() > MAX_GOSSIP_RECEIPTS {
            break;
        }
    }
    judge_like_from_wire(&wires, &limits);
});
