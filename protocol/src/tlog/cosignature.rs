//! Witness cosignatures, C2SP [tlog-cosignature](https://c2sp.org/tlog-cosignature) v1
//! (the Ed25519 type, 0x04).
//!
//! A cosignature says "as of this time, this is the largest tree I have seen for this log,
//! and it is consistent with everything I saw before". The witness signs
//!
//! ```text
//! cosignature/v1
//! time <seconds since the epoch>
//! <checkpoint body>
//! ```
//!
//! and the signature line carries key id ‖ time (8 bytes, big-endian) ‖ signature, so
//! anyone can rebuild the message from the checkpoint and the line. The header keeps a
//! cosignature from ever being mistaken for the log's own signature over the body, and the
//! key id's type byte (0x04 rather than 0x01) keeps the lines apart.

use crate::keys::{AgencyKey, SIGNATURE_LEN, Signature};

use super::checkpoint::{Checkpoint, CheckpointError};
use super::note::{Note, NoteError, NoteSignature, SignatureType, Verifier, key_id};

/// The first line of the signed message.
pub const COSIGNATURE_HEADER: &str = "cosignature/v1\n";

/// The latest time a cosignature may carry: 2^63 − 1, as the format requires.
pub const MAX_COSIGNATURE_TIME: u64 = i64::MAX as u64;

/// Bytes after the key id: time and signature.
const PAYLOAD_LEN: usize = 8 + SIGNATURE_LEN;

/// Why a cosignature was not made or not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CosignatureError {
    /// What was to be cosigned is not a checkpoint.
    #[error("cosigned text is not a checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The witness's name is not a key name, or the note is malformed.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The time is past [`MAX_COSIGNATURE_TIME`].
    #[error("cosignature time {time} is past 2^63 - 1")]
    TimeOutOfRange {
        /// The time given or found.
        time: u64,
    },
    /// The verifier given is not a cosignature (type 0x04) verifier.
    #[error("verifier {name} is not a cosignature verifier")]
    NotACosigner {
        /// The verifier's name.
        name: String,
    },
    /// The line is not by this witness (another name or key id).
    #[error("signature line by {found} is not by witness {expected}")]
    NotFromWitness {
        /// The witness expected.
        expected: String,
        /// The name on the line.
        found: String,
    },
    /// The line's bytes after the key id are not time and signature.
    #[error("cosignature by {name} is {len} bytes after the key id, not {PAYLOAD_LEN}")]
    WrongLength {
        /// The witness's name.
        name: String,
        /// The length found.
        len: usize,
    },
    /// The signature does not verify over the checkpoint and time.
    #[error("cosignature by {name} does not verify")]
    BadSignature {
        /// The witness's name.
        name: String,
    },
    /// The note has no line by this witness.
    #[error("note has no cosignature by {name}")]
    Missing {
        /// The witness's name.
        name: String,
    },
    /// The note has more than one line by this witness.
    #[error("note has more than one cosignature by {name}")]
    Duplicate {
        /// The witness's name.
        name: String,
    },
}

/// The message a witness signs: the header, the time line and the checkpoint body.
pub fn cosigned_message(checkpoint_body: &str, time: u64) -> String {
    format!("{COSIGNATURE_HEADER}time {time}\n{checkpoint_body}")
}

/// Cosigns a checkpoint body (a note's text, which must parse as a [`Checkpoint`]) as the
/// witness `name` at `time` (seconds since the epoch).
///
/// The caller is responsible for the claim this makes: that the checkpoint is consistent
/// with everything the witness saw for the log. [`Witness`](super::Witness) checks that
/// before calling this.
///
/// # Errors
/// [`CosignatureError::Checkpoint`], [`CosignatureError::TimeOutOfRange`] or
/// [`CosignatureError::Note`] for a bad name.
pub fn cosign(
    checkpoint_body: &str,
    witness_key: &AgencyKey,
    name: &str,
    time: u64,
) -> Result<NoteSignature, CosignatureError> {
    Checkpoint::parse(checkpoint_body)?;
    if time > MAX_COSIGNATURE_TIME {
        return Err(CosignatureError::TimeOutOfRange { time });
    }
    let id = key_id(
        name,
        SignatureType::CosignatureV1,
        &witness_key.public_key(),
    );
    let signature = witness_key.sign(cosigned_message(checkpoint_body, time).as_bytes());
    let mut payload = Vec::with_capacity(PAYLOAD_LEN);
    payload.extend_from_slice(&time.to_be_bytes());
    payload.extend_from_slice(signature.as_bytes());
    Ok(NoteSignature::new(name, id, payload)?)
}

/// Checks that `line` is `witness`'s valid cosignature of `checkpoint_body` and returns the
/// time it carries.
///
/// # Errors
/// [`CosignatureError::NotACosigner`], [`CosignatureError::NotFromWitness`],
/// [`CosignatureError::WrongLength`], [`CosignatureError::TimeOutOfRange`] or
/// [`CosignatureError::BadSignature`].
pub fn verify_cosignature(
    checkpoint_body: &str,
    line: &NoteSignature,
    witness: &Verifier,
) -> Result<u64, CosignatureError> {
    if witness.kind() != SignatureType::CosignatureV1 {
        return Err(CosignatureError::NotACosigner {
            name: witness.name().into(),
        });
    }
    if !line.is_by(witness) {
        return Err(CosignatureError::NotFromWitness {
            expected: witness.name().into(),
            found: line.name().into(),
        });
    }
    let name = || witness.name().to_owned();
    let (time, signature) = line
        .signature()
        .split_first_chunk::<8>()
        .and_then(|(time, rest)| Some((time, <&[u8; SIGNATURE_LEN]>::try_from(rest).ok()?)))
        .ok_or(CosignatureError::WrongLength {
            name: name(),
            len: line.signature().len(),
        })?;
    let time = u64::from_be_bytes(*time);
    if time > MAX_COSIGNATURE_TIME {
        return Err(CosignatureError::TimeOutOfRange { time });
    }
    witness
        .public_key()
        .verify(
            cosigned_message(checkpoint_body, time).as_bytes(),
            &Signature::from_bytes(signature),
        )
        .map_err(|_| CosignatureError::BadSignature { name: name() })?;
    Ok(time)
}

/// Finds `witness`'s cosignature in a checkpoint note, checks it, and returns its time.
/// Lines by other keys are ignored, as the note format asks.
///
/// # Errors
/// [`CosignatureError::Missing`], [`CosignatureError::Duplicate`], or what
/// [`verify_cosignature`] reports.
pub fn find_cosignature(note: &Note, witness: &Verifier) -> Result<u64, CosignatureError> {
    let mut lines = note.signatures().iter().filter(|line| line.is_by(witness));
    let line = lines.next().ok_or(CosignatureError::Missing {
        name: witness.name().into(),
    })?;
    if lines.next().is_some() {
        return Err(CosignatureError::Duplicate {
            name: witness.name().into(),
        });
    }
    verify_cosignature(note.text(), line, witness)
}

#[cfg(test)]
mod tests {
    use super::super::note::sign_note;
    use super::super::note::tests::key;
    use super::*;

    const BODY: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    const TIME: u64 = 1_679_315_147;

    fn witness() -> Verifier {
        Verifier::new(
            "witness.example/w1",
            SignatureType::CosignatureV1,
            key(9).public_key(),
        )
        .unwrap()
    }

    #[test]
    fn message_is_header_time_and_body() {
        assert_eq!(
            cosigned_message(BODY, TIME),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n\
             CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn cosignature_verifies_alone_and_in_the_note() {
        let line = cosign(BODY, &key(9), "witness.example/w1", TIME).unwrap();
        assert_eq!(line.key_id(), witness().key_id());
        assert_eq!(&line.signature()[..8], TIME.to_be_bytes());
        assert_eq!(verify_cosignature(BODY, &line, &witness()), Ok(TIME));

        // Alongside the log's own signature, which the witness verifier ignores, and the
        // other way round.
        let mut note = sign_note(BODY, "example.com/behind-the-sofa", &key(1)).unwrap();
        note.add_signature(line.clone()).unwrap();
        let parsed = Note::parse(note.render().as_bytes()).unwrap();
        assert_eq!(find_cosignature(&parsed, &witness()), Ok(TIME));
        let log = super::super::note::tests::verifier("example.com/behind-the-sofa", 1);
        assert_eq!(parsed.verify(&[log]).unwrap().len(), 1);

        let reparsed = NoteSignature::parse(&line.to_string()).unwrap();
        assert_eq!(reparsed, line);
    }

    #[test]
    fn tampered_cosignatures_are_refused() {
        let line = cosign(BODY, &key(9), "witness.example/w1", TIME).unwrap();
        let bad = || {
            Err(CosignatureError::BadSignature {
                name: "witness.example/w1".into(),
            })
        };
        // Another checkpoint, another time, a changed signature byte.
        let other = BODY.replace("20852163", "20852164");
        assert_eq!(verify_cosignature(&other, &line, &witness()), bad());
        let mut later = line.signature().to_vec();
        later[7] ^= 1;
        let later = NoteSignature::new(line.name(), line.key_id(), later).unwrap();
        assert_eq!(verify_cosignature(BODY, &later, &witness()), bad());
        let mut flipped = line.signature().to_vec();
        flipped[40] ^= 1;
        let flipped = NoteSignature::new(line.name(), line.key_id(), flipped).unwrap();
        assert_eq!(verify_cosignature(BODY, &flipped, &witness()), bad());
        let short = NoteSignature::new(line.name(), line.key_id(), vec![0; 71]).unwrap();
        assert_eq!(
            verify_cosignature(BODY, &short, &witness()),
            Err(CosignatureError::WrongLength {
                name: "witness.example/w1".into(),
                len: 71
            })
        );
    }

    #[test]
    fn wrong_witness_wrong_type_and_bad_inputs_are_refused() {
        let line = cosign(BODY, &key(9), "witness.example/w1", TIME).unwrap();
        let other = Verifier::new(
            "witness.example/w2",
            SignatureType::CosignatureV1,
            key(9).public_key(),
        )
        .unwrap();
        assert!(matches!(
            verify_cosignature(BODY, &line, &other),
            Err(CosignatureError::NotFromWitness { .. })
        ));
        let plain = Verifier::new(
            "witness.example/w1",
            SignatureType::Ed25519,
            key(9).public_key(),
        )
        .unwrap();
        assert!(matches!(
            verify_cosignature(BODY, &line, &plain),
            Err(CosignatureError::NotACosigner { .. })
        ));
        assert_eq!(
            cosign(BODY, &key(9), "w", MAX_COSIGNATURE_TIME + 1),
            Err(CosignatureError::TimeOutOfRange {
                time: MAX_COSIGNATURE_TIME + 1
            })
        );
        assert!(matches!(
            cosign("not a checkpoint\n", &key(9), "w", TIME),
            Err(CosignatureError::Checkpoint(_))
        ));
        assert!(matches!(
            cosign(BODY, &key(9), "bad name", TIME),
            Err(CosignatureError::Note(_))
        ));

        let note = sign_note(BODY, "example.com/behind-the-sofa", &key(1)).unwrap();
        assert_eq!(
            find_cosignature(&note, &witness()),
            Err(CosignatureError::Missing {
                name: "witness.example/w1".into()
            })
        );
        let mut twice = note.clone();
        twice.add_signature(line.clone()).unwrap();
        twice.add_signature(line).unwrap();
        assert_eq!(
            find_cosignature(&twice, &witness()),
            Err(CosignatureError::Duplicate {
                name: "witness.example/w1".into()
            })
        );
    }
}
