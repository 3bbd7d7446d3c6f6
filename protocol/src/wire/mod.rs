//! What nodes say to each other on `/lienthong/deliver/1`.
//!
//! Each request and response is one frame; the node's transport adds a length prefix and a
//! size cap. A frame is `version (1) ‖ tag (1) ‖ body`. Envelopes inside are decoded with
//! [`SignedPackage::from_wire`], [`SignedReceipt::from_wire`], [`SealedPackage::from_wire`]
//! and [`SignedHold::from_wire`], so decoding a frame also verifies the signatures it
//! carries: whoever decodes must be off any latency-critical loop.
//!
//! Every message has exactly one encoding, and decoders are strict: flags are 0 or 1,
//! counts are in range, lists hold no entry twice, nothing trails. Lists are
//! `count (u32 BE) ‖ count × (length (u32 BE) ‖ wire form)`, and no length read from a frame
//! sizes an allocation before it is checked against what the frame still holds.
//!
//! # Typed calls
//!
//! Each kind of request names the answer it gets ([`Call`]): a node sends a [`Deliver`] and
//! gets a [`Delivered`], sends a [`MailboxFetch`] and gets a [`Mailbox`], or a [`Refusal`].
//! An answer of another kind is a [`Refusal::Unexpected`], handled once where frames are
//! decoded instead of at every call site. The answering side returns the same types.
//!
//! # The relay mailbox
//!
//! A sender that cannot reach a recipient seals the package to the recipient's roster
//! encryption key and [`Request::Deposit`]s it at one of the recipient's relays, which
//! answers with a [`SignedHold`] (not a receipt). The relay then either pushes it with
//! [`Request::DeliverSealed`] when the recipient is reachable, or the recipient, if it takes
//! no inbound connections, pulls it with [`Request::MailboxFetch`] and returns its receipts
//! with [`Request::MailboxAck`]. A node that cannot reach a package's sender hands its
//! receipt to a relay with [`Request::RelayReceipt`].
//!
//! # Receipt catch-up
//!
//! Receipts reach their parties by direct delivery, through relays and by gossip (see
//! [`gossip`](crate::gossip)); any of these can miss one while networks are cut. So a node
//! asks each member it connects to for the receipts recorded since the last time, with
//! [`Request::ReceiptsSince`], and pages through [`Response::Receipts`] until `more` is
//! false.
//!
//! # Witnessing
//!
//! A node presents each checkpoint of its evidence log to its witnesses with
//! [`Request::Witness`]: the signed note and a consistency proof from the head it believes
//! the witness holds. The witness answers [`Response::Cosigned`], [`Response::WitnessHolds`]
//! (it holds another head: ask again with a proof from there) or a refusal
//! ([`RejectReason::Fork`] when the checkpoint contradicts what it cosigned).
//!
//! Checkpoints also travel on gossip (`crate::evidence::Announcement`); a node that cannot
//! check one against the head it holds, or that connects to a member, asks the member's
//! node with [`Request::CheckpointSince`] and gets [`Response::Checkpoint`].

mod call;
mod checkpoint;
mod witness;

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use std::collections::HashSet;

use crate::envelope::{EnvelopeError, EnvelopeLimits, PackageId, SignedPackage, SignedReceipt};
use crate::keys::{PUBLIC_KEY_LEN, PublicKey};
use crate::organ_id::OrganId;
use crate::roster::RosterVersion;
use crate::seal::{SealError, SealedPackage, SignedHold};

pub use call::{
    Acked, Call, Deliver, DeliverSealed, Delivered, Deposit, HandReceipt, Mailbox, MailboxAck,
    MailboxFetch, ReceiptAccepted, ReceiptPage, ReceiptsSince, Refusal, RelayReceipt, RosterAnswer,
    RosterQuery,
};
pub use checkpoint::CheckpointSince;
pub use witness::{
    MAX_COSIGNATURE_LINE_LEN, MAX_PROOF_HASHES, MAX_WITNESS_NOTE_LEN, Witness, WitnessAnswer,
};

/// The libp2p protocol name of package delivery.
pub const DELIVER_PROTOCOL: &str = "/lienthong/deliver/1";

/// Frame layout version.
pub const FRAME_VERSION: u8 = 1;

/// Longest rejection detail sent or accepted, in bytes.
pub const MAX_DETAIL_LEN: usize = 1024;

/// Most sealed packages one [`Response::Mailbox`] carries, the largest
/// [`Request::MailboxFetch`] limit, and the most receipts one [`Request::MailboxAck`]
/// carries.
pub const MAX_MAILBOX_BATCH: u32 = 64;
// The decoders' error texts say 64.
const _: () = assert!(MAX_MAILBOX_BATCH == 64);

/// Most receipts one [`Response::Receipts`] carries, and the largest
/// [`Request::ReceiptsSince`] limit. Receipts are small (a few hundred bytes, at most about
/// 8.5 KiB under the default limits), so a full page stays far under the frame cap: see
/// [`max_receipts_frame_len`].
pub const MAX_RECEIPT_BATCH: u32 = 256;
// The decoders' error texts say 256.
const _: () = assert!(MAX_RECEIPT_BATCH == 256);

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
    /// A package sealed to one recipient, for a relay to hold. Sent by the package's sender
    /// when it cannot reach that recipient (offline, or on a separate network), to one of
    /// the relays the roster lists for it. Answered by [`Response::Held`] with the relay's
    /// signed hold acknowledgement (not a receipt: the package counts as delivered only when
    /// the recipient's receipt 01 comes back), or by [`Response::Rejected`].
    Deposit(SealedPackage),
    /// A held package, pushed by the relay to its recipient's node once that node is
    /// reachable. Answered, as [`Request::Deliver`], by [`Response::Delivered`] with the
    /// recipient's signed receipt 01 (which the relay forwards to the sender and after which
    /// it deletes the package), or by [`Response::Rejected`].
    DeliverSealed(SealedPackage),
    /// "Give me what you hold for me": sent by a recipient's node that accepts no inbound
    /// connections to its relay. The relay answers only for the agencies the requesting
    /// peer's key speaks for. `limit` is 1 to [`MAX_MAILBOX_BATCH`]. Answered by
    /// [`Response::Mailbox`] (oldest first, at most `limit`, possibly empty; nothing is
    /// deleted yet) or [`Response::Rejected`].
    MailboxFetch {
        /// Most packages wanted in the answer.
        limit: u32,
    },
    /// The recipient's signed receipts (01, or a refusal) for packages it fetched: sent by
    /// the recipient's node to the relay it fetched them from. The relay deletes those
    /// packages and forwards the receipts to their senders. At most [`MAX_MAILBOX_BATCH`]
    /// receipts, none twice. Answered by [`Response::Acked`] with how many packages were
    /// removed, or [`Response::Rejected`].
    MailboxAck(Vec<SignedReceipt>),
    /// A receipt for a package whose sender the issuing node cannot reach, handed to a relay
    /// (one of the sender's) to forward. Answered by [`Response::Acked`] with `count: 1`, or
    /// [`Response::Rejected`].
    RelayReceipt(SignedReceipt),
    /// "Give me the receipts you recorded after your log position `cursor` that concern my
    /// agency": sent by a node to each member it connects to, and periodically, to catch up
    /// on receipts that direct delivery, relays and gossip missed while networks were cut.
    /// The answering node gives only receipts about packages the requesting peer's agency
    /// sent or received, so catching up reveals nothing a party does not already know.
    /// `cursor` is the `next_cursor` of the previous answer from that node (0 the first
    /// time); `limit` is 1 to [`MAX_RECEIPT_BATCH`]. Answered by [`Response::Receipts`] or
    /// [`Response::Rejected`].
    ReceiptsSince {
        /// The answering node's log position after which to look; its own numbering.
        cursor: u64,
        /// Most receipts wanted in the answer.
        limit: u32,
    },
    /// "Cosign this checkpoint of my evidence log": sent by a node to its witnesses after
    /// each checkpoint. Answered by [`Response::Cosigned`], [`Response::WitnessHolds`] or
    /// [`Response::Rejected`] ([`RejectReason::NotAllowed`] from a node that is no witness,
    /// [`RejectReason::Fork`] for a history that contradicts the one cosigned).
    Witness(Witness),
    /// "Your latest checkpoint, with a consistency proof from `from_size`": sent by a node
    /// to each member it connects to, and when a gossiped checkpoint cannot be checked
    /// against the head it holds. Answered by [`Response::Checkpoint`] or
    /// [`Response::Rejected`].
    CheckpointSince {
        /// The size of the head held for the answering node's log (0 for none).
        from_size: u64,
    },
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
    /// The answer to [`Request::Deposit`]: the relay has durably stored the sealed package
    /// and signs that it holds it for the recipient.
    Held(Box<SignedHold>),
    /// The answer to [`Request::MailboxFetch`]: sealed packages held for the requester,
    /// oldest first, at most [`MAX_MAILBOX_BATCH`], no package for a recipient twice.
    /// [`Response::mailbox`] builds one that fits a frame.
    Mailbox(Vec<SealedPackage>),
    /// The answer to [`Request::MailboxAck`] (packages removed from the mailbox) and to
    /// [`Request::RelayReceipt`] (1: the receipt is durably queued for forwarding).
    Acked {
        /// How many were taken, at most [`MAX_MAILBOX_BATCH`].
        count: u32,
    },
    /// The answer to [`Request::ReceiptsSince`]: receipts concerning the requester, in log
    /// order, at most the request's limit and never more than [`MAX_RECEIPT_BATCH`], none
    /// twice (possibly none). Every receipt is verified when the frame is decoded; whether
    /// its signer speaks for its issuer is the requester's check against the roster.
    Receipts {
        /// The receipts, each as signed.
        receipts: Vec<SignedReceipt>,
        /// The answering node's log position to ask from next time: after the last receipt
        /// returned, or after everything it looked at.
        next_cursor: u64,
        /// Whether asking again from `next_cursor` now would return more.
        more: bool,
    },
    /// The answer to [`Request::Witness`]: the cosignature line to add to the checkpoint
    /// note; the witness keeps the checkpoint as the head it cosigned.
    Cosigned(String),
    /// The answer to [`Request::Witness`] from a witness that holds a head of this size for
    /// the node, not the request's `from_size`: nothing was decided; ask again with a proof
    /// from it.
    WitnessHolds(u64),
    /// The answer to [`Request::CheckpointSince`]: the latest checkpoint, with its
    /// cosignatures and a proof from the size asked. (Boxed: larger than the others.)
    Checkpoint(Box<crate::evidence::Announcement>),
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
    /// A checkpoint that contradicts the history the witness cosigned for that log: the
    /// log was rewritten. The witness keeps it as evidence and raises the alarm.
    Fork,
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
            RejectReason::Fork => 11,
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
            11 => RejectReason::Fork,
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
            RejectReason::Fork => "fork",
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
            RejectReason::Fork => "fork",
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
    /// The sealed package or hold acknowledgement inside does not decode or verify.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The checkpoint announcement inside does not decode.
    #[error(transparent)]
    Announcement(#[from] crate::evidence::AnnouncementError),
    /// A count or a list is out of range or not canonical.
    #[error("invalid {field}: {problem}")]
    Invalid {
        /// Which field: `"mailbox fetch limit"`, `"mailbox"`, …
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
}

const TAG_DELIVER: u8 = 1;
const TAG_RECEIPT: u8 = 2;
const TAG_ROSTER_QUERY: u8 = 3;
const TAG_DEPOSIT: u8 = 4;
const TAG_DELIVER_SEALED: u8 = 5;
const TAG_MAILBOX_FETCH: u8 = 6;
const TAG_MAILBOX_ACK: u8 = 7;
const TAG_RELAY_RECEIPT: u8 = 8;
const TAG_RECEIPTS_SINCE: u8 = 9;
const TAG_WITNESS: u8 = 10;
const TAG_CHECKPOINT_SINCE: u8 = 11;
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
const TAG_HELD: u8 = 7;
const TAG_MAILBOX: u8 = 8;
const TAG_ACKED: u8 = 9;
const TAG_RECEIPTS: u8 = 10;
const TAG_COSIGNED: u8 = 11;
const TAG_WITNESS_HOLDS: u8 = 12;
const TAG_CHECKPOINT: u8 = 13;

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
    ///
    /// A [`Request::MailboxAck`] is cut to its first [`MAX_MAILBOX_BATCH`] receipts, so that
    /// every frame encoded decodes; the packages of the receipts left out stay in the
    /// mailbox and come back with the next fetch. A [`Request::MailboxFetch`] limit outside
    /// 1 to [`MAX_MAILBOX_BATCH`], or a receipt listed twice, gives a frame the relay refuses,
    /// as does a [`Request::ReceiptsSince`] limit outside 1 to [`MAX_RECEIPT_BATCH`].
    pub fn encode(&self) -> Bytes {
        let (tag, body) = match self {
            Request::Deliver(package) => (TAG_DELIVER, package.to_wire()),
            Request::Receipt(receipt) => (TAG_RECEIPT, receipt.to_wire()),
            Request::RosterQuery(version) => (TAG_ROSTER_QUERY, encode_version(version)),
            Request::Deposit(sealed) => (TAG_DEPOSIT, sealed.to_wire()),
            Request::DeliverSealed(sealed) => (TAG_DELIVER_SEALED, sealed.to_wire()),
            Request::MailboxFetch { limit } => (
                TAG_MAILBOX_FETCH,
                Bytes::copy_from_slice(&limit.to_be_bytes()),
            ),
            Request::MailboxAck(receipts) => (
                TAG_MAILBOX_ACK,
                encode_list(
                    receipts
                        .iter()
                        .take(MAX_MAILBOX_BATCH as usize)
                        .map(SignedReceipt::to_wire),
                ),
            ),
            Request::RelayReceipt(receipt) => (TAG_RELAY_RECEIPT, receipt.to_wire()),
            Request::ReceiptsSince { cursor, limit } => {
                let mut body = BytesMut::with_capacity(8 + 4);
                body.put_u64(*cursor);
                body.put_u32(*limit);
                (TAG_RECEIPTS_SINCE, body.freeze())
            }
            Request::Witness(call) => (TAG_WITNESS, witness::encode_request(call)),
            Request::CheckpointSince { from_size } => (
                TAG_CHECKPOINT_SINCE,
                Bytes::copy_from_slice(&from_size.to_be_bytes()),
            ),
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
            TAG_DEPOSIT => Ok(Request::Deposit(SealedPackage::from_wire(
                frame.slice(2..),
                limits,
            )?)),
            TAG_DELIVER_SEALED => Ok(Request::DeliverSealed(SealedPackage::from_wire(
                frame.slice(2..),
                limits,
            )?)),
            TAG_MAILBOX_FETCH => {
                let limit = decode_u32(&frame[2..], "the mailbox fetch limit")?;
                if !(1..=MAX_MAILBOX_BATCH).contains(&limit) {
                    return Err(WireError::Invalid {
                        field: "mailbox fetch limit",
                        problem: "not between 1 and 64",
                    });
                }
                Ok(Request::MailboxFetch { limit })
            }
            TAG_MAILBOX_ACK => {
                let entries = decode_list(&frame.slice(2..), "mailbox acknowledgement", MAILBOX)?;
                let mut receipts = Vec::with_capacity(entries.len());
                let mut seen = HashSet::with_capacity(entries.len());
                for entry in entries {
                    let receipt = SignedReceipt::from_wire(entry, limits)?;
                    if !seen.insert(receipt.id()) {
                        return Err(WireError::Invalid {
                            field: "mailbox acknowledgement",
                            problem: "a receipt is listed twice",
                        });
                    }
                    receipts.push(receipt);
                }
                Ok(Request::MailboxAck(receipts))
            }
            TAG_RELAY_RECEIPT => Ok(Request::RelayReceipt(SignedReceipt::from_wire(
                frame.slice(2..),
                limits,
            )?)),
            TAG_RECEIPTS_SINCE => {
                let body = &frame[2..];
                let cursor = decode_u64_prefix(body, "the receipt cursor")?;
                let limit = decode_u32(&body[8..], "the receipt limit")?;
                if !(1..=MAX_RECEIPT_BATCH).contains(&limit) {
                    return Err(WireError::Invalid {
                        field: "receipt limit",
                        problem: "not between 1 and 256",
                    });
                }
                Ok(Request::ReceiptsSince { cursor, limit })
            }
            TAG_WITNESS => Ok(Request::Witness(witness::decode_request(
                &frame.slice(2..),
            )?)),
            TAG_CHECKPOINT_SINCE => {
                let body = &frame[2..];
                let from_size = decode_u64_prefix(body, "the checkpoint size")?;
                if body.len() > 8 {
                    return Err(WireError::TrailingBytes(body.len() - 8));
                }
                Ok(Request::CheckpointSince { from_size })
            }
            tag => Err(WireError::UnknownTag {
                what: "request",
                tag,
            }),
        }
    }
}

impl Response {
    /// The frame for this response.
    ///
    /// A rejection detail is cut to [`MAX_DETAIL_LEN`] bytes and a [`Response::Mailbox`] to
    /// its first [`MAX_MAILBOX_BATCH`] packages (those left out stay held), so that every
    /// frame encoded decodes; a mailbox with two copies for one package and recipient, or an
    /// `Acked` count over [`MAX_MAILBOX_BATCH`], gives a frame the fetcher refuses.
    /// [`Response::Receipts`] is never cut, since `next_cursor` would then skip the receipts
    /// left out: more than [`MAX_RECEIPT_BATCH`] receipts, or one twice, gives a frame the
    /// requester refuses.
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
            Response::Held(hold) => {
                frame.put_u8(TAG_HELD);
                frame.extend_from_slice(&hold.to_wire());
            }
            Response::Mailbox(sealed) => {
                frame.put_u8(TAG_MAILBOX);
                put_list(
                    &mut frame,
                    sealed
                        .iter()
                        .take(MAX_MAILBOX_BATCH as usize)
                        .map(SealedPackage::to_wire),
                );
            }
            Response::Acked { count } => {
                frame.put_u8(TAG_ACKED);
                frame.put_u32(*count);
            }
            Response::Receipts {
                receipts,
                next_cursor,
                more,
            } => {
                frame.put_u8(TAG_RECEIPTS);
                frame.put_u64(*next_cursor);
                frame.put_u8(u8::from(*more));
                put_list(&mut frame, receipts.iter().map(SignedReceipt::to_wire));
            }
            Response::Cosigned(line) => {
                frame.put_u8(TAG_COSIGNED);
                witness::put_line(&mut frame, line);
            }
            Response::WitnessHolds(size) => {
                frame.put_u8(TAG_WITNESS_HOLDS);
                frame.put_u64(*size);
            }
            Response::Checkpoint(announcement) => {
                frame.put_u8(TAG_CHECKPOINT);
                frame.put_slice(&announcement.encode());
            }
        }
        frame.freeze()
    }

    /// A [`Response::Mailbox`] for a relay to answer a [`Request::MailboxFetch`] with: from
    /// `held` (oldest first), at most `limit` packages and never more than
    /// [`MAX_MAILBOX_BATCH`], leaving out any package whose frame entry would take the
    /// frame past `max_frame_len` (it stays held, so one large package does not block the
    /// smaller ones behind it) and any second copy for the same package and recipient.
    pub fn mailbox(
        held: impl IntoIterator<Item = SealedPackage>,
        limit: u32,
        max_frame_len: usize,
    ) -> Response {
        Response::Mailbox(Mailbox::fitting(held, limit, max_frame_len).0)
    }

    /// Decodes a frame and verifies the receipts and envelopes in it.
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
            TAG_HELD => Ok(Response::Held(Box::new(SignedHold::from_wire(body)?))),
            TAG_MAILBOX => {
                let entries = decode_list(&body, "mailbox", MAILBOX)?;
                let mut sealed = Vec::with_capacity(entries.len());
                let mut seen: HashSet<(PackageId, OrganId)> = HashSet::with_capacity(entries.len());
                for entry in entries {
                    let package = SealedPackage::from_wire(entry, limits)?;
                    if !seen.insert((package.id(), package.recipient().clone())) {
                        return Err(WireError::Invalid {
                            field: "mailbox",
                            problem: "a package is listed twice for one recipient",
                        });
                    }
                    sealed.push(package);
                }
                Ok(Response::Mailbox(sealed))
            }
            TAG_ACKED => {
                let count = decode_u32(&body, "the acknowledged count")?;
                if count > MAX_MAILBOX_BATCH {
                    return Err(WireError::Invalid {
                        field: "acknowledged count",
                        problem: "more than 64",
                    });
                }
                Ok(Response::Acked { count })
            }
            TAG_RECEIPTS => {
                let next_cursor = decode_u64_prefix(&body, "the next receipt cursor")?;
                let more = match body.get(8).copied() {
                    None => return Err(WireError::Truncated("the more flag")),
                    Some(b @ (0 | 1)) => b != 0,
                    Some(_) => return Err(WireError::BadDetail("a flag that is neither 0 nor 1")),
                };
                let entries = decode_list(&body.slice(9..), "receipts", RECEIPTS)?;
                let mut receipts = Vec::with_capacity(entries.len());
                let mut seen = HashSet::with_capacity(entries.len());
                for entry in entries {
                    let receipt = SignedReceipt::from_wire(entry, limits)?;
                    if !seen.insert(receipt.id()) {
                        return Err(WireError::Invalid {
                            field: "receipts",
                            problem: "a receipt is listed twice",
                        });
                    }
                    receipts.push(receipt);
                }
                Ok(Response::Receipts {
                    receipts,
                    next_cursor,
                    more,
                })
            }
            TAG_COSIGNED => Ok(Response::Cosigned(witness::decode_line(&body)?)),
            TAG_WITNESS_HOLDS => {
                let size = decode_u64_prefix(&body, "the witness's size")?;
                if body.len() > 8 {
                    return Err(WireError::TrailingBytes(body.len() - 8));
                }
                Ok(Response::WitnessHolds(size))
            }
            TAG_CHECKPOINT => Ok(Response::Checkpoint(Box::new(checkpoint::decode_answer(
                &body,
            )?))),
            tag => Err(WireError::UnknownTag {
                what: "response",
                tag,
            }),
        }
    }
}

/// The largest [`Response::Receipts`] frame under `limits`: a full page of the largest
/// receipts those limits allow. About 2.1 MiB under the default limits, far under the node's
/// default frame cap; a node whose frame cap is smaller than this may fail to send a page.
pub fn max_receipts_frame_len(limits: &EnvelopeLimits) -> usize {
    // Version, tag, next cursor, more flag, count; then each receipt after its length.
    (2 + 8 + 1 + 4usize).saturating_add(
        (MAX_RECEIPT_BATCH as usize)
            .saturating_mul(4usize.saturating_add(limits.max_receipt_len())),
    )
}

/// How many entries a kind of list may hold, and how to say it has too many.
#[derive(Debug, Clone, Copy)]
struct ListCap {
    max: u32,
    too_many: &'static str,
}

const MAILBOX: ListCap = ListCap {
    max: MAX_MAILBOX_BATCH,
    too_many: "more than 64 entries",
};

const RECEIPTS: ListCap = ListCap {
    max: MAX_RECEIPT_BATCH,
    too_many: "more than 256 entries",
};

/// `count (u32 BE) ‖ count × (length (u32 BE) ‖ wire)`, appended to `out`. Callers cut the
/// list to its cap where leaving entries out is harmless.
fn put_list(out: &mut BytesMut, items: impl Iterator<Item = Bytes>) {
    let items: Vec<Bytes> = items.collect();
    out.reserve(4 + items.iter().map(|item| 4 + item.len()).sum::<usize>());
    // Lists are cut to a cap of at most 256 or refused by the decoder: never near 4 G.
    out.put_u32(u32::try_from(items.len()).unwrap_or(u32::MAX));
    for item in &items {
        // Envelopes and sealed packages are far below 4 GiB under any frame cap.
        out.put_u32(u32::try_from(item.len()).unwrap_or(u32::MAX));
        out.put_slice(item);
    }
}

/// [`put_list`] on its own.
fn encode_list(items: impl Iterator<Item = Bytes>) -> Bytes {
    let mut out = BytesMut::new();
    put_list(&mut out, items);
    out.freeze()
}

/// The entries of a list, as zero-copy slices of `body`; the count is checked against the
/// list's cap and every length against what remains before anything is sliced.
fn decode_list(body: &Bytes, what: &'static str, cap: ListCap) -> Result<Vec<Bytes>, WireError> {
    let count = decode_u32_prefix(body, "a list count")?;
    if count > cap.max {
        return Err(WireError::Invalid {
            field: what,
            problem: cap.too_many,
        });
    }
    // Each entry takes at least its length prefix.
    let mut entries = Vec::with_capacity((count as usize).min((body.len() - 4) / 4));
    let mut at = 4;
    for _ in 0..count {
        let len = decode_u32_prefix(&body.slice(at..), "a list entry length")? as usize;
        at += 4;
        if body.len() - at < len {
            return Err(WireError::Truncated("a list entry"));
        }
        entries.push(body.slice(at..at + len));
        at += len;
    }
    if at < body.len() {
        return Err(WireError::TrailingBytes(body.len() - at));
    }
    Ok(entries)
}

/// The big-endian `u32` at the start of `bytes`.
fn decode_u32_prefix(bytes: &[u8], what: &'static str) -> Result<u32, WireError> {
    match bytes.get(..4) {
        Some(b) => Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        None => Err(WireError::Truncated(what)),
    }
}

/// The big-endian `u64` at the start of `bytes`.
fn decode_u64_prefix(bytes: &[u8], what: &'static str) -> Result<u64, WireError> {
    match bytes.get(..8) {
        Some(b) => Ok(u64::from_be_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ])),
        None => Err(WireError::Truncated(what)),
    }
}

/// A body that is exactly one big-endian `u32`.
fn decode_u32(body: &[u8], what: &'static str) -> Result<u32, WireError> {
    let value = decode_u32_prefix(body, what)?;
    if body.len() > 4 {
        return Err(WireError::TrailingBytes(body.len() - 4));
    }
    Ok(value)
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
    use crate::seal::{EncryptionSecret, HoldFields};
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
            Response::Receipts {
                receipts: Vec::new(),
                next_cursor: 0,
                more: false,
            },
            Response::Receipts {
                receipts: vec![r.clone()],
                next_cursor: u64::MAX,
                more: true,
            },
        ];
        for response in responses {
            let frame = response.encode();
            let back = Response::decode(frame.clone(), &limits).expect("decodes");
            assert_eq!(back.encode(), frame);
            assert_eq!(
                std::mem::discriminant(&back),
                std::mem::discriminant(&response)
            );
        }
        for (cursor, limit) in [(0, 1), (u64::MAX, MAX_RECEIPT_BATCH), (1 << 40, 17)] {
            let frame = Request::ReceiptsSince { cursor, limit }.encode();
            assert_eq!(frame.len(), 2 + 8 + 4);
            match Request::decode(frame, &limits).expect("decodes") {
                Request::ReceiptsSince {
                    cursor: c,
                    limit: l,
                } => assert_eq!((c, l), (cursor, limit)),
                other => panic!("{other:?}"),
            }
        }
        let page = Response::Receipts {
            receipts: vec![r.clone()],
            next_cursor: 42,
            more: true,
        };
        match Response::decode(page.encode(), &limits).expect("decodes") {
            Response::Receipts {
                receipts,
                next_cursor,
                more,
            } => assert_eq!((receipts, next_cursor, more), (vec![r], 42, true)),
            other => panic!("{other:?}"),
        }
    }

    fn receipts(key: &AgencyKey, count: u32) -> Vec<SignedReceipt> {
        let limits = EnvelopeLimits::default();
        let fields = receipt(key, &package(key)).fields().clone();
        (0..count)
            .map(|i| {
                let mut fields = fields.clone();
                fields.issued_at = Timestamp::from_millis(1_700_000_000_000 + u64::from(i));
                SignedReceipt::sign(key, fields, &limits).expect("signs")
            })
            .collect()
    }

    #[test]
    fn receipt_catch_up_counts_and_lists_are_strict() {
        let limits = EnvelopeLimits::default();
        let key = AgencyKey::generate().expect("key");
        for limit in [0, MAX_RECEIPT_BATCH + 1, u32::MAX] {
            let frame = Request::ReceiptsSince { cursor: 5, limit }.encode();
            assert!(
                matches!(
                    Request::decode(frame, &limits),
                    Err(WireError::Invalid {
                        field: "receipt limit",
                        ..
                    })
                ),
                "{limit}"
            );
        }
        let frame = Request::ReceiptsSince {
            cursor: 5,
            limit: 1,
        }
        .encode();
        for cut in 2..frame.len() {
            assert!(
                matches!(
                    Request::decode(frame.slice(..cut), &limits),
                    Err(WireError::Truncated(_))
                ),
                "{cut}"
            );
        }
        let mut long = frame.to_vec();
        long.push(0);
        assert!(matches!(
            Request::decode(Bytes::from(long), &limits),
            Err(WireError::TrailingBytes(1))
        ));

        // A full page round trips; one receipt more gives a frame the requester refuses.
        let full = receipts(&key, MAX_RECEIPT_BATCH + 1);
        let page = |receipts: &[SignedReceipt], more| Response::Receipts {
            receipts: receipts.to_vec(),
            next_cursor: 9,
            more,
        };
        let frame = page(&full[..MAX_RECEIPT_BATCH as usize], true).encode();
        match Response::decode(frame.clone(), &limits) {
            Ok(Response::Receipts { receipts, .. }) => {
                assert_eq!(receipts, full[..MAX_RECEIPT_BATCH as usize]);
            }
            other => panic!("{other:?}"),
        }
        assert!(frame.len() <= max_receipts_frame_len(&limits));
        assert!(matches!(
            Response::decode(page(&full, true).encode(), &limits),
            Err(WireError::Invalid {
                field: "receipts",
                problem: "more than 256 entries"
            })
        ));
        // A count over the cap is refused before anything is read.
        let mut frame = vec![1, TAG_RECEIPTS];
        frame.extend_from_slice(&9u64.to_be_bytes());
        frame.push(0);
        frame.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            Response::decode(Bytes::from(frame), &limits),
            Err(WireError::Invalid { .. })
        ));
        // The same receipt twice.
        let twice = page(&[full[0].clone(), full[1].clone(), full[0].clone()], false);
        assert!(matches!(
            Response::decode(twice.encode(), &limits),
            Err(WireError::Invalid {
                field: "receipts",
                problem: "a receipt is listed twice"
            })
        ));
        // A flag that is neither 0 nor 1.
        let mut frame = page(&full[..1], false).encode().to_vec();
        frame[2 + 8] = 2;
        assert!(matches!(
            Response::decode(Bytes::from(frame), &limits),
            Err(WireError::BadDetail(_))
        ));
        // Truncated anywhere, or with bytes after the last receipt.
        let frame = page(&full[..2], true).encode();
        for cut in 2..frame.len() {
            assert!(
                matches!(
                    Response::decode(frame.slice(..cut), &limits),
                    Err(WireError::Truncated(_))
                ),
                "{cut}"
            );
        }
        let mut long = frame.to_vec();
        long.push(0);
        assert!(matches!(
            Response::decode(Bytes::from(long), &limits),
            Err(WireError::TrailingBytes(1))
        ));
        // A tampered receipt in a page is refused.
        let mut tampered = frame.to_vec();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(
            Response::decode(Bytes::from(tampered), &limits),
            Err(WireError::Envelope(EnvelopeError::BadSignature { .. }))
        ));
    }

    #[test]
    fn a_page_of_the_largest_receipts_fits_the_default_frame_cap() {
        let limits = EnvelopeLimits::default();
        let bound = max_receipts_frame_len(&limits);
        // 256 × (4 + 8572) + 15, about 2.1 MiB; the node's default cap is 64 MiB + 64 KiB.
        assert_eq!(bound, 15 + 256 * (4 + limits.max_receipt_len()));
        assert!((2 << 20..3 << 20).contains(&bound), "{bound}");
        let key = AgencyKey::from_bytes(&[3; 32]);
        let mut fields = receipt(&key, &package(&key)).fields().clone();
        fields.document_id = Some("x".repeat(crate::envelope::MAX_DOCUMENT_ID_LEN));
        fields.description = Some("𡨸".repeat(limits.max_description_len));
        let largest = SignedReceipt::sign(&key, fields, &limits).expect("signs");
        // Only the agency ids are short of their longest (64 bytes each).
        assert!(limits.max_receipt_len() - largest.to_wire().len() < 2 * 64);
    }

    fn sealed(key: &AgencyKey, package: &SignedPackage) -> SealedPackage {
        let recipient_key = EncryptionSecret::derive(&AgencyKey::from_bytes(&[77; 32])).public();
        SealedPackage::seal(
            key,
            package,
            &package.recipients()[0],
            &recipient_key,
            &EnvelopeLimits::default(),
        )
        .expect("seals")
    }

    fn hold(relay: &AgencyKey, sealed: &SealedPackage) -> SignedHold {
        SignedHold::sign(
            relay,
            HoldFields::for_sealed(
                sealed,
                "000.00.99.H53".parse().expect("id"),
                Timestamp::from_millis(1_700_000_002_000),
            ),
        )
        .expect("signs")
    }

    #[test]
    fn every_mailbox_message_round_trips() {
        let limits = EnvelopeLimits::default();
        let key = AgencyKey::generate().expect("key");
        let p = package(&key);
        let s = sealed(&key, &p);
        let r = receipt(&key, &p);
        let requests = [
            Request::Deposit(s.clone()),
            Request::DeliverSealed(s.clone()),
            Request::MailboxFetch { limit: 1 },
            Request::MailboxFetch {
                limit: MAX_MAILBOX_BATCH,
            },
            Request::MailboxAck(Vec::new()),
            Request::MailboxAck(vec![r.clone()]),
            Request::RelayReceipt(r.clone()),
        ];
        for request in requests {
            let frame = request.encode();
            let back = Request::decode(frame.clone(), &limits).expect("decodes");
            assert_eq!(back.encode(), frame, "{request:?}");
            assert_eq!(
                std::mem::discriminant(&back),
                std::mem::discriminant(&request)
            );
        }
        let responses = [
            Response::Held(Box::new(hold(&key, &s))),
            Response::Mailbox(Vec::new()),
            Response::Mailbox(vec![s.clone()]),
            Response::Acked { count: 0 },
            Response::Acked {
                count: MAX_MAILBOX_BATCH,
            },
        ];
        for response in responses {
            let frame = response.encode();
            let back = Response::decode(frame.clone(), &limits).expect("decodes");
            assert_eq!(back.encode(), frame, "{response:?}");
        }
        // The decoded values are the ones sent, not just their encodings.
        match Request::decode(Request::Deposit(s.clone()).encode(), &limits).expect("decodes") {
            Request::Deposit(back) => assert_eq!(back, s),
            other => panic!("{other:?}"),
        }
        match Request::decode(Request::MailboxAck(vec![r.clone()]).encode(), &limits) {
            Ok(Request::MailboxAck(back)) => assert_eq!(back, vec![r]),
            other => panic!("{other:?}"),
        }
        match Response::decode(Response::Mailbox(vec![s.clone()]).encode(), &limits) {
            Ok(Response::Mailbox(back)) => assert_eq!(back, vec![s.clone()]),
            other => panic!("{other:?}"),
        }
        match Response::decode(Response::Held(Box::new(hold(&key, &s))).encode(), &limits) {
            Ok(Response::Held(back)) => assert_eq!(back.package_id(), s.id()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mailbox_counts_and_lists_are_strict() {
        let limits = EnvelopeLimits::default();
        let key = AgencyKey::generate().expect("key");
        let p = package(&key);
        let s = sealed(&key, &p);
        let r = receipt(&key, &p);
        for limit in [0, MAX_MAILBOX_BATCH + 1, u32::MAX] {
            let frame = Request::MailboxFetch { limit }.encode();
            assert!(
                matches!(
                    Request::decode(frame, &limits),
                    Err(WireError::Invalid { .. })
                ),
                "{limit}"
            );
        }
        assert!(matches!(
            Request::decode(
                Bytes::from_static(&[1, TAG_MAILBOX_FETCH, 0, 0, 1]),
                &limits
            ),
            Err(WireError::Truncated(_))
        ));
        assert!(matches!(
            Request::decode(
                Bytes::from_static(&[1, TAG_MAILBOX_FETCH, 0, 0, 0, 1, 0]),
                &limits
            ),
            Err(WireError::TrailingBytes(1))
        ));
        assert!(matches!(
            Response::decode(Response::Acked { count: 65 }.encode(), &limits),
            Err(WireError::Invalid { .. })
        ));

        // The same receipt twice, the same package twice.
        assert!(matches!(
            Request::decode(
                Request::MailboxAck(vec![r.clone(), r.clone()]).encode(),
                &limits
            ),
            Err(WireError::Invalid { .. })
        ));
        let twice = Response::Mailbox(vec![s.clone(), s.clone()]).encode();
        assert!(matches!(
            Response::decode(twice, &limits),
            Err(WireError::Invalid { .. })
        ));
        // Two sealings of one package for one recipient are one package too.
        let resealed = sealed(&key, &p);
        assert_ne!(resealed, s);
        let twice = Response::Mailbox(vec![s.clone(), resealed]).encode();
        assert!(matches!(
            Response::decode(twice, &limits),
            Err(WireError::Invalid { .. })
        ));

        // A count over the cap is refused before anything is read.
        let mut frame = vec![1, TAG_MAILBOX];
        frame.extend_from_slice(&(MAX_MAILBOX_BATCH + 1).to_be_bytes());
        assert!(matches!(
            Response::decode(Bytes::from(frame), &limits),
            Err(WireError::Invalid { .. })
        ));
        // An entry length past the end is truncation, not a huge allocation.
        let mut frame = vec![1, TAG_MAILBOX, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 1, 2];
        assert!(matches!(
            Response::decode(Bytes::from(frame.clone()), &limits),
            Err(WireError::Truncated(_))
        ));
        // A count larger than the entries present.
        frame.truncate(2);
        frame.extend_from_slice(&[0, 0, 0, 2]);
        frame.extend_from_slice(&(s.to_wire().len() as u32).to_be_bytes());
        frame.extend_from_slice(&s.to_wire());
        assert!(matches!(
            Response::decode(Bytes::from(frame.clone()), &limits),
            Err(WireError::Truncated(_))
        ));
        // Bytes after the last entry.
        let mut frame = Response::Mailbox(vec![s.clone()]).encode().to_vec();
        frame.push(0);
        assert!(matches!(
            Response::decode(Bytes::from(frame), &limits),
            Err(WireError::TrailingBytes(1))
        ));
        // A tampered sealed package inside a mailbox is refused.
        let mut frame = Response::Mailbox(vec![s.clone()]).encode().to_vec();
        let last = frame.len() - 1;
        frame[last] ^= 1;
        assert!(matches!(
            Response::decode(Bytes::from(frame), &limits),
            Err(WireError::Seal(SealError::CiphertextHashMismatch))
        ));
    }

    #[test]
    fn encoding_cuts_lists_to_the_cap() {
        let limits = EnvelopeLimits::default();
        let key = AgencyKey::generate().expect("key");
        let receipts: Vec<SignedReceipt> = (0..MAX_MAILBOX_BATCH + 3)
            .map(|i| {
                let mut fields = receipt(&key, &package(&key)).fields().clone();
                fields.issued_at = Timestamp::from_millis(1_700_000_000_000 + u64::from(i));
                SignedReceipt::sign(&key, fields, &limits).expect("signs")
            })
            .collect();
        match Request::decode(Request::MailboxAck(receipts.clone()).encode(), &limits) {
            Ok(Request::MailboxAck(back)) => {
                assert_eq!(back, receipts[..MAX_MAILBOX_BATCH as usize]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_mailbox_is_built_to_fit_the_frame_and_the_limit() {
        let limits = EnvelopeLimits::default();
        let key = AgencyKey::generate().expect("key");
        let held: Vec<SealedPackage> = (0..5)
            .map(|i| {
                let p = SignedPackage::sign(
                    &key,
                    PackageFields {
                        sender: "000.00.01.H53".parse().expect("id"),
                        recipients: vec!["000.00.02.H53".parse().expect("id")],
                        kind: MessageKind::Edoc,
                        created_at: Timestamp::from_millis(1_700_000_000_000 + i),
                    },
                    // The third package is much larger than the others.
                    Bytes::from(vec![b'x'; if i == 2 { 4000 } else { 100 }]),
                    &limits,
                )
                .expect("signs");
                sealed(&key, &p)
            })
            .collect();
        let entry = |s: &SealedPackage| 4 + s.to_wire().len();
        let small = entry(&held[0]);

        let Response::Mailbox(all) = Response::mailbox(held.clone(), 64, usize::MAX) else {
            panic!("a mailbox");
        };
        assert_eq!(all, held);
        let Response::Mailbox(two) = Response::mailbox(held.clone(), 2, usize::MAX) else {
            panic!("a mailbox");
        };
        assert_eq!(two, held[..2]);

        // Room for three small packages: the large one is skipped, not a blocker.
        let max_frame = 6 + 3 * small;
        let response = Response::mailbox(held.clone(), 64, max_frame);
        assert!(response.encode().len() <= max_frame);
        let Response::Mailbox(fitting) = response else {
            panic!("a mailbox");
        };
        assert_eq!(
            fitting,
            vec![held[0].clone(), held[1].clone(), held[3].clone()]
        );

        // Duplicates are left out, so the answer always decodes.
        let doubled = held.iter().chain(held.iter()).cloned();
        let response = Response::mailbox(doubled, 64, usize::MAX);
        assert!(Response::decode(response.encode(), &limits).is_ok());
        let Response::Mailbox(once) = response else {
            panic!("a mailbox");
        };
        assert_eq!(once, held);
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
            Request::decode(Bytes::from_static(&[1, 200, 0]), &limits),
            Err(WireError::UnknownTag { tag: 200, .. })
        ));
        assert!(matches!(
            Request::decode(Bytes::from_static(&[1, 1, 0, 0]), &limits),
            Err(WireError::Envelope(_))
        ));
        assert!(
            Response::decode(Bytes::from_static(&[1, 3, 1, 0, 0, 0, 9, b'x']), &limits).is_err()
        );
        assert!(Response::decode(Bytes::from_static(&[1, 4, 0]), &limits).is_err());
        assert!(matches!(
            Response::decode(Bytes::from_static(&[1, 200]), &limits),
            Err(WireError::UnknownTag { tag: 200, .. })
        ));
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
