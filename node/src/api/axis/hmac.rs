//! The axis SDK's request signature.
//!
//! The SDK sends `systemid` and `timestamp` (each also as `XroadVnpt-<name>`), the names of
//! the headers it signed in `XroadVnpt-sign-header-key` (`;`-separated, always at least
//! `systemid` and `timestamp`), and `XroadVnpt-sign-header` =
//! hex(HMAC-SHA256(secret, the signed headers as a compact JSON object, in the listed
//! order)), e.g. `{"systemid":"000.00.00.H41","timestamp":"21112026T123905+0123"}`.
//!
//! The node checks, in this order: the system id is the configured one; the timestamp is
//! within the allowed skew of its clock (a captured request cannot be replayed later); the
//! signature matches, compared in constant time. Each refusal says which of these failed and
//! never shows the secret or the expected signature.

use std::fmt::Write as _;
use std::time::Duration;

use axum::http::HeaderMap;
use hmac::{KeyInit as _, Mac as _};
use lienthong_protocol::envelope::Timestamp;
use zeroize::Zeroizing;

use super::time::{sdk_distance, sdk_timestamp};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The prefix of the SDK's mirrored and signature headers.
const PREFIX: &str = "XroadVnpt-";
/// The header naming the signed headers.
pub(super) const SIGN_HEADER_KEY: &str = "XroadVnpt-sign-header-key";
/// The header carrying the signature.
pub(super) const SIGN_HEADER: &str = "XroadVnpt-sign-header";

/// What a signed request is checked against.
#[derive(Debug)]
pub(super) struct HmacSettings {
    /// The `systemid` requests must carry.
    pub(super) system_id: String,
    /// The shared secret, or why it could not be loaded.
    pub(super) secret: Result<Zeroizing<Vec<u8>>, String>,
    /// How far the request's `timestamp` may be from this node's clock.
    pub(super) skew: Duration,
}

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum HmacError {
    /// A required header is absent.
    #[error("header {0} is missing")]
    Missing(String),
    /// A header and its `XroadVnpt-` mirror disagree.
    #[error("headers {name} and {PREFIX}{name} differ; send the same value in both")]
    Mirrors {
        /// The header.
        name: String,
    },
    /// A header holds bytes that are not text.
    #[error("header {0} is not text")]
    NotText(String),
    /// `systemid` is not this node's.
    #[error(
        "systemid {0:?} is not the one this node serves (api.axis.system_id, by default the agency's organ_id)"
    )]
    UnknownSystem(String),
    /// `timestamp` does not read.
    #[error(
        "timestamp {0:?} is not in the SDK's form ddMMyyyy'T'HHmmss, e.g. 21112026T123905+0123"
    )]
    BadTimestamp(String),
    /// `timestamp` is too far from this node's clock.
    #[error(
        "timestamp {given} is {} away from this node's clock (more than the {} allowed by api.axis.timestamp_skew): check the QLVB server's clock, or this is a replayed request",
        humantime::format_duration(*.distance), humantime::format_duration(*.allowed)
    )]
    Stale {
        /// The timestamp as sent.
        given: String,
        /// How far it is from now, to the second.
        distance: Duration,
        /// The skew allowed.
        allowed: Duration,
    },
    /// The signed-header list lacks systemid or timestamp.
    #[error(
        "{SIGN_HEADER_KEY} must list systemid and timestamp (separated by ';'); it lists {0:?}"
    )]
    UnsignedBasics(String),
    /// The signature is not hexadecimal.
    #[error("{SIGN_HEADER} is not a hexadecimal HMAC-SHA256")]
    BadSignature,
    /// The signature is wrong.
    #[error(
        "the signature in {SIGN_HEADER} does not match: sign the headers listed in {SIGN_HEADER_KEY}, as compact JSON in that order, with HMAC-SHA256 and the secret of api.axis.secret_file"
    )]
    Mismatch,
    /// No secret is configured.
    #[error("the axis HMAC secret is not available on this node: {0}")]
    NoSecret(String),
}

/// Whether the request carries the SDK's signature headers (rather than a bearer token).
pub(super) fn is_signed(headers: &HeaderMap) -> bool {
    headers.contains_key(SIGN_HEADER)
        || headers.contains_key(SIGN_HEADER_KEY)
        || headers.contains_key("systemid")
        || headers.contains_key("XroadVnpt-systemid")
}

/// Checks a signed request at `now`.
///
/// # Errors
/// [`HmacError`] saying what is wrong.
pub(super) fn verify(
    headers: &HeaderMap,
    settings: &HmacSettings,
    now: Timestamp,
) -> Result<(), HmacError> {
    let system_id =
        mirrored(headers, "systemid")?.ok_or_else(|| HmacError::Missing("systemid".to_owned()))?;
    if system_id != settings.system_id {
        return Err(HmacError::UnknownSystem(system_id));
    }
    let timestamp = mirrored(headers, "timestamp")?
        .ok_or_else(|| HmacError::Missing("timestamp".to_owned()))?;
    let civil =
        sdk_timestamp(&timestamp).ok_or_else(|| HmacError::BadTimestamp(timestamp.clone()))?;
    let distance =
        sdk_distance(civil, now).ok_or_else(|| HmacError::BadTimestamp(timestamp.clone()))?;
    let allowed = u64::try_from(settings.skew.as_millis()).unwrap_or(u64::MAX);
    if distance > allowed {
        return Err(HmacError::Stale {
            given: timestamp,
            distance: Duration::from_secs(distance / 1000),
            allowed: settings.skew,
        });
    }

    let listed = text(headers, SIGN_HEADER_KEY)?
        .ok_or_else(|| HmacError::Missing(SIGN_HEADER_KEY.to_owned()))?;
    let names: Vec<&str> = listed
        .split(';')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let lists = |base: &str| {
        names
            .iter()
            .any(|n| base_name(n).eq_ignore_ascii_case(base))
    };
    if !lists("systemid") || !lists("timestamp") {
        return Err(HmacError::UnsignedBasics(listed));
    }
    let signature =
        text(headers, SIGN_HEADER)?.ok_or_else(|| HmacError::Missing(SIGN_HEADER.to_owned()))?;
    let signature = hex::decode(signature.trim()).map_err(|_| HmacError::BadSignature)?;

    let mut message = String::from("{");
    for (i, name) in names.iter().enumerate() {
        let value = text(headers, name)?
            .or(mirrored(headers, base_name(name))?)
            .ok_or_else(|| HmacError::Missing((*name).to_owned()))?;
        if i > 0 {
            message.push(',');
        }
        let _ = write!(message, "{}:{}", json_string(name), json_string(&value));
    }
    message.push('}');

    let secret = settings
        .secret
        .as_ref()
        .map_err(|e| HmacError::NoSecret(e.clone()))?;
    let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| HmacError::Mismatch)?;
    mac.update(message.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| HmacError::Mismatch)
}

/// hex(HMAC-SHA256(`secret`, `message`)): what a client sends; for tests and examples.
#[cfg(test)]
pub(super) fn sign(secret: &[u8], message: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("any key length");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A header name without the `XroadVnpt-` prefix.
fn base_name(name: &str) -> &str {
    match name.get(..PREFIX.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(PREFIX) => &name[PREFIX.len()..],
        _ => name,
    }
}

/// A header's text, trimmed; `None` when absent or empty.
fn text(headers: &HeaderMap, name: &str) -> Result<Option<String>, HmacError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| HmacError::NotText(name.to_owned()))?
                .trim();
            Ok((!value.is_empty()).then(|| value.to_owned()))
        }
    }
}

/// The value of `name` or of its `XroadVnpt-` mirror; the two must agree when both are sent.
fn mirrored(headers: &HeaderMap, name: &str) -> Result<Option<String>, HmacError> {
    let plain = text(headers, name)?;
    let mirror = text(headers, &format!("{PREFIX}{name}"))?;
    match (plain, mirror) {
        (Some(a), Some(b)) if a != b => Err(HmacError::Mirrors {
            name: name.to_owned(),
        }),
        (a, b) => Ok(a.or(b)),
    }
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const SECRET: &[u8] = b"3f1c0d5e-bi-mat-cua-so";
    /// 12:39:05 in Vietnam on 21 November 2026.
    const STAMP: &str = "21112026T123905+0123";

    fn now() -> Timestamp {
        "2026-11-21T05:40:00.000Z".parse().expect("valid")
    }

    fn settings() -> HmacSettings {
        HmacSettings {
            system_id: "000.00.00.H41".into(),
            secret: Ok(Zeroizing::new(SECRET.to_vec())),
            skew: Duration::from_secs(300),
        }
    }

    /// Headers as the SDK sends them, signed with `secret`.
    fn signed(secret: &[u8], system_id: &str, timestamp: &str) -> HeaderMap {
        let message = format!(r#"{{"systemid":"{system_id}","timestamp":"{timestamp}"}}"#);
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("systemid", system_id.to_owned()),
            ("timestamp", timestamp.to_owned()),
            ("XroadVnpt-systemid", system_id.to_owned()),
            ("XroadVnpt-timestamp", timestamp.to_owned()),
            (SIGN_HEADER_KEY, "systemid;timestamp".to_owned()),
            (SIGN_HEADER, sign(secret, &message)),
        ] {
            headers.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(&value).expect("header value"),
            );
        }
        headers
    }

    #[test]
    fn a_good_signature_passes() {
        let headers = signed(SECRET, "000.00.00.H41", STAMP);
        assert!(is_signed(&headers));
        assert_eq!(verify(&headers, &settings(), now()), Ok(()));
    }

    #[test]
    fn a_wrong_secret_is_refused_without_showing_it() {
        let headers = signed(b"another secret", "000.00.00.H41", STAMP);
        let err = verify(&headers, &settings(), now()).expect_err("wrong secret");
        assert_eq!(err, HmacError::Mismatch);
        let text = err.to_string();
        assert!(text.contains("does not match"), "{text}");
        assert!(!text.contains("bi-mat"), "{text}");
    }

    #[test]
    fn a_stale_timestamp_is_refused() {
        let headers = signed(SECRET, "000.00.00.H41", "21112026T113905+0000");
        let err = verify(&headers, &settings(), now()).expect_err("an hour old");
        assert!(matches!(err, HmacError::Stale { .. }), "{err:?}");
        assert!(err.to_string().contains("replayed"), "{err}");
        // The same wall-clock time from a server on UTC is fine.
        let utc = "2026-11-21T12:40:00.000Z".parse().expect("valid");
        let headers = signed(SECRET, "000.00.00.H41", STAMP);
        assert_eq!(verify(&headers, &settings(), utc), Ok(()));
        let headers = signed(SECRET, "000.00.00.H41", "yesterday");
        assert!(matches!(
            verify(&headers, &settings(), now()),
            Err(HmacError::BadTimestamp(_))
        ));
    }

    #[test]
    fn missing_headers_are_named() {
        let mut headers = signed(SECRET, "000.00.00.H41", STAMP);
        headers.remove(SIGN_HEADER);
        assert_eq!(
            verify(&headers, &settings(), now()),
            Err(HmacError::Missing(SIGN_HEADER.to_owned()))
        );
        let mut headers = signed(SECRET, "000.00.00.H41", STAMP);
        headers.remove("timestamp");
        headers.remove("XroadVnpt-timestamp");
        assert_eq!(
            verify(&headers, &settings(), now()),
            Err(HmacError::Missing("timestamp".to_owned()))
        );
        // Only the mirror is enough.
        let mut headers = signed(SECRET, "000.00.00.H41", STAMP);
        headers.remove("systemid");
        assert_eq!(verify(&headers, &settings(), now()), Ok(()));
        let mut headers = signed(SECRET, "000.00.00.H41", STAMP);
        headers.insert(SIGN_HEADER_KEY, HeaderValue::from_static("systemid"));
        assert!(matches!(
            verify(&headers, &settings(), now()),
            Err(HmacError::UnsignedBasics(_))
        ));
    }

    #[test]
    fn another_system_id_is_refused() {
        let headers = signed(SECRET, "vxp.saas.03", STAMP);
        assert_eq!(
            verify(&headers, &settings(), now()),
            Err(HmacError::UnknownSystem("vxp.saas.03".into()))
        );
        let mut headers = signed(SECRET, "000.00.00.H41", STAMP);
        headers.insert(
            "XroadVnpt-systemid",
            HeaderValue::from_static("000.00.00.G22"),
        );
        assert!(matches!(
            verify(&headers, &settings(), now()),
            Err(HmacError::Mirrors { .. })
        ));
    }

    #[test]
    fn a_node_without_a_secret_says_so() {
        let mut settings = settings();
        settings.secret = Err("axis.secret: No such file or directory".into());
        let headers = signed(SECRET, "000.00.00.H41", STAMP);
        let err = verify(&headers, &settings, now()).expect_err("no secret");
        assert!(err.to_string().contains("No such file"), "{err}");
    }
}
