//! The captured requests of `vxp-sdk-wire.md` §5, rebuilt and verified.

use super::*;

const SECRET: &[u8] = b"test-secret-not-real";

#[test]
fn the_captured_get_edoc_is_signed_byte_for_byte() {
    let signed = sign(
        SECRET,
        "000.00.00.H53",
        "07122026T071918+0583",
        CONTENT_TYPE_JSON,
        &[("filePath", "xml"), ("docId", "5f1c2d3e4a5b6c7d8e9f0a1b")],
    );
    assert_eq!(
        signed.sign_header,
        r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-docId":"5f1c2d3e4a5b6c7d8e9f0a1b","XroadVnpt-filePath":"xml","XroadVnpt-timestamp":"07122026T071918+0583","XroadVnpt-Content-Type":"application/json"}"#
    );
    assert_eq!(
        signed.hash_header,
        "78456192d0fc58e8bc249b39acf61f64624ad71328653d5004c2e544adb9c398"
    );
    let pairs =
        verify(signed.sign_header.as_bytes(), &signed.hash_header, SECRET).expect("verifies");
    assert_eq!(pairs.get("docid"), Some("5f1c2d3e4a5b6c7d8e9f0a1b"));
}

#[test]
fn the_captured_update_status_and_agencies_list_verify() {
    let update = sign(
        SECRET,
        "000.00.00.H53",
        "07122026T071918+0618",
        CONTENT_TYPE_JSON,
        &[("status", "done"), ("docId", "5f1c2d3e4a5b6c7d8e9f0a1b")],
    );
    assert_eq!(
        update.hash_header,
        "1427c0642aee25b72c8d59582fc04b089c3e84db0c7c27d02c375a8dffc5e070"
    );
    let headers: Vec<&str> = update.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(headers[0], "XroadVnpt-systemid");
    assert!(headers.contains(&"Content-Type"));
}

#[test]
fn a_changed_sign_header_or_secret_does_not_verify() {
    let signed = sign(SECRET, "A", "01012026T000000+0000", CONTENT_TYPE_JSON, &[]);
    assert_eq!(
        verify(signed.sign_header.as_bytes(), &signed.hash_header, b"other"),
        Err(VerifyError::Mismatch)
    );
    let changed = signed.sign_header.replace("\"A\"", "\"B\"");
    assert_eq!(
        verify(changed.as_bytes(), &signed.hash_header, SECRET),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        verify(signed.sign_header.as_bytes(), "abc", SECRET),
        Err(VerifyError::BadHash)
    );
}

#[test]
fn hash_file_drops_the_zero_padding() {
    // Not the captured file, but the rule: a byte below 0x10 is one digit.
    assert_eq!(unpadded_hex(&[0x13, 0x07, 0x00, 0xab]), "1370ab");
    assert!(hash_file(b"x").len() <= 64);
}

#[test]
fn the_timestamp_is_local_time_with_the_milliseconds_after_a_plus() {
    // 2026-12-07T00:19:18.583Z is 07:19:18.583 in Vietnam.
    let unix_ms = 1_796_602_758_583;
    assert_eq!(
        timestamp_text(unix_ms, VIETNAM_UTC_OFFSET_SECS),
        "07122026T071918+0583"
    );
}
