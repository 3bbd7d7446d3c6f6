//! What reading a gossiped batch of 64 receipts costs, side by side:
//!
//! - `decode_receipt_batch`: framing, the checks before the signature, one batch
//!   verification (with the subgroup checks that make it exactly as strict as
//!   `verify_strict`), then decoding the fields;
//! - 64 × `SignedReceipt::from_wire`: the same receipts one by one;
//! - 64 × bare ed25519-dalek `verify_strict` over the same bodies, signatures and keys: the
//!   floor for one-by-one reading;
//! - bare ed25519-dalek `verify_batch` over the same: what a batch costs without the
//!   subgroup checks, which would let it accept signatures `verify_strict` refuses (see
//!   `src/keys/batch.rs`).
//!
//! The batch comes from one agency's key, as a node publishes its own agency's receipts.
//!
//! `cargo bench -p lienthong-protocol --bench receipt_batch -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signature, VerifyingKey};
use lienthong_protocol::gossip::{decode_receipt_batch, encode_receipt_batch};
use lienthong_protocol::{
    AgencyKey, EnvelopeLimits, OrganId, PackageId, ReceiptFields, SignedReceipt, StatusCode,
    Timestamp,
};

const BATCH: usize = 64;

fn id(text: &str) -> OrganId {
    OrganId::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn receipts(key: &AgencyKey, limits: &EnvelopeLimits) -> Vec<SignedReceipt> {
    (0..BATCH as u64)
        .map(|i| {
            let fields = ReceiptFields {
                package_id: PackageId::from_bytes([i as u8; 32]),
                sender: id("000.00.00.G22"),
                recipient: id("000.00.00.H53"),
                document_id: Some(format!("000.00.00.G22,2026/11/21,{i}/VPCP-TTĐT")),
                code: StatusCode::Accepted,
                issued_at: Timestamp::from_millis(1_795_239_540_123 + i),
                description: None,
            };
            SignedReceipt::sign(key, fields, limits).unwrap_or_else(|e| panic!("signs: {e}"))
        })
        .collect()
}

fn receipt_batch(c: &mut Criterion) {
    let limits = EnvelopeLimits::default();
    let key = AgencyKey::from_bytes(&[42; 32]);
    let receipts = receipts(&key, &limits);
    let batch = encode_receipt_batch(&receipts).unwrap_or_else(|e| panic!("encodes: {e}"));
    let wires: Vec<Bytes> = receipts.iter().map(SignedReceipt::to_wire).collect();

    let bodies: Vec<&[u8]> = receipts.iter().map(|r| &r.body_bytes()[..]).collect();
    let signatures: Vec<Signature> = receipts
        .iter()
        .map(|r| Signature::from_bytes(r.signature().as_bytes()))
        .collect();
    let dalek_key = VerifyingKey::from_bytes(key.public_key().as_bytes())
        .unwrap_or_else(|e| panic!("a key: {e}"));
    let keys = vec![dalek_key; BATCH];

    let mut group = c.benchmark_group("receipt batch of 64");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("gossip/decode_receipt_batch", |b| {
        b.iter(|| decode_receipt_batch(black_box(batch.clone()), &limits))
    });
    group.bench_function("receipt/from_wire x64", |b| {
        b.iter(|| {
            for wire in &wires {
                let _ = black_box(SignedReceipt::from_wire(black_box(wire.clone()), &limits));
            }
        })
    });
    group.bench_function("ed25519/verify_strict x64", |b| {
        b.iter(|| {
            for ((body, signature), key) in bodies.iter().zip(&signatures).zip(&keys) {
                let _ = black_box(key.verify_strict(black_box(body), signature));
            }
        })
    });
    group.bench_function("ed25519/verify_batch (not strict)", |b| {
        b.iter(|| ed25519_dalek::verify_batch(black_box(&bodies), &signatures, &keys))
    });
    group.finish();
}

criterion_group!(benches, receipt_batch);
criterion_main!(benches);
