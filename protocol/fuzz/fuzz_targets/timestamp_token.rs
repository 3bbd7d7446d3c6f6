//! Timestamp tokens and TSA responses, read from untrusted bytes.
//!
//! The first byte picks what the rest is:
//!
//! - 0: a token for `verify_token` against the test TSA's certificate; a token that
//!   verifies must say the same as the real one (the only one that can).
//! - 1: a TSA response for `read_response` to a fixed request.
//! - 2: a certificate for `TsaCertificate::from_der`.
//! - 3: the real token with the input XORed over it from an offset, so the decoder goes deep.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use lienthong_protocol::tlog::timestamp::{
    TimestampRequest, TsaCertificate, read_response, verify_token,
};

const NOTE: &[u8] = include_bytes!("../../tests/fixtures/timestamp/note.txt");
const TOKEN: &[u8] = include_bytes!("../../tests/fixtures/timestamp/tok.der");
const TSA: &[u8] = include_bytes!("../../tests/fixtures/timestamp/tsa.pem");

fn tsa() -> &'static TsaCertificate {
    static TSA_CERT: OnceLock<TsaCertificate> = OnceLock::new();
    TSA_CERT.get_or_init(|| TsaCertificate::from_pem(TSA).expect("the test TSA's certificate"))
}

fn request() -> &'static TimestampRequest {
    static REQUEST: OnceLock<TimestampRequest> = OnceLock::new();
    REQUEST.get_or_init(|| TimestampRequest::with_nonce(NOTE, [7; 8]).expect("a request"))
}

fn check(token: &[u8]) {
    if let Ok(info) = verify_token(token, NOTE, tsa()) {
        let real = verify_token(TOKEN, NOTE, tsa()).expect("the real token verifies");
        assert_eq!(info, real);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => check(rest),
        1 => {
            if let Ok(token) = read_response(rest, request()) {
                let _ = verify_token(&token, NOTE, tsa());
            }
        }
        2 => {
            let _ = TsaCertificate::from_der(rest);
        }
        _ => {
            let Some((&offset, flips)) = rest.split_first() else {
                return;
            };
            let mut token = TOKEN.to_vec();
            let start = usize::from(offset) * TOKEN.len() / 256;
            for (byte, flip) in token[start..].iter_mut().zip(flips) {
                *byte ^= flip;
            }
            check(&token);
        }
    }
});
