//! C2SP [signed notes](https://c2sp.org/signed-note) with Ed25519 signatures: the envelope
//! checkpoints and cosignatures travel in.
//!
//! ```text
//! <text, one or more lines, each ending in a newline>
//!
//! — <key name> <base64(key id (4) ‖ signature)>
//! …
//! ```
//!
//! A signature line names its key by name and a 4-byte key id, the start of
//! SHA-256(name ‖ 0x0A ‖ signature type ‖ public key); the type byte keeps a log signature
//! (0x01) and a witness cosignature (0x04) under the same key apart. Verifiers ignore lines
//! from keys they do not know, which is what lets witnesses add their cosignatures to a
//! log's note, but refuse a note where a known key's signature is wrong or where no known
//! key signed at all.
//!
//! Notes arrive from the network, so parsing is strict and bounded: at most
//! [`MAX_NOTE_BYTES`] and [`MAX_SIGNATURES`] lines, UTF-8 without control characters other
//! than the newline, canonical base64. Signing and checking go through
//! [`AgencyKey`] and [`PublicKey`], so signatures are checked strictly like every other
//! signature in lienthong and the node never names the ed25519 crate.

use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::keys::{AgencyKey, PUBLIC_KEY_LEN, PublicKey, SIGNATURE_LEN, Signature};

/// The largest note accepted, in bytes. A checkpoint with a few dozen cosignatures is a few
/// kilobytes; this leaves room for extension lines without letting a peer make us buffer
/// more.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// The most signature lines accepted in one note (the format asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// A key id: the first four bytes of SHA-256(name ‖ 0x0A ‖ type ‖ public key).
pub type KeyId = [u8; 4];

/// What a line starts with: an em dash (U+2014) and a space.
const LINE_PREFIX: &str = "\u{2014} ";

/// The signature types lienthong uses, with the type byte the key id commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureType {
    /// 0x01: an Ed25519 signature over the note text; the log's checkpoint signature.
    Ed25519,
    /// 0x04: a timestamped Ed25519 witness cosignature (c2sp.org/tlog-cosignature).
    CosignatureV1,
}

impl SignatureType {
    /// The type byte.
    pub fn byte(self) -> u8 {
        match self {
            SignatureType::Ed25519 => 0x01,
            SignatureType::CosignatureV1 => 0x04,
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(SignatureType::Ed25519),
            0x04 => Some(SignatureType::CosignatureV1),
            _ => None,
        }
    }
}

/// Why a note, a signature line or a verifier key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is larger than [`MAX_NOTE_BYTES`].
    #[error("note is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The note is not UTF-8.
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// A line holds a control character other than the newline (a carriage return, a tab…).
    #[error("note line {line} contains a control character")]
    ControlCharacter {
        /// The line, counting from 1.
        line: usize,
    },
    /// The text is empty or does not end in a newline.
    #[error("note text is empty or does not end in a newline")]
    BadText,
    /// There is no blank line separating the text from signature lines.
    #[error("note has no blank line followed by signature lines")]
    NoSignatureBlock,
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("note has {count} signature lines, more than the {max} accepted")]
    TooManySignatures {
        /// How many.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A signature line is not `— <name> <base64>`.
    #[error("note line {line} is not a signature line: {reason}")]
    MalformedSignatureLine {
        /// The line, counting from 1 over the whole note (0 for a line parsed on its own).
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key name is empty or holds a space or a `+`.
    #[error("key name {name:?} is empty or contains a space or '+'")]
    InvalidKeyName {
        /// The name.
        name: String,
    },
    /// A verifier key's text is not `<name>+<hex key id>+<base64(type ‖ public key)>`.
    #[error("verifier key is malformed: {reason}")]
    InvalidVerifierKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A signature line names a known key, but its signature does not verify: the note was
    /// changed after signing, or the line was.
    #[error("signature by {name} does not verify")]
    BadSignature {
        /// The key's name.
        name: String,
    },
    /// A known key signed twice.
    #[error("note has more than one signature by {name}")]
    DuplicateSignature {
        /// The key's name.
        name: String,
    },
    /// No signature from any known key.
    #[error("note has no signature from a known key")]
    NoKnownSignature,
}

/// The key id of a key under a name, for a signature type.
pub fn key_id(name: &str, kind: SignatureType, public_key: &PublicKey) -> KeyId {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', kind.byte()]);
    hasher.update(public_key.as_bytes());
    let hash: [u8; 32] = hasher.finalize().into();
    [hash[0], hash[1], hash[2], hash[3]]
}

/// Key names are non-empty, without Unicode spaces and `+` (the verifier key separator).
fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '+' || c.is_control()) {
        return Err(NoteError::InvalidKeyName { name: name.into() });
    }
    Ok(())
}

/// One signature line: a key name, a key id and the signature bytes that follow the id
/// (64 for Ed25519, 72 for a cosignature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    name: String,
    key_id: KeyId,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// A signature line.
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`], or [`NoteError::MalformedSignatureLine`] for empty
    /// signature bytes.
    pub fn new(
        name: impl Into<String>,
        key_id: KeyId,
        signature: Vec<u8>,
    ) -> Result<Self, NoteError> {
        let name = name.into();
        check_key_name(&name)?;
        if signature.is_empty() {
            return Err(NoteError::MalformedSignatureLine {
                line: 0,
                reason: "no signature after the key id",
            });
        }
        Ok(NoteSignature {
            name,
            key_id,
            signature,
        })
    }

    /// Reads one signature line, without its newline (as [`fmt::Display`] writes it), for
    /// cosignatures that travel apart from their note.
    ///
    /// # Errors
    /// [`NoteError::MalformedSignatureLine`] or [`NoteError::InvalidKeyName`].
    pub fn parse(line: &str) -> Result<Self, NoteError> {
        Self::parse_numbered(line, 0)
    }

    fn parse_numbered(text: &str, line: usize) -> Result<Self, NoteError> {
        let malformed = |reason| NoteError::MalformedSignatureLine { line, reason };
        let rest = text
            .strip_prefix(LINE_PREFIX)
            .ok_or(malformed("does not start with an em dash and a space"))?;
        let (name, encoded) = rest
            .split_once(' ')
            .ok_or(malformed("no space between key name and signature"))?;
        check_key_name(name)?;
        let bytes = base64_simd::STANDARD
            .decode_to_vec(encoded)
            .map_err(|_| malformed("signature is not canonical standard base64"))?;
        // base64-simd already refuses non-zero padding bits; this keeps one text per
        // signature whatever the decoder does.
        if base64_simd::STANDARD.encode_to_string(&bytes) != encoded {
            return Err(malformed("signature is not canonical standard base64"));
        }
        let (id, signature) = bytes
            .split_first_chunk::<4>()
            .filter(|(_, signature)| !signature.is_empty())
            .ok_or(malformed("signature is shorter than 5 bytes"))?;
        Ok(NoteSignature {
            name: name.into(),
            key_id: *id,
            signature: signature.to_vec(),
        })
    }

    /// The signing key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signing key's id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signature bytes after the key id.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Whether this line claims to be by `verifier`'s key (same name and key id).
    pub fn is_by(&self, verifier: &Verifier) -> bool {
        self.name == verifier.name && self.key_id == verifier.key_id
    }
}

impl fmt::Display for NoteSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut payload = Vec::with_capacity(4 + self.signature.len());
        payload.extend_from_slice(&self.key_id);
        payload.extend_from_slice(&self.signature);
        write!(
            f,
            "{LINE_PREFIX}{} {}",
            self.name,
            base64_simd::STANDARD.encode_to_string(payload)
        )
    }
}

/// A known key: its name, signature type and public key, and the key id they give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    kind: SignatureType,
    key: PublicKey,
    key_id: KeyId,
}

impl Verifier {
    /// The verifier for `key` under `name`.
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`].
    pub fn new(
        name: impl Into<String>,
        kind: SignatureType,
        key: PublicKey,
    ) -> Result<Self, NoteError> {
        let name = name.into();
        check_key_name(&name)?;
        let key_id = key_id(&name, kind, &key);
        Ok(Verifier {
            name,
            kind,
            key,
            key_id,
        })
    }

    /// Reads a verifier key, `<name>+<8 hex digits key id>+<base64(type ‖ public key)>`, as
    /// a log or a witness publishes it. The key id must match the rest.
    ///
    /// # Errors
    /// [`NoteError::InvalidVerifierKey`] or [`NoteError::InvalidKeyName`].
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let invalid = |reason| NoteError::InvalidVerifierKey { reason };
        // Names hold no `+`, but the base64 key may.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("not three parts separated by '+'"));
        };
        let mut id = [0u8; 4];
        if id_hex.len() != 8 || id_hex.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(invalid("key id is not 8 lowercase hexadecimal digits"));
        }
        hex::decode_to_slice(id_hex, &mut id)
            .map_err(|_| invalid("key id is not 8 lowercase hexadecimal digits"))?;
        let bytes = base64_simd::STANDARD
            .decode_to_vec(key_b64)
            .map_err(|_| invalid("key is not standard base64"))?;
        let Some((&type_byte, key_bytes)) = bytes.split_first() else {
            return Err(invalid("key is empty"));
        };
        let kind =
            SignatureType::from_byte(type_byte).ok_or(invalid("unsupported signature type"))?;
        let key_bytes: &[u8; PUBLIC_KEY_LEN] = key_bytes
            .try_into()
            .map_err(|_| invalid("public key is not 32 bytes"))?;
        let key = PublicKey::from_bytes(key_bytes)
            .map_err(|_| invalid("public key is not a valid ed25519 key"))?;
        let verifier = Verifier::new(name, kind, key)?;
        if verifier.key_id != id {
            return Err(invalid("key id does not match the name and key"));
        }
        if verifier.to_string() != text {
            return Err(invalid("key is not canonical base64"));
        }
        Ok(verifier)
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signature type.
    pub fn kind(&self) -> SignatureType {
        self.kind
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }
}

impl fmt::Display for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut key = Vec::with_capacity(1 + PUBLIC_KEY_LEN);
        key.push(self.kind.byte());
        key.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            base64_simd::STANDARD.encode_to_string(key)
        )
    }
}

/// A note: its text and its signature lines.
///
/// The text is only trustworthy after [`Note::verify`] (or, for a checkpoint, the
/// witness's checks) succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// An unsigned note with this text, which must end in a newline.
    ///
    /// # Errors
    /// [`NoteError::BadText`], [`NoteError::ControlCharacter`] or [`NoteError::TooLarge`].
    pub fn new(text: impl Into<String>) -> Result<Self, NoteError> {
        let text = text.into();
        if text.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge {
                len: text.len(),
                max: MAX_NOTE_BYTES,
            });
        }
        if !text.ends_with('\n') {
            return Err(NoteError::BadText);
        }
        check_controls(&text)?;
        Ok(Note {
            text,
            signatures: Vec::new(),
        })
    }

    /// Reads a signed note.
    ///
    /// # Errors
    /// A [`NoteError`] saying what is malformed; signatures are not checked here.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge {
                len: bytes.len(),
                max: MAX_NOTE_BYTES,
            });
        }
        let note = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        check_controls(note)?;
        // The text ends at the last blank line; it keeps its final newline.
        let split = note.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let (text, block) = (&note[..=split], &note[split + 2..]);
        let block = block
            .strip_suffix('\n')
            .ok_or(NoteError::NoSignatureBlock)?;
        if block.is_empty() {
            return Err(NoteError::NoSignatureBlock);
        }
        let first_line = text.matches('\n').count() + 2;
        let count = block.split('\n').count();
        if count > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                count,
                max: MAX_SIGNATURES,
            });
        }
        let signatures = block
            .split('\n')
            .enumerate()
            .map(|(i, line)| NoteSignature::parse_numbered(line, first_line + i))
            .collect::<Result<_, _>>()?;
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note as text: the text, a blank line, the signature lines.
    pub fn render(&self) -> String {
        let mut note = self.text.clone();
        note.push('\n');
        for signature in &self.signatures {
            note.push_str(&signature.to_string());
            note.push('\n');
        }
        note
    }

    /// The text, with its final newline: what was signed.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line (a cosignature, or one made elsewhere).
    ///
    /// # Errors
    /// [`NoteError::TooManySignatures`] when the note already has [`MAX_SIGNATURES`].
    pub fn add_signature(&mut self, signature: NoteSignature) -> Result<(), NoteError> {
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                count: self.signatures.len() + 1,
                max: MAX_SIGNATURES,
            });
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// Signs the text with `key` under `name` (type 0x01) and adds the line.
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`] or [`NoteError::TooManySignatures`].
    pub fn sign(&mut self, name: &str, key: &AgencyKey) -> Result<(), NoteError> {
        let id = key_id(name, SignatureType::Ed25519, &key.public_key());
        let signature = key.sign(self.text.as_bytes());
        self.add_signature(NoteSignature::new(name, id, signature.as_bytes().to_vec())?)
    }

    /// Checks the note against the known Ed25519 keys and returns those that signed it.
    ///
    /// Lines whose name and key id match no known key are ignored (cosignatures, other
    /// logs' keys); verifiers of other types are not used.
    ///
    /// # Errors
    /// [`NoteError::BadSignature`] when a known key's signature does not verify,
    /// [`NoteError::DuplicateSignature`] when a known key signed twice, and
    /// [`NoteError::NoKnownSignature`] when no known key signed.
    pub fn verify<'v>(&self, verifiers: &'v [Verifier]) -> Result<Vec<&'v Verifier>, NoteError> {
        let mut verified: Vec<&'v Verifier> = Vec::new();
        for line in &self.signatures {
            let Some(verifier) = verifiers
                .iter()
                .find(|v| v.kind == SignatureType::Ed25519 && line.is_by(v))
            else {
                continue;
            };
            if verified.iter().any(|seen| line.is_by(seen)) {
                return Err(NoteError::DuplicateSignature {
                    name: line.name.clone(),
                });
            }
            let bad = || NoteError::BadSignature {
                name: line.name.clone(),
            };
            let bytes: &[u8; SIGNATURE_LEN] =
                line.signature.as_slice().try_into().map_err(|_| bad())?;
            verifier
                .key
                .verify(self.text.as_bytes(), &Signature::from_bytes(bytes))
                .map_err(|_| bad())?;
            verified.push(verifier);
        }
        if verified.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(verified)
    }
}

/// A note with `text` signed by `key` under `name`.
///
/// # Errors
/// See [`Note::new`] and [`Note::sign`].
pub fn sign_note(text: &str, name: &str, key: &AgencyKey) -> Result<Note, NoteError> {
    let mut note = Note::new(text)?;
    note.sign(name, key)?;
    Ok(note)
}

/// No control characters other than the newline, anywhere.
fn check_controls(text: &str) -> Result<(), NoteError> {
    for (i, line) in text.split('\n').enumerate() {
        if line.chars().any(char::is_control) {
            return Err(NoteError::ControlCharacter { line: i + 1 });
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn key(seed: u8) -> AgencyKey {
        AgencyKey::from_bytes(&[seed; 32])
    }

    pub(crate) fn verifier(name: &str, seed: u8) -> Verifier {
        Verifier::new(name, SignatureType::Ed25519, key(seed).public_key()).unwrap()
    }

    const TEXT: &str =
        "lienthong/000.00.00.G22\n42\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn signed_note_verifies_and_round_trips() {
        let note = sign_note(TEXT, "lienthong/000.00.00.G22", &key(1)).unwrap();
        let rendered = note.render();
        assert!(rendered.starts_with(&format!("{TEXT}\n\u{2014} lienthong/000.00.00.G22 ")));
        let parsed = Note::parse(rendered.as_bytes()).unwrap();
        assert_eq!(parsed, note);
        let known = [verifier("lienthong/000.00.00.G22", 1)];
        let signed_by = parsed.verify(&known).unwrap();
        assert_eq!(signed_by, [&known[0]]);
    }

    #[test]
    fn key_id_follows_the_specification() {
        let public = key(1).public_key();
        let mut input = b"log.example\n\x01".to_vec();
        input.extend_from_slice(public.as_bytes());
        let hash = Sha256::digest(&input);
        assert_eq!(
            key_id("log.example", SignatureType::Ed25519, &public),
            hash[..4]
        );
        assert_ne!(
            key_id("log.example", SignatureType::Ed25519, &public),
            key_id("log.example", SignatureType::CosignatureV1, &public)
        );
    }

    #[test]
    fn tampered_text_or_signature_is_refused() {
        let known = [verifier("log", 1)];
        let rendered = sign_note(TEXT, "log", &key(1)).unwrap().render();

        let tampered = rendered.replacen("42", "43", 1);
        assert_eq!(
            Note::parse(tampered.as_bytes()).unwrap().verify(&known),
            Err(NoteError::BadSignature { name: "log".into() })
        );

        // Change one signature byte (keep the key id so the line still names the key).
        let mut note = Note::parse(rendered.as_bytes()).unwrap();
        let mut line = note.signatures[0].clone();
        line.signature[10] ^= 1;
        note.signatures = vec![line];
        assert_eq!(
            note.verify(&known),
            Err(NoteError::BadSignature { name: "log".into() })
        );
    }

    #[test]
    fn unknown_keys_are_ignored_but_one_known_signature_is_required() {
        let mut note = sign_note(TEXT, "log", &key(1)).unwrap();
        note.sign("someone-else", &key(2)).unwrap();
        // Same name, other key: a different key id, so ignored too.
        note.sign("log", &key(3)).unwrap();
        let parsed = Note::parse(note.render().as_bytes()).unwrap();
        assert_eq!(parsed.verify(&[verifier("log", 1)]).unwrap().len(), 1);
        assert_eq!(
            parsed.verify(&[verifier("nobody", 4)]),
            Err(NoteError::NoKnownSignature)
        );
        assert_eq!(parsed.verify(&[]), Err(NoteError::NoKnownSignature));
        // A verifier of another type does not check type-0x01 lines.
        let cosigner =
            Verifier::new("log", SignatureType::CosignatureV1, key(1).public_key()).unwrap();
        assert_eq!(parsed.verify(&[cosigner]), Err(NoteError::NoKnownSignature));
    }

    #[test]
    fn a_known_key_signing_twice_is_refused() {
        let mut note = sign_note(TEXT, "log", &key(1)).unwrap();
        note.sign("log", &key(1)).unwrap();
        assert_eq!(
            note.verify(&[verifier("log", 1)]),
            Err(NoteError::DuplicateSignature { name: "log".into() })
        );
    }

    #[test]
    fn malformed_notes_are_refused() {
        let good = sign_note(TEXT, "log", &key(1)).unwrap().render();
        let line = good.lines().last().unwrap().to_owned();
        let malformed = |line: usize, reason| NoteError::MalformedSignatureLine { line, reason };
        let cases: Vec<(Vec<u8>, NoteError)> = vec![
            (TEXT.into(), NoteError::NoSignatureBlock),
            (format!("{TEXT}\n").into(), NoteError::NoSignatureBlock),
            (good.trim_end().into(), NoteError::NoSignatureBlock),
            (
                format!("{TEXT}\n{line}\n\n").into(),
                NoteError::NoSignatureBlock,
            ),
            (b"a\xff\n\n".to_vec(), NoteError::NotUtf8),
            (
                good.replace("42", "4\r2").into(),
                NoteError::ControlCharacter { line: 2 },
            ),
            (
                format!("{TEXT}\n- log AAAA\n").into(),
                malformed(5, "does not start with an em dash and a space"),
            ),
            (
                format!("{TEXT}\n\u{2014} logAAAAAAAA\n").into(),
                malformed(5, "no space between key name and signature"),
            ),
            (
                format!("{TEXT}\n\u{2014} log AAAA!AAA\n").into(),
                malformed(5, "signature is not canonical standard base64"),
            ),
            (
                format!("{TEXT}\n\u{2014} log AAAAAA==\n").into(),
                malformed(5, "signature is shorter than 5 bytes"),
            ),
            (
                format!("{TEXT}\n\u{2014} log AAAAAAB=\n").into(),
                malformed(5, "signature is not canonical standard base64"),
            ),
            (
                format!("{TEXT}\n\u{2014} a+b AAAAAAA=\n").into(),
                NoteError::InvalidKeyName { name: "a+b".into() },
            ),
            (
                format!("{TEXT}\n\u{2014}  AAAAAAA=\n").into(),
                NoteError::InvalidKeyName {
                    name: String::new(),
                },
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                Note::parse(&bytes),
                Err(expected),
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    #[test]
    fn sizes_are_capped() {
        let big = vec![b'a'; MAX_NOTE_BYTES + 1];
        assert_eq!(
            Note::parse(&big),
            Err(NoteError::TooLarge {
                len: MAX_NOTE_BYTES + 1,
                max: MAX_NOTE_BYTES
            })
        );
        let mut note = sign_note(TEXT, "log", &key(1)).unwrap();
        let line = note.signatures[0].clone();
        while note.signatures.len() < MAX_SIGNATURES {
            note.add_signature(line.clone()).unwrap();
        }
        assert!(matches!(
            note.add_signature(line.clone()),
            Err(NoteError::TooManySignatures { .. })
        ));
        let mut rendered = note.render();
        assert!(Note::parse(rendered.as_bytes()).is_ok());
        rendered.push_str(&format!("{line}\n"));
        assert_eq!(
            Note::parse(rendered.as_bytes()),
            Err(NoteError::TooManySignatures {
                count: MAX_SIGNATURES + 1,
                max: MAX_SIGNATURES
            })
        );
    }

    #[test]
    fn text_may_contain_blank_lines() {
        let text = "first\n\nthird\n";
        let note = sign_note(text, "log", &key(1)).unwrap();
        let parsed = Note::parse(note.render().as_bytes()).unwrap();
        assert_eq!(parsed.text(), text);
        parsed.verify(&[verifier("log", 1)]).unwrap();
    }

    #[test]
    fn verifier_key_text_round_trips_and_is_checked() {
        let v = verifier("lienthong/000.00.00.G22", 1);
        let text = v.to_string();
        let (name, rest) = text.split_once('+').unwrap();
        assert_eq!(name, "lienthong/000.00.00.G22");
        assert_eq!(&rest[..8], hex::encode(v.key_id()));
        assert_eq!(Verifier::parse(&text), Ok(v.clone()));

        let cosigner =
            Verifier::new("w", SignatureType::CosignatureV1, key(2).public_key()).unwrap();
        assert_eq!(Verifier::parse(&cosigner.to_string()), Ok(cosigner));

        let invalid = |reason| Err(NoteError::InvalidVerifierKey { reason });
        assert_eq!(
            Verifier::parse("a+b"),
            invalid("not three parts separated by '+'")
        );
        assert_eq!(
            Verifier::parse(&text.replacen(&hex::encode(v.key_id()), "00000000", 1)),
            invalid("key id does not match the name and key")
        );
        assert_eq!(
            Verifier::parse(&text.replacen("lienthong/000.00.00.G22", "other", 1)),
            invalid("key id does not match the name and key")
        );
        assert_eq!(
            Verifier::parse(&format!("log+{}+AQID", hex::encode(v.key_id()))),
            invalid("public key is not 32 bytes")
        );
        let mut wrong_type = vec![0x02];
        wrong_type.extend_from_slice(key(1).public_key().as_bytes());
        assert_eq!(
            Verifier::parse(&format!(
                "log+00000000+{}",
                base64_simd::STANDARD.encode_to_string(wrong_type)
            )),
            invalid("unsupported signature type")
        );
    }

    /// The example of Go's `golang.org/x/mod/sumdb/note`, the reference implementation:
    /// Ed25519 is deterministic, so signing its text with its key must give its note byte
    /// for byte, and its note must verify under its verifier key.
    #[test]
    fn go_sumdb_note_example_interoperates() {
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let skey_b64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let text = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
        let go_note = format!(
            "{text}\n\u{2014} PeterNeumann \
             x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        );

        let verifier = Verifier::parse(vkey).unwrap();
        assert_eq!(verifier.name(), "PeterNeumann");
        assert_eq!(verifier.kind(), SignatureType::Ed25519);
        assert_eq!(verifier.to_string(), vkey);

        let skey = base64_simd::STANDARD.decode_to_vec(skey_b64).unwrap();
        let (&0x01, seed) = skey.split_first().unwrap() else {
            panic!("not an Ed25519 signer key")
        };
        let signer = AgencyKey::from_bytes(seed.try_into().unwrap());
        assert_eq!(&signer.public_key(), verifier.public_key());
        assert_eq!(
            sign_note(text, "PeterNeumann", &signer).unwrap().render(),
            go_note
        );

        let parsed = Note::parse(go_note.as_bytes()).unwrap();
        assert_eq!(parsed.text(), text);
        parsed.verify(std::slice::from_ref(&verifier)).unwrap();
        let tampered = go_note.replace("cryptography", "cryptographY");
        assert!(
            Note::parse(tampered.as_bytes())
                .unwrap()
                .verify(&[verifier])
                .is_err()
        );
    }

    /// Verifier keys published by other implementations: Go's sumdb/note tests, and
    /// transparency-dev/formats' cosignature tests (a type 0x04 key, and a key whose base64
    /// holds a `+`). Their key ids must match ours.
    #[test]
    fn published_verifier_keys_parse() {
        for (vkey, kind) in [
            (
                "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop",
                SignatureType::Ed25519,
            ),
            (
                "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6",
                SignatureType::Ed25519,
            ),
            (
                "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
                SignatureType::CosignatureV1,
            ),
        ] {
            let verifier = Verifier::parse(vkey).unwrap_or_else(|e| panic!("{vkey}: {e}"));
            assert_eq!(verifier.kind(), kind);
            assert_eq!(verifier.to_string(), vkey);
        }
    }
}
