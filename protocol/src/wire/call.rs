//! Typed calls: each kind of request names the answer it gets.
//!
//! [`Request`] and [`Response`] are the wire's two open enums: any frame may hold any
//! answer. A node that asks for a mailbox wants a [`Response::Mailbox`], and anything else
//! (but a refusal) means the peer does not follow the protocol. [`Call`] says that once per
//! kind: `Deliver` is answered by [`Delivered`], `Deposit` by a [`SignedHold`], and so on.
//! [`Call::answer`] turns a decoded response into the call's answer or a [`Refusal`], so a
//! caller handles the answer it asked for, a refusal, and nothing else.
//!
//! The answering side uses the same types the other way round: a handler returns its
//! call's answer or a [`Rejection`], and `Response::from` puts it on the wire. A handler
//! cannot answer with another kind's answer either.

use std::collections::HashSet;

use bytes::Bytes;

use super::{Rejection, Request, Response};
use crate::envelope::{SignedPackage, SignedReceipt};
use crate::roster::RosterVersion;
use crate::seal::{SealedPackage, SignedHold};

/// A request of one kind, and what a peer that takes it answers.
pub trait Call: Into<Request> {
    /// The answer to this kind of request.
    type Answer;

    /// What the request is, for logs: `"deliver"`, `"mailbox fetch"`, …
    const NAME: &'static str;

    /// The answer `response` carries, or why there is none.
    ///
    /// # Errors
    /// [`Refusal::Rejected`] and [`Refusal::Busy`] as the peer said;
    /// [`Refusal::Unexpected`] for an answer of another kind.
    fn answer(response: Response) -> Result<Self::Answer, Refusal>;
}

/// Why a call got no answer of its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The peer refused the request; nothing was stored.
    #[error("{0}")]
    Rejected(Rejection),
    /// The peer is overloaded; try again later.
    #[error("busy")]
    Busy,
    /// The peer answered with another kind of answer: it does not follow the protocol.
    #[error("answered a {call} request with {answer}")]
    Unexpected {
        /// The request's [`Call::NAME`].
        call: &'static str,
        /// What came back.
        answer: &'static str,
    },
}

/// Sorts out the answers every kind of request may get: a refusal, busy, or another kind.
pub(super) fn refused(call: &'static str, response: Response) -> Refusal {
    match response {
        Response::Rejected(rejection) => Refusal::Rejected(rejection),
        Response::Busy => Refusal::Busy,
        other => Refusal::Unexpected {
            call,
            answer: other.kind(),
        },
    }
}

impl Response {
    /// What kind of answer this is, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Response::Delivered { .. } => "delivered",
            Response::ReceiptAccepted { .. } => "receipt accepted",
            Response::Rejected(_) => "rejected",
            Response::Busy => "busy",
            Response::Roster(_) => "roster",
            Response::RosterCurrent => "roster current",
            Response::Held(_) => "held",
            Response::Mailbox(_) => "mailbox",
            Response::Acked { .. } => "acked",
            Response::Receipts { .. } => "receipts",
            Response::Cosigned(_) => "cosigned",
            Response::WitnessHolds(_) => "witness holds",
            Response::Checkpoint(_) => "checkpoint",
        }
    }
}

/// A refusal on the answering side, as the wire carries it.
impl From<Rejection> for Response {
    fn from(rejection: Rejection) -> Self {
        Response::Rejected(rejection)
    }
}

/// Declares a call: its request type, the `Request` variant it becomes, and how its
/// answer comes out of (and goes into) a `Response`.
macro_rules! call {
    (
        $(#[$doc:meta])*
        $call:ident => $answer:ty, $name:literal,
        into: |$this:ident| $into:expr,
        answer: $pattern:pat => $value:expr,
        respond: |$out:ident| $respond:expr $(,)?
    ) => {
        $(#[$doc])*
        impl From<$call> for Request {
            fn from($this: $call) -> Request {
                $into
            }
        }

        impl Call for $call {
            type Answer = $answer;
            const NAME: &'static str = $name;

            fn answer(response: Response) -> Result<$answer, Refusal> {
                match response {
                    $pattern => Ok($value),
                    other => Err(refused($name, other)),
                }
            }
        }

        impl From<$answer> for Response {
            fn from($out: $answer) -> Response {
                $respond
            }
        }
    };
}

/// A package for an agency the peer runs: [`Request::Deliver`].
#[derive(Debug, Clone)]
pub struct Deliver(pub SignedPackage);

/// A held package pushed by a relay to its member: [`Request::DeliverSealed`].
#[derive(Debug, Clone)]
pub struct DeliverSealed(pub SealedPackage);

/// The answer to [`Deliver`] and [`DeliverSealed`]: the package is durably stored, and
/// here is the recipient's receipt 01.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The recipient's signed receipt 01.
    pub receipt: SignedReceipt,
    /// Whether the package had arrived before (the receipt is the one given then).
    pub duplicate: bool,
}

call! {
    Deliver => Delivered, "deliver",
    into: |call| Request::Deliver(call.0),
    answer: Response::Delivered { receipt, duplicate } => Delivered { receipt: *receipt, duplicate },
    respond: |answer| Response::Delivered { receipt: Box::new(answer.receipt), duplicate: answer.duplicate },
}

impl From<DeliverSealed> for Request {
    fn from(call: DeliverSealed) -> Request {
        Request::DeliverSealed(call.0)
    }
}

impl Call for DeliverSealed {
    type Answer = Delivered;
    const NAME: &'static str = "deliver sealed";

    fn answer(response: Response) -> Result<Delivered, Refusal> {
        Deliver::answer(response).map_err(|refusal| match refusal {
            Refusal::Unexpected { answer, .. } => Refusal::Unexpected {
                call: Self::NAME,
                answer,
            },
            other => other,
        })
    }
}

/// A receipt about a package the peer's agency sent or received: [`Request::Receipt`].
#[derive(Debug, Clone)]
pub struct HandReceipt(pub SignedReceipt);

/// The answer to [`HandReceipt`]: the receipt is durably recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptAccepted {
    /// Whether it had been recorded before.
    pub duplicate: bool,
}

call! {
    HandReceipt => ReceiptAccepted, "receipt",
    into: |call| Request::Receipt(call.0),
    answer: Response::ReceiptAccepted { duplicate } => ReceiptAccepted { duplicate },
    respond: |answer| Response::ReceiptAccepted { duplicate: answer.duplicate },
}

/// "This is the roster I have": [`Request::RosterQuery`].
#[derive(Debug, Clone)]
pub struct RosterQuery(pub RosterVersion);

/// The answer to [`RosterQuery`].
#[derive(Debug, Clone)]
pub enum RosterAnswer {
    /// A roster bundle (its wire form), newer in some section.
    Newer(Bytes),
    /// The roster queried is as new as the peer's.
    Current,
}

impl From<RosterQuery> for Request {
    fn from(call: RosterQuery) -> Request {
        Request::RosterQuery(call.0)
    }
}

impl Call for RosterQuery {
    type Answer = RosterAnswer;
    const NAME: &'static str = "roster query";

    fn answer(response: Response) -> Result<RosterAnswer, Refusal> {
        match response {
            Response::Roster(bundle) => Ok(RosterAnswer::Newer(bundle)),
            Response::RosterCurrent => Ok(RosterAnswer::Current),
            other => Err(refused(Self::NAME, other)),
        }
    }
}

impl From<RosterAnswer> for Response {
    fn from(answer: RosterAnswer) -> Response {
        match answer {
            RosterAnswer::Newer(bundle) => Response::Roster(bundle),
            RosterAnswer::Current => Response::RosterCurrent,
        }
    }
}

/// A sealed package for a relay to hold: [`Request::Deposit`]. Answered by the relay's
/// signed hold, which is not a receipt.
#[derive(Debug, Clone)]
pub struct Deposit(pub SealedPackage);

call! {
    Deposit => SignedHold, "deposit",
    into: |call| Request::Deposit(call.0),
    answer: Response::Held(hold) => *hold,
    respond: |hold| Response::Held(Box::new(hold)),
}

/// "Give me what you hold for me": [`Request::MailboxFetch`].
#[derive(Debug, Clone, Copy)]
pub struct MailboxFetch {
    /// Most packages wanted, 1 to [`MAX_MAILBOX_BATCH`](super::MAX_MAILBOX_BATCH).
    pub limit: u32,
}

/// The answer to [`MailboxFetch`]: sealed packages held for the requester, oldest first.
#[derive(Debug, Clone)]
pub struct Mailbox(pub Vec<SealedPackage>);

impl Mailbox {
    /// What a relay answers a [`MailboxFetch`] with: from `held` (oldest first), at most
    /// `limit` packages and never more than [`MAX_MAILBOX_BATCH`](super::MAX_MAILBOX_BATCH),
    /// leaving out any package whose frame entry would take the frame past `max_frame_len`
    /// (it stays held, so one large package does not block the smaller ones behind it) and
    /// any second copy for the same package and recipient.
    pub fn fitting(
        held: impl IntoIterator<Item = SealedPackage>,
        limit: u32,
        max_frame_len: usize,
    ) -> Mailbox {
        let limit = limit.min(super::MAX_MAILBOX_BATCH) as usize;
        // Version, tag and count.
        let mut frame_len: usize = 2 + 4;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for sealed in held {
            if out.len() == limit {
                break;
            }
            let entry = 4 + sealed.to_wire().len();
            if frame_len.saturating_add(entry) > max_frame_len
                || !seen.insert((sealed.id(), sealed.recipient().clone()))
            {
                continue;
            }
            frame_len += entry;
            out.push(sealed);
        }
        Mailbox(out)
    }
}

call! {
    MailboxFetch => Mailbox, "mailbox fetch",
    into: |call| Request::MailboxFetch { limit: call.limit },
    answer: Response::Mailbox(held) => Mailbox(held),
    respond: |mailbox| Response::Mailbox(mailbox.0),
}

/// A member's receipts for packages it fetched: [`Request::MailboxAck`].
#[derive(Debug, Clone)]
pub struct MailboxAck(pub Vec<SignedReceipt>);

/// The answer to [`MailboxAck`] and [`RelayReceipt`]: how many were taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acked {
    /// Packages released from the mailbox, or 1 for a receipt queued to forward.
    pub count: u32,
}

call! {
    MailboxAck => Acked, "mailbox acknowledgement",
    into: |call| Request::MailboxAck(call.0),
    answer: Response::Acked { count } => Acked { count },
    respond: |acked| Response::Acked { count: acked.count },
}

/// A receipt for a relay to forward to an agency the issuer cannot reach:
/// [`Request::RelayReceipt`].
#[derive(Debug, Clone)]
pub struct RelayReceipt(pub SignedReceipt);

impl From<RelayReceipt> for Request {
    fn from(call: RelayReceipt) -> Request {
        Request::RelayReceipt(call.0)
    }
}

impl Call for RelayReceipt {
    type Answer = Acked;
    const NAME: &'static str = "relay receipt";

    fn answer(response: Response) -> Result<Acked, Refusal> {
        match response {
            Response::Acked { count } => Ok(Acked { count }),
            other => Err(refused(Self::NAME, other)),
        }
    }
}

/// "Give me the receipts you recorded after `cursor` that concern my agency":
/// [`Request::ReceiptsSince`].
#[derive(Debug, Clone, Copy)]
pub struct ReceiptsSince {
    /// The answering node's log position after which to look.
    pub cursor: u64,
    /// Most receipts wanted, 1 to [`MAX_RECEIPT_BATCH`](super::MAX_RECEIPT_BATCH).
    pub limit: u32,
}

/// The answer to [`ReceiptsSince`]: one page of the answering node's receipt log.
#[derive(Debug, Clone)]
pub struct ReceiptPage {
    /// The receipts, each as signed.
    pub receipts: Vec<SignedReceipt>,
    /// Where to ask from next time.
    pub next_cursor: u64,
    /// Whether asking again from `next_cursor` now would return more.
    pub more: bool,
}

call! {
    ReceiptsSince => ReceiptPage, "receipts since",
    into: |call| Request::ReceiptsSince { cursor: call.cursor, limit: call.limit },
    answer: Response::Receipts { receipts, next_cursor, more } => ReceiptPage { receipts, next_cursor, more },
    respond: |page| Response::Receipts { receipts: page.receipts, next_cursor: page.next_cursor, more: page.more },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::RejectReason;

    #[test]
    fn an_answer_of_another_kind_is_unexpected_and_a_refusal_is_a_refusal() {
        let answer = MailboxFetch::answer(Response::Acked { count: 1 });
        assert_eq!(
            answer.expect_err("another kind"),
            Refusal::Unexpected {
                call: "mailbox fetch",
                answer: "acked"
            }
        );
        let rejection = Rejection {
            reason: RejectReason::NotAllowed,
            detail: "not a relay".to_owned(),
        };
        assert_eq!(
            Deposit::answer(Response::Rejected(rejection.clone())).expect_err("refused"),
            Refusal::Rejected(rejection)
        );
        assert_eq!(
            DeliverSealed::answer(Response::Busy).expect_err("busy"),
            Refusal::Busy
        );
        assert_eq!(
            DeliverSealed::answer(Response::RosterCurrent).expect_err("another kind"),
            Refusal::Unexpected {
                call: "deliver sealed",
                answer: "roster current"
            }
        );
    }

    #[test]
    fn each_answer_goes_onto_the_wire_as_its_own_kind_and_back() {
        let page = ReceiptPage {
            receipts: Vec::new(),
            next_cursor: 7,
            more: true,
        };
        let back = ReceiptsSince::answer(Response::from(page)).expect("its own kind");
        assert_eq!((back.next_cursor, back.more), (7, true));
        let acked = MailboxAck::answer(Response::from(Acked { count: 3 })).expect("acked");
        assert_eq!(acked.count, 3);
        let current = RosterQuery::answer(Response::from(RosterAnswer::Current)).expect("current");
        assert!(matches!(current, RosterAnswer::Current));
    }
}
