//! Evidence bundles (ASiC-E containers), read and verified from untrusted bytes.
//!
//! The bytes are a whole container: [`bundle::read`] must answer an error or a bundle,
//! never panic, loop or allocate past its limits (small ones here, so a bomb shows up at
//! once); a bundle read is verified against a fixed root key, which must also only answer.
//! A bundle read is written again and must read back equal.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lienthong_protocol::AgencyKey;
use lienthong_protocol::evidence::bundle::{self, Limits, VerifyOptions};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_container: 1 << 20,
        max_files: 64,
        max_document: 1 << 20,
        max_roster: 1 << 20,
        max_small: 64 << 10,
        max_total: 4 << 20,
    };
    let Ok(read) = bundle::read(data, &limits) else {
        return;
    };
    let mut options = VerifyOptions::new(AgencyKey::from_bytes(&[1; 32]).public_key());
    options.limits = limits;
    let _ = bundle::verify(&read, &options);
    let written = bundle::write(&read).expect("a bundle read writes");
    let again = bundle::read(&written, &Limits::default()).expect("what was written reads");
    assert_eq!(again, read);
});
