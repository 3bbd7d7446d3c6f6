//! What `sendEdoc` carries besides its parameters: the file, the `hash-file` that binds it
//! to the signature, and `to` (`vxp-sdk-wire.md` §2.1, §2.4, §6.6).

use bytes::Bytes;
use lienthong_protocol::OrganId;
use sha2::Digest as _;

use super::envelope::Fail;

/// `hash-file` as the SDK writes it: each byte of the SHA-256 in lowercase hexadecimal
/// without zero padding (`0x07` is `7`), so 32 to 64 digits. Not reversible: a file is
/// checked by writing its own digest so.
pub(super) fn sdk_hash_text(digest: &[u8]) -> String {
    use std::fmt::Write as _;
    digest
        .iter()
        .fold(String::with_capacity(64), |mut text, byte| {
            let _ = write!(text, "{byte:x}");
            text
        })
}

/// Whether `given` is the hash of `file`: in the SDK's unpadded form, or in the usual
/// 64 digits, in either case.
pub(super) fn hash_matches(given: &str, file: &[u8]) -> bool {
    let digest = sha2::Sha256::digest(file);
    let given = given.trim();
    given.eq_ignore_ascii_case(&sdk_hash_text(&digest))
        || given.eq_ignore_ascii_case(&hex::encode(digest))
}

/// The file in a `sendEdoc` body. The SDK sends the file's bytes followed by `\r\n`, and
/// `hash-file` covers the file alone: the file is the body without those two bytes when
/// the hash says so, or the whole body (a client that adds nothing, a file that is
/// multipart's part). Without a hash (bearer-token clients only), the whole body.
///
/// # Errors
/// 400 when `hash` matches neither: the body was changed or cut on the way.
pub(super) fn file_of(body: Bytes, hash: Option<&str>) -> Result<Bytes, Fail> {
    let Some(hash) = hash else {
        return Ok(body);
    };
    let trimmed = body
        .strip_suffix(b"\r\n")
        .map(|file| body.slice(..file.len()));
    if let Some(file) = trimmed.filter(|file| hash_matches(hash, file)) {
        return Ok(file);
    }
    if hash_matches(hash, &body) {
        return Ok(body);
    }
    let file = body.strip_suffix(b"\r\n").unwrap_or(&body);
    Err(Fail::bad_request(format!(
        "hash-file is {hash} but the {} bytes received (without the SDK's closing CR LF) hash to {}: the file was changed or cut on the way",
        file.len(),
        sdk_hash_text(&sha2::Sha256::digest(file))
    )))
}

/// `to`: as the SDK sends it, the JSON text of the call JSON's value (`"000.00.01.H53"`
/// with its quotes, or `["A","B"]`); from other clients, ids separated by `,` or `;`.
///
/// # Errors
/// 400 naming what is not an agency id.
pub(super) fn recipients(text: &str) -> Result<Vec<OrganId>, Fail> {
    let text = text.trim();
    let ids: Vec<String> = if text.starts_with('"') || text.starts_with('[') {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::String(id)) => vec![id],
            Ok(serde_json::Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    serde_json::Value::String(id) => Ok(id),
                    other => Err(Fail::bad_request(format!(
                        "to {text} lists {other}, which is not an agency id"
                    ))),
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(Fail::bad_request(format!(
                    "to {text} is neither an agency id, a quoted one nor a JSON list of them"
                )));
            }
        }
    } else {
        text.split([',', ';']).map(str::to_owned).collect()
    };
    ids.iter()
        .map(|id| id.trim())
        .filter(|id| !id.is_empty())
        .map(|id| {
            OrganId::parse(id)
                .map_err(|e| Fail::bad_request(format!("to {id:?} is not an agency id: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_writes_hashes_without_zero_padding() {
        // vxp-sdk-wire.md §2.4.
        let digest =
            hex::decode("134968aaf68bc05b269c69e49bcd900775c7c23bd7a986529b69c93f01334be1")
                .expect("hex");
        assert_eq!(
            sdk_hash_text(&digest),
            "134968aaf68bc05b269c69e49bcd90775c7c23bd7a986529b69c93f1334be1"
        );
    }

    #[test]
    fn the_closing_crlf_is_dropped_when_the_hash_says_so() {
        let file = b"<edXML/>\n";
        let mut body = file.to_vec();
        body.extend_from_slice(b"\r\n");
        let unpadded = sdk_hash_text(&sha2::Sha256::digest(file));
        let got = file_of(Bytes::from(body.clone()), Some(&unpadded)).expect("matches");
        assert_eq!(&got[..], file);
        let padded = hex::encode(sha2::Sha256::digest(file)).to_uppercase();
        assert_eq!(
            &file_of(Bytes::from(body.clone()), Some(&padded)).expect("matches")[..],
            file
        );
        // A file that itself ends in CR LF, sent without the SDK's extra one.
        let whole = sdk_hash_text(&sha2::Sha256::digest(&body));
        assert_eq!(
            &file_of(Bytes::from(body.clone()), Some(&whole)).expect("matches")[..],
            &body[..]
        );
        // No hash: the body as it came.
        assert_eq!(
            &file_of(Bytes::from(body.clone()), None).expect("any")[..],
            &body[..]
        );
    }

    #[test]
    fn a_changed_body_is_refused_with_both_hashes() {
        let mut body = b"<edXML>changed</edXML>".to_vec();
        body.extend_from_slice(b"\r\n");
        let err = file_of(Bytes::from(body), Some("abc")).expect_err("mismatch");
        assert!(
            err.desc().contains("hash-file is abc")
                && err.desc().contains("22 bytes")
                && err.desc().contains("changed or cut"),
            "{}",
            err.desc()
        );
    }

    #[test]
    fn to_is_read_as_the_sdk_quotes_it() {
        let one = recipients("\"000.00.01.H53\"").expect("quoted");
        assert_eq!(one, vec![OrganId::parse("000.00.01.H53").expect("id")]);
        let two = recipients(r#"["000.00.01.H53","000.00.00.G22"]"#).expect("list");
        assert_eq!(two.len(), 2);
        assert_eq!(
            recipients("000.00.01.H53; 000.00.00.G22").expect("plain"),
            two
        );
        assert!(recipients("[1]").is_err());
        assert!(recipients("{\"a\":1}").is_err());
    }
}
