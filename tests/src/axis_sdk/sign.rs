//! The header map, the signature, the timestamp and `hash-file` (§2.1–§2.4, §2.6).

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::{Digest as _, Sha256};

/// Java's `String.hashCode()`: over UTF-16 code units, wrapping `int` arithmetic.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The bucket of `key` in a Java 8 `HashMap` table of `capacity` (a power of two) (§2.6).
pub fn java_bucket(key: &str, capacity: usize) -> usize {
    let h = java_string_hash(key) as u32;
    ((h ^ (h >> 16)) as usize) & (capacity - 1)
}

/// The SDK object's `java.util.HashMap<String,String>` of signed pairs (§2.1, §2.6).
///
/// Keys are case-sensitive and never removed; re-putting a key replaces its value and keeps
/// its place. Iteration is the Java 8 order: buckets ascending, a bucket's keys in insertion
/// order (resizing keeps that relative order). Not modelled: the tree bins Java makes of a
/// bucket holding 9 keys once the table has 64 buckets.
#[derive(Debug, Clone)]
pub struct HeaderMap {
    entries: Vec<(String, String)>,
    capacity: usize,
}

impl Default for HeaderMap {
    fn default() -> Self {
        HeaderMap {
            entries: Vec::new(),
            capacity: 16,
        }
    }
}

impl HeaderMap {
    /// An empty map: 16 buckets, as `new HashMap<>()`.
    pub fn new() -> Self {
        HeaderMap::default()
    }

    /// `HashMap.put`: a new key goes last in its bucket; the table doubles when a bucket's
    /// chain would reach 9 below 64 buckets (`treeifyBin`) and when the size exceeds
    /// three quarters of the capacity.
    pub fn put(&mut self, key: &str, value: &str) {
        if let Some(entry) = self.entries.iter_mut().find(|(k, _)| k == key) {
            entry.1 = value.to_owned();
            return;
        }
        let bucket = java_bucket(key, self.capacity);
        let chain = self
            .entries
            .iter()
            .filter(|(k, _)| java_bucket(k, self.capacity) == bucket)
            .count();
        self.entries.push((key.to_owned(), value.to_owned()));
        if chain >= 8 && self.capacity < 64 {
            self.capacity *= 2;
        }
        if self.entries.len() > self.capacity / 4 * 3 {
            self.capacity *= 2;
        }
    }

    /// The value of `key` (case-sensitive).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The table's bucket count.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The pairs in Java iteration order: by (bucket, first insertion).
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut order: Vec<(usize, usize)> = self
            .entries
            .iter()
            .enumerate()
            .map(|(n, (k, _))| (java_bucket(k, self.capacity), n))
            .collect();
        order.sort_unstable();
        order
            .into_iter()
            .map(|(_, n)| self.entries[n].clone())
            .collect()
    }
}

/// What the SDK derives from its map for one call (§2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The headers in the HttpClient order of §2.5, up to `XroadVnpt-version`: the
    /// `XroadVnpt-*` pairs (plain `Content-Type` just before `XroadVnpt-Content-Type`), the
    /// three sign headers, `User-Agent`, `XroadVnpt-version`.
    pub headers: Vec<(String, String)>,
    /// `XroadVnpt-sign-header-key`: the names, `;`-separated.
    pub sign_header_key: String,
    /// `XroadVnpt-sign-header`: the signed JSON text.
    pub sign_header: String,
    /// `XroadVnpt-hash-header`: lowercase hex HMAC-SHA256 of the sign-header.
    pub hash_header: String,
}

/// The SDK's `User-Agent` on signed calls (§2.2 step 5).
pub const USER_AGENT: &str = "JAVASDKAgent/1.0.0 XRoad/VPCP";
/// The SDK's `XroadVnpt-version` (§2.2 step 5).
pub const VERSION: &str = "3.0.201608";

/// Signs the map as §2.2 says, with the secret's UTF-8 bytes as the HMAC key.
pub fn sign(map: &HeaderMap, secret: &str) -> Signed {
    let mut headers = Vec::new();
    let mut names = Vec::new();
    let mut json = String::from("{");
    for (k, v) in map.pairs() {
        if k == "Content-Type" {
            headers.push(("Content-Type".to_owned(), v.clone()));
        }
        let name = format!("XroadVnpt-{k}");
        if json.len() > 1 {
            json.push(',');
        }
        json_string(&name, &mut json, false);
        json.push(':');
        json_string(&v, &mut json, false);
        headers.push((name, v));
        names.push(k);
    }
    json.push('}');
    let sign_header_key = names.join(";");
    let hash_header = hmac_hex(secret, &json);
    headers.push((
        "XroadVnpt-sign-header-key".to_owned(),
        sign_header_key.clone(),
    ));
    headers.push(("XroadVnpt-sign-header".to_owned(), json.clone()));
    headers.push(("XroadVnpt-hash-header".to_owned(), hash_header.clone()));
    headers.push(("User-Agent".to_owned(), USER_AGENT.to_owned()));
    headers.push(("XroadVnpt-version".to_owned(), VERSION.to_owned()));
    Signed {
        headers,
        sign_header_key,
        sign_header: json,
        hash_header,
    }
}

/// HMAC-SHA256 of `message` keyed with the UTF-8 bytes of `secret`, lowercase hex (§2.2 step 4).
pub fn hmac_hex(secret: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A JSON string as the sign-header writes it: only `"`, `\` and control characters escaped
/// (§2.2 step 3); gson also escapes the line and paragraph separators.
pub(crate) fn json_string(s: &str, out: &mut String, line_separators: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\u{2028}' | '\u{2029}' if line_separators => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
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

/// `hash-file`: SHA-256 of the file, each byte in lowercase hex without zero padding (§2.4).
pub fn hash_file_text(file: &[u8]) -> String {
    unpadded_hex(&Sha256::digest(file))
}

/// Lowercase hex, byte by byte, without zero padding (`0x07` → `7`) (§2.4).
pub fn unpadded_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:x}")).collect()
}

/// A calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
    pub(crate) milli: u32,
}

/// The local time `utc_offset_secs` east of UTC at `unix_ms`.
pub(crate) fn civil(unix_ms: i64, utc_offset_secs: i32) -> Civil {
    let ms = unix_ms + i64::from(utc_offset_secs) * 1000;
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: (in_day / 3_600_000) as u32,
        minute: (in_day / 60_000 % 60) as u32,
        second: (in_day / 1000 % 60) as u32,
        milli: (in_day % 1000) as u32,
    }
}

/// `SimpleDateFormat("ddMMyyyy'T'HHmmss+SSSS")`: `+` is literal and `SSSS` the milliseconds
/// padded to 4 digits (§2.3).
pub fn format_timestamp(unix_ms: i64, utc_offset_secs: i32) -> String {
    let c = civil(unix_ms, utc_offset_secs);
    format!(
        "{:02}{:02}{:04}T{:02}{:02}{:02}+{:04}",
        c.day, c.month, c.year, c.hour, c.minute, c.second, c.milli
    )
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
