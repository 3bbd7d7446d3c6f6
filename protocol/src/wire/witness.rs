//! Witnessing over the wire: a node presents its signed checkpoint and a consistency proof
//! to a witness, which cosigns it or refuses.
//!
//! The node cannot know for sure which head a witness last cosigned for it (the witness may
//! have lost its store, or the node its record of the last cosignature), so the request
//! says which size the proof starts from, and a witness that holds another head answers
//! [`WitnessAnswer::Holds`] with its size instead of deciding against a proof it cannot
//! use: the node then sends the proof from that size. One round trip when both agree, two
//! when they do not, and the witness never guesses.
//!
//! Everything a stranger sends is bounded before it is read: the note to
//! [`MAX_WITNESS_NOTE_LEN`] bytes, the proof to [`MAX_PROOF_HASHES`] hashes, the
//! cosignature line to [`MAX_COSIGNATURE_LINE_LEN`] bytes. The note and the proof are not
//! interpreted here: the witness's decision (`tlog::Witness`) checks them.

use bytes::{BufMut, Bytes, BytesMut};

use super::call::{Call, Refusal, refused};
use super::{Request, Response, WireError, decode_u32_prefix, decode_u64_prefix};
use crate::tlog::{self, Hash};

/// Largest signed checkpoint note a witness takes. A lienthong checkpoint with its one
/// signature is about 200 bytes; the room left is for extension lines.
pub const MAX_WITNESS_NOTE_LEN: usize = 16 * 1024;

/// Most hashes in a consistency proof: about two per level of a tree of 2^64 leaves.
pub const MAX_PROOF_HASHES: u32 = 130;
// The decoder's error text says 130.
const _: () = assert!(MAX_PROOF_HASHES == 130);

/// Longest cosignature line, in bytes: a name of at most a few hundred bytes and a
/// base64 signature of 80.
pub const MAX_COSIGNATURE_LINE_LEN: usize = 1024;

/// "Cosign my checkpoint": [`Request::Witness`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    /// The signed checkpoint note, as the node signed it.
    pub note: Bytes,
    /// The size of the head the node believes the witness last cosigned for it (0 when it
    /// knows of none): where `proof` starts.
    pub from_size: u64,
    /// Consistency proof from the tree of `from_size` leaves to the checkpoint's (empty
    /// when `from_size` is 0 or the checkpoint's size).
    pub proof: Vec<Hash>,
}

/// The answer to [`Witness`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessAnswer {
    /// The cosignature line to add to the note (`— <witness name> <base64>`): the witness
    /// keeps the checkpoint as the head it cosigned.
    Cosigned(String),
    /// The witness holds a head of this size for the node, not `from_size`: ask again with
    /// a proof from it. Nothing was decided.
    Holds(u64),
}

impl From<Witness> for Request {
    fn from(call: Witness) -> Request {
        Request::Witness(call)
    }
}

impl Call for Witness {
    type Answer = WitnessAnswer;
    const NAME: &'static str = "witness";

    fn answer(response: Response) -> Result<WitnessAnswer, Refusal> {
        match response {
            Response::Cosigned(line) => Ok(WitnessAnswer::Cosigned(line)),
            Response::WitnessHolds(size) => Ok(WitnessAnswer::Holds(size)),
            other => Err(refused(Self::NAME, other)),
        }
    }
}

impl From<WitnessAnswer> for Response {
    fn from(answer: WitnessAnswer) -> Response {
        match answer {
            WitnessAnswer::Cosigned(line) => Response::Cosigned(line),
            WitnessAnswer::Holds(size) => Response::WitnessHolds(size),
        }
    }
}

/// `from_size (u64 BE) ‖ note length (u32 BE) ‖ note ‖ count (u32 BE) ‖ count × hash`.
pub(super) fn encode_request(call: &Witness) -> Bytes {
    let mut body = BytesMut::with_capacity(8 + 4 + call.note.len() + 4 + call.proof.len() * 32);
    body.put_u64(call.from_size);
    // A note over the cap gives a frame the witness refuses; never near 4 GiB.
    body.put_u32(u32::try_from(call.note.len()).unwrap_or(u32::MAX));
    body.put_slice(&call.note);
    body.put_u32(u32::try_from(call.proof.len()).unwrap_or(u32::MAX));
    for hash in &call.proof {
        body.put_slice(hash);
    }
    body.freeze()
}

pub(super) fn decode_request(body: &Bytes) -> Result<Witness, WireError> {
    let from_size = decode_u64_prefix(body, "the witness's size")?;
    let note_len = decode_u32_prefix(&body[8..], "the note length")? as usize;
    if note_len > MAX_WITNESS_NOTE_LEN {
        return Err(WireError::Invalid {
            field: "checkpoint note",
            problem: "longer than 16 KiB",
        });
    }
    let rest = &body[12..];
    if rest.len() < note_len {
        return Err(WireError::Truncated("the checkpoint note"));
    }
    let note = body.slice(12..12 + note_len);
    let rest = &rest[note_len..];
    let count = decode_u32_prefix(rest, "the proof length")?;
    if count > MAX_PROOF_HASHES {
        return Err(WireError::Invalid {
            field: "consistency proof",
            problem: "more than 130 hashes",
        });
    }
    let proof = tlog::hashes_exact(&rest[4..], count as usize).map_err(|e| match e {
        tlog::HashRunError::Truncated => WireError::Truncated("the consistency proof"),
        tlog::HashRunError::Trailing(n) => WireError::TrailingBytes(n),
    })?;
    Ok(Witness {
        note,
        from_size,
        proof,
    })
}

/// `length (u32 BE) ‖ line`, the line cut to [`MAX_COSIGNATURE_LINE_LEN`].
pub(super) fn put_line(out: &mut BytesMut, line: &str) {
    let line = super::truncate_utf8(line, MAX_COSIGNATURE_LINE_LEN);
    out.put_u32(line.len() as u32);
    out.put_slice(line.as_bytes());
}

pub(super) fn decode_line(body: &[u8]) -> Result<String, WireError> {
    let len = decode_u32_prefix(body, "the cosignature length")? as usize;
    if len > MAX_COSIGNATURE_LINE_LEN {
        return Err(WireError::Invalid {
            field: "cosignature",
            problem: "longer than 1024 bytes",
        });
    }
    let rest = &body[4..];
    if rest.len() < len {
        return Err(WireError::Truncated("the cosignature"));
    }
    if rest.len() > len {
        return Err(WireError::TrailingBytes(rest.len() - len));
    }
    let line = std::str::from_utf8(rest).map_err(|_| WireError::Invalid {
        field: "cosignature",
        problem: "not UTF-8",
    })?;
    if line.contains('\n') {
        return Err(WireError::Invalid {
            field: "cosignature",
            problem: "more than one line",
        });
    }
    Ok(line.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::EnvelopeLimits;

    fn call() -> Witness {
        Witness {
            note: Bytes::from_static(b"lienthong/000.00.01.H53\n3\nAAAA\n\n\xe2\x80\x94 x y\n"),
            from_size: 2,
            proof: vec![[7; 32], [9; 32]],
        }
    }

    #[test]
    fn a_witness_request_and_its_answers_round_trip() {
        let limits = EnvelopeLimits::default();
        let frame = Request::Witness(call()).encode();
        match Request::decode(frame.clone(), &limits) {
            Ok(Request::Witness(back)) => assert_eq!(back, call()),
            other => panic!("{other:?}"),
        }
        let empty = Witness {
            proof: Vec::new(),
            from_size: 0,
            ..call()
        };
        match Request::decode(Request::Witness(empty.clone()).encode(), &limits) {
            Ok(Request::Witness(back)) => assert_eq!(back, empty),
            other => panic!("{other:?}"),
        }
        for answer in [
            WitnessAnswer::Cosigned("— lienthong-witness/000.00.00.H53 AbC=".to_owned()),
            WitnessAnswer::Holds(42),
        ] {
            let frame = Response::from(answer.clone()).encode();
            let back = Response::decode(frame, &limits).expect("decodes");
            assert_eq!(Witness::answer(back).expect("its kind"), answer);
        }
    }

    #[test]
    fn garbage_and_oversized_witness_frames_are_refused() {
        let limits = EnvelopeLimits::default();
        let frame = Request::Witness(call()).encode();
        // Truncated anywhere, or with a byte after the proof.
        for cut in 2..frame.len() {
            assert!(
                Request::decode(frame.slice(..cut), &limits).is_err(),
                "{cut}"
            );
        }
        let mut long = frame.to_vec();
        long.push(0);
        assert!(matches!(
            Request::decode(Bytes::from(long), &limits),
            Err(WireError::TrailingBytes(1))
        ));
        // A note length over the cap is refused before anything is read.
        let mut huge = vec![1, super::super::TAG_WITNESS];
        huge.extend_from_slice(&0u64.to_be_bytes());
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            Request::decode(Bytes::from(huge), &limits),
            Err(WireError::Invalid {
                field: "checkpoint note",
                ..
            })
        ));
        let big = Witness {
            note: Bytes::from(vec![b'x'; MAX_WITNESS_NOTE_LEN + 1]),
            ..call()
        };
        assert!(Request::decode(Request::Witness(big).encode(), &limits).is_err());
        // A proof over the cap.
        let long_proof = Witness {
            proof: vec![[0; 32]; MAX_PROOF_HASHES as usize + 1],
            ..call()
        };
        assert!(matches!(
            Request::decode(Request::Witness(long_proof).encode(), &limits),
            Err(WireError::Invalid {
                field: "consistency proof",
                ..
            })
        ));
        // Cosignatures: too long, two lines, not UTF-8, a size that is not 8 bytes.
        let line = |bytes: &[u8]| {
            let mut frame = vec![1, super::super::TAG_COSIGNED];
            frame.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            frame.extend_from_slice(bytes);
            Response::decode(Bytes::from(frame), &limits)
        };
        assert!(line(&[b'x'; MAX_COSIGNATURE_LINE_LEN + 1]).is_err());
        assert!(line(b"one\ntwo").is_err());
        assert!(line(&[0xff, 0xfe]).is_err());
        assert!(line(b"fine").is_ok());
        assert!(
            Response::decode(
                Bytes::from_static(&[1, super::super::TAG_WITNESS_HOLDS, 0, 1]),
                &limits
            )
            .is_err()
        );
        // Junk of every short length never panics.
        for len in 0..96 {
            let mut junk = vec![1, super::super::TAG_WITNESS];
            junk.extend((0..len).map(|i| (i * 53 % 251) as u8));
            let _ = Request::decode(Bytes::from(junk), &limits);
        }
    }
}
