//! Schema 3 → 4: the axis feed (`feed.rs`).
//!
//! Version 4 adds the feed's low-water marks (in `meta`) and the `feed_collected` tree,
//! which opening created empty. A missing mark reads as 0, the beginning of the receipt log:
//! every receipt the store already holds for its agency is offered to QLVB once through
//! `getReceivedEdocList`, as a QLVB that starts using the axis-compatible API expects from
//! a new axis account. So only the version is written.

use tracing::info;

use super::engine::Db;
use super::error::StoreError;
use super::keys::{self, Tree};

pub(super) fn run(db: &Db) -> Result<(), StoreError> {
    db.transaction("migrate 3 to 4", |tx| {
        tx.insert(Tree::Meta, keys::SCHEMA_VERSION, &4u32.to_be_bytes())
    })?;
    info!("axis feed added; it starts at the beginning of the receipt log");
    Ok(())
}
