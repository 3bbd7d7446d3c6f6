//! Signing a call as the SDK does (§2.1–§2.6), without the SDK's stale-key quirks (§7.4):
//! each call signs only its own pairs, with a fresh timestamp.

use sha2::{Digest as _, Sha256};

use super::{HASH_HEADER, PREFIX, SIGN_HEADER, SIGN_HEADER_KEY, VERSION_HEADER};

/// The SDK's `User-Agent` on signed calls (§2.2 step 5).
pub const USER_AGENT: &str = "JAVASDKAgent/1.0.0 XRoad/VPCP";
/// The SDK's `XroadVnpt-version` (§2.2 step 5).
pub const VERSION: &str = "3.0.201608";
/// `Content-Type` of every call but sendEdoc (§1).
pub const CONTENT_TYPE_JSON: &str = "application/json";
/// `Content-Type` of sendEdoc (§1).
pub const CONTENT_TYPE_OCTETS: &str = "application/octet-stream";

/// The headers of one signed call, in the order the SDK sends them (§2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// Every header to send: the `XroadVnpt-` pairs (plain `Content-Type` just before
    /// `XroadVnpt-Content-Type`), the three sign headers, `User-Agent`, `XroadVnpt-version`.
    pub headers: Vec<(String, String)>,
    /// The signed JSON text.
    pub sign_header: String,
    /// Its HMAC, lowercase hex.
    pub hash_header: String,
}

/// Java's `String.hashCode()`: over UTF-16 code units, wrapping `int` arithmetic.
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The bucket of `key` in a Java 8 `HashMap` of `capacity` buckets (§2.6).
pub fn java_bucket(key: &str, capacity: usize) -> usize {
    let h = java_string_hash(key).cast_unsigned();
    ((h ^ (h >> 16)) as usize) & (capacity.max(1) - 1)
}

/// `pairs` (in the order the SDK puts them in its map: `timestamp`, `systemid`,
/// `Content-Type`, the call's keys, `hash-file`) in the order a fresh SDK map iterates
/// them (§2.6): 16 buckets, doubled above three quarters full; buckets ascending, a
/// bucket's keys in insertion order. A later duplicate key replaces the earlier value.
pub fn java_order(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        match entries.iter_mut().find(|(key, _)| key == k) {
            Some(entry) => entry.1 = (*v).to_owned(),
            None => entries.push(((*k).to_owned(), (*v).to_owned())),
        }
    }
    let mut capacity = 16;
    while entries.len() > capacity / 4 * 3 {
        capacity *= 2;
    }
    let mut order: Vec<(usize, usize)> = entries
        .iter()
        .enumerate()
        .map(|(n, (k, _))| (java_bucket(k, capacity), n))
        .collect();
    order.sort_unstable();
    order.into_iter().map(|(_, n)| entries[n].clone()).collect()
}

/// Signs one call: `system_id`, `timestamp`, `content_type` and the call's `params` (names
/// without the prefix, ASCII values) with `secret` used as text (§2.2). For sendEdoc pass
/// `hash-file` last in `params`.
pub fn sign(
    secret: &[u8],
    system_id: &str,
    timestamp: &str,
    content_type: &str,
    params: &[(&str, &str)],
) -> SignedRequest {
    let mut put: Vec<(&str, &str)> = vec![
        ("timestamp", timestamp),
        ("systemid", system_id),
        ("Content-Type", content_type),
    ];
    put.extend_from_slice(params);
    let mut headers = Vec::new();
    let mut names = Vec::new();
    let mut json = String::from("{");
    for (k, v) in java_order(&put) {
        if k == "Content-Type" {
            headers.push(("Content-Type".to_owned(), v.clone()));
        }
        let name = format!("{PREFIX}{k}");
        if json.len() > 1 {
            json.push(',');
        }
        json_string(&name, &mut json);
        json.push(':');
        json_string(&v, &mut json);
        headers.push((name, v));
        names.push(k);
    }
    json.push('}');
    let hash_header = super::verify::hmac_hex(secret, json.as_bytes());
    headers.push((SIGN_HEADER_KEY.to_owned(), names.join(";")));
    headers.push((SIGN_HEADER.to_owned(), json.clone()));
    headers.push((HASH_HEADER.to_owned(), hash_header.clone()));
    headers.push(("User-Agent".to_owned(), USER_AGENT.to_owned()));
    headers.push((VERSION_HEADER.to_owned(), VERSION.to_owned()));
    SignedRequest {
        headers,
        sign_header: json,
        hash_header,
    }
}

/// A JSON string as the sign-header writes it: only `"`, `\` and control characters
/// escaped (§2.2 step 3).
fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// sendEdoc's `hash-file`: SHA-256 of the file, without the CR LF the wire adds (§2.4).
pub fn hash_file(file: &[u8]) -> String {
    unpadded_hex(&Sha256::digest(file))
}

/// Lowercase hex byte by byte without zero padding (`0x07` → `7`), as the SDK writes
/// `hash-file` (§2.4).
pub fn unpadded_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:x}")).collect()
}

/// `SimpleDateFormat("ddMMyyyy'T'HHmmss+SSSS")` at `unix_ms` in the zone
/// `utc_offset_secs` east of UTC: `+` is literal and `SSSS` the milliseconds padded to four
/// digits (§2.3).
pub fn timestamp_text(unix_ms: u64, utc_offset_secs: i32) -> String {
    let ms = i64::try_from(unix_ms).unwrap_or(i64::MAX) + i64::from(utc_offset_secs) * 1000;
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{day:02}{month:02}{year:04}T{:02}{:02}{:02}+{:04}",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}
