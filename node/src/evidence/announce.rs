//! This node's checkpoints for everyone: published on its province's checkpoint topic
//! after each witnessing round, and answered to a member's checkpoint catch-up.
//!
//! A witness catches a log that rewrites its history only if that log shows it the same
//! checkpoints as everyone else; announcing each checkpoint to the province lets every node
//! hold the latest head of every member's log (`heads.rs`) and notice a history that does
//! not extend it. An announcement carries the note with the cosignatures this node holds
//! for it, and a consistency proof from the checkpoint it signed before (what the province
//! holds, if it saw the last announcement); a node holding another size asks by catch-up.

use bytes::Bytes;
use libp2p::PeerId;
use lienthong_protocol::OrganId;
use lienthong_protocol::evidence::Announcement;
use lienthong_protocol::tlog::{self, Note, NoteSignature};
use lienthong_protocol::wire::{RejectReason, Rejection};
use tracing::{debug, warn};

use super::{EvidenceError, SignedCheckpoint};
use crate::clock;
use crate::context::NodeContext;
use crate::store::Store;

/// Every checkpoint topic starts with this.
pub(crate) const TOPIC_PREFIX: &str = "lienthong/checkpoints/1/";

/// The checkpoint topic of `agency`'s province: its level-one code (`H53`), or `other`.
pub(crate) fn topic(agency: &OrganId) -> String {
    match agency.level_one() {
        Some(level) => format!("{TOPIC_PREFIX}{level}"),
        None => format!("{TOPIC_PREFIX}other"),
    }
}

/// The announcement of `checkpoint` with the cosignatures kept for it and a consistency
/// proof from the tree of `from` leaves (empty from 0 or from its own size). Blocking.
///
/// # Errors
/// [`EvidenceError`] when the store or the proof fails.
pub(crate) fn announcement(
    store: &Store,
    checkpoint: &SignedCheckpoint,
    from: u64,
) -> Result<Announcement, EvidenceError> {
    let size = checkpoint.size;
    let mut note = Note::parse(&checkpoint.note).map_err(|e| EvidenceError::Stored {
        size,
        reason: e.to_string(),
    })?;
    for (witness, line) in store.cosignatures(size)? {
        // Each was verified before it was kept; one that no longer reads is left out.
        match NoteSignature::parse(&line).map(|line| note.add_signature(line)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) | Err(e) => debug!(%witness, size, error = %e, "cosignature left out"),
        }
    }
    let proof = if from == 0 || from >= size {
        Vec::new()
    } else {
        let hashes = store.evidence_hashes(0..size)?;
        tlog::consistency_proof(&hashes, from)
            .map_err(|e| EvidenceError::Sign(format!("consistency proof: {e}")))?
    };
    Ok(Announcement {
        note: Bytes::from(note.render()),
        from_size: from.min(size),
        proof,
    })
}

/// Publishes `checkpoint` on this province's checkpoint topic, with a proof from the
/// checkpoint signed before it. Nobody subscribed yet is fine: members ask by catch-up.
pub(crate) async fn publish(ctx: &NodeContext, checkpoint: &SignedCheckpoint) {
    let size = checkpoint.size;
    let store = ctx.store.clone();
    let kept = checkpoint.clone();
    let built = ctx
        .store
        .call(move |_| {
            let from = store
                .checkpoint_sizes_above(0, 2)?
                .into_iter()
                .find(|s| *s < size)
                .unwrap_or(0);
            Ok(announcement(&store, &kept, from))
        })
        .await;
    let data = match built {
        Ok(Ok(announcement)) => announcement.encode(),
        Ok(Err(e)) => return warn!(size, error = %e, "cannot announce a checkpoint"),
        Err(e) => return warn!(size, error = %e, "cannot announce a checkpoint"),
    };
    match ctx.network.publish(&topic(&ctx.organ_id), data).await {
        Ok(()) => debug!(size, "checkpoint announced"),
        Err(e) => debug!(size, error = %e, "checkpoint not announced"),
    }
}

/// Answers a member's checkpoint catch-up: the latest checkpoint with a proof from
/// `from_size`; one signed now when the latest is smaller than the size asked from but the
/// log is not. Blocking: runs on the inbound workers.
///
/// # Errors
/// A [`Rejection`]: not a member, or a log smaller than the size asked from.
pub(crate) fn answer(
    ctx: &NodeContext,
    peer: PeerId,
    from_size: u64,
) -> Result<Announcement, Rejection> {
    let refuse = |reason, detail: String| Err(Rejection { reason, detail });
    let Some(roster) = ctx.roster() else {
        return refuse(
            RejectReason::UnknownAgency,
            "this node has no roster yet".into(),
        );
    };
    if roster.member_by_peer(&peer, clock::now()).is_none() {
        return refuse(
            RejectReason::UnknownAgency,
            format!("{peer} is not a member's node"),
        );
    }
    let unavailable = |e: EvidenceError| {
        warn!(error = %e, "cannot answer a checkpoint catch-up");
        Rejection {
            reason: RejectReason::Unavailable,
            detail: "the evidence log cannot be read now".into(),
        }
    };
    // The latest checkpoint, unless it is smaller than the size asked from (or there is
    // none yet): then one over the log as it is now.
    let stored = ctx
        .store
        .latest_checkpoint()
        .map_err(|e| unavailable(e.into()))?;
    let latest = match stored {
        Some((size, note)) if size >= from_size => super::read_stored(size, note),
        _ => super::checkpoint_now(ctx),
    }
    .map_err(unavailable)?;
    if latest.size < from_size {
        return refuse(
            RejectReason::Stale,
            format!(
                "this node's evidence log has {} leaves, fewer than the {from_size} asked from",
                latest.size
            ),
        );
    }
    announcement(&ctx.store, &latest, from_size).map_err(unavailable)
}
