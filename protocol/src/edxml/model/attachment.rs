//! Attached files and the producer's signature: the large, opaque parts of a document.
//!
//! Both are kept as slices of the input (`Bytes`), so reading a document with a 20 MB
//! attachment does not copy or decode it. The decoded size of an attachment is known at
//! read time from the length of its base64 text; decoding happens only when asked.

use std::fmt;

use bytes::Bytes;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// `edXMLManifest/Reference`: what the sender says is attached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// `ContentId`, e.g. `cid:209`; links to an [`Attachment`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
    /// `ContentType`: the original file's type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `Description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `AttachmentName`: the file name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment_name: Option<String>,
}

/// `AttachmentEncoded/Attachment`: one file, base64 of a zip archive holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// `ContentId`, with or without the `cid:` prefix depending on the producer.
    pub content_id: Option<String>,
    /// `AttachmentName`.
    pub attachment_name: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `ContentType`, normally `application/zip`.
    pub content_type: Option<String>,
    /// `MimeType`: the type of the file inside the archive, as the official Java library
    /// writes it (`ContentType` is then the archive's).
    pub mime_type: Option<String>,
    /// `FieldName`: written by the official Java library; kept as text, its meaning is not
    /// documented anywhere we found.
    pub field_name: Option<String>,
    /// `ContentTransferEncoded`.
    pub content: Base64Content,
}

impl Attachment {
    /// The content id without a `cid:` prefix, for matching against references.
    pub fn bare_content_id(&self) -> Option<&str> {
        self.content_id.as_deref().map(strip_cid)
    }
}

/// Removes the `cid:` prefix some producers put on content ids.
pub(crate) fn strip_cid(id: &str) -> &str {
    id.strip_prefix("cid:").unwrap_or(id)
}

impl Serialize for Attachment {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Attachment", 8)?;
        s.serialize_field("content_id", &self.content_id)?;
        s.serialize_field("attachment_name", &self.attachment_name)?;
        s.serialize_field("description", &self.description)?;
        s.serialize_field("content_type", &self.content_type)?;
        s.serialize_field("mime_type", &self.mime_type)?;
        s.serialize_field("field_name", &self.field_name)?;
        s.serialize_field("encoded_len", &self.content.encoded_len())?;
        s.serialize_field("decoded_len", &self.content.decoded_len())?;
        s.end()
    }
}

/// Base64 text, checked to hold only the base64 alphabet and whitespace, with its decoded
/// length computed once.
#[derive(Clone, PartialEq, Eq)]
pub struct Base64Content {
    encoded: Bytes,
    decoded_len: u64,
}

/// Why base64 text is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Base64Error {
    /// A byte outside the base64 alphabet and whitespace.
    #[error("byte {byte:#04x} ({shown}) at offset {offset} is not base64", shown = char::from(*byte).escape_default())]
    InvalidByte {
        /// Offset in the encoded text.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// The alphabet is right but the text does not decode (bad length or padding).
    #[error("base64 text does not decode: {0}")]
    Malformed(String),
}

impl Base64Content {
    /// Checks `encoded` and computes its decoded length, without decoding.
    ///
    /// The common case, one line of padded base64 as the axis SDK writes it, is checked with
    /// SIMD at memory speed; text with line breaks or without padding takes a scalar pass.
    ///
    /// # Errors
    /// [`Base64Error::InvalidByte`] at the first byte outside the alphabet.
    pub fn from_encoded(encoded: Bytes) -> Result<Self, Base64Error> {
        if base64_simd::STANDARD.check(&encoded).is_ok() {
            let padding = encoded
                .iter()
                .rev()
                .take(2)
                .take_while(|b| **b == b'=')
                .count();
            let decoded_len = (encoded.len() / 4 * 3).saturating_sub(padding) as u64;
            return Ok(Base64Content {
                encoded,
                decoded_len,
            });
        }
        let scan = scan(&encoded);
        if scan.invalid {
            let offset = encoded
                .iter()
                .position(|b| !is_base64_or_space(*b))
                .unwrap_or(0);
            return Err(Base64Error::InvalidByte {
                offset,
                byte: encoded.get(offset).copied().unwrap_or(0),
            });
        }
        let significant = encoded.len() as u64 - scan.whitespace;
        let padding = encoded
            .iter()
            .rev()
            .filter(|b| !is_space(**b))
            .take(2)
            .take_while(|b| **b == b'=')
            .count() as u64;
        let data_chars = significant - padding;
        let decoded_len = data_chars / 4 * 3 + (data_chars % 4).saturating_sub(1);
        Ok(Base64Content {
            encoded,
            decoded_len,
        })
    }

    /// Encodes `data` (standard alphabet, padded, one line).
    pub fn encode(data: &[u8]) -> Self {
        let text = base64_simd::STANDARD.encode_to_string(data);
        Base64Content {
            encoded: Bytes::from(text),
            decoded_len: data.len() as u64,
        }
    }

    /// The base64 text exactly as read (or written).
    pub fn encoded(&self) -> &Bytes {
        &self.encoded
    }

    /// Length of the base64 text.
    pub fn encoded_len(&self) -> u64 {
        self.encoded.len() as u64
    }

    /// Length of the data once decoded.
    pub fn decoded_len(&self) -> u64 {
        self.decoded_len
    }

    /// Decodes the content (for an edXML attachment: the bytes of a zip archive).
    ///
    /// # Errors
    /// [`Base64Error::Malformed`] when the length or padding is wrong.
    pub fn decode(&self) -> Result<Vec<u8>, Base64Error> {
        let compact: Vec<u8>;
        let mut text: &[u8] = &self.encoded;
        if text.iter().any(|b| is_space(*b)) {
            compact = text.iter().copied().filter(|b| !is_space(*b)).collect();
            text = &compact;
        }
        // Producers that leave out the padding are read too.
        let padded: Vec<u8>;
        if !text.len().is_multiple_of(4) && !text.ends_with(b"=") {
            padded = text
                .iter()
                .copied()
                .chain(std::iter::repeat_n(b'=', 4 - text.len() % 4))
                .collect();
            text = &padded;
        }
        base64_simd::STANDARD
            .decode_to_vec(text)
            .map_err(|e| Base64Error::Malformed(e.to_string()))
    }
}

impl fmt::Debug for Base64Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Base64Content")
            .field("encoded_len", &self.encoded.len())
            .field("decoded_len", &self.decoded_len)
            .finish()
    }
}

struct Scan {
    invalid: bool,
    whitespace: u64,
}

/// One pass over the text: any byte outside the alphabet, and how many are whitespace.
/// Written as branch-free range compares over fixed chunks so that it vectorises; this is
/// the only per-byte work the reader does on attachments.
fn scan(bytes: &[u8]) -> Scan {
    let mut bad = 0u8;
    let mut whitespace = 0u64;
    let mut chunks = bytes.chunks_exact(64);
    for chunk in &mut chunks {
        let mut chunk_bad = 0u8;
        let mut chunk_ws = 0u8;
        for &b in chunk {
            let ws = is_space(b);
            chunk_bad |= u8::from(!(is_base64(b) | ws));
            chunk_ws += u8::from(ws);
        }
        bad |= chunk_bad;
        whitespace += u64::from(chunk_ws);
    }
    for &b in chunks.remainder() {
        let ws = is_space(b);
        bad |= u8::from(!(is_base64(b) | ws));
        whitespace += u64::from(ws);
    }
    Scan {
        invalid: bad != 0,
        whitespace,
    }
}

#[inline(always)]
fn is_base64(b: u8) -> bool {
    b.is_ascii_uppercase()
        | b.is_ascii_lowercase()
        | b.is_ascii_digit()
        | (b == b'+')
        | (b == b'/')
        | (b == b'=')
}

#[inline(always)]
fn is_space(b: u8) -> bool {
    (b == b' ') | (b == b'\n') | (b == b'\r') | (b == b'\t')
}

fn is_base64_or_space(b: u8) -> bool {
    is_base64(b) || is_space(b)
}

/// The producer's signature element, byte for byte. lienthong does not verify XML-DSig:
/// the axis samples carry dummy certificates and legal validity rests on the signed file
/// inside the attachment. The package envelope is what lienthong signs and checks.
#[derive(Clone, PartialEq, Eq)]
pub struct RawSignature(pub Bytes);

impl RawSignature {
    /// The element's bytes, from `<` of its start tag to `>` of its end tag.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for RawSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawSignature({} bytes)", self.0.len())
    }
}

impl Serialize for RawSignature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("RawSignature", 1)?;
        s.serialize_field("len", &self.0.len())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoded_len_matches_decoding() {
        for n in 0..50usize {
            let data: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
            let enc = Base64Content::encode(&data);
            let again = Base64Content::from_encoded(enc.encoded().clone()).expect("valid");
            assert_eq!(again.decoded_len(), n as u64);
            assert_eq!(again.decode().expect("decodes"), data);
        }
    }

    #[test]
    fn whitespace_is_allowed_and_not_counted() {
        let wrapped = Bytes::from_static(b"\r\n  aGVs\r\nbG8=\n");
        let c = Base64Content::from_encoded(wrapped).expect("valid");
        assert_eq!(c.decoded_len(), 5);
        assert_eq!(c.decode().expect("decodes"), b"hello");
    }

    #[test]
    fn foreign_bytes_are_found() {
        let text = Bytes::from_static(b"UEsDBBQ${__StringFromFile(test.txt,,,)}");
        assert_eq!(
            Base64Content::from_encoded(text),
            Err(Base64Error::InvalidByte {
                offset: 7,
                byte: b'$'
            })
        );
    }
}
