//! Checking a signed call as a server must (§6.3): the HMAC over the sign-header's
//! received bytes, never a JSON rebuilt here; the signed pairs read back in order.

use hmac::{KeyInit as _, Mac as _};
use serde::de::{Deserializer as _, MapAccess, Visitor};

use super::PREFIX;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Why a signed call does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The sign-header is not a flat JSON object of `XroadVnpt-<name>` text values.
    #[error("the sign-header is not the SDK's signed JSON: {0}")]
    NotJson(String),
    /// A signed name lacks the `XroadVnpt-` prefix (or is the prefix alone).
    #[error("the sign-header signs {0:?}, which is not an XroadVnpt-<name> parameter")]
    NotPrefixed(String),
    /// A name is signed twice.
    #[error("the sign-header signs {0} twice")]
    Twice(String),
    /// The hash-header is not 64 hexadecimal digits.
    #[error("the hash-header is not an HMAC-SHA256 in hexadecimal")]
    BadHash,
    /// The HMAC does not match.
    #[error("the hash-header does not match the sign-header under this systemid's secret")]
    Mismatch,
}

/// The pairs a verified call signed, names without the prefix, in the order sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignedPairs {
    /// The pairs.
    pub pairs: Vec<(String, String)>,
}

impl SignedPairs {
    /// The value signed under `name`, compared without case (`docId` = `docid`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Reads the sign-header's pairs without checking any HMAC (to learn the `systemid`
    /// whose secret checks it).
    ///
    /// # Errors
    /// [`VerifyError::NotJson`], [`VerifyError::NotPrefixed`], [`VerifyError::Twice`].
    pub fn parse(sign_header: &str) -> Result<SignedPairs, VerifyError> {
        let mut deserializer = serde_json::Deserializer::from_str(sign_header);
        let raw = deserializer
            .deserialize_map(PairsVisitor)
            .and_then(|pairs| deserializer.end().map(|()| pairs))
            .map_err(|e| VerifyError::NotJson(e.to_string()))?;
        let mut pairs: Vec<(String, String)> = Vec::with_capacity(raw.len());
        for (key, value) in raw {
            let name = match key.get(..PREFIX.len()) {
                Some(p) if p.eq_ignore_ascii_case(PREFIX) && key.len() > PREFIX.len() => {
                    &key[PREFIX.len()..]
                }
                _ => return Err(VerifyError::NotPrefixed(key)),
            };
            if pairs.iter().any(|(n, _)| n == name) {
                return Err(VerifyError::Twice(name.to_owned()));
            }
            pairs.push((name.to_owned(), value));
        }
        Ok(SignedPairs { pairs })
    }
}

/// hex(HMAC-SHA256(`secret`, `message`)), lowercase (§2.2 step 4).
pub fn hmac_hex(secret: &[u8], message: &[u8]) -> String {
    // HMAC takes a key of any length; the error arm is unreachable.
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Verifies `hash_header` over the received bytes of `sign_header` with `secret` (constant
/// time), and returns the signed pairs.
///
/// # Errors
/// [`VerifyError`].
pub fn verify(
    sign_header: &[u8],
    hash_header: &str,
    secret: &[u8],
) -> Result<SignedPairs, VerifyError> {
    let text = std::str::from_utf8(sign_header)
        .map_err(|_| VerifyError::NotJson("not UTF-8".to_owned()))?;
    let pairs = SignedPairs::parse(text)?;
    let expected = hex::decode(hash_header.trim())
        .ok()
        .filter(|h| h.len() == 32)
        .ok_or(VerifyError::BadHash)?;
    let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| VerifyError::Mismatch)?;
    mac.update(sign_header);
    mac.verify_slice(&expected)
        .map_err(|_| VerifyError::Mismatch)?;
    Ok(pairs)
}

/// A JSON object's members in order, numbers and booleans as their text.
struct PairsVisitor;

impl<'de> Visitor<'de> for PairsVisitor {
    type Value = Vec<(String, String)>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object of text values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut pairs = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
            let text = match value {
                serde_json::Value::String(text) => text,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                other => {
                    return Err(serde::de::Error::custom(format!(
                        "the value of {key:?} is {other}, not text"
                    )));
                }
            };
            pairs.push((key, text));
        }
        Ok(pairs)
    }
}
