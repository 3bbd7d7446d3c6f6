//! A witness's side: cosign a member's checkpoint only if it extends the last one this
//! node cosigned for that member, and raise the alarm when it does not.
//!
//! The decision is `tlog::Witness`'s (pure); here the node supplies what it needs: the
//! logs it knows (every member of the roster, under `lienthong/<organ_id>` with its roster
//! key), the last head it cosigned for the origin (from the store), and the time. A head
//! is stored before its cosignature is handed out; decisions are taken one at a time, so two
//! checkpoints of one log presented together cannot both be cosigned against the same old
//! head. A fork is stored as evidence, counted in `/metrics`
//! (`lienthong_evidence_forks_total{seen="witness"}`) and logged at ERROR naming the
//! agency: a log that signed two histories is the one thing a witness exists to catch.

use std::sync::{Arc, Mutex};

use lienthong_protocol::envelope::Timestamp;

use lienthong_protocol::tlog::{self, Hash, KnownLog, Refusal, Witness};
use lienthong_protocol::wire::{self, RejectReason, Rejection, WitnessAnswer};
use tracing::{debug, error};

use crate::clock;
use crate::context::NodeContext;
use crate::roster::membership::Membership;
use crate::store::{SeenFork, Store, StoreError};

/// The name this node's cosignatures go under: `lienthong-witness/<organ_id>`.
pub fn witness_name(organ_id: &lienthong_protocol::OrganId) -> String {
    lienthong_protocol::evidence::witness_name(organ_id)
}

/// Why a checkpoint got no cosignature.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The witness refused it (see [`Refusal::is_fork`] for the alarm).
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    /// Another checkpoint of the same log was cosigned meanwhile: present it again.
    #[error("another checkpoint of this log was cosigned meanwhile")]
    Raced,
    /// The witness's key name is not valid (an agency id never makes one).
    #[error("cannot act as a witness: {0}")]
    Setup(#[from] tlog::NoteError),
    /// The store could not be read or written; nothing was cosigned.
    #[error("the witness's records are not available")]
    Store(#[from] StoreError),
}

/// The logs a witness knows: every member of `roster`.
///
/// # Errors
/// [`tlog::NoteError`] when an agency id cannot be a key name.
pub fn known_logs(roster: &Membership) -> Result<Vec<KnownLog>, tlog::NoteError> {
    roster
        .members()
        .iter()
        .map(|member| {
            let organ = &member.record.organ_id;
            Ok(KnownLog {
                origin: super::origin(organ),
                verifier: super::verifier(organ, member.record.public_key)?,
            })
        })
        .collect()
}

/// Decides about `note` against what `store` keeps, and records the outcome durably:
/// the new head before its cosignature is returned, or the fork. Synchronous (the store
/// blocks); the caller takes decisions one at a time and raises the alarm on a fork.
///
/// # Errors
/// [`WitnessError`].
pub fn decide(
    store: &Store,
    witness: &Witness,
    note: &[u8],
    proof: &[Hash],
    now: Timestamp,
) -> Result<String, WitnessError> {
    let opened = witness.open(note)?;
    let origin = opened.origin();
    let last = store.witnessed(origin)?.and_then(|log| log.head);
    match witness.cosign(&opened, last, proof, now.as_millis() / 1000) {
        Ok(cosigned) => {
            if !store.record_cosigned(origin, last, cosigned.head, now)? {
                return Err(WitnessError::Raced);
            }
            debug!(origin, size = cosigned.head.size, "checkpoint cosigned");
            Ok(cosigned.signature.to_string())
        }
        Err(Refusal::Fork(fork)) => {
            let seen = SeenFork {
                seen: Some(fork.seen),
                presented: fork.presented,
                kind: fork.kind.to_string(),
                at: now,
            };
            store.record_fork(origin, &seen)?;
            Err(WitnessError::Refused(Refusal::Fork(fork)))
        }
        Err(other) => Err(WitnessError::Refused(other)),
    }
}

/// Answers a node's [`wire::Witness`] request against what `store` keeps: when the
/// request's proof starts from another size than the head held for that log, says which
/// size is held ([`WitnessAnswer::Holds`]) without deciding; otherwise [`decide`]s. A
/// checkpoint smaller than the head held is decided at once (a rollback is refused
/// whatever proof comes with it).
///
/// # Errors
/// [`WitnessError`], as [`decide`].
pub fn present(
    store: &Store,
    witness: &Witness,
    call: &wire::Witness,
    now: Timestamp,
) -> Result<WitnessAnswer, WitnessError> {
    let opened = witness.open(&call.note)?;
    let held = store
        .witnessed(opened.origin())?
        .and_then(|log| log.head)
        .map_or(0, |head| head.size);
    if call.from_size != held && opened.head().size >= held {
        return Ok(WitnessAnswer::Holds(held));
    }
    decide(store, witness, &call.note, &call.proof, now).map(WitnessAnswer::Cosigned)
}

/// One node's witness: decisions one at a time, the alarm raised on a fork. Only a node
/// with `[evidence] witness = true` has one.
#[derive(Debug, Default)]
pub struct WitnessDesk {
    deciding: Mutex<()>,
}

impl WitnessDesk {
    /// Answers `call` (a member's signed checkpoint and a consistency proof from the head
    /// it believes this node cosigned for it) with the cosignature line to add to the note,
    /// or the size of the head held. Blocking: runs on the inbound workers' threads.
    ///
    /// # Errors
    /// [`WitnessError`]; on a fork, the alarm has been raised.
    pub fn answer(
        &self,
        ctx: &NodeContext,
        call: &wire::Witness,
    ) -> Result<WitnessAnswer, WitnessError> {
        // A poisoned lock only means another decision panicked: the store is the truth.
        let _one_at_a_time = self
            .deciding
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let logs = match ctx.roster() {
            Some(roster) => known_logs(&roster)?,
            None => Vec::new(),
        };
        let witness = Witness::new(
            witness_name(&ctx.organ_id),
            Arc::new(ctx.identity.clone_key()),
            logs,
        )?;
        let decided = present(&ctx.store, &witness, call, clock::now());
        if let Err(WitnessError::Refused(Refusal::Fork(fork))) = &decided {
            ctx.metrics.fork("witness");
            error!(
                agency = fork.origin.strip_prefix("lienthong/").unwrap_or(&fork.origin),
                seen_size = fork.seen.size,
                presented_size = fork.presented.size,
                kind = %fork.kind,
                "an agency's evidence log does not extend what this witness cosigned: its history was rewritten"
            );
        }
        decided
    }
}

/// How a witness's refusal goes on the wire.
pub fn rejection(error: &WitnessError) -> Rejection {
    let reason = match error {
        WitnessError::Refused(Refusal::Fork(_)) => RejectReason::Fork,
        WitnessError::Refused(Refusal::UnknownOrigin { .. }) => RejectReason::UnknownAgency,
        WitnessError::Refused(Refusal::BadSignature { .. }) => RejectReason::WrongKey,
        WitnessError::Refused(Refusal::Rollback { .. }) => RejectReason::Stale,
        WitnessError::Refused(Refusal::Malformed(_) | Refusal::MalformedCheckpoint(_)) => {
            RejectReason::Malformed
        }
        WitnessError::Refused(_) | WitnessError::Setup(_) => RejectReason::NotAllowed,
        WitnessError::Raced | WitnessError::Store(_) => RejectReason::Unavailable,
    };
    Rejection {
        reason,
        detail: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use lienthong_protocol::AgencyKey;
    use lienthong_protocol::tlog::{Checkpoint, TreeHead, consistency_proof, root, sign_note};

    use super::*;

    /// Leaf hashes of one history: `label` tells histories apart.
    fn history(label: &str, size: usize) -> Vec<Hash> {
        (0..size)
            .map(|i| tlog::leaf_hash(format!("{label} fact {i}").as_bytes()))
            .collect()
    }

    struct Log {
        origin: String,
        key: AgencyKey,
    }

    impl Log {
        fn checkpoint(&self, leaves: &[Hash]) -> Vec<u8> {
            let text = Checkpoint::new(self.origin.clone(), leaves.len() as u64, root(leaves))
                .render()
                .unwrap();
            sign_note(&text, &self.origin, &self.key)
                .unwrap()
                .render()
                .into_bytes()
        }
    }

    fn setup() -> (tempfile::TempDir, Store, Log, Witness) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let organ = "000.00.01.H53".parse().unwrap();
        let log = Log {
            origin: super::super::origin(&organ),
            key: AgencyKey::generate().unwrap(),
        };
        let known = KnownLog {
            origin: log.origin.clone(),
            verifier: super::super::verifier(&organ, log.key.public_key()).unwrap(),
        };
        let witness = Witness::new(
            "lienthong-witness/000.00.00.H53",
            Arc::new(AgencyKey::generate().unwrap()),
            vec![known],
        )
        .unwrap();
        (dir, store, log, witness)
    }

    #[test]
    fn a_growing_log_is_cosigned_and_its_head_kept() {
        let (_dir, store, log, witness) = setup();
        let now = clock::now();
        let first = history("a", 5);
        let line = decide(&store, &witness, &log.checkpoint(&first), &[], now).unwrap();
        assert!(
            line.starts_with("— lienthong-witness/000.00.00.H53 "),
            "{line}"
        );
        let longer = history("a", 8);
        let proof = consistency_proof(&longer, 5).unwrap();
        decide(&store, &witness, &log.checkpoint(&longer), &proof, now).unwrap();
        // The same head again is cosigned again.
        decide(&store, &witness, &log.checkpoint(&longer), &[], now).unwrap();
        let kept = store.witnessed(&log.origin).unwrap().unwrap();
        assert_eq!(
            kept.head,
            Some(TreeHead {
                size: 8,
                root: root(&longer)
            })
        );
        assert_eq!(kept.fork, None);
    }

    /// A node whose store was wiped and rebuilt with another history presents a larger
    /// log with an honest proof of its own tree: it does not extend what was cosigned.
    #[test]
    fn a_rebuilt_history_is_refused_as_a_fork_and_kept_as_evidence() {
        let (_dir, store, log, witness) = setup();
        let now = clock::now();
        let original = history("original", 6);
        decide(&store, &witness, &log.checkpoint(&original), &[], now).unwrap();

        let rebuilt = history("rebuilt", 10);
        let proof = consistency_proof(&rebuilt, 6).unwrap();
        let refused = decide(&store, &witness, &log.checkpoint(&rebuilt), &proof, now);
        assert!(
            matches!(&refused, Err(WitnessError::Refused(r)) if r.is_fork()),
            "{refused:?}"
        );
        // Same size, other root: a fork too.
        let same_size = history("rebuilt", 6);
        let refused = decide(&store, &witness, &log.checkpoint(&same_size), &[], now);
        assert!(matches!(&refused, Err(WitnessError::Refused(r)) if r.is_fork()));

        let kept = store.witnessed(&log.origin).unwrap().unwrap();
        assert_eq!(
            kept.head.map(|head| head.size),
            Some(6),
            "the cosigned head stays"
        );
        let fork = kept.fork.expect("the first fork is kept");
        assert_eq!(fork.presented.size, 10);
        assert_eq!(store.witnessed_logs().unwrap().len(), 1);

        // A rollback is refused, but is no fork on its own.
        let older = history("original", 3);
        let refused = decide(&store, &witness, &log.checkpoint(&older), &[], now);
        assert!(matches!(&refused, Err(WitnessError::Refused(r)) if !r.is_fork()));
    }

    #[test]
    fn a_head_decided_against_a_stale_one_is_not_recorded() {
        let (_dir, store, log, _witness) = setup();
        let now = clock::now();
        let head = |size: u64| TreeHead {
            size,
            root: [size as u8; 32],
        };
        assert!(
            store
                .record_cosigned(&log.origin, None, head(3), now)
                .unwrap()
        );
        assert!(
            !store
                .record_cosigned(&log.origin, None, head(4), now)
                .unwrap()
        );
        assert!(
            store
                .record_cosigned(&log.origin, Some(head(3)), head(5), now)
                .unwrap()
        );
    }
}
