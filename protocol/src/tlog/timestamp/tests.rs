//! Tokens made by `openssl ts` under a test CA (`protocol/tests/fixtures/timestamp/`): an
//! RSA and a P-256 TSA over the same note, another CA's TSA of the same name, and a TSA
//! certificate whose timeStamping usage is not critical.

use std::time::{Duration, SystemTime};

use der::{Decode, Encode};
use proptest::prelude::*;
use sha2::{Digest as _, Sha256};
use x509_tsp::TimeStampReq;

use super::*;

const NOTE: &[u8] = include_bytes!("../../../tests/fixtures/timestamp/note.txt");
const TOKEN: &[u8] = include_bytes!("../../../tests/fixtures/timestamp/tok.der");
const TOKEN_EC: &[u8] = include_bytes!("../../../tests/fixtures/timestamp/tok-ec.der");
const QUERY: &[u8] = include_bytes!("../../../tests/fixtures/timestamp/q.tsq");
const REPLY: &[u8] = include_bytes!("../../../tests/fixtures/timestamp/r.tsr");
const TSA: &[u8] = include_bytes!("../../../tests/fixtures/timestamp/tsa.pem");
const TSA_EC: &[u8] = include_bytes!("../../../tests/fixtures/timestamp/tsa-ec.pem");
const OTHER_TSA: &[u8] = include_bytes!("../../../tests/fixtures/timestamp/other-tsa.pem");
const NONCRITICAL: &[u8] = include_bytes!("../../../tests/fixtures/timestamp/noncritical-eku.pem");
const CA: &[u8] = include_bytes!("../../../tests/fixtures/timestamp/ca.pem");

/// The RSA TSA's certificate followed by the chain its tokens carry.
fn tsa() -> TsaCertificate {
    TsaCertificate::from_pem(&[TSA, CA].concat()).unwrap()
}

/// The openssl query's request, rebuilt with its nonce.
fn query() -> TimestampRequest {
    let req = TimeStampReq::from_der(QUERY).unwrap();
    TimestampRequest {
        der: QUERY.to_vec(),
        nonce: req.nonce.unwrap().as_bytes().to_vec(),
        imprint: Sha256::digest(NOTE).into(),
    }
}

#[test]
fn accepts_rsa_token_over_its_note() {
    let info = verify_token(TOKEN, NOTE, &tsa()).unwrap();
    assert_eq!(info.tsa, "CN=lienthong test TSA,O=lienthong tests");
    assert!(!info.serial.is_empty());
    // Made when the fixtures were: after 2026-01-01, not in the future.
    assert!(info.gen_time > SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600));
    assert!(info.gen_time <= SystemTime::now());
}

#[test]
fn accepts_p256_token_over_its_note() {
    let tsa = TsaCertificate::from_pem(&[TSA_EC, CA].concat()).unwrap();
    let info = verify_token(TOKEN_EC, NOTE, &tsa).unwrap();
    assert_eq!(info.tsa, "CN=lienthong test TSA P-256,O=lienthong tests");
}

#[test]
fn refuses_token_over_another_note() {
    let mut other = NOTE.to_vec();
    other[0] ^= 1;
    assert_eq!(
        verify_token(TOKEN, &other, &tsa()),
        Err(TimestampError::ImprintMismatch)
    );
}

#[test]
fn refuses_token_checked_against_another_cas_tsa() {
    let other = TsaCertificate::from_pem(OTHER_TSA).unwrap();
    assert_eq!(
        verify_token(TOKEN, NOTE, &other),
        Err(TimestampError::SignerMismatch)
    );
}

#[test]
fn refuses_token_checked_against_another_key_type() {
    let ec = TsaCertificate::from_pem(&[TSA_EC, CA].concat()).unwrap();
    assert_eq!(
        verify_token(TOKEN, NOTE, &ec),
        Err(TimestampError::SignerMismatch)
    );
}

#[test]
fn refuses_certificates_that_are_not_a_tsas() {
    assert_eq!(
        TsaCertificate::from_pem(NONCRITICAL).unwrap_err(),
        TimestampError::NotTimeStamping
    );
    assert_eq!(
        TsaCertificate::from_pem(CA).unwrap_err(),
        TimestampError::NotTimeStamping
    );
    assert!(matches!(
        TsaCertificate::from_pem(b"not a certificate"),
        Err(TimestampError::Certificate { .. })
    ));
}

/// The offset of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

#[test]
fn refuses_a_changed_signature() {
    let mut token = TOKEN.to_vec();
    let last = token.len() - 1;
    token[last] ^= 1;
    assert_eq!(
        verify_token(&token, NOTE, &tsa()),
        Err(TimestampError::BadSignature)
    );
}

#[test]
fn refuses_a_changed_tstinfo() {
    // The genTime's last digit before the Z: the TSTInfo no longer hashes to the signed
    // message digest.
    let (tst, _) = verify::open(TOKEN).unwrap();
    let info = verify::tst_info(&tst).unwrap();
    let time = info.gen_time.to_der().unwrap();
    let at = find(TOKEN, &time) + time.len() - 2;
    let mut token = TOKEN.to_vec();
    token[at] = if token[at] == b'0' { b'1' } else { b'0' };
    assert_eq!(
        verify_token(&token, NOTE, &tsa()),
        Err(TimestampError::MessageDigestMismatch)
    );
}

#[test]
fn refuses_a_changed_signed_attribute() {
    // The signing time's last digit: the signed attributes no longer verify.
    let (_, signed) = verify::open(TOKEN).unwrap();
    let attrs = signed.signer_infos.0.as_slice()[0]
        .signed_attrs
        .clone()
        .unwrap();
    let signing_time = attrs
        .iter()
        .find(|a| a.oid == der::oid::db::rfc5911::ID_SIGNING_TIME)
        .unwrap()
        .to_der()
        .unwrap();
    let at = find(TOKEN, &signing_time) + signing_time.len() - 2;
    let mut token = TOKEN.to_vec();
    token[at] = if token[at] == b'0' { b'1' } else { b'0' };
    assert_eq!(
        verify_token(&token, NOTE, &tsa()),
        Err(TimestampError::BadSignature)
    );
}

#[test]
fn refuses_what_is_not_a_token() {
    assert!(matches!(
        verify_token(b"", NOTE, &tsa()),
        Err(TimestampError::Malformed { .. })
    ));
    assert!(matches!(
        verify_token(REPLY, NOTE, &tsa()),
        Err(TimestampError::Malformed { .. })
    ));
    let huge = vec![0x30; MAX_TOKEN_BYTES + 1];
    assert!(matches!(
        verify_token(&huge, NOTE, &tsa()),
        Err(TimestampError::TooLarge { .. })
    ));
}

#[test]
fn reads_the_token_out_of_a_granted_reply() {
    let token = read_response(REPLY, &query()).unwrap();
    assert_eq!(token, TOKEN);
}

#[test]
fn refuses_a_reply_to_another_request() {
    let other = TimestampRequest::with_nonce(NOTE, [7; 8]).unwrap();
    assert_eq!(
        read_response(REPLY, &other),
        Err(TimestampError::NonceMismatch)
    );
    let mut query = query();
    query.imprint[0] ^= 1;
    assert_eq!(
        read_response(REPLY, &query),
        Err(TimestampError::ImprintMismatch)
    );
}

#[test]
fn reads_a_refusal() {
    // openssl's answer to a query with an algorithm it does not accept.
    let refusal = [
        0x30, 0x1c, 0x30, 0x1a, 0x02, 0x01, 0x02, 0x30, 0x11, 0x0c, 0x0f, b'u', b'n', b's', b'u',
        b'p', b'p', b'o', b'r', b't', b'e', b'd', b' ', b'a', b'l', b'g', 0x03, 0x02, 0x06, 0x40,
    ];
    assert_eq!(
        read_response(&refusal, &query()),
        Err(TimestampError::Refused {
            status: 2,
            text: Some("unsupported alg".into())
        })
    );
}

#[test]
fn request_carries_imprint_nonce_and_cert_req() {
    let request = TimestampRequest::new(NOTE).unwrap();
    let req = TimeStampReq::from_der(request.to_der()).unwrap();
    assert!(req.cert_req);
    assert_eq!(
        req.message_imprint.hashed_message.as_bytes(),
        Sha256::digest(NOTE).as_slice()
    );
    assert_eq!(req.nonce.unwrap().as_bytes(), request.nonce());
    assert_ne!(
        TimestampRequest::new(NOTE).unwrap().nonce(),
        request.nonce(),
        "a fresh nonce each time"
    );
}

#[test]
fn errors_say_what_failed() {
    assert_eq!(
        TimestampError::ImprintMismatch.to_string(),
        "token's message imprint is not the SHA-256 of this note"
    );
    assert_eq!(
        TimestampError::SignerMismatch.to_string(),
        "token was signed by another certificate than the TSA's"
    );
}

/// Every byte of a token counts: a flip in the signed part breaks the signature, a flip in
/// the certificate it carries breaks [`verify_token`]'s check that it is the TSA's own.
#[test]
fn no_single_flipped_byte_of_a_token_verifies() {
    let tsa = tsa();
    let verified: Vec<usize> = (0..TOKEN.len())
        .filter(|&at| {
            let mut token = TOKEN.to_vec();
            token[at] ^= 0x01;
            verify_token(&token, NOTE, &tsa).is_ok()
        })
        .collect();
    assert!(
        verified.is_empty(),
        "flipped bytes that still verify: {verified:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = verify_token(&bytes, NOTE, &tsa());
        let _ = read_response(&bytes, &query());
        let _ = TsaCertificate::from_der(&bytes);
    }

    #[test]
    fn flipped_token_bytes_never_panic_nor_verify(at in 0..TOKEN.len(), bit in 0u8..8) {
        let mut token = TOKEN.to_vec();
        token[at] ^= 1 << bit;
        prop_assert!(verify_token(&token, NOTE, &tsa()).is_err(), "byte {} bit {} verified", at, bit);
        let mut reply = REPLY.to_vec();
        reply[at] ^= 1 << bit;
        let _ = read_response(&reply, &query());
    }
}
