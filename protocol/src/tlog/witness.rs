//! The decision a witness makes before it cosigns a log's checkpoint.
//!
//! A witness cosigns a checkpoint only if it extends the last one it cosigned for that
//! log: same size and same root, or larger with a consistency proof from the old tree to
//! the new one. A log that deleted or changed a fact it had logged can produce neither, so
//! it cannot get a fresh cosignature for its new history, and the refusal is the alarm.
//!
//! This is split in two so that the node can look up what it needs in between:
//! [`Witness::open`] parses the note, finds the log by the checkpoint's origin and checks
//! the log's signature; the node then loads the last [`TreeHead`] it cosigned for that
//! origin and calls [`Witness::cosign`]. Nothing here stores anything: after a
//! [`Cosigned`], the node persists [`Cosigned::head`] as the new last head (before
//! publishing the cosignature, so that a crash cannot make it cosign a fork later).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::keys::AgencyKey;

use super::Hash;
use super::checkpoint::{Checkpoint, CheckpointError};
use super::cosignature::{CosignatureError, cosign};
use super::note::{Note, NoteError, NoteSignature, SignatureType, Verifier};
use super::proof::{ProofError, verify_consistency};

/// A tree head: what a witness remembers per log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeHead {
    /// The number of leaves.
    pub size: u64,
    /// The root hash at that size.
    pub root: Hash,
}

/// A log a witness knows: its origin line and the key its checkpoints are signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownLog {
    /// The checkpoint origin.
    pub origin: String,
    /// The log's Ed25519 note verifier.
    pub verifier: Verifier,
}

/// How a presented checkpoint contradicts what the witness saw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForkKind {
    /// The same size as the head the witness cosigned, with another root.
    #[error("same size, different root")]
    SameSizeDifferentRoot,
    /// A larger tree whose consistency proof from the cosigned head does not hold: either
    /// the log rewrote history, or it sent a damaged proof (the error says which check
    /// failed; [`ProofError::WrongLength`] points to damage rather than a rewrite).
    #[error("consistency proof fails: {0}")]
    InconsistentProof(ProofError),
}

/// Why a witness did not cosign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The bytes are not a signed note.
    #[error("not a signed note: {0}")]
    Malformed(#[source] NoteError),
    /// The note's text is not a checkpoint.
    #[error("not a checkpoint: {0}")]
    MalformedCheckpoint(#[source] CheckpointError),
    /// The witness does not witness this log.
    #[error("unknown log origin {origin:?}")]
    UnknownOrigin {
        /// The checkpoint's origin.
        origin: String,
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
    /// The checkpoint is smaller than the one the witness cosigned. A log must never sign
    /// a smaller tree after a larger one, but an old checkpoint replayed or delayed on the
    /// way gives this too, so on its own it is not proof of misbehaviour.
    #[error(
        "checkpoint of {origin} has {presented} leaves, fewer than the {seen} already cosigned"
    )]
    Rollback {
        /// The checkpoint's origin.
        origin: String,
        /// The size the witness cosigned.
        seen: u64,
        /// The size presented.
        presented: u64,
    },
    /// The checkpoint does not extend the history the witness cosigned: the log signed two
    /// different histories. This is the alarm. (Boxed: it is much larger than the other
    /// refusals.)
    #[error("{0}")]
    Fork(Box<Fork>),
    /// The cosignature could not be made (a time past 2^63 − 1).
    #[error("could not cosign: {0}")]
    Cosign(#[source] CosignatureError),
}

impl Refusal {
    /// Whether this refusal is evidence that the log presented two incompatible
    /// histories, signed with its key: the case to raise an alarm for.
    pub fn is_fork(&self) -> bool {
        matches!(self, Refusal::Fork(_))
    }
}

/// What a witness knows of a fork: the head it cosigned and the log-signed head that
/// contradicts it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "checkpoint of {origin} at size {} does not extend the cosigned size {}: {kind}",
    presented.size,
    seen.size
)]
pub struct Fork {
    /// The checkpoint's origin.
    pub origin: String,
    /// The head the witness cosigned.
    pub seen: TreeHead,
    /// The head presented.
    pub presented: TreeHead,
    /// How they contradict each other.
    pub kind: ForkKind,
}

/// A checkpoint whose note parsed and whose log signature verified; only
/// [`Witness::open`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedCheckpoint {
    note: Note,
    checkpoint: Checkpoint,
}

impl OpenedCheckpoint {
    /// The signed note.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The checkpoint in it.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The checkpoint's origin, to look the last cosigned head up by.
    pub fn origin(&self) -> &str {
        &self.checkpoint.origin
    }

    /// The checkpoint's tree head.
    pub fn head(&self) -> TreeHead {
        TreeHead {
            size: self.checkpoint.size,
            root: self.checkpoint.root,
        }
    }
}

/// A cosignature the witness decided to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The signature line to add to the checkpoint's note and publish.
    pub signature: NoteSignature,
    /// The head to remember as the last cosigned one for the origin.
    pub head: TreeHead,
    /// The time in the cosignature.
    pub time: u64,
}

/// A witness: its name and key, and the logs it witnesses.
#[derive(Debug, Clone)]
pub struct Witness {
    key: Arc<AgencyKey>,
    /// Its own cosignature verifier, which also holds its checked name.
    verifier: Verifier,
    logs: Vec<KnownLog>,
}

impl Witness {
    /// A witness named `name` (a note key name, e.g. `lienthong-witness/relay-1`).
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`].
    pub fn new(
        name: impl Into<String>,
        key: Arc<AgencyKey>,
        logs: Vec<KnownLog>,
    ) -> Result<Self, NoteError> {
        let verifier = Verifier::new(name, SignatureType::CosignatureV1, key.public_key())?;
        Ok(Witness {
            key,
            verifier,
            logs,
        })
    }

    /// The verifier clients check this witness's cosignatures with; its text form
    /// ([`Verifier`]'s `Display`) is what to publish.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Parses a signed checkpoint note and checks the log's signature on it.
    ///
    /// # Errors
    /// [`Refusal::Malformed`], [`Refusal::MalformedCheckpoint`], [`Refusal::UnknownOrigin`]
    /// or [`Refusal::BadSignature`].
    pub fn open(&self, signed_checkpoint: &[u8]) -> Result<OpenedCheckpoint, Refusal> {
        let note = Note::parse(signed_checkpoint).map_err(Refusal::Malformed)?;
        let checkpoint = Checkpoint::parse(note.text()).map_err(Refusal::MalformedCheckpoint)?;
        let log = self
            .logs
            .iter()
            .find(|log| log.origin == checkpoint.origin)
            .ok_or_else(|| Refusal::UnknownOrigin {
                origin: checkpoint.origin.clone(),
            })?;
        note.verify(std::slice::from_ref(&log.verifier))
            .map_err(|source| Refusal::BadSignature {
                origin: checkpoint.origin.clone(),
                source,
            })?;
        Ok(OpenedCheckpoint { note, checkpoint })
    }

    /// Decides whether to cosign `opened` given `last`, the head this witness last
    /// cosigned for its origin (`None` the first time: the first checkpoint is taken on
    /// trust), and `proof`, a consistency proof from `last` to the checkpoint.
    ///
    /// The same head as `last` is cosigned again with the new time, which tells clients
    /// the log is still at that head. The proof is not needed then, nor the first time.
    ///
    /// # Errors
    /// [`Refusal::Rollback`], [`Refusal::Fork`] or [`Refusal::Cosign`].
    pub fn cosign(
        &self,
        opened: &OpenedCheckpoint,
        last: Option<TreeHead>,
        proof: &[Hash],
        time: u64,
    ) -> Result<Cosigned, Refusal> {
        let presented = opened.head();
        let origin = || opened.origin().to_owned();
        if let Some(seen) = last {
            let fork = |kind| {
                Refusal::Fork(Box::new(Fork {
                    origin: origin(),
                    seen,
                    presented,
                    kind,
                }))
            };
            if presented.size < seen.size {
                return Err(Refusal::Rollback {
                    origin: origin(),
                    seen: seen.size,
                    presented: presented.size,
                });
            }
            if presented.size == seen.size {
                if presented.root != seen.root {
                    return Err(fork(ForkKind::SameSizeDifferentRoot));
                }
            } else {
                verify_consistency(
                    seen.size,
                    presented.size,
                    &seen.root,
                    &presented.root,
                    proof,
                )
                .map_err(|error| fork(ForkKind::InconsistentProof(error)))?;
            }
        }
        let signature = cosign(opened.note.text(), &self.key, self.verifier.name(), time)
            .map_err(Refusal::Cosign)?;
        Ok(Cosigned {
            signature,
            head: presented,
            time,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::cosignature::find_cosignature;
    use super::super::hash::root;
    use super::super::hash::tests::leaves;
    use super::super::note::sign_note;
    use super::super::note::tests::{key, verifier};
    use super::super::proof::consistency_proof;
    use super::*;

    const ORIGIN: &str = "lienthong/000.00.00.G22";
    const NOW: u64 = 1_780_000_000;

    fn witness() -> Witness {
        let logs = vec![KnownLog {
            origin: ORIGIN.into(),
            verifier: verifier(ORIGIN, 1),
        }];
        Witness::new("lienthong/witness/relay-1", Arc::new(key(7)), logs).unwrap()
    }

    /// The log's signed checkpoint over these leaves.
    fn checkpoint(leaves: &[Hash]) -> Vec<u8> {
        let body = Checkpoint::new(ORIGIN, leaves.len() as u64, root(leaves))
            .render()
            .unwrap();
        sign_note(&body, ORIGIN, &key(1))
            .unwrap()
            .render()
            .into_bytes()
    }

    fn head(leaves: &[Hash]) -> TreeHead {
        TreeHead {
            size: leaves.len() as u64,
            root: root(leaves),
        }
    }

    #[test]
    fn cosigns_an_honest_extension() {
        let w = witness();
        let log = leaves(20);
        let opened = w.open(&checkpoint(&log)).unwrap();
        assert_eq!(opened.origin(), ORIGIN);
        let proof = consistency_proof(&log, 12).unwrap();
        let cosigned = w
            .cosign(&opened, Some(head(&log[..12])), &proof, NOW)
            .unwrap();
        assert_eq!(cosigned.head, head(&log));
        assert_eq!(cosigned.time, NOW);

        // The cosignature, added to the log's note, verifies for clients of the witness.
        let mut note = opened.note().clone();
        note.add_signature(cosigned.signature).unwrap();
        let note = Note::parse(note.render().as_bytes()).unwrap();
        assert_eq!(find_cosignature(&note, w.verifier()), Ok(NOW));
        // And the note still opens for the next witness.
        w.open(note.render().as_bytes()).unwrap();
    }

    #[test]
    fn first_checkpoint_and_same_checkpoint_again_are_cosigned() {
        let w = witness();
        let log = leaves(5);
        let opened = w.open(&checkpoint(&log)).unwrap();
        assert!(w.cosign(&opened, None, &[], NOW).is_ok());
        assert!(w.cosign(&opened, Some(head(&log)), &[], NOW + 60).is_ok());
    }

    #[test]
    fn refuses_a_rollback() {
        let w = witness();
        let log = leaves(20);
        let opened = w.open(&checkpoint(&log[..10])).unwrap();
        assert_eq!(
            w.cosign(&opened, Some(head(&log)), &[], NOW),
            Err(Refusal::Rollback {
                origin: ORIGIN.into(),
                seen: 20,
                presented: 10
            })
        );
    }

    #[test]
    fn refuses_a_fork_at_the_same_size() {
        let w = witness();
        let honest = leaves(10);
        let mut other = honest.clone();
        other[9] = leaves(11)[10];
        let opened = w.open(&checkpoint(&other)).unwrap();
        let refusal = w
            .cosign(&opened, Some(head(&honest)), &[], NOW)
            .unwrap_err();
        assert!(refusal.is_fork());
        assert_eq!(
            refusal,
            Refusal::Fork(Box::new(Fork {
                origin: ORIGIN.into(),
                seen: head(&honest),
                presented: head(&other),
                kind: ForkKind::SameSizeDifferentRoot
            }))
        );
        assert_eq!(
            refusal.to_string(),
            "checkpoint of lienthong/000.00.00.G22 at size 10 does not extend the cosigned \
             size 10: same size, different root"
        );
    }

    #[test]
    fn refuses_a_log_that_deleted_a_fact_and_rebuilt() {
        // The witness cosigned 10 facts; the node deletes fact 3, appends new facts and
        // proves consistency from its rebuilt tree's first 10 leaves.
        let w = witness();
        let honest = leaves(10);
        let mut rebuilt = honest.clone();
        rebuilt.remove(3);
        rebuilt.extend(leaves(15)[10..].iter().copied());
        let opened = w.open(&checkpoint(&rebuilt)).unwrap();
        let proof = consistency_proof(&rebuilt, 10).unwrap();
        let refusal = w
            .cosign(&opened, Some(head(&honest)), &proof, NOW)
            .unwrap_err();
        let Refusal::Fork(fork) = refusal else {
            panic!("not a fork: {refusal}")
        };
        assert_eq!(
            fork.kind,
            ForkKind::InconsistentProof(ProofError::OldRootMismatch)
        );
        assert_eq!((fork.seen.size, fork.presented.size), (10, 14));
        // Without a proof it fares no better.
        let refusal = w
            .cosign(&opened, Some(head(&honest)), &[], NOW)
            .unwrap_err();
        assert!(matches!(
            refusal,
            Refusal::Fork(fork)
                if matches!(fork.kind, ForkKind::InconsistentProof(ProofError::WrongLength { .. }))
        ));
    }

    #[test]
    fn refuses_bad_signatures_unknown_logs_and_garbage() {
        let w = witness();
        let log = leaves(4);
        let body = Checkpoint::new(ORIGIN, 4, root(&log)).render().unwrap();

        // Signed by someone else under the log's name.
        let forged = sign_note(&body, ORIGIN, &key(2)).unwrap().render();
        assert!(matches!(
            w.open(forged.as_bytes()),
            Err(Refusal::BadSignature {
                source: NoteError::NoKnownSignature,
                ..
            })
        ));

        // The log's signature over another body.
        let genuine = String::from_utf8(checkpoint(&log)).unwrap();
        let tampered = genuine.replacen("\n4\n", "\n5\n", 1);
        assert!(matches!(
            w.open(tampered.as_bytes()),
            Err(Refusal::BadSignature {
                source: NoteError::BadSignature { .. },
                ..
            })
        ));

        let elsewhere = Checkpoint::new("other/log", 4, root(&log))
            .render()
            .unwrap();
        let elsewhere = sign_note(&elsewhere, "other/log", &key(1))
            .unwrap()
            .render();
        assert_eq!(
            w.open(elsewhere.as_bytes()),
            Err(Refusal::UnknownOrigin {
                origin: "other/log".into()
            })
        );

        assert!(matches!(w.open(b"garbage"), Err(Refusal::Malformed(_))));
        let not_checkpoint = sign_note("hello\n", ORIGIN, &key(1)).unwrap().render();
        assert!(matches!(
            w.open(not_checkpoint.as_bytes()),
            Err(Refusal::MalformedCheckpoint(_))
        ));
    }
}
