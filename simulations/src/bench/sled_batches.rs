//! sled's own rate for the writes one submission makes, batched as the node's group commit
//! batches them: the ceiling of ingest on this machine for as long as the store is sled 0.34.
//!
//! A submission writes about ten keys over six trees (the package's 10 KB, its record, the
//! outbox entry for each recipient and the indexes that find them), after two lookups that
//! check it is new. The node applies concurrent submissions in one transaction over all of
//! its trees and makes each batch durable with one flush. This does the same with sled
//! alone, from one thread with nothing else running: no HTTP, no parsing, no signing, no
//! thread hand-offs. The node's ingest can only approach it.

use std::time::Instant;

use anyhow::Context as _;
use sled::Transactional as _;
use sled::transaction::{ConflictableTransactionResult, TransactionalTree};

use super::Figure;

/// The node's store has this many trees, and its transactions span them all.
const TREES: usize = 25;
/// Submissions per transaction: what the node's batches held under the ingest figure's
/// 64 clients (12 to 15 on two cores).
const BATCH: usize = 14;
/// Batches measured.
const BATCHES: usize = 300;
/// The package bytes of a 10 KB document, signed.
const PACKAGE_BYTES: usize = 10 * 1024 + 600;

/// Which tree each kind of key goes to, as the node's schema places them.
const PACKAGES: usize = 1;
const OUTGOING: usize = 2;
const OUTGOING_BY_TIME: usize = 3;
const OUTBOX: usize = 4;
const OUTBOX_PENDING: usize = 5;
const DOCUMENTS: usize = 6;
const META: usize = 0;

/// Submissions per second that sled makes durable when they arrive in batches of
/// [`BATCH`], each batch one transaction and one flush: sled's, then an fsync of its log,
/// as the node's store makes a batch durable.
pub(super) fn submission_batches_rate() -> anyhow::Result<Figure> {
    let (per_s, _) = run_batches(BATCHES)?;
    Ok(Figure::new(
        "sled_submission_batches",
        per_s,
        "docs/s",
        None,
    ))
}

/// Applies `batches` batches; returns submissions per second and how many packages the
/// database then holds.
fn run_batches(batches: usize) -> anyhow::Result<(f64, usize)> {
    let dir = tempfile::tempdir()?;
    // The node's store lets sled's background flusher run every 10 s, and flushes each
    // batch it acknowledges itself; a flusher at sled's default 500 ms would add work here
    // that the node does not do.
    let db = sled::Config::new()
        .path(dir.path().join("sled"))
        .flush_every_ms(Some(10_000))
        .open()
        .context("opening a sled database")?;
    // sled's own flush stops short of an fsync; the node's store adds one on its log.
    let log =
        std::fs::File::open(dir.path().join("sled").join("db")).context("opening sled's log")?;
    let trees = (0..TREES)
        .map(|n| db.open_tree(format!("tree{n}")))
        .collect::<Result<Vec<_>, _>>()?;
    let package = vec![0x5a_u8; PACKAGE_BYTES];
    let record = vec![0x11_u8; 400];
    let entry = vec![0x22_u8; 200];
    let start = Instant::now();
    for batch in 0..batches {
        let ids: Vec<[u8; 32]> = (0..BATCH).map(|_| rand::random()).collect();
        trees
            .as_slice()
            .transaction(|tx: &Vec<TransactionalTree>| {
                let mut count = tx[META].get(b"counts")?.map_or(0, |v| {
                    u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8]))
                });
                for id in &ids {
                    write_submission(tx, id, batch, &package, &record, &entry)?;
                    count += 1;
                }
                tx[META].insert(&b"counts"[..], &count.to_be_bytes()[..])?;
                Ok(())
            })
            .map_err(|e| anyhow::anyhow!("sled transaction: {e:?}"))?;
        db.flush()?;
        log.sync_all()?;
    }
    let per_s = (batches * BATCH) as f64 / start.elapsed().as_secs_f64();
    Ok((per_s, trees[PACKAGES].len()))
}

/// One submission's reads and writes inside the batch's transaction.
fn write_submission(
    tx: &[TransactionalTree],
    id: &[u8; 32],
    batch: usize,
    package: &[u8],
    record: &[u8],
    entry: &[u8],
) -> ConflictableTransactionResult<(), sled::Error> {
    let id = &id[..];
    if tx[OUTGOING].get(id)?.is_some() || tx[PACKAGES].get(id)?.is_some() {
        return Ok(());
    }
    tx[PACKAGES].insert(id, package)?;
    tx[OUTGOING].insert(id, record)?;
    let by_time = [&(batch as u64).to_be_bytes()[..], id].concat();
    tx[OUTGOING_BY_TIME].insert(by_time.as_slice(), &[][..])?;
    let outbox = [id, b"000.00.02.H53"].concat();
    tx[OUTBOX].insert(outbox.as_slice(), entry)?;
    tx[OUTBOX_PENDING].insert(outbox.as_slice(), &[][..])?;
    let document = [b"000.00.01.H53/2025/".as_slice(), id].concat();
    tx[DOCUMENTS].insert(document.as_slice(), &[][..])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_submission_of_every_batch_is_stored() {
        let (per_s, packages) = run_batches(3).expect("sled runs the batches");
        assert_eq!(packages, 3 * BATCH);
        assert!(per_s > 0.0);
    }
}
