//! The node's evidence log, above the store: signing checkpoints of it, on a timer and on
//! demand, and logging the rosters the node takes.
//!
//! The store appends a leaf for every fact in the fact's own transaction
//! (`store/evidence.rs`); what it cannot do is sign, since the agency key is not its
//! business. Here the node reads the log's frontier, signs a C2SP checkpoint over it with
//! its agency key (origin and key name [`origin`]), and keeps the note in the store before
//! anyone sees it, so a checkpoint handed out is always one the node can prove consistent
//! with later ones. A checkpoint is only signed when the log grew: the latest one is
//! answered otherwise.
//!
//! After each checkpoint, `witnessing.rs` presents it to this agency's witnesses and keeps
//! their cosignatures; `witness.rs` is the other side, on a node that witnesses; and
//! `timestamping.rs` has the TSA `[evidence] timestamp_url` names date it (RFC 3161).
//!
//! After each witnessing round, `announce.rs` publishes the checkpoint, with the
//! cosignatures it got, on the province's checkpoint topic, and answers checkpoint
//! catch-up; `heads.rs` is every node's other side: it keeps the latest verified head of
//! each member's log and raises the alarm when one does not extend it.
//!
//! `bundle.rs` exports one package's evidence bundle.
//!
//! `docs/evidence.md` has the leaf format, the API and what a witness checks.

use std::sync::Arc;

use bytes::Bytes;
use lienthong_protocol::OrganId;
use lienthong_protocol::tlog::{self, Checkpoint, Hash, Note, Verifier};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error};

use crate::clock;
use crate::context::NodeContext;
use crate::store::{Store, StoreError};
use crate::tasks::{Wake, Woken};

pub mod announce;
pub mod bundle;
pub mod heads;
pub mod source;
pub mod timestamping;
pub mod witness;
pub mod witnessing;

pub use timestamping::{TimestampSetupError, Timestamper};
pub use witnessing::EvidenceHandle;

/// The origin line of this agency's checkpoints, also the name its signature goes under:
/// `lienthong/<organ_id>`.
pub fn origin(organ_id: &OrganId) -> String {
    lienthong_protocol::evidence::origin(organ_id)
}

/// The verifier of an agency's checkpoints, from its roster key.
///
/// # Errors
/// [`tlog::NoteError`] when the agency id cannot be a key name.
pub fn verifier(
    organ_id: &OrganId,
    key: lienthong_protocol::keys::PublicKey,
) -> Result<Verifier, tlog::NoteError> {
    lienthong_protocol::evidence::checkpoint_verifier(organ_id, key)
}

/// A checkpoint this node signed, as kept in the store.
#[derive(Debug, Clone)]
pub struct SignedCheckpoint {
    /// The number of leaves it covers.
    pub size: u64,
    /// The root hash of those leaves.
    pub root: Hash,
    /// The signed note, as handed out.
    pub note: Bytes,
}

/// Why no checkpoint could be given.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The store could not be read or written.
    #[error("the evidence log is not available")]
    Store(#[from] StoreError),
    /// The checkpoint could not be written or signed (the origin is not a valid line or
    /// key name, which an agency id never makes).
    #[error("cannot sign a checkpoint: {0}")]
    Sign(String),
    /// A stored note no longer reads as a checkpoint.
    #[error("the stored checkpoint at size {size} does not read back: {reason}")]
    Stored {
        /// Its size.
        size: u64,
        /// What is wrong.
        reason: String,
    },
}

/// The latest checkpoint this node signed, if any.
///
/// # Errors
/// [`EvidenceError::Store`], [`EvidenceError::Stored`].
pub async fn latest(ctx: &NodeContext) -> Result<Option<SignedCheckpoint>, EvidenceError> {
    let stored = ctx.store.call(|store| store.latest_checkpoint()).await?;
    stored
        .map(|(size, note)| read_stored(size, note))
        .transpose()
}

/// The checkpoint this node signed at `size`, if it signed one.
///
/// # Errors
/// [`EvidenceError::Store`], [`EvidenceError::Stored`].
pub async fn at(ctx: &NodeContext, size: u64) -> Result<Option<SignedCheckpoint>, EvidenceError> {
    let stored = ctx
        .store
        .call(move |store| store.checkpoint_at(size))
        .await?;
    stored.map(|note| read_stored(size, note)).transpose()
}

/// Signs a checkpoint over the log as it is now, keeps it durably and returns it; or,
/// when the log has not grown since the latest one, returns that.
///
/// # Errors
/// [`EvidenceError`]: nothing was handed out.
pub async fn checkpoint(ctx: &Arc<NodeContext>) -> Result<SignedCheckpoint, EvidenceError> {
    let worker = ctx.clone();
    crate::tasks::blocking(move || checkpoint_now(&worker))
        .await
        .map_err(|e| EvidenceError::Sign(e.to_string()))?
}

/// [`checkpoint`], blocking: for the inbound workers, which answer checkpoint catch-up.
///
/// # Errors
/// [`EvidenceError`]: nothing was handed out.
pub fn checkpoint_now(ctx: &NodeContext) -> Result<SignedCheckpoint, EvidenceError> {
    checkpoint_with(&ctx.store, &ctx.organ_id, ctx.identity.agency_key())
}

/// [`checkpoint_now`] over `store`, by `organ_id`'s `key`: also for a stopped node's
/// store, opened by the CLI (`source::Stopped`). Blocking.
///
/// # Errors
/// [`EvidenceError`]: nothing was handed out.
pub fn checkpoint_with(
    store: &Store,
    organ_id: &OrganId,
    key: &lienthong_protocol::AgencyKey,
) -> Result<SignedCheckpoint, EvidenceError> {
    let tree = store.evidence_tree()?;
    if let Some((size, note)) = store.latest_checkpoint()?
        && size >= tree.size()
    {
        return read_stored(size, note);
    }
    let (size, root) = (tree.size(), tree.root());
    let origin = origin(organ_id);
    let text = Checkpoint::new(origin.clone(), size, root)
        .render()
        .map_err(|e| EvidenceError::Sign(e.to_string()))?;
    let note =
        tlog::sign_note(&text, &origin, key).map_err(|e| EvidenceError::Sign(e.to_string()))?;
    let note = Bytes::from(note.render());
    store.record_checkpoint(size, &note)?;
    debug!(size, root = %hex::encode(root), "evidence checkpoint signed");
    Ok(SignedCheckpoint { size, root, note })
}

fn read_stored(size: u64, note: Bytes) -> Result<SignedCheckpoint, EvidenceError> {
    let stored = |reason: String| EvidenceError::Stored { size, reason };
    let parsed = Note::parse(&note).map_err(|e| stored(e.to_string()))?;
    let checkpoint = Checkpoint::parse(parsed.text()).map_err(|e| stored(e.to_string()))?;
    Ok(SignedCheckpoint {
        size: checkpoint.size,
        root: checkpoint.root,
        note,
    })
}

/// Runs until `shutdown`: signs a checkpoint every `[evidence] checkpoint_interval` (the
/// first one at start, so a restarted node commits at once to what it recovered), and
/// logs every roster the node takes. Each checkpoint is then handed to the witnessing task
/// through `handle`.
pub(crate) async fn run(
    ctx: Arc<NodeContext>,
    handle: EvidenceHandle,
    shutdown: CancellationToken,
) {
    let mut wake = Wake::until(shutdown)
        .at_start()
        .every_after(ctx.config.evidence.checkpoint_interval)
        .on_roster(ctx.membership.clone());
    while let Some(woken) = wake.next().await {
        if matches!(woken, Woken::Start | Woken::Roster) {
            log_roster(&ctx).await;
        }
        if matches!(woken, Woken::Start | Woken::Tick) {
            match checkpoint(&ctx).await {
                Ok(_) => handle.checkpoint_signed(),
                Err(e) => error!(error = %e, "cannot sign a checkpoint of the evidence log"),
            }
        }
    }
}

/// Logs the roster the node holds now, unless a roster that new is logged already.
async fn log_roster(ctx: &NodeContext) {
    let Some(roster) = ctx.roster() else {
        return;
    };
    let serial = roster.serial();
    let sha256: [u8; 32] = {
        use sha2::Digest as _;
        sha2::Sha256::digest(roster.bundle().to_wire()).into()
    };
    let at = clock::now();
    match ctx
        .store
        .call(move |store| store.log_roster(serial, sha256, at))
        .await
    {
        Ok(Some(index)) => debug!(serial, index, "roster logged as evidence"),
        Ok(None) => {}
        Err(e) => error!(error = %e, serial, "cannot log the roster as evidence"),
    }
}
