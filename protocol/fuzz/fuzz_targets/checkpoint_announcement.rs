//! Any bytes given to the checkpoint announcement and witness cosignature decoders (what a
//! node takes off the checkpoint gossip topics and out of a checkpoint catch-up answer) give
//! a message or an error, never a panic; a decoded message encodes back to the same bytes, and
//! opening it against a log's key never panics either.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use lienthong_protocol::AgencyKey;
use lienthong_protocol::evidence::{
    Announcement, WitnessCosignature, follow, open, open_cosignature,
};
use lienthong_protocol::tlog::{SignatureType, Verifier};

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    let key = AgencyKey::from_bytes(&[1; 32]).public_key();
    if let Ok(cosignature) = WitnessCosignature::decode(&bytes) {
        assert_eq!(cosignature.encode(), bytes);
        let log = Verifier::new("lienthong/000.00.01.H53", SignatureType::Ed25519, key)
            .expect("a valid name");
        let witness = Verifier::new(
            "lienthong-witness/000.00.90.H53",
            SignatureType::CosignatureV1,
            key,
        )
        .expect("a valid name");
        let _ = open_cosignature(&cosignature, &log, &witness);
    }
    let Ok(announcement) = Announcement::decode(&bytes) else {
        return;
    };
    assert_eq!(announcement.encode(), bytes);
    let log = Verifier::new("lienthong/000.00.01.H53", SignatureType::Ed25519, key)
        .expect("a valid name");
    let witness = |name: &str| Verifier::new(name, SignatureType::CosignatureV1, key).ok();
    if let Ok(opened) = open(&announcement, &log, witness) {
        let _ = follow(None, &opened);
    }
});
