//! The national axis's wire, as its Java SDK (SDKVXP 2.0.1) speaks it
//! (`shared/domain/vxp-sdk-wire.md`, cited as §n): what a client signs and sends, and what
//! a server checks. Shared by the node's axis client, the simulations' test axis and the
//! tests, so all of them sign and verify one way.
//!
//! - [`sign`]: a call's `XroadVnpt-` pairs → the headers to send (§2.2), in the SDK's
//!   Java `HashMap` order (§2.6).
//! - [`verify`]: the received sign-header and hash-header against a secret (§6.3), and the
//!   signed pairs read back in order.
//! - [`timestamp_text`]: `ddMMyyyy'T'HHmmss+SSSS` in a zone (§2.3).
//! - [`hash_file`]: sendEdoc's `hash-file`, SHA-256 in unpadded hex (§2.4).
//!
//! Pure: no I/O, no clock. Callers pass the time in.

mod sign;
mod verify;

pub use sign::{
    CONTENT_TYPE_JSON, CONTENT_TYPE_OCTETS, SignedRequest, USER_AGENT, VERSION, hash_file,
    java_bucket, java_order, sign, timestamp_text, unpadded_hex,
};
pub use verify::{SignedPairs, VerifyError, hmac_hex, verify};

/// The prefix of every SDK parameter header (§2.2).
pub const PREFIX: &str = "XroadVnpt-";
/// The signed JSON (§2.2 step 3).
pub const SIGN_HEADER: &str = "XroadVnpt-sign-header";
/// The names of the signed pairs, informational (§2.2 step 2).
pub const SIGN_HEADER_KEY: &str = "XroadVnpt-sign-header-key";
/// The HMAC of the signed JSON (§2.2 step 4).
pub const HASH_HEADER: &str = "XroadVnpt-hash-header";
/// The SDK's protocol version header (§2.2 step 5).
pub const VERSION_HEADER: &str = "XroadVnpt-version";
/// Vietnam's offset from UTC in seconds: the zone of the SDK's JVM there (§2.3).
pub const VIETNAM_UTC_OFFSET_SECS: i32 = 7 * 3600;

#[cfg(test)]
mod tests;
