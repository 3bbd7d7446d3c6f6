//! The building blocks' own limits on this machine, each beside lienthong's use of it:
//! bare ed25519-dalek signing and verification beside the node's receipt signing and
//! checking, a bare quick-xml event scan beside the edXML reader, and sled's flushed
//! inserts beside raw fsync. A node can be no faster than its crates; these say how much
//! of their speed it keeps. SHA-256 and ChaCha20-Poly1305 are what every byte of a large
//! package pays at both ends (its content hash, and the Noise session's cipher): the ceiling
//! of a large delivery on this machine however its steps are arranged.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _};
use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::{
    AgencyKey, EnvelopeLimits, PackageId, ReceiptFields, SignedReceipt, StatusCode, edxml,
};

use super::Figure;

/// How long each rate is measured: long enough to smooth a noisy machine, short enough for
/// the whole set to take seconds.
const SPAN: Duration = Duration::from_millis(1500);

/// Calls `op` repeatedly for [`SPAN`] and returns calls per second.
fn rate(mut op: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < SPAN {
        for _ in 0..16 {
            op()?;
        }
        count += 16;
    }
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

/// A receipt 01 as nodes sign and gossip them (about 200 bytes of body).
fn receipt_fields(n: u64) -> anyhow::Result<ReceiptFields> {
    let mut id = [0u8; 32];
    id[..8].copy_from_slice(&n.to_be_bytes());
    Ok(ReceiptFields {
        package_id: PackageId::from_bytes(id),
        sender: "000.00.00.H11".parse()?,
        recipient: "000.00.11.H11".parse()?,
        document_id: Some(format!("000.00.00.H11,2025/{n}")),
        code: StatusCode::Arrived,
        issued_at: Timestamp::from_millis(1_740_000_000_000 + n),
        description: None,
    })
}

/// Bare ed25519 sign and verify rates, then the node's receipt signing and reading
/// (`SignedReceipt::sign`, `SignedReceipt::from_wire`: the checks every gossiped receipt
/// goes through) beside them. Returns `[ed_sign, receipt_sign, ed_verify, receipt_verify]`.
pub(super) fn signatures() -> anyhow::Result<Vec<Figure>> {
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let verifying = key.verifying_key();
    let message = vec![0x42u8; 200];
    let signature = key.sign(&message);

    let ed_sign = rate(|| {
        std::hint::black_box(key.sign(std::hint::black_box(&message)));
        Ok(())
    })?;
    let ed_verify = rate(|| {
        verifying
            .verify(std::hint::black_box(&message), &signature)
            .context("bare verification failed")
    })?;

    let agency = AgencyKey::from_bytes(&[7u8; 32]);
    let limits = EnvelopeLimits::default();
    let fields = receipt_fields(1)?;
    let receipt_sign = rate(|| {
        std::hint::black_box(SignedReceipt::sign(&agency, fields.clone(), &limits)?);
        Ok(())
    })?;
    let wire: Bytes = SignedReceipt::sign(&agency, fields.clone(), &limits)?.to_wire();
    let receipt_verify = rate(|| {
        std::hint::black_box(SignedReceipt::from_wire(wire.clone(), &limits)?);
        Ok(())
    })?;

    let ed_sign = Figure::new("ed25519_sign_per_s", ed_sign, "sig/s", None);
    let ed_verify = Figure::new("ed25519_verify_per_s", ed_verify, "sig/s", None);
    let receipt_sign = Figure::new(
        "receipt_sign_per_s",
        receipt_sign,
        "receipts/s",
        Some(&ed_sign),
    );
    let receipt_verify = Figure::new(
        "receipt_verify_per_s",
        receipt_verify,
        "receipts/s",
        Some(&ed_verify),
    );
    Ok(vec![ed_sign, receipt_sign, ed_verify, receipt_verify])
}

/// The real sample the XML figures read: `LIENTHONG_SHARED` (or `../shared` beside the
/// workspace), as the tests find it.
fn sample() -> anyhow::Result<(PathBuf, Bytes)> {
    let path = crate::process::samples_dir().join("edoc_new.edxml");
    let data = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok((path, Bytes::from(data)))
}

/// A bare quick-xml event scan of a real edXML sample, MB/s, then the edXML reader
/// (`edxml::read`: parsing, checks, attachments decoded) beside it.
pub(super) fn xml() -> anyhow::Result<Vec<Figure>> {
    let (path, data) = sample()?;
    let mb = data.len() as f64 / 1e6;
    let scan = rate(|| {
        let mut reader = quick_xml::Reader::from_reader(data.as_ref());
        let mut buf = Vec::new();
        loop {
            match reader
                .read_event_into(&mut buf)
                .with_context(|| format!("scanning {}", path.display()))?
            {
                quick_xml::events::Event::Eof => break,
                event => {
                    std::hint::black_box(event);
                }
            }
            buf.clear();
        }
        Ok(())
    })?;
    let read = rate(|| {
        std::hint::black_box(
            edxml::read(data.clone()).with_context(|| format!("reading {}", path.display()))?,
        );
        Ok(())
    })?;
    let scan = Figure::new("quick_xml_scan_mb_per_s", scan * mb, "MB/s", None);
    let read = Figure::new("edxml_read_mb_per_s", read * mb, "MB/s", Some(&scan));
    Ok(vec![scan, read])
}

/// Bytes per second of SHA-256 (the `sha2` crate, as the envelope hashes a package's
/// content) and of ChaCha20-Poly1305 sealing in Noise's 65,535-byte frames (`ring`, as
/// libp2p-noise seals), over a 4 MB buffer. Returns `[sha256, cipher]`.
pub(super) fn payload_crypto() -> anyhow::Result<Vec<Figure>> {
    use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
    use sha2::Digest as _;

    const BUFFER: usize = 4 * 1024 * 1024;
    const NOISE_FRAME_PAYLOAD: usize = 65_535 - 16;
    let mb = BUFFER as f64 / 1e6;
    let mut buffer = vec![0x5au8; BUFFER];
    let sha = rate(|| {
        std::hint::black_box(sha2::Sha256::digest(&buffer));
        Ok(())
    })?;
    let key = LessSafeKey::new(
        UnboundKey::new(&CHACHA20_POLY1305, &[9u8; 32])
            .map_err(|_| anyhow::anyhow!("ChaCha20-Poly1305 refused a 32-byte key"))?,
    );
    let mut counter = 0u64;
    let cipher = rate(|| {
        for frame in buffer.chunks_mut(NOISE_FRAME_PAYLOAD) {
            counter += 1;
            let mut nonce = [0u8; 12];
            nonce[4..].copy_from_slice(&counter.to_le_bytes());
            let tag = key
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::empty(),
                    frame,
                )
                .map_err(|_| anyhow::anyhow!("ChaCha20-Poly1305 refused to seal"))?;
            let _sealed = std::hint::black_box(tag);
        }
        Ok(())
    })?;
    Ok(vec![
        Figure::new("sha256_mb_per_s", sha * mb, "MB/s", None),
        Figure::new("noise_cipher_mb_per_s", cipher * mb, "MB/s", None),
    ])
}

/// sled's own durable write rate: a 1 KiB insert then `flush` (its fsync), one at a time,
/// in a fresh database in the temporary directory. The store's writes can be no cheaper
/// than this one by one; group commits are what take ingest past it.
pub(super) fn sled_flush_rate() -> anyhow::Result<Figure> {
    let dir = tempfile::tempdir()?;
    let db = sled::open(dir.path().join("sled")).context("opening a sled database")?;
    let value = [1u8; 1024];
    let mut n = 0u64;
    let per_s = rate(|| {
        n += 1;
        db.insert(n.to_be_bytes(), &value[..])?;
        db.flush()?;
        Ok(())
    })?;
    Ok(Figure::new("sled_insert_flush", per_s, "writes/s", None))
}

/// The bytes a node signs for a package header or a receipt: about what their signed
/// bodies hold (ids, parties, a hash, a time).
const SIGNED_BODY_BYTES: usize = 200;

/// What one delivery of a `content_len`-byte document costs in signatures and hashes alone,
/// with ed25519-dalek and sha2 called directly: the content hashed at each end, the package
/// header signed by the sender and verified by the recipient, receipt 01 signed by the
/// recipient and verified by the sender. No node can spend less CPU per delivered document,
/// so the node's own CPU per document is printed as a multiple of it
/// (`crypto_floor_us_per_delivery`, in µs).
pub(super) fn delivery_floor(content_len: usize) -> anyhow::Result<Figure> {
    floor("crypto_floor_us_per_delivery", content_len, 2, 2, 2)
}

/// What accepting a `content_len`-byte submission costs in signatures and hashes alone: the
/// content hashed and the package header signed (`crypto_floor_us_per_submission`, µs).
pub(super) fn submission_floor(content_len: usize) -> anyhow::Result<Figure> {
    floor("crypto_floor_us_per_submission", content_len, 1, 1, 0)
}

/// Per document, in µs: `hashes` SHA-256 passes over the content, `signed` ed25519
/// signatures made over a signed body, and the first `verified` of them verified.
fn floor(
    name: &str,
    content_len: usize,
    hashes: usize,
    signed: usize,
    verified: usize,
) -> anyhow::Result<Figure> {
    use sha2::Digest as _;

    let content = vec![0x3cu8; content_len];
    let key = SigningKey::from_bytes(&[11u8; 32]);
    let verifying = key.verifying_key();
    let body = vec![0x42u8; SIGNED_BODY_BYTES];
    let per_second = rate(|| {
        for _ in 0..hashes {
            std::hint::black_box(sha2::Sha256::digest(&content));
        }
        for n in 0..signed {
            let signature = key.sign(&body);
            if n < verified {
                verifying
                    .verify(&body, &signature)
                    .context("verifying a signature just made")?;
            }
            std::hint::black_box(signature);
        }
        Ok(())
    })?;
    Ok(Figure::new(name, 1e6 / per_second, "µs/doc", None))
}
