//! Exporting the evidence bundle of one package (`protocol::evidence::bundle` is the format
//! and its verification): the exact edXML, the signed package, every receipt for it, the
//! roster in force, and each fact of the package in this node's log with its inclusion
//! proof to a signed checkpoint and the witnesses' cosignatures of that checkpoint.
//!
//! The checkpoint is the newest one covering every fact with the most evidence of its own
//! (cosigned and timestamped, else cosigned, else timestamped; see `covering_checkpoint`),
//! else the newest covering them all; when none covers them yet, one is signed now (and
//! presented to the witnesses and the TSA, which will answer for a later export).
//!
//! Relays' holds (`package_held`, `hold_recorded`) are not carried yet: their signed objects
//! are not in the bundle, so a verifier could not rebuild them.

use std::sync::Arc;

use lienthong_protocol::envelope::PackageId;
use lienthong_protocol::evidence::Fact;
use lienthong_protocol::evidence::bundle::{
    self, Bundle, BundleError, CheckpointEvidence, LoggedFact,
};
use lienthong_protocol::tlog;

use super::source::{EvidenceSource, Live};
use super::{EvidenceError, EvidenceHandle};
use crate::context::NodeContext;
use crate::store::{Store, StoreError};

/// Newest checkpoints looked at for a cosigned one.
const CHECKPOINTS_LOOKED_AT: usize = 64;

/// Why no bundle was made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// This node neither sent nor received the package.
    #[error("no package {0} on this node")]
    NotFound(PackageId),
    /// The node holds no roster, so nothing could prove the keys.
    #[error("this node holds no roster yet")]
    NoRoster,
    /// The package has no fact in the log (it came before the log began, schema 6).
    #[error("package {0} has no fact in this node's evidence log")]
    NotLogged(PackageId),
    /// The store could not be read.
    #[error("the store is not available")]
    Store(#[from] StoreError),
    /// No checkpoint could be given.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    /// The container could not be written, or a proof not made.
    #[error("cannot write the bundle: {0}")]
    Write(String),
}

impl From<BundleError> for ExportError {
    fn from(error: BundleError) -> Self {
        ExportError::Write(error.to_string())
    }
}

/// The `.asice` bytes of `package`'s evidence bundle, from the running node.
///
/// # Errors
/// [`ExportError`]; nothing is changed but, possibly, a new checkpoint signed.
pub async fn export(
    ctx: &Arc<NodeContext>,
    evidence: &EvidenceHandle,
    package: PackageId,
) -> Result<Vec<u8>, ExportError> {
    export_from(&Live { ctx, evidence }, package).await
}

/// The `.asice` bytes of `package`'s evidence bundle, from `source`: the running node, or
/// a stopped one's store.
///
/// # Errors
/// [`ExportError`]; nothing is changed but, possibly, a new checkpoint signed.
pub async fn export_from(
    source: &impl EvidenceSource,
    package: PackageId,
) -> Result<Vec<u8>, ExportError> {
    let roster_wire = source.roster_wire().ok_or(ExportError::NoRoster)?;
    let store = source.store();
    let (signed, receipts, leaves) = store
        .call(move |store| {
            Ok((
                store.package(&package)?,
                store.receipts(&package)?,
                store.evidence_leaves_about(&package)?,
            ))
        })
        .await?;
    let signed = signed.ok_or(ExportError::NotFound(package))?;
    // The facts a bundle carries: those whose signed objects it holds.
    let mut leaves = leaves;
    leaves.retain(|stored| {
        stored.leaf().is_ok_and(|leaf| {
            matches!(
                leaf.fact,
                Fact::PackageSubmitted { .. }
                    | Fact::PackageReceived { .. }
                    | Fact::ReceiptSigned { .. }
                    | Fact::ReceiptRecorded { .. }
            )
        })
    });
    let last = leaves
        .iter()
        .map(|l| l.index)
        .max()
        .ok_or(ExportError::NotLogged(package))?;

    let size = match covering_checkpoint(store, last).await? {
        Some(size) => size,
        None => source.sign_checkpoint().await?,
    };
    let (note, cosignatures, timestamp, hashes) = store
        .call(move |store| {
            Ok((
                store.checkpoint_at(size)?,
                store.cosignatures(size)?,
                store.timestamp_at(size)?,
                store.evidence_hashes(0..size)?,
            ))
        })
        .await?;
    let note = note.ok_or_else(|| ExportError::Write(format!("checkpoint {size} is gone")))?;
    let facts = leaves
        .into_iter()
        .map(|stored| {
            let proof = tlog::inclusion_proof(&hashes, stored.index)
                .map_err(|e| ExportError::Write(format!("leaf {}: {e}", stored.index)))?;
            Ok(LoggedFact {
                index: stored.index,
                leaf: stored.data,
                proof,
            })
        })
        .collect::<Result<Vec<_>, ExportError>>()?;
    let bundle = Bundle {
        edxml: signed.content().clone(),
        package: signed.to_wire(),
        receipts: receipts.iter().map(|r| r.to_wire()).collect(),
        rosters: vec![roster_wire],
        facts,
        checkpoint: CheckpointEvidence {
            size,
            note,
            cosignatures: cosignatures.into_iter().map(|(_, line)| line).collect(),
            timestamp,
        },
    };
    tokio::task::spawn_blocking(move || bundle::write(&bundle))
        .await
        .map_err(|e| ExportError::Write(e.to_string()))?
        .map_err(ExportError::from)
}

/// The newest checkpoint over leaf `last` with the most evidence of its own: cosigned by a
/// witness and timestamped by the TSA, else cosigned, else timestamped, else the newest.
async fn covering_checkpoint(store: &Store, last: u64) -> Result<Option<u64>, StoreError> {
    store
        .call(move |store| {
            let sizes = store.checkpoint_sizes_above(last, CHECKPOINTS_LOOKED_AT)?;
            let mut best: Option<(u8, u64)> = None;
            for size in sizes {
                let cosigned = !store.cosignatures(size)?.is_empty();
                let timestamped = store.timestamp_at(size)?.is_some();
                let rank = u8::from(cosigned) * 2 + u8::from(timestamped);
                // Newest first: a later checkpoint only wins with more evidence.
                if best.is_none_or(|(best_rank, _)| rank > best_rank) {
                    best = Some((rank, size));
                }
            }
            Ok(best.map(|(_, size)| size))
        })
        .await
}
