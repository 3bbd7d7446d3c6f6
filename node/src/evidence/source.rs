//! Where an export reads a node's evidence, and who signs a checkpoint when none covers
//! what it needs: the running node ([`Live`]), or a stopped node's store and key opened
//! by the CLI ([`Stopped`]). Bundles and archives are made the same way from either.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use lienthong_protocol::OrganId;
use lienthong_protocol::keys::AgencyKey;

use super::{EvidenceError, EvidenceHandle};
use crate::context::NodeContext;
use crate::store::Store;

/// See the module docs.
pub trait EvidenceSource: Sync {
    /// The node's store.
    fn store(&self) -> &Store;
    /// The node's agency.
    fn organ_id(&self) -> &OrganId;
    /// The roster in force, as its signed bundle; `None` before the node has one.
    fn roster_wire(&self) -> Option<Bytes>;
    /// Signs a checkpoint over the log as it is now (or answers the latest, when the log
    /// has not grown), keeps it and answers its size.
    fn sign_checkpoint(&self) -> impl Future<Output = Result<u64, EvidenceError>> + Send;
}

/// The running node.
#[derive(Debug, Clone, Copy)]
pub struct Live<'a> {
    /// Its context.
    pub ctx: &'a Arc<NodeContext>,
    /// Its evidence tasks, told of each checkpoint signed (for witnesses and the TSA).
    pub evidence: &'a EvidenceHandle,
}

impl EvidenceSource for Live<'_> {
    fn store(&self) -> &Store {
        &self.ctx.store
    }

    fn organ_id(&self) -> &OrganId {
        &self.ctx.organ_id
    }

    fn roster_wire(&self) -> Option<Bytes> {
        self.ctx.roster().map(|roster| roster.bundle().to_wire())
    }

    async fn sign_checkpoint(&self) -> Result<u64, EvidenceError> {
        let signed = super::checkpoint(self.ctx).await?;
        self.evidence.checkpoint_signed();
        Ok(signed.size)
    }
}

/// A stopped node: its store (opened, so locked), agency key and roster. A checkpoint it
/// signs is presented to the witnesses and the TSA by the node when it runs again.
pub struct Stopped {
    /// The store.
    pub store: Store,
    /// The agency.
    pub organ_id: OrganId,
    /// The agency key, which signs checkpoints.
    pub key: AgencyKey,
    /// The roster the node holds.
    pub roster: Option<Bytes>,
}

impl std::fmt::Debug for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stopped")
            .field("store", &self.store.path())
            .field("organ_id", &self.organ_id)
            .finish_non_exhaustive()
    }
}

impl EvidenceSource for Stopped {
    fn store(&self) -> &Store {
        &self.store
    }

    fn organ_id(&self) -> &OrganId {
        &self.organ_id
    }

    fn roster_wire(&self) -> Option<Bytes> {
        self.roster.clone()
    }

    async fn sign_checkpoint(&self) -> Result<u64, EvidenceError> {
        // A stopped node's store, opened by the CLI for one archive: nothing else waits on
        // this thread.
        super::checkpoint_with(&self.store, &self.organ_id, &self.key).map(|signed| signed.size)
    }
}
