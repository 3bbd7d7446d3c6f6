//! Checkpoint catch-up: "give me your latest checkpoint, with a consistency proof from
//! this size".
//!
//! Checkpoint announcements travel on gossip, which a node misses while it is away or
//! before it joined; and an announcement's proof starts at the size the log announced
//! before, which a node may not hold. So a node asks a member's node directly, on each new
//! connection to it and whenever an announcement cannot be checked against the head it
//! holds, with [`CheckpointSince`]: the answer is an [`Announcement`] of the answering
//! node's latest checkpoint (with the cosignatures it holds) and a proof from `from_size`.
//! A `from_size` larger than the answering node's latest checkpoint is refused
//! ([`RejectReason::Stale`](super::RejectReason::Stale)), as is a request to a node that
//! has signed no checkpoint yet.

use bytes::Bytes;

use super::call::{Call, Refusal, refused};
use super::{Request, Response, WireError};
use crate::evidence::Announcement;

/// "Your latest checkpoint, with a proof from `from_size`": [`Request::CheckpointSince`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointSince {
    /// The size of the head the asking node holds for the answering node's log (0 for
    /// none): where the proof starts.
    pub from_size: u64,
}

impl From<CheckpointSince> for Request {
    fn from(call: CheckpointSince) -> Request {
        Request::CheckpointSince {
            from_size: call.from_size,
        }
    }
}

impl Call for CheckpointSince {
    type Answer = Announcement;
    const NAME: &'static str = "checkpoint since";

    fn answer(response: Response) -> Result<Announcement, Refusal> {
        match response {
            Response::Checkpoint(announcement) => Ok(*announcement),
            other => Err(refused(Self::NAME, other)),
        }
    }
}

impl From<Announcement> for Response {
    fn from(announcement: Announcement) -> Response {
        Response::Checkpoint(Box::new(announcement))
    }
}

/// The answer's body: the announcement's bytes.
pub(super) fn decode_answer(body: &Bytes) -> Result<Announcement, WireError> {
    Ok(Announcement::decode(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::EnvelopeLimits;
    use crate::keys::AgencyKey;
    use crate::tlog::{Checkpoint, sign_note};

    #[test]
    fn a_checkpoint_request_and_its_answer_round_trip() {
        let limits = EnvelopeLimits::default();
        for from_size in [0, 7, u64::MAX] {
            let frame = Request::from(CheckpointSince { from_size }).encode();
            match Request::decode(frame, &limits) {
                Ok(Request::CheckpointSince { from_size: back }) => assert_eq!(back, from_size),
                other => panic!("{other:?}"),
            }
        }
        let text = Checkpoint::new("lienthong/000.00.01.H53", 3, [9; 32])
            .render()
            .unwrap();
        let note = sign_note(
            &text,
            "lienthong/000.00.01.H53",
            &AgencyKey::from_bytes(&[1; 32]),
        )
        .unwrap()
        .render();
        let announcement = Announcement {
            note: Bytes::from(note),
            from_size: 2,
            proof: vec![[1; 32], [2; 32]],
        };
        let frame = Response::from(announcement.clone()).encode();
        let back = Response::decode(frame.clone(), &limits).expect("decodes");
        assert_eq!(back.encode(), frame);
        assert_eq!(
            CheckpointSince::answer(back).expect("its kind"),
            announcement
        );
        // Cut short, or with a byte more: refused.
        for cut in 2..frame.len() {
            assert!(
                Response::decode(frame.slice(..cut), &limits).is_err(),
                "{cut}"
            );
        }
        let mut long = frame.to_vec();
        long.push(0);
        assert!(Response::decode(Bytes::from(long), &limits).is_err());
        let mut long = Request::from(CheckpointSince { from_size: 1 })
            .encode()
            .to_vec();
        long.push(0);
        assert!(matches!(
            Request::decode(Bytes::from(long), &limits),
            Err(WireError::TrailingBytes(1))
        ));
    }
}
