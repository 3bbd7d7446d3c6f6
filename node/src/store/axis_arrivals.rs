//! What the axis bridge must not forget of what arrives *from* the axis
//! (`docs/axis-bridge.md`, inbound):
//!
//! - **Arrivals** (`axis_arrivals`, by the axis's DocId): when the node first saw the
//!   document or status in `getReceivedEdocList`, the package it became in the inbox, a
//!   refusal, and when the axis was told `done` or `fail`. "Seen" is written durably before
//!   `getEdoc`, so its time is the same on every try: the inbox package and the receipt 01
//!   built from it are then the same bytes after a crash, and the store answers
//!   `Duplicate` rather than keeping a second copy.
//! - **By package** (`axis_arrival_ids`): the DocId a package arrived under, for the inbox
//!   and the status API.

use lienthong_protocol::envelope::{PackageId, Timestamp};
use serde::{Deserialize, Serialize};

use super::encoding::{self, Initial, Versioned};
use super::keys::Tree;
use super::{Store, StoreError, Tx, TxError};

/// One document or status the axis holds for this agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AxisArrival {
    /// The axis's DocId of this agency's copy.
    pub doc_id: String,
    /// The sender's code on the axis, as the list gave it.
    pub from: String,
    /// `edoc` or `status`.
    pub message_type: String,
    /// When the node first saw it listed: the time of its inbox package and receipt 01.
    pub seen_at: Timestamp,
    /// The inbox package it became.
    pub package_id: Option<PackageId>,
    /// Why it was refused (not edXML, not for this agency, …), told to the axis as `fail`.
    pub refused: Option<String>,
    /// When the axis was told `done` (or `fail`, for a refusal).
    pub settled_at: Option<Timestamp>,
}

impl Versioned for AxisArrival {
    const VERSION: u8 = 1;
    type Previous = Initial;
    fn migrate(previous: Initial) -> Self {
        match previous {}
    }
}

impl Store {
    /// The arrival of `doc_id`, if the node has seen it.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn axis_arrival(&self, doc_id: &str) -> Result<Option<AxisArrival>, StoreError> {
        self.db()
            .get(Tree::AxisArrivals, doc_id.as_bytes())?
            .map(|value| encoding::read(Tree::AxisArrivals, doc_id.as_bytes(), &value))
            .transpose()
    }

    /// Records, durably, that `doc_id` from `from` was seen at `at`; returns the record,
    /// the first one's if it was seen before (its `seen_at` stays).
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors.
    pub fn axis_arrival_seen(
        &self,
        doc_id: &str,
        from: &str,
        message_type: &str,
        at: Timestamp,
    ) -> Result<AxisArrival, StoreError> {
        let key = doc_id.as_bytes();
        let record = self.db().transaction("axis arrival seen", |tx| {
            if let Some(value) = tx.get(Tree::AxisArrivals, key)? {
                return Ok(encoding::read(Tree::AxisArrivals, key, &value)?);
            }
            let record = AxisArrival {
                doc_id: doc_id.to_owned(),
                from: from.to_owned(),
                message_type: message_type.to_owned(),
                seen_at: at,
                package_id: None,
                refused: None,
                settled_at: None,
            };
            tx.insert(
                Tree::AxisArrivals,
                key,
                &encoding::write("axis arrival", &record)?,
            )?;
            Ok(record)
        })?;
        self.sync()?;
        Ok(record)
    }

    /// Records, durably, what became of `doc_id`: the inbox package it is now, or why it
    /// was refused.
    ///
    /// # Errors
    /// [`StoreError::UnknownAxisArrival`] when it was never seen; engine and
    /// [`StoreError::Sync`] errors.
    pub fn axis_arrival_outcome(
        &self,
        doc_id: &str,
        outcome: Result<PackageId, String>,
    ) -> Result<AxisArrival, StoreError> {
        self.update_arrival(doc_id, "axis arrival stored", |record, tx| {
            match &outcome {
                Ok(package_id) => {
                    record.package_id = Some(*package_id);
                    tx.insert(
                        Tree::AxisArrivalIds,
                        package_id.as_bytes(),
                        &encoding::encode_blob(doc_id.as_bytes()),
                    )?;
                }
                Err(reason) => record.refused = Some(reason.clone()),
            }
            Ok(())
        })
    }

    /// Names the axis DocId `package_id` arrives under, before the package joins the inbox:
    /// so QLVB never lists the inbox entry as from the federation in the moment between
    /// acceptance and [`Store::axis_arrival_outcome`]. Not flushed here: the acceptance's
    /// own flush that follows makes it durable, and if the node stops before it, the same
    /// package id (signed again from the same bytes and time) is named again on the retry.
    ///
    /// # Errors
    /// [`StoreError::Transaction`]: the engine's, or the store failed earlier.
    pub fn axis_arrival_names(
        &self,
        package_id: &PackageId,
        doc_id: &str,
    ) -> Result<(), StoreError> {
        self.db().write_hint(
            Tree::AxisArrivalIds,
            package_id.as_bytes(),
            &encoding::encode_blob(doc_id.as_bytes()),
        )
    }

    /// Records, durably, that the axis was told `done` (or `fail`) for `doc_id` at `at`.
    ///
    /// # Errors
    /// As [`Store::axis_arrival_outcome`].
    pub fn axis_arrival_settled(
        &self,
        doc_id: &str,
        at: Timestamp,
    ) -> Result<AxisArrival, StoreError> {
        self.update_arrival(doc_id, "axis arrival settled", |record, _| {
            record.settled_at.get_or_insert(at);
            Ok(())
        })
    }

    /// The axis's DocId `package_id` arrived under, when it came through the axis.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn axis_arrival_of(&self, package_id: &PackageId) -> Result<Option<String>, StoreError> {
        let key = package_id.as_bytes();
        let Some(value) = self.db().get(Tree::AxisArrivalIds, key)? else {
            return Ok(None);
        };
        encoding::check_blob(&value)
            .map_err(|p| encoding::corrupt(Tree::AxisArrivalIds, key, p))?;
        Ok(Some(String::from_utf8_lossy(&value[1..]).into_owned()))
    }

    fn update_arrival(
        &self,
        doc_id: &str,
        what: &'static str,
        change: impl Fn(&mut AxisArrival, &Tx<'_>) -> Result<(), TxError>,
    ) -> Result<AxisArrival, StoreError> {
        let key = doc_id.as_bytes();
        let record = self.db().transaction(what, |tx| {
            let Some(value) = tx.get(Tree::AxisArrivals, key)? else {
                return Err(StoreError::UnknownAxisArrival {
                    doc_id: doc_id.to_owned(),
                }
                .into());
            };
            let mut record: AxisArrival = encoding::read(Tree::AxisArrivals, key, &value)?;
            change(&mut record, tx)?;
            tx.insert(
                Tree::AxisArrivals,
                key,
                &encoding::write("axis arrival", &record)?,
            )?;
            Ok(record)
        })?;
        self.sync()?;
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arrival_keeps_its_first_sight_and_its_package_across_a_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("opens");
        let package = PackageId::from_bytes([7; 32]);
        let first = store
            .axis_arrival_seen("d1", "000.00.01.H53", "edoc", Timestamp::from_millis(10))
            .expect("seen");
        let again = store
            .axis_arrival_seen("d1", "000.00.01.H53", "edoc", Timestamp::from_millis(99))
            .expect("seen again");
        assert_eq!(again.seen_at, first.seen_at);
        store
            .axis_arrival_outcome("d1", Ok(package))
            .expect("stored");
        store
            .axis_arrival_settled("d1", Timestamp::from_millis(20))
            .expect("settled");
        assert!(matches!(
            store.axis_arrival_settled("unknown", Timestamp::from_millis(20)),
            Err(StoreError::UnknownAxisArrival { .. })
        ));
        drop(store);
        let store = Store::open(dir.path()).expect("reopens");
        let record = store.axis_arrival("d1").expect("reads").expect("kept");
        assert_eq!(record.package_id, Some(package));
        assert_eq!(record.settled_at, Some(Timestamp::from_millis(20)));
        assert_eq!(
            store.axis_arrival_of(&package).expect("reads").as_deref(),
            Some("d1")
        );
        assert_eq!(
            store
                .axis_arrival_of(&PackageId::from_bytes([8; 32]))
                .expect("reads"),
            None
        );
    }
}
