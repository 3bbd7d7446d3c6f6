//! Writing an archive when the node is stopped: the CLI opens the node's store (which
//! locks it: the node cannot start meanwhile), its agency key, which signs a checkpoint
//! over the period's last fact when none covers it yet, and its roster, and writes the
//! archive exactly as the running node does (`write.rs`). A checkpoint signed so is
//! presented to the witnesses and the TSA when the node runs again.

use std::path::Path;

use super::{ArchiveError, Period, Written, write_from};
use crate::config::Config;
use crate::data_dir::DataDir;
use crate::evidence::source::Stopped;
use crate::identity::Identity;
use crate::roster::membership::RosterKeeper;
use crate::store::Store;

/// Writes `period`'s archive of the stopped node of `data` to the new directory `dest`.
///
/// # Errors
/// [`ArchiveError`]: [`ArchiveError::Node`] when the node's config, key or roster cannot
/// be read, [`ArchiveError::Store`] when its store cannot be opened (the node runs);
/// `dest` is not created.
pub fn write_stopped(data: &DataDir, period: Period, dest: &Path) -> Result<Written, ArchiveError> {
    let node = |what: String| ArchiveError::Node(what);
    let config = Config::load(&data.config()).map_err(|e| node(e.to_string()))?;
    let identity = Identity::load(&data.agency_key()).map_err(|e| node(e.to_string()))?;
    let (_keeper, watch) = RosterKeeper::load(data.clone()).map_err(|e| node(e.to_string()))?;
    let roster = watch
        .borrow()
        .as_ref()
        .map(|membership| membership.bundle().to_wire());
    let store = Store::open(&data.store())?;
    let source = Stopped {
        store: store.clone(),
        organ_id: config.organ_id.clone(),
        key: identity.clone_key(),
        roster,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| node(format!("starting the runtime: {e}")))?;
    let written = runtime.block_on(write_from(&source, config.archive.retention, period, dest))?;
    store.flush()?;
    Ok(written)
}
