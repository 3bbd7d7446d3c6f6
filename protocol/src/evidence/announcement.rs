//! A checkpoint announcement: what a node publishes on its province's checkpoint topic
//! after each witnessing round, and what it answers a checkpoint catch-up with.
//!
//! Witnesses catch a log that rewrites its history only if they see every checkpoint; a
//! log that shows one history to its witnesses and another to everyone else would escape
//! them. Announcing each checkpoint to the whole province makes every node a monitor: each
//! keeps the latest head per log, and a head that does not extend the one held is a fork,
//! seen by a plain member as surely as by a witness.
//!
//! An announcement is the signed checkpoint note, with the cosignature lines the node holds
//! for it, and a consistency proof from an earlier size of the same log (`from_size`, the
//! size of the checkpoint announced before, 0 for none):
//!
//! ```text
//! kind (u8, 1) ‖ from_size (u64 BE) ‖ note length (u32 BE) ‖ note ‖ count (u32 BE) ‖ count × hash (32)
//! ```
//!
//! [`Announcement::decode`] is strict and bounded: the note at most [`MAX_NOTE_LEN`] bytes
//! (checked before anything is read), the proof at most [`MAX_PROOF_HASHES`] hashes,
//! nothing after them, the note a signed note holding a checkpoint, `from_size` no larger
//! than the checkpoint's size. Signatures are checked by [`open`], which needs the roster:
//! the log's signature, and each cosignature line by a witness the caller knows.
//! [`follow`] is the decision a node makes against the head it holds: new, the same,
//! an extension, behind, unprovable from here (ask the log's node), or a fork.
//!
//! A witness that cosigns a checkpoint it got by gossip publishes the cosignature on the
//! same topic as a message of its own kind, [`WitnessCosignature`] (first byte 2), which
//! [`open_cosignature`] checks against the log's and the witness's keys.

use bytes::{BufMut, Bytes, BytesMut};

use crate::tlog::{
    self, Checkpoint, CheckpointError, CosignatureError, ForkKind, Hash, Note, NoteError,
    NoteSignature, TreeHead, Verifier, verify_consistency, verify_cosignature,
};

/// The first byte of an announcement: its kind. Other kinds are reserved for later messages
/// on the same topic (a witness's cosignature on its own).
pub const ANNOUNCEMENT_KIND: u8 = 1;

/// Largest signed note an announcement carries: a checkpoint (about 100 bytes), its
/// signature and up to a hundred cosignature lines fit many times over.
pub const MAX_NOTE_LEN: usize = 16 * 1024;

/// Most hashes in the consistency proof: about two per level of a tree of 2^64 leaves.
pub const MAX_PROOF_HASHES: usize = 130;

/// Kind, from_size, note length, proof count.
const FIXED_LEN: usize = 1 + 8 + 4 + 4;

/// Why bytes are not an announcement, or an announcement is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnnouncementError {
    /// The bytes end before this field.
    #[error("checkpoint announcement truncated while reading {0}")]
    Truncated(&'static str),
    /// The first byte names another kind of message.
    #[error("checkpoint announcement kind {0} is not supported (this node reads kind 1)")]
    UnsupportedKind(u8),
    /// The note is longer than [`MAX_NOTE_LEN`].
    #[error("checkpoint announcement note of {len} bytes is longer than {MAX_NOTE_LEN}")]
    NoteTooLong {
        /// The length declared.
        len: usize,
    },
    /// The proof holds more than [`MAX_PROOF_HASHES`] hashes.
    #[error("checkpoint announcement proof of {count} hashes is longer than {MAX_PROOF_HASHES}")]
    ProofTooLong {
        /// The count declared.
        count: usize,
    },
    /// The cosignature line is longer than [`MAX_LINE_LEN`].
    #[error("cosignature line of {len} bytes is longer than {MAX_LINE_LEN}")]
    LineTooLong {
        /// The length declared.
        len: usize,
    },
    /// The cosignature line is not a signature line.
    #[error("cosignature line is not a signature line: {0}")]
    Line(#[source] NoteError),
    /// Bytes after the proof.
    #[error("{0} bytes after the end of the checkpoint announcement")]
    TrailingBytes(usize),
    /// The note is not a signed note.
    #[error("checkpoint announcement note is not a signed note: {0}")]
    Note(#[source] NoteError),
    /// The note's text is not a checkpoint.
    #[error("checkpoint announcement note is not a checkpoint: {0}")]
    Checkpoint(#[source] CheckpointError),
    /// The proof starts from a tree larger than the checkpoint's.
    #[error(
        "checkpoint announcement proof starts at size {from_size}, past the checkpoint's {size}"
    )]
    FromSizeBeyond {
        /// The proof's starting size.
        from_size: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The checkpoint is of another log than the one expected.
    #[error("checkpoint of {found} announced as {expected}'s")]
    WrongOrigin {
        /// The origin expected (the publisher's log).
        expected: String,
        /// The origin in the checkpoint.
        found: String,
    },
    /// The log's signature is missing or does not verify.
    #[error("checkpoint of {origin} is not validly signed by the log: {source}")]
    BadSignature {
        /// The checkpoint's origin.
        origin: String,
        /// What the note check said.
        #[source]
        source: NoteError,
    },
    /// A cosignature line by a known witness does not verify, or a witness signed twice.
    #[error("cosignature line by {name} is not valid: {source}")]
    BadCosignature {
        /// The line's key name.
        name: String,
        /// What the check said.
        #[source]
        source: CosignatureError,
    },
}

/// A checkpoint announcement, decoded but not yet checked against the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The signed checkpoint note with the cosignature lines the node holds for it.
    pub note: Bytes,
    /// The size `proof` starts from: an earlier checkpoint of the same log, 0 for none.
    pub from_size: u64,
    /// Consistency proof from the tree of `from_size` leaves to the checkpoint's.
    pub proof: Vec<Hash>,
}

impl Announcement {
    /// The announcement's bytes. A note or a proof over the caps gives bytes that
    /// [`Announcement::decode`] refuses.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(FIXED_LEN + self.note.len() + self.proof.len() * 32);
        out.put_u8(ANNOUNCEMENT_KIND);
        out.put_u64(self.from_size);
        // Refused on decode when over the cap; never near 4 GiB.
        out.put_u32(u32::try_from(self.note.len()).unwrap_or(u32::MAX));
        out.put_slice(&self.note);
        out.put_u32(u32::try_from(self.proof.len()).unwrap_or(u32::MAX));
        for hash in &self.proof {
            out.put_slice(hash);
        }
        out.freeze()
    }

    /// Reads an announcement: the layout, the caps, and that the note is a signed
    /// checkpoint note whose size is at least `from_size`. The note stays a slice of `bytes`.
    ///
    /// # Errors
    /// An [`AnnouncementError`] naming the field that is wrong.
    pub fn decode(bytes: &Bytes) -> Result<Announcement, AnnouncementError> {
        let kind = *bytes
            .first()
            .ok_or(AnnouncementError::Truncated("the kind"))?;
        if kind != ANNOUNCEMENT_KIND {
            return Err(AnnouncementError::UnsupportedKind(kind));
        }
        let from_size = u64::from_be_bytes(take(bytes, 1, "the proof's starting size")?);
        let note_len = u32::from_be_bytes(take(bytes, 9, "the note length")?) as usize;
        if note_len > MAX_NOTE_LEN {
            return Err(AnnouncementError::NoteTooLong { len: note_len });
        }
        let note_end = 13 + note_len;
        if bytes.len() < note_end {
            return Err(AnnouncementError::Truncated("the note"));
        }
        let note = bytes.slice(13..note_end);
        let count = u32::from_be_bytes(take(bytes, note_end, "the proof length")?) as usize;
        if count > MAX_PROOF_HASHES {
            return Err(AnnouncementError::ProofTooLong { count });
        }
        let proof = tlog::hashes_exact(&bytes[note_end + 4..], count).map_err(|e| match e {
            tlog::HashRunError::Truncated => AnnouncementError::Truncated("the proof"),
            tlog::HashRunError::Trailing(n) => AnnouncementError::TrailingBytes(n),
        })?;
        let (_, checkpoint) = parse_note(&note)?;
        if from_size > checkpoint.size {
            return Err(AnnouncementError::FromSizeBeyond {
                from_size,
                size: checkpoint.size,
            });
        }
        Ok(Announcement {
            note,
            from_size,
            proof,
        })
    }
}

/// The first byte of a witness's cosignature published on its own.
pub const COSIGNATURE_KIND: u8 = 2;

/// Longest cosignature line a [`WitnessCosignature`] carries.
pub const MAX_LINE_LEN: usize = 1024;

/// A witness's cosignature of a member's checkpoint, published by the witness's node after
/// it cosigned a checkpoint it got by gossip:
///
/// ```text
/// kind (u8, 2) ‖ note length (u32 BE) ‖ note ‖ line length (u32 BE) ‖ line
/// ```
///
/// The note is the log's signed checkpoint note (what the witness cosigned), the line the
/// cosignature to add to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessCosignature {
    /// The log's signed checkpoint note.
    pub note: Bytes,
    /// The cosignature line (`— lienthong-witness/<organ_id> <base64>`).
    pub line: String,
}

impl WitnessCosignature {
    /// The message's bytes. A note or a line over the caps gives bytes
    /// [`WitnessCosignature::decode`] refuses.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(9 + self.note.len() + self.line.len());
        out.put_u8(COSIGNATURE_KIND);
        out.put_u32(u32::try_from(self.note.len()).unwrap_or(u32::MAX));
        out.put_slice(&self.note);
        out.put_u32(u32::try_from(self.line.len()).unwrap_or(u32::MAX));
        out.put_slice(self.line.as_bytes());
        out.freeze()
    }

    /// Reads the message: the layout, the caps, a signed checkpoint note and one
    /// signature line. Nothing is verified here: see [`open_cosignature`].
    ///
    /// # Errors
    /// An [`AnnouncementError`] naming the field that is wrong.
    pub fn decode(bytes: &Bytes) -> Result<WitnessCosignature, AnnouncementError> {
        let kind = *bytes
            .first()
            .ok_or(AnnouncementError::Truncated("the kind"))?;
        if kind != COSIGNATURE_KIND {
            return Err(AnnouncementError::UnsupportedKind(kind));
        }
        let note_len = u32::from_be_bytes(take(bytes, 1, "the note length")?) as usize;
        if note_len > MAX_NOTE_LEN {
            return Err(AnnouncementError::NoteTooLong { len: note_len });
        }
        let note_end = 5 + note_len;
        if bytes.len() < note_end {
            return Err(AnnouncementError::Truncated("the note"));
        }
        let note = bytes.slice(5..note_end);
        let line_len = u32::from_be_bytes(take(bytes, note_end, "the line length")?) as usize;
        if line_len > MAX_LINE_LEN {
            return Err(AnnouncementError::LineTooLong { len: line_len });
        }
        let rest = &bytes[note_end + 4..];
        if rest.len() < line_len {
            return Err(AnnouncementError::Truncated("the cosignature line"));
        }
        if rest.len() > line_len {
            return Err(AnnouncementError::TrailingBytes(rest.len() - line_len));
        }
        let line = std::str::from_utf8(rest)
            .map_err(|_| AnnouncementError::Line(NoteError::NotUtf8))?
            .to_owned();
        NoteSignature::parse(&line).map_err(AnnouncementError::Line)?;
        parse_note(&note)?;
        Ok(WitnessCosignature { note, line })
    }
}

/// Checks `cosignature` as `witness`'s cosignature of a checkpoint `log` signed; returns
/// the checkpoint and the line.
///
/// # Errors
/// [`AnnouncementError::WrongOrigin`], [`AnnouncementError::BadSignature`] or
/// [`AnnouncementError::BadCosignature`].
pub fn open_cosignature(
    cosignature: &WitnessCosignature,
    log: &Verifier,
    witness: &Verifier,
) -> Result<(Checkpoint, NoteSignature), AnnouncementError> {
    let (note, checkpoint) = parse_note(&cosignature.note)?;
    if checkpoint.origin != log.name() {
        return Err(AnnouncementError::WrongOrigin {
            expected: log.name().to_owned(),
            found: checkpoint.origin,
        });
    }
    note.verify(std::slice::from_ref(log))
        .map_err(|source| AnnouncementError::BadSignature {
            origin: checkpoint.origin.clone(),
            source,
        })?;
    let line = NoteSignature::parse(&cosignature.line).map_err(AnnouncementError::Line)?;
    verify_cosignature(note.text(), &line, witness).map_err(|source| {
        AnnouncementError::BadCosignature {
            name: line.name().to_owned(),
            source,
        }
    })?;
    Ok((checkpoint, line))
}

/// The `N` bytes at `at`.
fn take<const N: usize>(
    bytes: &[u8],
    at: usize,
    what: &'static str,
) -> Result<[u8; N], AnnouncementError> {
    bytes
        .get(at..at + N)
        .and_then(|b| b.try_into().ok())
        .ok_or(AnnouncementError::Truncated(what))
}

fn parse_note(note: &[u8]) -> Result<(Note, Checkpoint), AnnouncementError> {
    let parsed = Note::parse(note).map_err(AnnouncementError::Note)?;
    let checkpoint = Checkpoint::parse(parsed.text()).map_err(AnnouncementError::Checkpoint)?;
    Ok((parsed, checkpoint))
}

/// An announcement whose log signature and known cosignatures verified; only [`open`]
/// makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedAnnouncement {
    checkpoint: Checkpoint,
    cosignatures: Vec<NoteSignature>,
    from_size: u64,
    proof: Vec<Hash>,
}

impl OpenedAnnouncement {
    /// The checkpoint announced.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Its tree head.
    pub fn head(&self) -> TreeHead {
        TreeHead {
            size: self.checkpoint.size,
            root: self.checkpoint.root,
        }
    }

    /// The cosignature lines that verified against a known witness, in the note's order.
    pub fn cosignatures(&self) -> &[NoteSignature] {
        &self.cosignatures
    }

    /// The size the proof starts from.
    pub fn from_size(&self) -> u64 {
        self.from_size
    }
}

/// Checks `announcement` as `log`'s: the checkpoint's origin is `log`'s name and the log
/// signed it; every signature line but the log's is a cosignature, checked against the
/// verifier `witness` gives for its key name. A line whose name `witness` does not know
/// (a witness since removed from the roster, another ecosystem's) is left out, as the
/// signed-note format asks of unknown keys; a line by a known witness that does not verify,
/// or a second one by the same witness, refuses the whole announcement: the publisher
/// verified every line it holds, so a bad one is a forgery.
///
/// # Errors
/// [`AnnouncementError::WrongOrigin`], [`AnnouncementError::BadSignature`],
/// [`AnnouncementError::BadCosignature`], and the note's parse errors.
pub fn open(
    announcement: &Announcement,
    log: &Verifier,
    witness: impl Fn(&str) -> Option<Verifier>,
) -> Result<OpenedAnnouncement, AnnouncementError> {
    let (note, checkpoint) = parse_note(&announcement.note)?;
    if checkpoint.origin != log.name() {
        return Err(AnnouncementError::WrongOrigin {
            expected: log.name().to_owned(),
            found: checkpoint.origin,
        });
    }
    note.verify(std::slice::from_ref(log))
        .map_err(|source| AnnouncementError::BadSignature {
            origin: checkpoint.origin.clone(),
            source,
        })?;
    let mut cosignatures: Vec<NoteSignature> = Vec::new();
    for line in note.signatures() {
        if line.is_by(log) {
            continue;
        }
        let Some(verifier) = witness(line.name()) else {
            continue;
        };
        let bad = |source| AnnouncementError::BadCosignature {
            name: line.name().to_owned(),
            source,
        };
        if cosignatures.iter().any(|seen| seen.name() == line.name()) {
            return Err(bad(CosignatureError::Duplicate {
                name: line.name().to_owned(),
            }));
        }
        verify_cosignature(note.text(), line, &verifier).map_err(bad)?;
        cosignatures.push(line.clone());
    }
    Ok(OpenedAnnouncement {
        checkpoint,
        cosignatures,
        from_size: announcement.from_size,
        proof: announcement.proof.clone(),
    })
}

/// What a checkpoint announcement means to a node holding `held` for its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Follow {
    /// No head held: the first one is taken on trust, as a witness takes its first.
    First,
    /// The head held, again (perhaps with new cosignatures).
    Same,
    /// A larger tree, proved consistent with the head held.
    Extends,
    /// A smaller tree than the head held: an old announcement delayed or replayed, or a log
    /// that lost its store. Not proof on its own (a smaller checkpoint cannot be checked
    /// against a larger one); if the log rebuilt, its next larger checkpoint will fail.
    Behind {
        /// The size held.
        held: u64,
    },
    /// A larger tree whose proof starts elsewhere than the head held: nothing can be
    /// decided from it; ask the log's node for a proof from `held`.
    Unprovable {
        /// The size held, to ask from.
        held: u64,
    },
    /// The log signed a history that does not extend the head held: the alarm.
    Fork(ForkKind),
}

/// Decides what `opened` means against `held`, the head kept for its log.
pub fn follow(held: Option<TreeHead>, opened: &OpenedAnnouncement) -> Follow {
    let presented = opened.head();
    let Some(held) = held else {
        return Follow::First;
    };
    if presented.size < held.size {
        return Follow::Behind { held: held.size };
    }
    if presented.size == held.size {
        return if presented.root == held.root {
            Follow::Same
        } else {
            Follow::Fork(ForkKind::SameSizeDifferentRoot)
        };
    }
    if opened.from_size != held.size {
        return Follow::Unprovable { held: held.size };
    }
    match verify_consistency(
        held.size,
        presented.size,
        &held.root,
        &presented.root,
        &opened.proof,
    ) {
        Ok(()) => Follow::Extends,
        Err(error) => Follow::Fork(ForkKind::InconsistentProof(error)),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::keys::AgencyKey;
    use crate::tlog::{ProofError, consistency_proof, cosign, leaf_hash, root, sign_note};

    const ORIGIN: &str = "lienthong/000.00.01.H53";
    const WITNESS: &str = "lienthong-witness/000.00.90.H53";

    fn key(seed: u8) -> AgencyKey {
        AgencyKey::from_bytes(&[seed; 32])
    }

    fn leaves(label: &str, n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("{label} {i}").as_bytes()))
            .collect()
    }

    fn log() -> Verifier {
        crate::tlog::Verifier::new(
            ORIGIN,
            crate::tlog::SignatureType::Ed25519,
            key(1).public_key(),
        )
        .unwrap()
    }

    fn witness(name: &str) -> Option<Verifier> {
        (name == WITNESS).then(|| {
            Verifier::new(
                WITNESS,
                crate::tlog::SignatureType::CosignatureV1,
                key(7).public_key(),
            )
            .unwrap()
        })
    }

    /// The log's note over `leaves`, cosigned by the witness when `cosigned`.
    fn note(leaves: &[Hash], cosigned: bool) -> Bytes {
        let text = Checkpoint::new(ORIGIN, leaves.len() as u64, root(leaves))
            .render()
            .unwrap();
        let mut note = sign_note(&text, ORIGIN, &key(1)).unwrap();
        if cosigned {
            note.add_signature(cosign(&text, &key(7), WITNESS, 1_780_000_000).unwrap())
                .unwrap();
        }
        Bytes::from(note.render())
    }

    fn announce(leaves: &[Hash], from: usize) -> Announcement {
        Announcement {
            note: note(leaves, true),
            from_size: from as u64,
            proof: if from == 0 || from == leaves.len() {
                Vec::new()
            } else {
                consistency_proof(leaves, from as u64).unwrap()
            },
        }
    }

    fn head(leaves: &[Hash]) -> TreeHead {
        TreeHead {
            size: leaves.len() as u64,
            root: root(leaves),
        }
    }

    #[test]
    fn an_announcement_round_trips_and_opens_with_its_cosignature() {
        let history = leaves("a", 9);
        let a = announce(&history, 5);
        let bytes = a.encode();
        let back = Announcement::decode(&bytes).unwrap();
        assert_eq!(back, a);
        let opened = open(&back, &log(), witness).unwrap();
        assert_eq!(opened.head(), head(&history));
        assert_eq!(opened.cosignatures().len(), 1);
        assert_eq!(opened.cosignatures()[0].name(), WITNESS);
        assert_eq!(follow(Some(head(&history[..5])), &opened), Follow::Extends);
    }

    #[test]
    fn the_decoder_names_what_is_wrong() {
        let a = announce(&leaves("a", 9), 5).encode();
        for cut in 0..a.len() {
            assert!(
                matches!(
                    Announcement::decode(&a.slice(..cut)),
                    Err(AnnouncementError::Truncated(_) | AnnouncementError::Note(_))
                ),
                "{cut}"
            );
        }
        let mut long = a.to_vec();
        long.push(0);
        assert_eq!(
            Announcement::decode(&Bytes::from(long)),
            Err(AnnouncementError::TrailingBytes(1))
        );
        let mut kind = a.to_vec();
        kind[0] = 2;
        assert_eq!(
            Announcement::decode(&Bytes::from(kind)),
            Err(AnnouncementError::UnsupportedKind(2))
        );
        // A note length over the cap is refused before anything is read.
        let mut huge = vec![ANNOUNCEMENT_KIND];
        huge.extend_from_slice(&0u64.to_be_bytes());
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            Announcement::decode(&Bytes::from(huge)),
            Err(AnnouncementError::NoteTooLong {
                len: u32::MAX as usize
            })
        );
        let long_proof = Announcement {
            proof: vec![[0; 32]; MAX_PROOF_HASHES + 1],
            ..announce(&leaves("a", 9), 5)
        };
        assert_eq!(
            Announcement::decode(&long_proof.encode()),
            Err(AnnouncementError::ProofTooLong {
                count: MAX_PROOF_HASHES + 1
            })
        );
        let beyond = Announcement {
            from_size: 10,
            ..announce(&leaves("a", 9), 5)
        };
        assert_eq!(
            Announcement::decode(&beyond.encode()),
            Err(AnnouncementError::FromSizeBeyond {
                from_size: 10,
                size: 9
            })
        );
        let garbage = Announcement {
            note: Bytes::from_static(b"not a note"),
            ..announce(&leaves("a", 9), 5)
        };
        assert!(matches!(
            Announcement::decode(&garbage.encode()),
            Err(AnnouncementError::Note(_))
        ));
        let not_checkpoint = Announcement {
            note: Bytes::from(sign_note("hello\n", ORIGIN, &key(1)).unwrap().render()),
            ..announce(&leaves("a", 9), 5)
        };
        assert!(matches!(
            Announcement::decode(&not_checkpoint.encode()),
            Err(AnnouncementError::Checkpoint(_))
        ));
    }

    #[test]
    fn forged_notes_and_cosignatures_are_refused_and_unknown_witnesses_left_out() {
        let history = leaves("a", 4);
        let text = Checkpoint::new(ORIGIN, 4, root(&history)).render().unwrap();
        // Signed by another key under the log's name.
        let forged = Announcement {
            note: Bytes::from(sign_note(&text, ORIGIN, &key(2)).unwrap().render()),
            from_size: 0,
            proof: Vec::new(),
        };
        assert!(matches!(
            open(&forged, &log(), witness),
            Err(AnnouncementError::BadSignature { .. })
        ));
        // Another log's checkpoint.
        let other = Verifier::new(
            "lienthong/000.00.02.H53",
            crate::tlog::SignatureType::Ed25519,
            key(1).public_key(),
        )
        .unwrap();
        assert!(matches!(
            open(&announce(&history, 0), &other, witness),
            Err(AnnouncementError::WrongOrigin { .. })
        ));
        // A cosignature line by the known witness's name but another key.
        let mut note = sign_note(&text, ORIGIN, &key(1)).unwrap();
        let stranger = cosign(&text, &key(8), WITNESS, 1).unwrap();
        note.add_signature(stranger).unwrap();
        let bad = Announcement {
            note: Bytes::from(note.render()),
            from_size: 0,
            proof: Vec::new(),
        };
        assert!(matches!(
            open(&bad, &log(), witness),
            Err(AnnouncementError::BadCosignature { .. })
        ));
        // A witness twice.
        let mut note = sign_note(&text, ORIGIN, &key(1)).unwrap();
        for time in [1, 2] {
            note.add_signature(cosign(&text, &key(7), WITNESS, time).unwrap())
                .unwrap();
        }
        let twice = Announcement {
            note: Bytes::from(note.render()),
            from_size: 0,
            proof: Vec::new(),
        };
        assert!(matches!(
            open(&twice, &log(), witness),
            Err(AnnouncementError::BadCosignature { .. })
        ));
        // An unknown witness's line is left out.
        let mut note = sign_note(&text, ORIGIN, &key(1)).unwrap();
        note.add_signature(cosign(&text, &key(9), "lienthong-witness/x", 1).unwrap())
            .unwrap();
        let unknown = Announcement {
            note: Bytes::from(note.render()),
            from_size: 0,
            proof: Vec::new(),
        };
        assert!(
            open(&unknown, &log(), witness)
                .unwrap()
                .cosignatures()
                .is_empty()
        );
    }

    #[test]
    fn follow_tells_extensions_from_forks() {
        let honest = leaves("a", 10);
        let opened = |a: &Announcement| open(a, &log(), witness).unwrap();
        let held = Some(head(&honest[..6]));
        assert_eq!(follow(None, &opened(&announce(&honest, 0))), Follow::First);
        assert_eq!(
            follow(Some(head(&honest)), &opened(&announce(&honest, 6))),
            Follow::Same
        );
        assert_eq!(
            follow(held, &opened(&announce(&honest, 6))),
            Follow::Extends
        );
        assert_eq!(
            follow(held, &opened(&announce(&honest, 4))),
            Follow::Unprovable { held: 6 }
        );
        assert_eq!(
            follow(Some(head(&honest)), &opened(&announce(&honest[..6], 0))),
            Follow::Behind { held: 10 }
        );
        // Rebuilt with a fact deleted: an honest proof of the new tree fails.
        let mut rebuilt = honest.clone();
        rebuilt.remove(3);
        rebuilt.extend(leaves("b", 3));
        assert_eq!(
            follow(held, &opened(&announce(&rebuilt, 6))),
            Follow::Fork(ForkKind::InconsistentProof(ProofError::OldRootMismatch))
        );
        assert_eq!(
            follow(Some(head(&honest)), &opened(&announce(&rebuilt[..10], 0))),
            Follow::Fork(ForkKind::SameSizeDifferentRoot)
        );
    }

    #[test]
    fn a_witness_cosignature_round_trips_and_verifies() {
        let history = leaves("a", 5);
        let text = Checkpoint::new(ORIGIN, 5, root(&history)).render().unwrap();
        let note = Bytes::from(sign_note(&text, ORIGIN, &key(1)).unwrap().render());
        let line = cosign(&text, &key(7), WITNESS, 1_780_000_000)
            .unwrap()
            .to_string();
        let message = WitnessCosignature { note, line };
        let bytes = message.encode();
        let back = WitnessCosignature::decode(&bytes).unwrap();
        assert_eq!(back, message);
        let (checkpoint, line) =
            open_cosignature(&back, &log(), &witness(WITNESS).unwrap()).unwrap();
        assert_eq!(checkpoint.size, 5);
        assert_eq!(line.name(), WITNESS);
        // Another witness's key: refused.
        let other = Verifier::new(
            WITNESS,
            crate::tlog::SignatureType::CosignatureV1,
            key(8).public_key(),
        )
        .unwrap();
        assert!(matches!(
            open_cosignature(&back, &log(), &other),
            Err(AnnouncementError::BadCosignature { .. })
        ));
        // An announcement is not a cosignature, nor the other way round.
        assert_eq!(
            Announcement::decode(&bytes),
            Err(AnnouncementError::UnsupportedKind(COSIGNATURE_KIND))
        );
        for cut in 0..bytes.len() {
            assert!(
                WitnessCosignature::decode(&bytes.slice(..cut)).is_err(),
                "{cut}"
            );
        }
        let mut long = bytes.to_vec();
        long.push(b'x');
        assert!(WitnessCosignature::decode(&Bytes::from(long)).is_err());
        let two_lines = WitnessCosignature {
            line: "a\nb".into(),
            ..message
        };
        assert!(matches!(
            WitnessCosignature::decode(&two_lines.encode()),
            Err(AnnouncementError::Line(_))
        ));
    }

    proptest! {
        #[test]
        fn any_announcement_round_trips(
            size in 1usize..40,
            from in 0usize..40,
            extra in proptest::collection::vec(any::<[u8; 32]>(), 0..4),
        ) {
            let history = leaves("p", size);
            let from = from % (size + 1);
            let mut a = announce(&history, from);
            a.proof.extend(extra);
            let back = Announcement::decode(&a.encode()).unwrap();
            prop_assert_eq!(&back, &a);
            prop_assert_eq!(back.encode(), a.encode());
        }

        #[test]
        fn any_bytes_decode_or_fail_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let bytes = Bytes::from(bytes);
            if let Ok(a) = Announcement::decode(&bytes) {
                prop_assert_eq!(a.encode(), bytes);
            }
        }
    }
}
