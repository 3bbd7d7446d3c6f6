//! The byte encoding every signed object of lienthong shares (packages, receipts, sealed
//! packages, hold acknowledgements): the wire prefix, and a writer and a bounds-checked
//! reader for the signed fields. One copy of the rules; each family ([`Format`]) says only
//! its magics and how its errors name sections and fields.
//!
//! A wire form is `magic (4) ‖ version (1) ‖ signer (32) ‖ signature (64) ‖ signed length
//! (u32 BE) ‖ signed bytes ‖ rest`. Variable-length fields (text, the domain) carry a `u32`
//! big-endian length prefix; integers are big-endian at their fixed width; an optional
//! field is a presence byte (0 for absent, 1 for present) followed by the field when
//! present. Since the layout of each version is fixed, this gives every value exactly one
//! encoding, which is what makes "sign bytes, not trees" sound. The reader never indexes
//! past its input: every read goes through [`Reader::take`], which reports where the input
//! ended and which field it was reading.

use std::marker::PhantomData;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::envelope::{FieldProblem, WIRE_VERSION};
use crate::keys::{KeyError, PUBLIC_KEY_LEN, PublicKey, SIGNATURE_LEN, Signature};
use crate::organ_id::OrganId;

/// Bytes of a length prefix.
pub(crate) const FIELD_PREFIX_LEN: usize = 4;

/// Bytes before the signed bytes: magic, version, signer, signature, signed length.
pub(crate) const PREFIX_LEN: usize = 4 + 1 + PUBLIC_KEY_LEN + SIGNATURE_LEN + 4;

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A family of signed objects: its kinds, and the error it reports, with the sections and
/// fields that error names.
pub(crate) trait Format {
    /// What is being read or written (a package, a receipt, …).
    type Kind: Copy + std::fmt::Debug;
    /// A byte string an offset in an error counts from.
    type Section: Copy + std::fmt::Debug;
    /// A field, named in errors.
    type Field: Copy + std::fmt::Debug;
    /// The family's error.
    type Error;

    /// The prefix's fields, as the family names them.
    const MAGIC: Self::Field;
    /// See [`Format::MAGIC`].
    const VERSION: Self::Field;
    /// See [`Format::MAGIC`].
    const SIGNER: Self::Field;
    /// See [`Format::MAGIC`].
    const SIGNATURE: Self::Field;
    /// See [`Format::MAGIC`].
    const SIGNED_LENGTH: Self::Field;
    /// The signing domain, the first signed field.
    const DOMAIN: Self::Field;

    /// The four bytes a wire form of `kind` opens with.
    fn magic(kind: Self::Kind) -> &'static [u8; 4];
    /// The section of `kind`'s whole wire form.
    fn wire_section(kind: Self::Kind) -> Self::Section;

    /// The input does not open with `kind`'s magic.
    fn bad_magic(kind: Self::Kind) -> Self::Error;
    /// A version byte this code does not read.
    fn unsupported_version(kind: Self::Kind, found: u8) -> Self::Error;
    /// The input ends at `offset` while reading `field`.
    fn truncated(section: Self::Section, offset: usize, field: Self::Field) -> Self::Error;
    /// `field`, starting at `offset`, has an unacceptable value.
    fn invalid(
        section: Self::Section,
        field: Self::Field,
        offset: usize,
        problem: FieldProblem,
    ) -> Self::Error;
    /// `count` bytes after the last field.
    fn trailing(section: Self::Section, count: usize) -> Self::Error;
    /// The signed bytes open with another domain.
    fn wrong_domain(kind: Self::Kind, expected: &'static str) -> Self::Error;
    /// Signed bytes too long for the `u32` length.
    fn signed_too_large(kind: Self::Kind, found: u64) -> Self::Error;
    /// A field too long for its `u32` length prefix.
    fn field_too_large(found: u64) -> Self::Error;
    /// The signer is not a usable key.
    fn invalid_signer(kind: Self::Kind, source: KeyError) -> Self::Error;
    /// The signature does not verify.
    fn bad_signature(kind: Self::Kind) -> Self::Error;
}

/// The fixed-size start of a wire form, read but not yet checked.
#[derive(Debug)]
pub(crate) struct Prefix<F> {
    /// The signer's key bytes; not yet known to be a point.
    pub(crate) signer: [u8; PUBLIC_KEY_LEN],
    /// The signature, not yet verified.
    pub(crate) signature: Signature,
    /// The declared length of the signed bytes that follow.
    pub(crate) signed_len: usize,
    format: PhantomData<F>,
}

impl<F: Format> Prefix<F> {
    /// Reads magic, version, signer, signature and signed length from the start of `wire`.
    pub(crate) fn read(wire: &[u8], kind: F::Kind) -> Result<Prefix<F>, F::Error> {
        let expected = F::magic(kind);
        let head = &wire[..wire.len().min(expected.len())];
        if !expected.starts_with(head) {
            return Err(F::bad_magic(kind));
        }
        let mut reader = Reader::<F>::new(wire, F::wire_section(kind));
        reader.take(expected.len(), F::MAGIC)?;
        let version = reader.u8(F::VERSION)?;
        if version != WIRE_VERSION {
            return Err(F::unsupported_version(kind, version));
        }
        let signer = reader.array(F::SIGNER)?;
        let signature = Signature::from_bytes(&reader.array(F::SIGNATURE)?);
        let signed_len = reader.u32(F::SIGNED_LENGTH)? as usize;
        Ok(Prefix {
            signer,
            signature,
            signed_len,
            format: PhantomData,
        })
    }

    /// The signer as a usable key, and the signature checked over `signed` with
    /// `verify_strict`.
    pub(crate) fn verify(&self, signed: &[u8], kind: F::Kind) -> Result<PublicKey, F::Error> {
        let signer = PublicKey::from_bytes(&self.signer)
            .map_err(|source| F::invalid_signer(kind, source))?;
        signer
            .verify(signed, &self.signature)
            .map_err(|_| F::bad_signature(kind))?;
        Ok(signer)
    }
}

/// Lays out a whole wire form: prefix, signed bytes, then `rest` (a package's content, a
/// sealed package's ciphertext; empty otherwise).
pub(crate) fn assemble<F: Format>(
    kind: F::Kind,
    signer: &PublicKey,
    signature: &Signature,
    signed: &[u8],
    rest: &[u8],
) -> Result<Bytes, F::Error> {
    let signed_len =
        u32::try_from(signed.len()).map_err(|_| F::signed_too_large(kind, signed.len() as u64))?;
    let mut wire = Vec::with_capacity(PREFIX_LEN + signed.len() + rest.len());
    wire.extend_from_slice(F::magic(kind));
    wire.push(WIRE_VERSION);
    wire.extend_from_slice(signer.as_bytes());
    wire.extend_from_slice(signature.as_bytes());
    wire.extend_from_slice(&signed_len.to_be_bytes());
    wire.extend_from_slice(signed);
    wire.extend_from_slice(rest);
    Ok(Bytes::from(wire))
}

/// Builds signed bytes.
#[derive(Debug)]
pub(crate) struct Writer<F> {
    buf: Vec<u8>,
    format: PhantomData<F>,
}

impl<F> Default for Writer<F> {
    fn default() -> Self {
        Writer::with_capacity(0)
    }
}

impl<F> Writer<F> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(capacity),
            format: PhantomData,
        }
    }

    pub(crate) fn u8(&mut self, value: u8) {
        self.buf.push(value);
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn u64(&mut self, value: u64) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    /// Fixed-width bytes, no prefix.
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// A length-prefixed field of at most a few hundred bytes (a domain or an agency id).
    pub(crate) fn short_field(&mut self, bytes: &[u8]) {
        // Domains and agency ids are at most `MAX_ORGAN_ID_LEN` bytes.
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.u32(len);
        self.raw(bytes);
    }

    /// An agency id, as a short field.
    pub(crate) fn organ_id(&mut self, id: &OrganId) {
        self.short_field(id.as_str().as_bytes());
    }

    pub(crate) fn into_vec(self) -> Vec<u8> {
        self.buf
    }
}

impl<F: Format> Writer<F> {
    /// A length-prefixed field.
    ///
    /// # Errors
    /// [`Format::field_too_large`] when the value does not fit a `u32` prefix; callers check
    /// their own, smaller limits first, so this only guards against absurd configurations.
    pub(crate) fn field(&mut self, bytes: &[u8]) -> Result<(), F::Error> {
        let len = u32::try_from(bytes.len()).map_err(|_| F::field_too_large(bytes.len() as u64))?;
        self.u32(len);
        self.raw(bytes);
        Ok(())
    }

    /// A presence byte, then the field if present.
    pub(crate) fn optional(&mut self, value: Option<&[u8]>) -> Result<(), F::Error> {
        match value {
            None => {
                self.u8(0);
                Ok(())
            }
            Some(bytes) => {
                self.u8(1);
                self.field(bytes)
            }
        }
    }
}

/// Reads signed bytes, or the wire prefix, without ever reading past the end.
#[derive(Debug)]
pub(crate) struct Reader<'a, F: Format> {
    bytes: &'a [u8],
    pos: usize,
    section: F::Section,
}

impl<'a, F: Format> Reader<'a, F> {
    pub(crate) fn new(bytes: &'a [u8], section: F::Section) -> Self {
        Reader {
            bytes,
            pos: 0,
            section,
        }
    }

    /// Where the next read starts.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The next `len` bytes, or the family's truncation error naming `field`.
    pub(crate) fn take(&mut self, len: usize, field: F::Field) -> Result<&'a [u8], F::Error> {
        let slice = self
            .pos
            .checked_add(len)
            .and_then(|end| self.bytes.get(self.pos..end))
            .ok_or_else(|| F::truncated(self.section, self.bytes.len(), field))?;
        self.pos += len;
        Ok(slice)
    }

    pub(crate) fn array<const N: usize>(&mut self, field: F::Field) -> Result<[u8; N], F::Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: F::Field) -> Result<u8, F::Error> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u32(&mut self, field: F::Field) -> Result<u32, F::Error> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: F::Field) -> Result<u64, F::Error> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// A length-prefixed field.
    pub(crate) fn field(&mut self, field: F::Field) -> Result<&'a [u8], F::Error> {
        let len = self.u32(field)? as usize;
        self.take(len, field)
    }

    /// A length-prefixed UTF-8 field.
    pub(crate) fn text(&mut self, field: F::Field) -> Result<&'a str, F::Error> {
        let start = self.pos;
        let bytes = self.field(field)?;
        std::str::from_utf8(bytes).map_err(|_| self.invalid(field, start, FieldProblem::NotUtf8))
    }

    /// An optional length-prefixed UTF-8 field.
    pub(crate) fn optional_text(&mut self, field: F::Field) -> Result<Option<&'a str>, F::Error> {
        let start = self.pos;
        match self.u8(field)? {
            0 => Ok(None),
            1 => self.text(field).map(Some),
            other => Err(self.invalid(field, start, FieldProblem::BadPresence(other))),
        }
    }

    /// An agency id, exactly as [`OrganId::parse`] would keep it (UTF-8, no surrounding
    /// whitespace, so each id has one encoding).
    pub(crate) fn organ_id(&mut self, field: F::Field) -> Result<OrganId, F::Error> {
        let start = self.pos;
        let text = self.text(field)?;
        let id = OrganId::parse(text)
            .map_err(|e| self.invalid(field, start, FieldProblem::OrganId(e)))?;
        if id.as_str() != text {
            return Err(self.invalid(field, start, FieldProblem::NotCanonical));
        }
        Ok(id)
    }

    /// Checks that the signed bytes open with `expected` as their domain.
    pub(crate) fn domain(&mut self, expected: &'static str, kind: F::Kind) -> Result<(), F::Error> {
        if self.field(F::DOMAIN)? != expected.as_bytes() {
            return Err(F::wrong_domain(kind, expected));
        }
        Ok(())
    }

    /// The family's invalid-field error for a field that starts at `offset`.
    pub(crate) fn invalid(
        &self,
        field: F::Field,
        offset: usize,
        problem: FieldProblem,
    ) -> F::Error {
        F::invalid(self.section, field, offset, problem)
    }

    /// Succeeds only if everything was read.
    pub(crate) fn finish(self) -> Result<(), F::Error> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(F::trailing(self.section, count)),
        }
    }
}
