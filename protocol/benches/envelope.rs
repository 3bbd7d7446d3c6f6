//! What signing and verifying envelopes cost next to the primitives they are built on.
//!
//! One group, so the figures sit side by side: bare ed25519 sign / `verify_strict` of a
//! 32-byte message against `SignedReceipt::sign` / `from_wire` (the overhead is encoding,
//! hashing for the id and decoding), and `SignedPackage::sign` / `from_wire` for a 10 KiB
//! and a 360 KiB edXML against bare SHA-256 of the same bytes (the content hash dominates
//! as documents grow; the signature is over the header only).
//!
//! Sealing for relays sits beside them: `SealedPackage::seal`, `from_wire` (what a relay
//! checks) and `open` for the same two sizes, against bare ChaCha20-Poly1305 of the package's
//! wire bytes and one bare X25519 agreement. Seal is one X25519 key generation and one
//! agreement, HKDF, the AEAD, SHA-256 of the ciphertext and an ed25519 signature; open is
//! one agreement, HKDF, the AEAD and the inner package's `from_wire`.
//!
//! `cargo bench -p lienthong-protocol --bench envelope -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use bytes::Bytes;
use chacha20poly1305::{AeadInOut as _, ChaCha20Poly1305, KeyInit as _, Nonce};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signer as _, SigningKey};
use lienthong_protocol::{
    AgencyKey, EncryptionSecret, EnvelopeLimits, MessageKind, OrganId, PackageFields, PackageId,
    ReceiptFields, SealedPackage, SignedPackage, SignedReceipt, StatusCode, Timestamp,
};
use sha2::{Digest as _, Sha256};

fn id(text: &str) -> OrganId {
    OrganId::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn receipt_fields() -> ReceiptFields {
    ReceiptFields {
        package_id: PackageId::from_bytes([7; 32]),
        sender: id("000.00.00.G22"),
        recipient: id("000.00.00.H53"),
        document_id: Some("000.00.00.G22,2026/11/21,123/VPCP-TTĐT".into()),
        code: StatusCode::Accepted,
        issued_at: Timestamp::from_millis(1_795_239_540_123),
        description: None,
    }
}

fn package_fields() -> PackageFields {
    PackageFields {
        sender: id("000.00.00.G22"),
        recipients: vec![
            id("000.00.00.H53"),
            id("000.00.00.H41"),
            id("000.01.02.G09"),
        ],
        kind: MessageKind::Edoc,
        created_at: Timestamp::from_millis(1_795_239_540_123),
    }
}

fn envelope(c: &mut Criterion) {
    let limits = EnvelopeLimits::default();
    let key = AgencyKey::from_bytes(&[42; 32]);
    let dalek = SigningKey::from_bytes(&[42; 32]);
    let dalek_public = dalek.verifying_key();
    let message = [0x5au8; 32];
    let dalek_signature = dalek.sign(&message);

    let recipient_key = AgencyKey::from_bytes(&[43; 32]);
    let recipients = package_fields().recipients;

    let mut group = c.benchmark_group("envelope");

    group.throughput(Throughput::Elements(1));
    group.bench_function("ed25519/sign 32 B", |b| {
        b.iter(|| dalek.sign(black_box(&message)))
    });
    group.bench_function("ed25519/verify_strict 32 B", |b| {
        b.iter(|| dalek_public.verify_strict(black_box(&message), black_box(&dalek_signature)))
    });
    group.bench_function("x25519/agree", |b| {
        b.iter(|| x25519_dalek::x25519(black_box([0x5a; 32]), black_box([9; 32])))
    });

    let receipt = SignedReceipt::sign(&key, receipt_fields(), &limits)
        .unwrap_or_else(|e| panic!("receipt signs: {e}"));
    let receipt_wire = receipt.to_wire();
    group.bench_function("receipt/sign", |b| {
        b.iter(|| SignedReceipt::sign(&key, black_box(receipt_fields()), &limits))
    });
    group.bench_function("receipt/from_wire", |b| {
        b.iter(|| SignedReceipt::from_wire(black_box(receipt_wire.clone()), &limits))
    });

    for (label, len) in [("10 KiB", 10 * 1024), ("360 KiB", 360 * 1024)] {
        let content = Bytes::from((0..len).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
        let package = SignedPackage::sign(&key, package_fields(), content.clone(), &limits)
            .unwrap_or_else(|e| panic!("package signs: {e}"));
        let wire = package.to_wire();

        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(format!("sha256/{label}"), |b| {
            b.iter(|| Sha256::digest(black_box(&content[..])))
        });
        group.bench_function(format!("package/sign {label}"), |b| {
            b.iter(|| {
                SignedPackage::sign(
                    &key,
                    black_box(package_fields()),
                    black_box(content.clone()),
                    &limits,
                )
            })
        });
        group.bench_function(format!("package/from_wire {label}"), |b| {
            b.iter(|| SignedPackage::from_wire(black_box(wire.clone()), &limits))
        });

        let cipher = ChaCha20Poly1305::new(&[7u8; 32].into());
        let mut buffer = wire.to_vec();
        group.bench_function(format!("chacha20poly1305/{label}"), |b| {
            b.iter(|| {
                buffer.copy_from_slice(&wire);
                cipher.encrypt_inout_detached(
                    &Nonce::default(),
                    b"header",
                    black_box(buffer.as_mut_slice()).into(),
                )
            })
        });
        let recipient = &recipients[0];
        let secret = EncryptionSecret::derive(&recipient_key);
        let public = secret.public();
        group.bench_function(format!("sealed/seal {label}"), |b| {
            b.iter(|| SealedPackage::seal(&key, black_box(&package), recipient, &public, &limits))
        });
        let sealed = SealedPackage::seal(&key, &package, recipient, &public, &limits)
            .unwrap_or_else(|e| panic!("seals: {e}"));
        let sealed_wire = sealed.to_wire();
        group.bench_function(format!("sealed/from_wire {label}"), |b| {
            b.iter(|| SealedPackage::from_wire(black_box(sealed_wire.clone()), &limits))
        });
        group.bench_function(format!("sealed/open {label}"), |b| {
            b.iter(|| black_box(&sealed).open(&secret, &limits))
        });
    }

    group.finish();
}

criterion_group!(benches, envelope);
criterion_main!(benches);
