//! What nodes say to each other on `/lienthong/deliver/1`.
//!
//! Each request and response is one frame; the node's transport adds a length prefix and a
//! size cap. A frame is `version (1) ‖ tag (1) ‖ body`. Envelopes inside are decoded with
//! [`SignedPackage::from_wire`] and [`SignedReceipt::from_wire`], so decoding a frame also
//! verifies the signatures it carries: whoever decodes must be off any latency-critical loop.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::envelope::{EnvelopeError, EnvelopeLimits, SignedPackage, SignedReceipt};
use crate::keys::{PUBLIC_KEY_LEN, PublicKey};
use crate::roster::RosterVersion;

/// The libp2p protocol name of package delivery.
pub const DELIVER_PROTOCOL: &str = "/lienthong/deliver/1";

/// Frame layout version.
pub const FRAME_VERSION: u8 = 1;

/// Longest rejection detail sent or accepted, in bytes.
pub const MAX_DETAIL_LEN: usize = 1024;

/// A request from one node to another.
#[derive(Debug, Clone)]
pub enum Request {
    /// A package for an agency the receiving node runs. Sent by the package's sender (or a
    /// relay on its behalf); answered by [`Response::Delivered`] with the recipient's signed
    /// receipt 01, or by [`Response::Rejected`].
    Deliver(SignedPackage),
    /// A receipt about a package the receiving node's agency sent (codes 01–06, 15, 16) or
    /// received (code 13). Answered by [`Response::ReceiptAccepted`] or [`Response::Rejected`].
    Receipt(SignedReceipt),
    /// "This is the roster I have": sent by a node to a peer it just connected to. Answered
    /// by [`Response::Roster`] when the peer holds some section newer, else
    /// [`Response::RosterCurrent`].
    RosterQuery(RosterVersion),
}

/// An answer to a [`Request`].
#[derive(Debug, Clone)]
pub enum Response {
    /// The package is durably stored; here is the recipient's receipt 01. `duplicate` says
    /// the package had arrived before and the receipt is the one given then.
    Delivered {
        /// The recipient's signed receipt 01.
        receipt: Box<SignedReceipt>,
        /// Whether the package had already been delivered.
        duplicate: bool,
    },
    /// The receipt is durably recorded (or was already).
    ReceiptAccepted {
        /// Whether the receipt had been recorded before.
        duplicate: bool,
    },
    /// The request was refused; nothing was stored.
    Rejected(Rejection),
    /// The node is overloaded; try again later. Nothing was stored.
    Busy,
    /// A roster bundle (its wire form), newer in some section than the one queried.
    Roster(Bytes),
    /// The roster queried is as new as the one held.
    RosterCurrent,
}

/// Why a request was refused, for the sender's logs and its operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The class of problem; decides whether a retry can help.
    pub reason: RejectReason,
    /// What exactly was wrong, in words.
    pub detail: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

/// Classes of refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// The frame or an envelope in it does not decode or verify.
    Malformed,
    /// The sender or issuer is not in the receiving node's roster.
    UnknownAgency,
    /// The signing key is not the roster's key for the agency it claims to be.
    WrongKey,
    /// The package is not addressed to an agency this node runs, or the receipt is not
    /// about a package it knows.
    NotForThisNode,
    /// A size limit was exceeded.
    TooLarge,
    /// The agency is not allowed to make this statement (e.g. a receipt by someone other
    /// than the recipient).
    NotAllowed,
    /// The node could not store it (disk full, store error): retry later.
    Unavailable,
    /// A timestamp too far ahead of the receiving node's clock.
    ClockSkew,
    /// A package older than the receiving node keeps track of: a replay of something long
    /// gone.
    Stale,
    /// The sender or issuer was revoked, or is outside its membership's validity window.
    Revoked,
}

impl RejectReason {
    fn code(self) -> u8 {
        match self {
            RejectReason::Malformed => 1,
            RejectReason::UnknownAgency => 2,
            RejectReason::WrongKey => 3,
            RejectReason::NotForThisNode => 4,
            RejectReason::TooLarge => 5,
            RejectReason::NotAllowed => 6,
            RejectReason::Unavailable => 7,
            RejectReason::ClockSkew => 8,
            RejectReason::Stale => 9,
            RejectReason::Revoked => 10,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => RejectReason::Malformed,
            2 => RejectReason::UnknownAgency,
            3 => RejectReason::WrongKey,
            4 => RejectReason::NotForThisNode,
            5 => RejectReason::TooLarge,
            6 => RejectReason::NotAllowed,
            7 => RejectReason::Unavailable,
            8 => RejectReason::ClockSkew,
            9 => RejectReason::Stale,
            10 => RejectReason::Revoked,
            _ => return None,
        })
    }

    /// Whether sending the same request again later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, RejectReason::Unavailable | RejectReason::ClockSkew)
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RejectReason::Malformed => "malformed",
            RejectReason::UnknownAgency => "unknown agency",
            RejectReason::WrongKey => "wrong key",
            RejectReason::NotForThisNode => "not for this node",
            RejectReason::TooLarge => "too large",
            RejectReason::NotAllowed => "not allowed",
            RejectReason::Unavailable => "unavailable",
            RejectReason::ClockSkew => "clock skew",
            RejectReason::Stale => "stale",
            RejectReason::Revoked => "revoked",
        })
    }
}

impl RejectReason {
    /// A short label for metrics and logs: `malformed`, `wrong_key`, …
    pub fn label(self) -> &'static str {
        match self {
            RejectReason::Malformed => "malformed",
            RejectReason::UnknownAgency => "unknown_agency",
            RejectReason::WrongKey => "wrong_key",
            RejectReason::NotForThisNode => "not_for_this_node",
            RejectReason::TooLarge => "too_large",
            RejectReason::NotAllowed => "not_allowed",
            RejectReason::Unavailable => "unavailable",
            RejectReason::ClockSkew => "clock_skew",
            RejectReason::Stale => "stale",
            RejectReason::Revoked => "revoked",
        }
    }
}

/// Why a frame could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// No bytes at all.
    #[error("empty frame")]
    Empty,
    /// A frame version this code does not read.
    #[error("frame version {0} is not supported (this node reads version 1)")]
    UnsupportedVersion(u8),
    /// A tag that names no message.
    #[error("unknown {what} tag {tag}")]
    UnknownTag {
        /// Request or response.
        what: &'static str,
        /// The tag.
        tag: u8,
    },
    /// The frame ends early.
    #[error("frame truncated while reading {0}")]
    Truncated(&'static str),
    /// The frame has bytes after its message.
    #[error("{0} bytes after the end of the message")]
    TrailingBytes(usize),
    /// A rejection detail that is not UTF-8 or too long.
    #[error("rejection detail is {0}")]
    BadDetail(&'static str),
    /// The envelope inside does not decode or verify.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
}

const TAG_DELIVER: u8 = 1;
const TAG_RECEIPT: u8 = 2;
const TAG_ROSTER_QUERY: u8 = 3;
const TAG_ROSTER: u8 = 5;
const TAG_ROSTER_CURRENT: u8 = 6;
/// Most sections a roster version may list (as many as a bundle may hold).
const MAX_VERSION_ENTRIES: usize = 256;
/// Largest roster bundle accepted in a frame.
pub const MAX_ROSTER_LEN: usize = 16 * 1024 * 1024;
const TAG_DELIVERED: u8 = 1;
const TAG_RECEIPT_ACCEPTED: u8 = 2;
const TAG_REJECTED: u8 = 3;
const TAG_BUSY: u8 = 4;

fn header(frame: &Bytes) -> Result<u8, WireError> {
    match frame.len() {
        0 => Err(WireError::Empty),
        _ if frame[0] != FRAME_VERSION => Err(WireError::UnsupportedVersion(frame[0])),
        1 => Err(WireError::Truncated("the tag")),
        _ => Ok(frame[1]),
    }
}

impl Request {
    /// The frame for this request.
    pub fn encode(&self) -> Bytes {
        let (tag, body) = match self {
            Request::Deliver(package) => (TAG_DELIVER, package.to_wire()),
            Request::Receipt(receipt) => (TAG_RECEIPT, receipt.to_wire()),
            Request::RosterQuery(version) => (TAG_ROSTER_QUERY, encode_version(version)),
        };
        let mut frame = BytesMut::with_capacity(2 + body.len());
        frame.put_u8(FRAME_VERSION);
        frame.put_u8(tag);
        frame.put_slice(&body);
        frame.freeze()
    }

    /// Decodes a frame and verifies the envelope in it. The package content stays a slice of
    /// `frame`.
    ///
    /// # Errors
    /// [`WireError`] saying what was wrong.
    pub fn decode(frame: Bytes, limits: &EnvelopeLimits) -> Result<Request, WireError> {
        match header(&frame)? {
            TAG_DELIVER => Ok(Request::Deliver(SignedPackage::from_wire(
                frame.slice(2..),
                limits,
            )?)),
            TAG_RECEIPT => Ok(Request::Receipt(SignedReceipt::from_wire(
                frame.slice(2..),
                limits,
            )?)),
            TAG_ROSTER_QUERY => Ok(Request::RosterQuery(decode_version(&frame[2..])?)),
            tag => Err(WireError::UnknownTag {
                what: "request",
                tag,
            }),
        }
    }
}

impl Response {
    /// The frame for this response.
    pub fn encode(&self) -> Bytes {
        let mut frame = BytesMut::with_capacity(64);
        frame.put_u8(FRAME_VERSION);
        match self {
            Response::Delivered { receipt, duplicate } => {
                frame.put_u8(TAG_DELIVERED);
                frame.put_u8(u8::from(*duplicate));
                frame.put_slice(&receipt.to_wire());
            }
            Response::ReceiptAccepted { duplicate } => {
                frame.put_u8(TAG_RECEIPT_ACCEPTED);
                frame.put_u8(u8::from(*duplicate));
            }
            Response::Rejected(rejection) => {
                frame.put_u8(TAG_REJECTED);
                frame.put_u8(rejection.reason.code());
                let detail = truncate_utf8(&rejection.detail, MAX_DETAIL_LEN);
                frame.put_u32(detail.len() as u32);
                frame.put_slice(detail.as_bytes());
            }
            Response::Busy => frame.put_u8(TAG_BUSY),
            Response::Roster(bundle) => {
                frame.put_u8(TAG_ROSTER);
                frame.put_slice(bundle);
            }
            Response::RosterCurrent => frame.put_u8(TAG_ROSTER_CURRENT),
        }
        frame.freeze()
    }

    /// Decodes a frame and verifies the receipt in it.
    ///
    /// # Errors
    /// [`WireError`] saying what was wrong.
    pub fn decode(frame: Bytes, limits: &EnvelopeLimits) -> Result<Response, WireError> {
        let tag = header(&frame)?;
        let body = frame.slice(2..);
        // Flags are 0 or 1 exactly, so that every message has one encoding.
        let flag = |what| match body.first().copied() {
            None => Err(WireError::Truncated(what)),
            Some(b @ (0 | 1)) => Ok(b),
            Some(_) => Err(WireError::BadDetail("a flag that is neither 0 nor 1")),
        };
        match tag {
            TAG_DELIVERED => {
                let duplicate = flag("the duplicate flag")? != 0;
                let receipt = Box::new(SignedReceipt::from_wire(body.slice(1..), limits)?);
                Ok(Response::Delivered { receipt, duplicate })
            }
            TAG_RECEIPT_ACCEPTED => {
                let duplicate = flag("the duplicate flag")? != 0;
                if body.len() > 1 {
                    return Err(WireError::TrailingBytes(body.len() - 1));
                }
                Ok(Response::ReceiptAccepted { duplicate })
            }
            TAG_REJECTED => {
                let code = body
                    .first()
                    .copied()
                    .ok_or(WireError::Truncated("the rejection reason"))?;
                let reason = RejectReason::from_code(code).ok_or(WireError::UnknownTag {
                    what: "rejection reason",
                    tag: code,
                })?;
                if body.len() < 5 {
                    return Err(WireError::Truncated("the rejection detail length"));
                }
                let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
                if len > MAX_DETAIL_LEN {
                    return Err(WireError::BadDetail("longer than 1024 bytes"));
                }
                let rest = &body[5..];
                if rest.len() < len {
                    return Err(WireError::Truncated("the rejection detail"));
                }
                if rest.len() > len {
                    return Err(WireError::TrailingBytes(rest.len() - len));
                }
                let detail = std::str::from_utf8(rest)
                    .map_err(|_| WireError::BadDetail("not UTF-8"))?
                    .to_owned();
                Ok(Response::Rejected(Rejection { reason, detail }))
            }
            TAG_BUSY => {
                if !body.is_empty() {
                    return Err(WireError::TrailingBytes(body.len()));
                }
                Ok(Response::Busy)
            }
            TAG_ROSTER => {
                if body.len() > MAX_ROSTER_LEN {
                    return Err(WireError::BadDetail("a roster larger than 16 MiB"));
                }
                // Verified by the node against its pinned root, not here.
                Ok(Response::Roster(body))
            }
            TAG_ROSTER_CURRENT => {
                if !body.is_empty() {
                    return Err(WireError::TrailingBytes(body.len()));
                }
                Ok(Response::RosterCurrent)
            }
            tag => Err(WireError::UnknownTag {
                what: "response",
                tag,
            }),
        }
    }
}

fn encode_version(version: &RosterVersion) -> Bytes {
    let mut out = BytesMut::with_capacity(4 + version.0.len() * (PUBLIC_KEY_LEN + 8));
    out.put_u32(version.0.len() as u32);
    for (key, serial) in &version.0 {
        out.put_slice(key.as_bytes());
        out.put_u64(*serial);
    }
    out.freeze()
}

fn decode_version(body: &[u8]) -> Result<RosterVersion, WireError> {
    let Some(count) = body.get(..4) else {
        return Err(WireError::Truncated("the roster version count"));
    };
    let count = u32::from_be_bytes([count[0], count[1], count[2], count[3]]) as usize;
    if count > MAX_VERSION_ENTRIES {
        return Err(WireError::BadDetail(
            "a roster version with too many sections",
        ));
    }
    let entry = PUBLIC_KEY_LEN + 8;
    let rest = &body[4..];
    if rest.len() < count * entry {
        return Err(WireError::Truncated("the roster version"));
    }
    if rest.len() > count * entry {
        return Err(WireError::TrailingBytes(rest.len() - count * entry));
    }
    let mut version = std::collections::BTreeMap::new();
    for chunk in rest.chunks_exact(entry) {
        let mut key = [0u8; PUBLIC_KEY_LEN];
        key.copy_from_slice(&chunk[..PUBLIC_KEY_LEN]);
        let key = PublicKey::from_bytes(&key)
            .map_err(|_| WireError::BadDetail("a roster version with an invalid key"))?;
        let mut serial = [0u8; 8];
        serial.copy_from_slice(&chunk[PUBLIC_KEY_LEN..]);
        // Keys come in ascending order, once each: one encoding per version.
        if version
            .last_key_value()
            .is_some_and(|(last, _)| *last >= key)
        {
            return Err(WireError::BadDetail(
                "a roster version not in ascending key order",
            ));
        }
        version.insert(key, u64::from_be_bytes(serial));
    }
    Ok(RosterVersion(version))
}

fn truncate_utf8(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{PackageFields, ReceiptFields, Timestamp};
    use crate::keys::AgencyKey;
    use crate::{MessageKind, StatusCode};

    fn package(key: &AgencyKey) -> SignedPackage {
        SignedPackage::sign(
            key,
            PackageFields {
                sender: "000.00.01.H53".parse().expect("id"),
                recipients: vec!["000.00.02.H53".parse().expect("id")],
                kind: MessageKind::Edoc,
                created_at: Timestamp::from_millis(1_700_000_000_000),
            },
            Bytes::from_static(b"<edXML/>"),
            &EnvelopeLimits::default(),
        )
        .expect("signs")
    }

    fn receipt(key: &AgencyKey, package: &SignedPackage) -> SignedReceipt {
        SignedReceipt::sign(
            key,
            ReceiptFields {
                package_id: package.id(),
                sender: package.sender().clone(),
                recipient: package.recipients()[0].clone(),
                document_id: Some("000.00.01.H53,2026/11/21,1/UBND".to_owned()),
                code: StatusCode::Arrived,
                issued_at: Timestamp::from_millis(1_700_000_001_000),
                description: None,
            },
            &EnvelopeLimits::default(),
        )
        .expect("signs")
    }

    #[test]
    fn every_message_round_trips() {
        let limits = EnvelopeLimits::default();
        let key = AgencyKey::generate().expect("key");
        let p = package(&key);
        let r = receipt(&key, &p);
        match Request::decode(Request::Deliver(p.clone()).encode(), &limits).expect("decodes") {
            Request::Deliver(back) => assert_eq!(back.id(), p.id()),
            other => panic!("{other:?}"),
        }
        match Request::decode(Request::Receipt(r.clone()).encode(), &limits).expect("decodes") {
            Request::Receipt(back) => assert_eq!(back.id(), r.id()),
            other => panic!("{other:?}"),
        }
        let version = RosterVersion([(key.public_key(), 7u64)].into_iter().collect());
        match Request::decode(Request::RosterQuery(version.clone()).encode(), &limits)
            .expect("decodes")
        {
            Request::RosterQuery(back) => assert_eq!(back, version),
            other => panic!("{other:?}"),
        }
        let responses = [
            Response::Delivered {
                receipt: Box::new(r.clone()),
                duplicate: true,
            },
            Response::ReceiptAccepted { duplicate: false },
            Response::Rejected(Rejection {
                reason: RejectReason::WrongKey,
                detail: "khóa không khớp".to_owned(),
            }),
            Response::Rejected(Rejection {
                reason: RejectReason::Revoked,
                detail: String::new(),
            }),
            Response::Busy,
            Response::Roster(Bytes::from_static(b"LTRB-bundle")),
            Response::RosterCurrent,
        ];
        for response in responses {
            let frame = response.encode();
            let back = Response::decode(frame.clone(), &limits).expect("decodes");
            assert_eq!(back.encode(), frame);
        }
    }

    #[test]
    fn garbage_frames_are_errors() {
        let limits = EnvelopeLimits::default();
        assert!(matches!(
            Request::decode(Bytes::new(), &limits),
            Err(WireError::Empty)
        ));
        assert!(matches!(
            Request::decode(Bytes::from_static(&[2, 1]), &limits),
            Err(WireError::UnsupportedVersion(2))
        ));
        assert!(matches!(
            Request::decode(Bytes::from_static(&[1, 9, 0]), &limits),
            Err(WireError::UnknownTag { tag: 9, .. })
        ));
        assert!(matches!(
            Request::decode(Bytes::from_static(&[1, 1, 0, 0]), &limits),
            Err(WireError::Envelope(_))
        ));
        assert!(
            Response::decode(Bytes::from_static(&[1, 3, 1, 0, 0, 0, 9, b'x']), &limits).is_err()
        );
        assert!(Response::decode(Bytes::from_static(&[1, 4, 0]), &limits).is_err());
        for len in 0..64 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            let _ = Request::decode(Bytes::from(junk.clone()), &limits);
            let _ = Response::decode(Bytes::from(junk), &limits);
        }
    }

    #[test]
    fn a_tampered_package_in_a_frame_is_refused() {
        let limits = EnvelopeLimits::default();
        let key = AgencyKey::generate().expect("key");
        let mut frame = Request::Deliver(package(&key)).encode().to_vec();
        let last = frame.len() - 1;
        frame[last] ^= 1;
        assert!(matches!(
            Request::decode(Bytes::from(frame), &limits),
            Err(WireError::Envelope(EnvelopeError::ContentHashMismatch))
        ));
    }
}
