//! The asking side of witnessing: after each checkpoint, present it to this agency's
//! witnesses and keep their cosignatures.
//!
//! Who witnesses: the roster says who relays for an agency but not who witnesses, so a
//! node asks its active relays in the roster (`relays_of`) and the agencies its operator
//! lists in `[evidence] witnesses` (the provincial monitoring office). Each must run with
//! `[evidence] witness = true`; one that does not refuses, and says so.
//!
//! Each witness is asked with a consistency proof from the size this node last got it to
//! cosign (kept in the store with the cosignature). A witness that holds another head says
//! which ([`WitnessAnswer::Holds`]) and is asked once more with a proof from there: after a
//! lost store on either side, one extra round trip. The cosignature that comes back is
//! verified against the witness's roster key before it is kept. A witness that cannot be
//! reached is asked again at the next checkpoint: that is logged at DEBUG, since a relay
//! restarting is no news; a refusal is a WARN, and a fork an ERROR.

use std::sync::Arc;

use lienthong_protocol::OrganId;
use lienthong_protocol::keys::PublicKey;
use lienthong_protocol::tlog::timestamp::TsaCertificate;
use lienthong_protocol::tlog::{self, Note, NoteSignature, SignatureType, Verifier};
use lienthong_protocol::wire::{RejectReason, Witness, WitnessAnswer};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, warn};

use super::witness::witness_name;
use super::{EvidenceError, SignedCheckpoint};
use crate::clock;
use crate::context::NodeContext;
use crate::outbound::{Outbound, OutboundError};

/// Wakes the witnessing and timestamping tasks when a checkpoint was signed (on the timer
/// or through the API). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct EvidenceHandle {
    signed: Arc<Notify>,
    pub(super) timestamp: Arc<Notify>,
    tsa: Option<Arc<TsaCertificate>>,
}

impl EvidenceHandle {
    /// Says a checkpoint was signed: the witnessing task presents the latest one soon, and
    /// the timestamping task asks the TSA to date it.
    pub fn checkpoint_signed(&self) {
        self.signed.notify_one();
        self.timestamp.notify_one();
    }

    /// The handle of a node whose checkpoints `tsa` timestamps.
    #[must_use]
    pub fn with_tsa(mut self, tsa: Arc<TsaCertificate>) -> Self {
        self.tsa = Some(tsa);
        self
    }

    /// The certificate of the TSA that timestamps this node's checkpoints, if one does.
    pub fn tsa(&self) -> Option<&TsaCertificate> {
        self.tsa.as_deref()
    }
}

/// Why a witness gave no cosignature this time.
#[derive(Debug, thiserror::Error)]
enum AskError {
    #[error(transparent)]
    Call(#[from] OutboundError),
    #[error("{0}")]
    Evidence(#[from] EvidenceError),
    #[error("its cosignature does not verify: {0}")]
    BadCosignature(String),
    #[error("it keeps answering with another head")]
    NoAgreement,
}

/// Runs until `shutdown`: each time a checkpoint is signed, presents the latest one to
/// every witness that has not cosigned it yet.
pub(crate) async fn run(
    ctx: Arc<NodeContext>,
    outbound: Outbound,
    handle: EvidenceHandle,
    shutdown: CancellationToken,
) {
    while shutdown
        .run_until_cancelled(handle.signed.notified())
        .await
        .is_some()
    {
        let latest = match super::latest(&ctx).await {
            Ok(Some(latest)) => latest,
            Ok(None) => continue,
            Err(e) => {
                error!(error = %e, "cannot read the latest checkpoint to have it witnessed");
                continue;
            }
        };
        let round = async {
            for (witness, key) in witnesses(&ctx) {
                present(&ctx, &outbound, &latest, &witness, key).await;
            }
            // Cosigned or not, the province sees it (`announce.rs`).
            super::announce::publish(&ctx, &latest).await;
        };
        // A node stopping does not finish the round: a witness that answers slowly would
        // hold the stop, and the announcement would meet a store already closing. What a
        // witness has not cosigned yet is presented again after the restart.
        if shutdown.run_until_cancelled(round).await.is_none() {
            break;
        }
    }
}

/// This agency's witnesses and their roster keys: its active relays, then the agencies
/// `[evidence] witnesses` lists, each once, never itself.
fn witnesses(ctx: &NodeContext) -> Vec<(OrganId, PublicKey)> {
    let Some(roster) = ctx.roster() else {
        return Vec::new();
    };
    let now = clock::now();
    let mut out: Vec<(OrganId, PublicKey)> = Vec::new();
    let relays = roster
        .relays_of(&ctx.organ_id, now)
        .into_iter()
        .map(|member| member.record.organ_id.clone());
    for organ in relays.chain(ctx.config.evidence.witnesses.iter().cloned()) {
        if organ == ctx.organ_id || out.iter().any(|(known, _)| *known == organ) {
            continue;
        }
        match roster.active(&organ, now) {
            Ok(Some(member)) => out.push((organ, member.record.public_key)),
            _ => debug!(witness = %organ, "a configured witness is not an active member"),
        }
    }
    out
}

/// Presents `checkpoint` to `witness` unless it cosigned it already, and keeps the
/// cosignature; logs what went wrong.
async fn present(
    ctx: &Arc<NodeContext>,
    outbound: &Outbound,
    checkpoint: &SignedCheckpoint,
    witness: &OrganId,
    key: PublicKey,
) {
    let size = checkpoint.size;
    match ask(ctx, outbound, checkpoint, witness, key).await {
        Ok(None) => {}
        Ok(Some(_)) => debug!(witness = %witness, size, "checkpoint cosigned"),
        Err(AskError::Call(OutboundError::Rejected { rejection, .. }))
            if rejection.reason == RejectReason::Fork =>
        {
            error!(witness = %witness, size, detail = %rejection.detail, "a witness refuses this node's checkpoint as a fork of the history it cosigned: this node's evidence log was rewritten or replaced");
        }
        Err(AskError::Call(e @ OutboundError::Rejected { .. })) => {
            warn!(witness = %witness, size, error = %e, "a witness refused this node's checkpoint");
        }
        Err(AskError::Call(e)) => {
            debug!(witness = %witness, size, error = %e, "witness not reached; asking again at the next checkpoint");
        }
        Err(e) => warn!(witness = %witness, size, error = %e, "no cosignature from a witness"),
    }
}

/// Asks `witness` to cosign `checkpoint`: `Ok(None)` when it had already.
async fn ask(
    ctx: &Arc<NodeContext>,
    outbound: &Outbound,
    checkpoint: &SignedCheckpoint,
    witness: &OrganId,
    key: PublicKey,
) -> Result<Option<String>, AskError> {
    let size = checkpoint.size;
    let who = witness.clone();
    let (mut from, done) = ctx
        .store
        .call(move |store| {
            let from = store.witness_size(&who)?;
            let done = store.cosignatures(size)?.iter().any(|(w, _)| *w == who);
            Ok((from, done))
        })
        .await
        .map_err(EvidenceError::from)?;
    if done {
        return Ok(None);
    }
    // The first answer may name another head; the second may not.
    for _ in 0..2 {
        let proof = proof_from(ctx, from, size).await?;
        let call = Witness {
            note: checkpoint.note.clone(),
            from_size: from,
            proof,
        };
        match outbound.call(witness, call).await? {
            WitnessAnswer::Holds(held) => {
                debug!(witness = %witness, held, believed = from, "the witness holds another head for this node");
                from = held;
            }
            WitnessAnswer::Cosigned(line) => {
                verify(checkpoint, witness, key, &line)?;
                let (who, kept) = (witness.clone(), line.clone());
                ctx.store
                    .call(move |store| store.record_cosignature(size, &who, &kept))
                    .await
                    .map_err(EvidenceError::from)?;
                return Ok(Some(line));
            }
        }
    }
    Err(AskError::NoAgreement)
}

/// The consistency proof from the tree of `from` leaves to the tree of `size` (empty from
/// nothing, from the same size, or from a larger tree, which the witness refuses anyway).
async fn proof_from(
    ctx: &NodeContext,
    from: u64,
    size: u64,
) -> Result<Vec<tlog::Hash>, EvidenceError> {
    if from == 0 || from >= size {
        return Ok(Vec::new());
    }
    let hashes = ctx
        .store
        .call(move |store| store.evidence_hashes(0..size))
        .await?;
    crate::tasks::blocking(move || tlog::consistency_proof(&hashes, from))
        .await
        .map_err(|e| EvidenceError::Sign(e.to_string()))?
        .map_err(|e| EvidenceError::Sign(format!("consistency proof: {e}")))
}

/// Checks that `line` is `witness`'s cosignature of `checkpoint` under its roster key.
fn verify(
    checkpoint: &SignedCheckpoint,
    witness: &OrganId,
    key: PublicKey,
    line: &str,
) -> Result<(), AskError> {
    let bad = |e: &dyn std::fmt::Display| AskError::BadCosignature(e.to_string());
    let note = Note::parse(&checkpoint.note).map_err(|e| bad(&e))?;
    let signature = NoteSignature::parse(line).map_err(|e| bad(&e))?;
    let verifier = Verifier::new(witness_name(witness), SignatureType::CosignatureV1, key)
        .map_err(|e| bad(&e))?;
    tlog::verify_cosignature(note.text(), &signature, &verifier).map_err(|e| bad(&e))?;
    Ok(())
}
