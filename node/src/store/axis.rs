//! What the axis bridge must not forget (`docs/axis-bridge.md`):
//!
//! - **Sends** (`axis_sends`): per package and recipient routed through the axis, when the
//!   last `sendEdoc` was started and, once known, the axis's DocId. "Started" is written
//!   durably *before* the call, the DocId *before* the outbox moves on, so after a crash
//!   between the two the node knows to look for its send in `getSentEdocList` rather than
//!   send again.
//! - **Directory** (`axis_directory`): the axis's agencies (`getAgenciesList`), replaced
//!   whole at each refresh, with the time of the refresh under `meta`.

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::{PackageId, Timestamp};
use serde::{Deserialize, Serialize};

use super::encoding::{self, Initial, Versioned};
use super::keys::{self, Tree};
use super::{Store, StoreError};

/// One recipient's send through the axis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AxisSend {
    /// The package.
    pub package_id: PackageId,
    /// The recipient, not a member of the federation.
    pub recipient: OrganId,
    /// When the last `sendEdoc` for it was started.
    pub started_at: Timestamp,
    /// How many `sendEdoc` calls were started.
    pub attempts: u32,
    /// The axis's DocId, once its answer (or its `getSentEdocList`) gave it.
    pub doc_id: Option<String>,
    /// When the DocId was recorded.
    pub handed_at: Option<Timestamp>,
    /// What the axis has reported of the recipient's copy (`getSentEdocList`'s
    /// `receiveStatus`), each change once, oldest first. No recipient signature stands
    /// behind these: they are the axis's word.
    pub reports: Vec<AxisReport>,
}

/// One status the axis reported for a recipient's copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AxisReport {
    /// The axis's status text (`pending`, `done`, …), opaque.
    pub status: String,
    /// The time the axis gave with it, as it wrote it; empty when none.
    pub axis_time: String,
    /// When this node learned it.
    pub learned_at: Timestamp,
}

impl AxisReport {
    /// The status code the agency sent back through the axis (`"03"`), when this report is
    /// one; `None` for `getSentEdocList`'s own words (`pending`, `done`, `fail`).
    pub fn code(&self) -> Option<lienthong_protocol::StatusCode> {
        lienthong_protocol::StatusCode::from_number(self.status.parse().ok()?).ok()
    }
}

impl Versioned for AxisSend {
    const VERSION: u8 = 1;
    type Previous = Initial;
    fn migrate(previous: Initial) -> Self {
        match previous {}
    }
}

/// One agency of the axis's directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AxisAgency {
    /// Its code on the axis.
    pub code: String,
    /// Its name.
    pub name: String,
}

impl Versioned for AxisAgency {
    const VERSION: u8 = 1;
    type Previous = Initial;
    fn migrate(previous: Initial) -> Self {
        match previous {}
    }
}

/// `meta` key of the directory's last refresh.
const DIRECTORY_AT: &[u8] = b"axis_directory_at";

impl Store {
    /// The send of `package_id` to `recipient` through the axis, if one was started.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn axis_send(
        &self,
        package_id: &PackageId,
        recipient: &OrganId,
    ) -> Result<Option<AxisSend>, StoreError> {
        let key = keys::outbox(package_id, recipient);
        self.db()
            .get(Tree::AxisSends, &key)?
            .map(|value| encoding::read(Tree::AxisSends, &key, &value))
            .transpose()
    }

    /// Records, durably, that a `sendEdoc` for `recipient` starts at `at`; returns the
    /// record. A send whose DocId is known is returned unchanged: it is not to be sent again.
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors.
    pub fn axis_send_starting(
        &self,
        package_id: &PackageId,
        recipient: &OrganId,
        at: Timestamp,
    ) -> Result<AxisSend, StoreError> {
        let key = keys::outbox(package_id, recipient);
        let record = self.db().transaction("axis send starting", |tx| {
            let existing: Option<AxisSend> = tx
                .get(Tree::AxisSends, &key)?
                .map(|value| encoding::read(Tree::AxisSends, &key, &value))
                .transpose()?;
            if let Some(handed) = existing.as_ref().filter(|s| s.doc_id.is_some()) {
                return Ok(handed.clone());
            }
            let record = AxisSend {
                package_id: *package_id,
                recipient: recipient.clone(),
                started_at: at,
                attempts: existing.map_or(0, |s| s.attempts).saturating_add(1),
                doc_id: None,
                handed_at: None,
                reports: Vec::new(),
            };
            tx.insert(
                Tree::AxisSends,
                &key,
                &encoding::write("axis send", &record)?,
            )?;
            Ok(record)
        })?;
        self.sync()?;
        Ok(record)
    }

    /// Records, durably, the axis's DocId for `recipient`'s send; returns the record. The
    /// first DocId recorded stays.
    ///
    /// # Errors
    /// [`StoreError::Input`]-like refusal when no send was started; engine and
    /// [`StoreError::Sync`] errors.
    pub fn axis_send_handed(
        &self,
        package_id: &PackageId,
        recipient: &OrganId,
        doc_id: &str,
        at: Timestamp,
    ) -> Result<AxisSend, StoreError> {
        let key = keys::outbox(package_id, recipient);
        let record = self.db().transaction("axis send handed", |tx| {
            let existing: Option<AxisSend> = tx
                .get(Tree::AxisSends, &key)?
                .map(|value| encoding::read(Tree::AxisSends, &key, &value))
                .transpose()?;
            let mut record = existing.unwrap_or(AxisSend {
                package_id: *package_id,
                recipient: recipient.clone(),
                started_at: at,
                attempts: 1,
                doc_id: None,
                handed_at: None,
                reports: Vec::new(),
            });
            if record.doc_id.is_none() {
                record.doc_id = Some(doc_id.to_owned());
                record.handed_at = Some(at);
                tx.insert(
                    Tree::AxisSends,
                    &key,
                    &encoding::write("axis send", &record)?,
                )?;
            }
            Ok(record)
        })?;
        self.sync()?;
        Ok(record)
    }

    /// Records what the axis reports of `recipient`'s copy, durably, unless it reported
    /// that status before; whether it was new.
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors; [`StoreError::UnknownOutboxEntry`] when no
    /// send was recorded.
    pub fn axis_report(
        &self,
        package_id: &PackageId,
        recipient: &OrganId,
        report: &AxisReport,
    ) -> Result<bool, StoreError> {
        let key = keys::outbox(package_id, recipient);
        let new = self.db().transaction("axis report", |tx| {
            let Some(value) = tx.get(Tree::AxisSends, &key)? else {
                return Err(StoreError::UnknownOutboxEntry {
                    package_id: *package_id,
                    recipient: recipient.clone(),
                }
                .into());
            };
            let mut record: AxisSend = encoding::read(Tree::AxisSends, &key, &value)?;
            // Each status once: `done` from `getSentEdocList` and the codes carried back
            // in status messages interleave, and neither goes back.
            if record.reports.iter().any(|r| r.status == report.status) {
                return Ok(false);
            }
            record.reports.push(report.clone());
            tx.insert(
                Tree::AxisSends,
                &key,
                &encoding::write("axis send", &record)?,
            )?;
            Ok(true)
        })?;
        self.sync()?;
        Ok(new)
    }

    /// Every send through the axis, in key order.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn axis_sends(&self) -> Result<Vec<AxisSend>, StoreError> {
        self.db()
            .iter(Tree::AxisSends)
            .map(|item| {
                let (key, value) = item?;
                encoding::read(Tree::AxisSends, &key, &value)
            })
            .collect()
    }

    /// Replaces the axis's directory with `agencies`, fetched at `at`, durably.
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors.
    pub fn replace_axis_directory(
        &self,
        agencies: &[AxisAgency],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let old: Vec<Vec<u8>> = self
            .db()
            .iter(Tree::AxisDirectory)
            .map(|item| item.map(|(key, _)| key.to_vec()))
            .collect::<Result<_, _>>()?;
        let new: Vec<(Vec<u8>, Vec<u8>)> = agencies
            .iter()
            .map(|a| {
                Ok((
                    a.code.as_bytes().to_vec(),
                    encoding::write("axis agency", a)?,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        let stamp = at.as_millis().to_be_bytes();
        self.db().transaction("replace axis directory", |tx| {
            for key in &old {
                tx.remove(Tree::AxisDirectory, key)?;
            }
            for (key, value) in &new {
                tx.insert(Tree::AxisDirectory, key, value)?;
            }
            tx.insert(Tree::Meta, DIRECTORY_AT, &stamp)?;
            Ok(())
        })?;
        self.sync()
    }

    /// The axis's directory entry for `code`, if it lists it.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn axis_agency(&self, code: &str) -> Result<Option<AxisAgency>, StoreError> {
        self.db()
            .get(Tree::AxisDirectory, code.as_bytes())?
            .map(|value| encoding::read(Tree::AxisDirectory, code.as_bytes(), &value))
            .transpose()
    }

    /// When the directory was last replaced; `None` before the first refresh.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn axis_directory_at(&self) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.db().get(Tree::Meta, DIRECTORY_AT)?.and_then(|value| {
            let bytes: [u8; 8] = value[..].try_into().ok()?;
            Some(Timestamp::from_millis(u64::from_be_bytes(bytes)))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("opens");
        (dir, store)
    }

    #[test]
    fn a_send_once_handed_keeps_its_doc_id_and_is_not_started_again() {
        let (dir, store) = store();
        let package = PackageId::from_bytes([3; 32]);
        let recipient: OrganId = "000.00.02.H53".parse().expect("id");
        assert_eq!(store.axis_send(&package, &recipient).expect("reads"), None);
        let started = store
            .axis_send_starting(&package, &recipient, Timestamp::from_millis(10))
            .expect("starts");
        assert_eq!((started.attempts, started.doc_id.as_deref()), (1, None));
        let again = store
            .axis_send_starting(&package, &recipient, Timestamp::from_millis(20))
            .expect("starts");
        assert_eq!(again.attempts, 2);
        store
            .axis_send_handed(&package, &recipient, "d1", Timestamp::from_millis(30))
            .expect("handed");
        store
            .axis_send_handed(&package, &recipient, "d2", Timestamp::from_millis(40))
            .expect("handed");
        let after = store
            .axis_send_starting(&package, &recipient, Timestamp::from_millis(50))
            .expect("reads");
        assert_eq!(after.doc_id.as_deref(), Some("d1"));
        assert_eq!(after.attempts, 2);
        // Durable across a reopen.
        drop(store);
        let store = Store::open(dir.path()).expect("reopens");
        let kept = store.axis_send(&package, &recipient).expect("reads");
        assert_eq!(kept.and_then(|s| s.doc_id).as_deref(), Some("d1"));
        assert_eq!(store.axis_sends().expect("lists").len(), 1);
    }

    #[test]
    fn the_directory_is_replaced_whole() {
        let (_dir, store) = store();
        let agency = |code: &str| AxisAgency {
            code: code.to_owned(),
            name: format!("agency {code}"),
        };
        assert_eq!(store.axis_directory_at().expect("reads"), None);
        store
            .replace_axis_directory(&[agency("a"), agency("b")], Timestamp::from_millis(5))
            .expect("replaces");
        store
            .replace_axis_directory(&[agency("b"), agency("c")], Timestamp::from_millis(6))
            .expect("replaces");
        assert_eq!(store.axis_agency("a").expect("reads"), None);
        assert_eq!(store.axis_agency("c").expect("reads"), Some(agency("c")));
        assert_eq!(
            store.axis_directory_at().expect("reads"),
            Some(Timestamp::from_millis(6))
        );
    }

    #[test]
    fn each_status_the_axis_reports_is_kept_once_however_the_reports_interleave() {
        let (_dir, store) = store();
        let package = PackageId::from_bytes([4; 32]);
        let recipient: OrganId = "000.00.02.H53".parse().expect("id");
        store
            .axis_send_handed(&package, &recipient, "d1", Timestamp::from_millis(1))
            .expect("handed");
        let report = |status: &str, at: u64| AxisReport {
            status: status.to_owned(),
            axis_time: String::new(),
            learned_at: Timestamp::from_millis(at),
        };
        // getSentEdocList's `done` and the statuses carried back, as polling finds them.
        let seen = ["pending", "done", "01", "done", "03", "done", "06", "03"];
        let new: Vec<bool> = seen
            .iter()
            .enumerate()
            .map(|(at, status)| {
                store
                    .axis_report(&package, &recipient, &report(status, at as u64))
                    .expect("recorded")
            })
            .collect();
        assert_eq!(new, [true, true, true, false, true, false, true, false]);
        let kept: Vec<String> = store
            .axis_send(&package, &recipient)
            .expect("reads")
            .expect("kept")
            .reports
            .into_iter()
            .map(|r| r.status)
            .collect();
        assert_eq!(kept, ["pending", "done", "01", "03", "06"]);
    }
}
