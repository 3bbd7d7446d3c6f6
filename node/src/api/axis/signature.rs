//! The axis SDK's request signature, as the SDK really makes it (`vxp-sdk-wire.md` §2.2).
//!
//! Every parameter of a call travels as a header `XroadVnpt-<name>`. The SDK also puts
//! those same pairs, as a compact JSON object whose keys keep the prefix, in
//! `XroadVnpt-sign-header`, lists their names in `XroadVnpt-sign-header-key`, and sends
//! `XroadVnpt-hash-header` = hex(HMAC-SHA256(secret, the sign-header text)). For example:
//!
//! ```text
//! XroadVnpt-sign-header: {"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-timestamp":"07122026T001357+0348","XroadVnpt-Content-Type":"application/json"}
//! XroadVnpt-hash-header: 029e2bc27fc2573d20f73c28b00db50c58eae0f0fecbac59e95d76db30acff4e
//! ```
//!
//! The node checks, in this order (§6.3):
//! 1. the sign-header is a JSON object of `XroadVnpt-` names and text values, one of them
//!    `systemid`, which must be the one this node serves;
//! 2. the HMAC over the sign-header's **received bytes** (never a JSON rebuilt here: the
//!    SDK's key order is a Java hash map's), compared in constant time;
//! 3. every signed pair was sent as its header with the same value, and every
//!    `XroadVnpt-` parameter header sent is signed: a parameter the signature does not
//!    cover is refused, never silently used or dropped.
//!
//! The `timestamp` is not checked against the clock: the SDK sets it once, when QLVB
//! creates its service object, and signs every later call with it (§3). Replays are made
//! harmless where they land instead (see `docs/axis-api.md`). `sign-header-key` is
//! informational and not read.

use axum::http::{HeaderMap, HeaderValue};
use lienthong_protocol::axis_wire::{self, VerifyError};
use zeroize::Zeroizing;

/// The prefix of every SDK header.
pub(super) const PREFIX: &str = "XroadVnpt-";
/// The signed JSON.
pub(super) const SIGN_HEADER: &str = "XroadVnpt-sign-header";
/// The names of the signed pairs (informational).
pub(super) const SIGN_HEADER_KEY: &str = "XroadVnpt-sign-header-key";
/// The HMAC of the signed JSON.
pub(super) const HASH_HEADER: &str = "XroadVnpt-hash-header";
/// The SDK's protocol version; not a parameter.
const VERSION_HEADER: &str = "XroadVnpt-version";

/// What a signed request is checked against.
#[derive(Debug)]
pub(super) struct SignatureSettings {
    /// The `systemid` requests must carry.
    pub(super) system_id: String,
    /// The shared secret as text bytes (the SDK does not decode it), or why it could not be
    /// loaded.
    pub(super) secret: Result<Zeroizing<Vec<u8>>, String>,
}

/// What a verified call signed: its pairs, names without the prefix, in the order sent.
pub(super) use lienthong_protocol::axis_wire::SignedPairs as Signed;

/// Why a signed request was refused. None of the messages shows the secret or the HMAC
/// this node expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum SignatureError {
    /// A signature header is absent.
    #[error(
        "header {0} is missing: the axis SDK sends {SIGN_HEADER} and {HASH_HEADER} on every call"
    )]
    Missing(&'static str),
    /// The sign-header holds bytes outside ASCII.
    #[error(
        "{SIGN_HEADER} holds characters outside ASCII: the SDK writes each header character as one byte while its HMAC covers UTF-8, so it cannot sign them; send ASCII values (agency ids, DocIds, edoc/status)"
    )]
    NotAscii,
    /// The sign-header is not a JSON object of text values.
    #[error(
        "{SIGN_HEADER} is not the SDK's signed JSON (an object of \"XroadVnpt-<name>\":\"<value>\" pairs): {0}"
    )]
    NotJson(String),
    /// A signed name lacks the prefix.
    #[error("{SIGN_HEADER} signs {0:?}, which is not an {PREFIX}<name> parameter")]
    NotPrefixed(String),
    /// The same name is signed twice.
    #[error("{SIGN_HEADER} signs {PREFIX}{0} twice")]
    Twice(String),
    /// No `systemid` is signed.
    #[error(
        "{SIGN_HEADER} does not sign {PREFIX}systemid: the SDK signs the systemid of collaboration.properties on every call"
    )]
    NoSystemId,
    /// `systemid` is not this node's.
    #[error(
        "systemid {0:?} is not the one this node serves: set systemid in collaboration.properties to the agency's id (api.axis.system_id, by default the node's organ_id)"
    )]
    UnknownSystem(String),
    /// `hash-header` is not 64 hexadecimal digits.
    #[error("{HASH_HEADER} is not an HMAC-SHA256 in hexadecimal (64 digits)")]
    BadHash,
    /// The HMAC does not match.
    #[error(
        "{HASH_HEADER} does not match {SIGN_HEADER}: the secret in collaboration.properties is not this node's (the text of api.axis.secret_file), or the header was changed on the way"
    )]
    Mismatch,
    /// No secret is configured.
    #[error(
        "the axis secret is not available on this node, so no SDK signature can be checked: {0}"
    )]
    NoSecret(String),
    /// A signed pair was not sent as a header.
    #[error(
        "{SIGN_HEADER} signs {PREFIX}{name} = {value:?}, but no header {PREFIX}{name} was sent"
    )]
    Unsent {
        /// The name, without the prefix.
        name: String,
        /// The signed value.
        value: String,
    },
    /// A signed pair disagrees with the header sent.
    #[error(
        "header {PREFIX}{name} is {sent:?} but {SIGN_HEADER} signs {signed:?}: the headers were changed after signing"
    )]
    Disagrees {
        /// The name, without the prefix.
        name: String,
        /// The value signed.
        signed: String,
        /// The header's value.
        sent: String,
    },
    /// A parameter header the signature does not cover.
    #[error(
        "header {name} = {value:?} is not signed in {SIGN_HEADER}; every {PREFIX} parameter must be signed"
    )]
    Unsigned {
        /// The header as sent.
        name: String,
        /// Its value.
        value: String,
    },
}

impl From<VerifyError> for SignatureError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::NotJson(why) => SignatureError::NotJson(why),
            VerifyError::NotPrefixed(key) => SignatureError::NotPrefixed(key),
            VerifyError::Twice(name) => SignatureError::Twice(name),
            VerifyError::BadHash => SignatureError::BadHash,
            VerifyError::Mismatch => SignatureError::Mismatch,
        }
    }
}

/// Whether the request carries the SDK's signature (rather than a bearer token).
pub(super) fn is_signed(headers: &HeaderMap) -> bool {
    headers.contains_key(SIGN_HEADER) || headers.contains_key(HASH_HEADER)
}

/// Checks a signed request and returns what it signed.
///
/// # Errors
/// [`SignatureError`] saying what is wrong and where.
pub(super) fn verify(
    headers: &HeaderMap,
    settings: &SignatureSettings,
) -> Result<Signed, SignatureError> {
    let sign_header = headers
        .get(SIGN_HEADER)
        .ok_or(SignatureError::Missing(SIGN_HEADER))?;
    let hash_header = headers
        .get(HASH_HEADER)
        .ok_or(SignatureError::Missing(HASH_HEADER))?;
    let text = sign_header.to_str().map_err(|_| SignatureError::NotAscii)?;
    let signed = Signed::parse(text)?;
    let system_id = signed.get("systemid").ok_or(SignatureError::NoSystemId)?;
    if system_id != settings.system_id {
        return Err(SignatureError::UnknownSystem(system_id.to_owned()));
    }
    let secret = settings
        .secret
        .as_ref()
        .map_err(|e| SignatureError::NoSecret(e.clone()))?;
    let hash_header = hash_header.to_str().map_err(|_| SignatureError::BadHash)?;
    axis_wire::verify(sign_header.as_bytes(), hash_header, secret)?;
    cross_check(headers, &signed)?;
    Ok(signed)
}

/// Every signed pair was sent as its header, and every parameter header is signed.
fn cross_check(headers: &HeaderMap, signed: &Signed) -> Result<(), SignatureError> {
    for (name, value) in &signed.pairs {
        let header = format!("{PREFIX}{name}");
        let sent: Vec<&HeaderValue> = headers.get_all(header.as_str()).iter().collect();
        if sent.is_empty() {
            return Err(SignatureError::Unsent {
                name: name.clone(),
                value: value.clone(),
            });
        }
        if !sent.iter().any(|s| same(s, value)) {
            return Err(SignatureError::Disagrees {
                name: name.clone(),
                signed: value.clone(),
                sent: String::from_utf8_lossy(sent[0].as_bytes()).into_owned(),
            });
        }
    }
    for (header, sent) in headers {
        let Some(name) = parameter_name(header.as_str()) else {
            continue;
        };
        let covered = signed
            .pairs
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case(name) && same(sent, v));
        if !covered {
            return Err(SignatureError::Unsigned {
                name: format!("{PREFIX}{name}"),
                value: String::from_utf8_lossy(sent.as_bytes()).into_owned(),
            });
        }
    }
    Ok(())
}

/// The parameter a header carries: its name without the prefix, unless it is one of the
/// signature's own headers.
fn parameter_name(header: &str) -> Option<&str> {
    let prefix = header.get(..PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let own = [SIGN_HEADER, SIGN_HEADER_KEY, HASH_HEADER, VERSION_HEADER];
    if own.iter().any(|o| o.eq_ignore_ascii_case(header)) {
        return None;
    }
    Some(&header[PREFIX.len()..])
}

/// A header's value against a signed one. HTTP drops the white space around a header
/// value, which the JSON keeps.
fn same(sent: &HeaderValue, signed: &str) -> bool {
    sent.as_bytes() == signed.trim_matches([' ', '\t']).as_bytes()
}

/// hex(HMAC-SHA256(`secret`, `message`)), as the SDK computes `hash-header`; for tests.
#[cfg(test)]
pub(super) fn sign(secret: &[u8], message: &str) -> String {
    lienthong_protocol::axis_wire::hmac_hex(secret, message.as_bytes())
}

#[cfg(test)]
mod tests;
