//! The signature checked against the SDK's own traffic (`vxp-sdk-wire.md` §2.2, §5): the
//! sign-headers and hash-headers below were captured from SDKVXP 2.0.1 signing with the
//! throwaway secret `test-secret-not-real`.

use axum::http::{HeaderName, HeaderValue};

use super::*;

const SECRET: &str = "test-secret-not-real";
const SYSTEM: &str = "000.00.00.H53";

/// (sign-header, hash-header) of the calls captured from the SDK.
const CAPTURED: &[(&str, &str)] = &[
    (
        r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-docId":"5f1c2d3e4a5b6c7d8e9f0a1b","XroadVnpt-filePath":"xml","XroadVnpt-timestamp":"07122026T071918+0583","XroadVnpt-Content-Type":"application/json"}"#,
        "78456192d0fc58e8bc249b39acf61f64624ad71328653d5004c2e544adb9c398",
    ),
    (
        r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-docId":"5f1c2d3e4a5b6c7d8e9f0a1b","XroadVnpt-timestamp":"07122026T071918+0618","XroadVnpt-Content-Type":"application/json","XroadVnpt-status":"done"}"#,
        "1427c0642aee25b72c8d59582fc04b089c3e84db0c7c27d02c375a8dffc5e070",
    ),
    (
        r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-servicetype":"eDoc","XroadVnpt-messagetype":"edoc","XroadVnpt-timestamp":"07122026T071918+0626","XroadVnpt-Content-Type":"application/json"}"#,
        "1d56716e23e7512fad6a6ac6b4708a904c8641ca4028e3a9176ce1c8f6beed0b",
    ),
    (
        r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-servicetype":"eDoc","XroadVnpt-messagetype":"status","XroadVnpt-timestamp":"07122026T071918+0710","XroadVnpt-Content-Type":"application/json"}"#,
        "d354a7ac24fb45aeb3a4ff468722d0976af76ad8b089353a79d9d452a393a223",
    ),
    (
        r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-docId":"5f1c2d3e4a5b6c7d8e9f0a1b","XroadVnpt-filePath":"xml","XroadVnpt-timestamp":"07122026T071918+0746","XroadVnpt-Content-Type":"application/json"}"#,
        "d976048f0692a1b9f2b65454b1a8006fb3b0881a5ed97c20ae4503b0985ee752",
    ),
    (
        r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-level":"1","XroadVnpt-timestamp":"07122026T071918+0796","XroadVnpt-Content-Type":"application/json"}"#,
        "91771864312039589d948bb6c3eabd963d89491a8ea9ff6d4599fa94b9754e8f",
    ),
    (
        r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-timestamp":"07122026T071918+0810","XroadVnpt-Content-Type":"application/json"}"#,
        "dbdbf0fd68f25d658c524845caf650090fc4390ee81ea7d6f8066ebb41fd831b",
    ),
    (
        r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-timestamp":"07122026T071918+0833","XroadVnpt-Content-Type":"application/json"}"#,
        "83d934f2eec54bfdc19a5b8d1163fe9a60a39e6617435b38128ec9c833f722fb",
    ),
    (
        r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-AgencyCode":"000.00.09.H53","XroadVnpt-timestamp":"07122026T071918+0843","XroadVnpt-Content-Type":"application/json"}"#,
        "cb872a219e1c59b9c2dbbe39e079c5328a0f31049c3a2ab9c98d17b9316b6aea",
    ),
];

/// getSentEdocList from an object that sent and listed before (capture A #5): stale
/// `hash-file` and `from`, and the caller's `"null"` docId. Its secret is not known, so
/// the tests sign it again with theirs.
const STALE: &str = r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-servicetype":"eDoc","XroadVnpt-messagetype":"edoc","XroadVnpt-hash-file":"43584712d2c2b071e8cec380c13e88cea639262f48b27cb78bec9828f81f0b5","XroadVnpt-docId":"null","XroadVnpt-from":"000.00.00.H53","XroadVnpt-timestamp":"07122026T001357+0244","XroadVnpt-Content-Type":"application/json"}"#;

fn settings() -> SignatureSettings {
    SignatureSettings {
        system_id: SYSTEM.to_owned(),
        secret: Ok(Zeroizing::new(SECRET.as_bytes().to_vec())),
    }
}

/// The headers the SDK sends for `sign_header`: each signed pair as `XroadVnpt-<name>`,
/// the plain `Content-Type`, the signature headers and the version.
fn request(sign_header: &str, hash_header: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let pairs: Vec<(String, String)> = serde_json::from_str::<serde_json::Value>(sign_header)
        .expect("JSON")
        .as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("text").to_owned()))
        .collect();
    for (key, value) in pairs {
        if key == "XroadVnpt-Content-Type" {
            headers.append(
                "content-type",
                HeaderValue::from_str(&value).expect("value"),
            );
        }
        headers.append(
            HeaderName::from_bytes(key.as_bytes()).expect("name"),
            HeaderValue::from_str(&value).expect("value"),
        );
    }
    let names: Vec<&str> = sign_header
        .split("\"XroadVnpt-")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    headers.insert(
        SIGN_HEADER_KEY,
        HeaderValue::from_str(&names.join(";")).expect("value"),
    );
    headers.insert(
        SIGN_HEADER,
        HeaderValue::from_str(sign_header).expect("value"),
    );
    headers.insert(
        HASH_HEADER,
        HeaderValue::from_str(hash_header).expect("value"),
    );
    headers.insert(VERSION_HEADER, HeaderValue::from_static("3.0.201608"));
    headers.insert(
        "user-agent",
        HeaderValue::from_static("JAVASDKAgent/1.0.0 XRoad/VPCP"),
    );
    headers
}

#[test]
fn every_call_the_sdk_signed_is_accepted_with_days_old_timestamps() {
    for (sign_header, hash_header) in CAPTURED {
        let headers = request(sign_header, hash_header);
        assert!(is_signed(&headers));
        let signed = verify(&headers, &settings()).unwrap_or_else(|e| panic!("{sign_header}: {e}"));
        assert_eq!(signed.get("systemid"), Some(SYSTEM));
        assert!(signed.get("timestamp").is_some());
    }
}

#[test]
fn the_pairs_come_back_as_signed_in_the_sdk_order() {
    let (sign_header, hash_header) = CAPTURED[1];
    let signed = verify(&request(sign_header, hash_header), &settings()).expect("valid");
    let names: Vec<&str> = signed.pairs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["systemid", "docId", "timestamp", "Content-Type", "status"]
    );
    assert_eq!(signed.get("docid"), Some("5f1c2d3e4a5b6c7d8e9f0a1b"));
    assert_eq!(signed.get("status"), Some("done"));
}

#[test]
fn stale_fields_and_null_are_signed_pairs_like_any_other() {
    let headers = request(STALE, &sign(SECRET.as_bytes(), STALE));
    let signed = verify(&headers, &settings()).expect("valid");
    assert_eq!(signed.get("docId"), Some("null"));
    assert_eq!(signed.get("from"), Some(SYSTEM));
}

#[test]
fn a_quoted_to_is_compared_as_sent() {
    let text = r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-to":"\"000.00.01.H53\"","XroadVnpt-timestamp":"07122026T071918+0583"}"#;
    let headers = request(text, &sign(SECRET.as_bytes(), text));
    assert_eq!(
        headers.get("XroadVnpt-to").map(HeaderValue::as_bytes),
        Some(&b"\"000.00.01.H53\""[..])
    );
    let signed = verify(&headers, &settings()).expect("valid");
    assert_eq!(signed.get("to"), Some("\"000.00.01.H53\""));
}

#[test]
fn a_wrong_secret_is_refused_without_showing_either() {
    let (sign_header, _) = CAPTURED[2];
    let forged = sign(b"another secret", sign_header);
    let err = verify(&request(sign_header, &forged), &settings()).expect_err("forged");
    assert_eq!(err, SignatureError::Mismatch);
    let text = err.to_string();
    assert!(text.contains("does not match"), "{text}");
    assert!(!text.contains(SECRET) && !text.contains(&forged), "{text}");
    assert!(!text.contains(CAPTURED[2].1), "{text}");
}

#[test]
fn a_header_changed_after_signing_is_refused() {
    let (sign_header, hash_header) = CAPTURED[1];
    let mut headers = request(sign_header, hash_header);
    headers.insert("XroadVnpt-status", HeaderValue::from_static("fail"));
    let err = verify(&headers, &settings()).expect_err("changed");
    assert_eq!(
        err,
        SignatureError::Disagrees {
            name: "status".into(),
            signed: "done".into(),
            sent: "fail".into()
        }
    );
    assert!(err.to_string().contains("changed after signing"), "{err}");

    let mut headers = request(sign_header, hash_header);
    headers.remove("XroadVnpt-docId");
    assert!(matches!(
        verify(&headers, &settings()),
        Err(SignatureError::Unsent { name, .. }) if name == "docId"
    ));

    // A parameter added beside the signed ones is not taken on trust.
    let mut headers = request(sign_header, hash_header);
    headers.insert("XroadVnpt-to", HeaderValue::from_static("000.00.99.H53"));
    let err = verify(&headers, &settings()).expect_err("unsigned");
    assert!(matches!(&err, SignatureError::Unsigned { value, .. } if value == "000.00.99.H53"));
}

#[test]
fn another_system_is_refused_before_its_hmac() {
    let text =
        r#"{"XroadVnpt-systemid":"vxp.saas.03","XroadVnpt-timestamp":"07122026T071918+0583"}"#;
    let headers = request(text, &sign(b"its own secret", text));
    assert_eq!(
        verify(&headers, &settings()),
        Err(SignatureError::UnknownSystem("vxp.saas.03".into()))
    );
    let text = r#"{"XroadVnpt-timestamp":"07122026T071918+0583"}"#;
    let headers = request(text, &sign(SECRET.as_bytes(), text));
    assert_eq!(
        verify(&headers, &settings()),
        Err(SignatureError::NoSystemId)
    );
}

#[test]
fn malformed_signatures_say_what_is_wrong() {
    let (sign_header, hash_header) = CAPTURED[6];
    let mut headers = request(sign_header, hash_header);
    headers.remove(HASH_HEADER);
    assert_eq!(
        verify(&headers, &settings()),
        Err(SignatureError::Missing(HASH_HEADER))
    );
    let mut headers = request(sign_header, hash_header);
    headers.insert(HASH_HEADER, HeaderValue::from_static("not hex"));
    assert_eq!(verify(&headers, &settings()), Err(SignatureError::BadHash));

    let mut headers = request(sign_header, hash_header);
    headers.insert(
        SIGN_HEADER,
        HeaderValue::from_static(r#"{"systemid":"000.00.00.H53"}"#),
    );
    assert!(matches!(
        verify(&headers, &settings()),
        Err(SignatureError::NotPrefixed(key)) if key == "systemid"
    ));
    headers.insert(SIGN_HEADER, HeaderValue::from_static("systemid;timestamp"));
    assert!(matches!(
        verify(&headers, &settings()),
        Err(SignatureError::NotJson(_))
    ));
    headers.insert(
        SIGN_HEADER,
        HeaderValue::from_static(
            r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-systemid":"000.00.00.H53"}"#,
        ),
    );
    assert_eq!(
        verify(&headers, &settings()),
        Err(SignatureError::Twice("systemid".into()))
    );
    // What the SDK's HTTP client makes of "Việt": one byte per character.
    headers.insert(
        SIGN_HEADER,
        HeaderValue::from_bytes(b"{\"XroadVnpt-systemid\":\"Vi\xC7t\"}").expect("bytes"),
    );
    assert_eq!(verify(&headers, &settings()), Err(SignatureError::NotAscii));
}

#[test]
fn a_node_without_a_secret_says_so() {
    let mut settings = settings();
    settings.secret = Err("axis.secret: No such file or directory".into());
    let (sign_header, hash_header) = CAPTURED[0];
    let err = verify(&request(sign_header, hash_header), &settings).expect_err("no secret");
    assert!(err.to_string().contains("No such file"), "{err}");
}

proptest::proptest! {
    /// Whatever a client puts in the signature headers, the check answers: accepted only
    /// with the right HMAC, refused otherwise, and never a panic.
    #[test]
    fn any_signature_headers_are_answered(
        sign_header in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        hash_header in "[0-9a-fA-F]{0,70}",
        tweak in proptest::option::of(0usize..300),
    ) {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(&sign_header) {
            headers.insert(SIGN_HEADER, value);
        }
        if let Ok(value) = HeaderValue::from_str(&hash_header) {
            headers.insert(HASH_HEADER, value);
        }
        let _ = verify(&headers, &settings());
        // A captured call with one byte of its signed JSON changed never passes.
        if let Some(at) = tweak {
            let (text, hash) = CAPTURED[0];
            let mut bytes = text.as_bytes().to_vec();
            let at = at % bytes.len();
            bytes[at] = bytes[at].wrapping_add(1);
            if let Ok(value) = HeaderValue::from_bytes(&bytes) {
                let mut headers = request(text, hash);
                headers.insert(SIGN_HEADER, value);
                proptest::prop_assert!(verify(&headers, &settings()).is_err());
            }
        }
    }
}
