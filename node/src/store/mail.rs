//! What official email must not forget (`docs/email.md`):
//!
//! - **Sends** (`mail_sends`): per package and email unit, when the last SMTP transaction
//!   started and, once known, that the mail server took the message. "Started" is durable
//!   *before* the transaction, "taken" *before* the outbox moves on. Every message is also
//!   addressed to the agency's own mailbox (its copy), so after a crash between the two the
//!   copy found there says the server took it, and nothing is sent twice.
//! - **Reports**: what mail servers and mail clients said of each copy (delivered, opened,
//!   bounced, delayed), each kind once. Nobody's signature stands behind them.
//! - **Arrivals** (`mail_arrivals`): the inbox packages that came by email, with the
//!   sender's address and Message-ID: they are unsigned, and shown so.
//! - **Review** (`mail_review`): mail a person must look at (from no listed unit, or
//!   unreadable), with why, listed in the dashboard.

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::{PackageId, Timestamp};
use serde::{Deserialize, Serialize};

use super::encoding::{self, Initial, Versioned};
use super::keys::{self, Tree};
use super::{Store, StoreError};

/// One email unit's copy of one package, sent by mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailSend {
    /// The package.
    pub package_id: PackageId,
    /// The unit, listed in the roster as reached by email.
    pub recipient: OrganId,
    /// The address it was mailed to.
    pub address: String,
    /// The message's Message-ID, without angle brackets.
    pub message_id: String,
    /// When the last SMTP transaction for it started.
    pub started_at: Timestamp,
    /// How many transactions were started.
    pub attempts: u32,
    /// A transaction started and its end is not known: the server may have taken the
    /// message (the node stopped, or its answer was lost). The agency's own copy settles it.
    pub in_doubt: bool,
    /// When the mail server took it (its answer to the message, or the agency's own copy
    /// found in the mailbox).
    pub handed_at: Option<Timestamp>,
    /// What came back, each kind once, oldest first.
    pub reports: Vec<MailReport>,
}

/// What a mail server or mail client reported of a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailReportKind {
    /// The recipient's mail server put it in the recipient's mailbox (DSN `delivered`).
    Delivered,
    /// The recipient's mail client says it was displayed (read receipt, RFC 8098).
    Opened,
    /// A mail server gave up on it (DSN `failed`, or a refusal during the transaction).
    Bounced,
    /// A mail server is still trying (DSN `delayed`).
    Delayed,
}

impl MailReportKind {
    /// The name the API and reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            MailReportKind::Delivered => "delivered_to_mailbox",
            MailReportKind::Opened => "opened",
            MailReportKind::Bounced => "bounced",
            MailReportKind::Delayed => "delayed",
        }
    }

    /// Who says so: `mail_server` or `mail_client`.
    pub fn reported_by(self) -> &'static str {
        match self {
            MailReportKind::Opened => "mail_client",
            _ => "mail_server",
        }
    }
}

/// One report of a copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailReport {
    /// What was reported.
    pub kind: MailReportKind,
    /// The server's words (status and diagnostic), or the client's disposition.
    pub detail: String,
    /// When this node learned it.
    pub learned_at: Timestamp,
}

impl Versioned for MailSend {
    const VERSION: u8 = 1;
    type Previous = Initial;
    fn migrate(previous: Initial) -> Self {
        match previous {}
    }
}

/// An inbox package that came by email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailArrival {
    /// The address it came from.
    pub from_address: String,
    /// Its Message-ID, without brackets, when it had one.
    pub message_id: Option<String>,
}

impl Versioned for MailArrival {
    const VERSION: u8 = 1;
    type Previous = Initial;
    fn migrate(previous: Initial) -> Self {
        match previous {}
    }
}

/// A mail set aside for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailReview {
    /// Its sender, as the mail says.
    pub from_address: String,
    /// Its subject.
    pub subject: String,
    /// Why it was set aside.
    pub reason: String,
    /// When the node set it aside.
    pub set_aside_at: Timestamp,
    /// The folder it was moved to.
    pub folder: String,
}

impl Versioned for MailReview {
    const VERSION: u8 = 1;
    type Previous = Initial;
    fn migrate(previous: Initial) -> Self {
        match previous {}
    }
}

impl Store {
    /// The mail send of `package_id` to `recipient`, if one was started.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn mail_send(
        &self,
        package_id: &PackageId,
        recipient: &OrganId,
    ) -> Result<Option<MailSend>, StoreError> {
        let key = keys::outbox(package_id, recipient);
        self.db()
            .get(Tree::MailSends, &key)?
            .map(|value| encoding::read(Tree::MailSends, &key, &value))
            .transpose()
    }

    /// Records, durably, that an SMTP transaction for `send` starts at `at`; returns the
    /// record. A send the server took is returned unchanged: it is not to be sent again.
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors.
    pub fn mail_send_starting(
        &self,
        package_id: &PackageId,
        recipient: &OrganId,
        address: &str,
        message_id: &str,
        at: Timestamp,
    ) -> Result<MailSend, StoreError> {
        let key = keys::outbox(package_id, recipient);
        let record = self.db().transaction("mail send starting", |tx| {
            let existing: Option<MailSend> = tx
                .get(Tree::MailSends, &key)?
                .map(|value| encoding::read(Tree::MailSends, &key, &value))
                .transpose()?;
            if let Some(handed) = existing.as_ref().filter(|s| s.handed_at.is_some()) {
                return Ok(handed.clone());
            }
            let record = MailSend {
                package_id: *package_id,
                recipient: recipient.clone(),
                address: address.to_owned(),
                message_id: message_id.to_owned(),
                started_at: at,
                attempts: existing
                    .as_ref()
                    .map_or(0, |s| s.attempts)
                    .saturating_add(1),
                in_doubt: true,
                handed_at: None,
                reports: existing.map(|s| s.reports).unwrap_or_default(),
            };
            tx.insert(
                Tree::MailSends,
                &key,
                &encoding::write("mail send", &record)?,
            )?;
            Ok(record)
        })?;
        self.sync()?;
        Ok(record)
    }

    /// Records, durably, that the mail server took the copy at `at`; the first time
    /// stays. `None` when no send was started for it (a copy of something this node never
    /// recorded: left alone).
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors.
    pub fn mail_send_handed(
        &self,
        package_id: &PackageId,
        recipient: &OrganId,
        at: Timestamp,
    ) -> Result<Option<MailSend>, StoreError> {
        let (record, _) =
            self.update_mail_send(package_id, recipient, "mail send handed", |record| {
                if record.handed_at.is_some() {
                    return false;
                }
                record.handed_at = Some(at);
                record.in_doubt = false;
                true
            })?;
        Ok(record)
    }

    /// Records, durably, that the last transaction certainly did not deliver the message
    /// to the server (refused, or cut before the message was sent): the next may start at
    /// once.
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors.
    pub fn mail_send_failed(
        &self,
        package_id: &PackageId,
        recipient: &OrganId,
    ) -> Result<(), StoreError> {
        self.update_mail_send(package_id, recipient, "mail send failed", |record| {
            let changed = record.in_doubt && record.handed_at.is_none();
            record.in_doubt = false;
            changed
        })?;
        Ok(())
    }

    /// Records a report of the copy, durably, unless one of its kind was recorded before;
    /// `Some(true)` when new, `None` when no send was recorded for it.
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors.
    pub fn mail_report(
        &self,
        package_id: &PackageId,
        recipient: &OrganId,
        report: &MailReport,
    ) -> Result<Option<bool>, StoreError> {
        let (record, new) =
            self.update_mail_send(package_id, recipient, "mail report", |record| {
                if record.reports.iter().any(|r| r.kind == report.kind) {
                    return false;
                }
                record.reports.push(report.clone());
                true
            })?;
        Ok(record.map(|_| new))
    }

    fn update_mail_send(
        &self,
        package_id: &PackageId,
        recipient: &OrganId,
        what: &'static str,
        change: impl Fn(&mut MailSend) -> bool,
    ) -> Result<(Option<MailSend>, bool), StoreError> {
        let key = keys::outbox(package_id, recipient);
        let (record, changed) = self.db().transaction(what, |tx| {
            let Some(value) = tx.get(Tree::MailSends, &key)? else {
                return Ok((None, false));
            };
            let mut record: MailSend = encoding::read(Tree::MailSends, &key, &value)?;
            let changed = change(&mut record);
            if changed {
                tx.insert(
                    Tree::MailSends,
                    &key,
                    &encoding::write("mail send", &record)?,
                )?;
            }
            Ok((Some(record), changed))
        })?;
        if changed {
            self.sync()?;
        }
        Ok((record, changed))
    }

    /// Every mail send, in key order.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn mail_sends(&self) -> Result<Vec<MailSend>, StoreError> {
        self.db()
            .iter(Tree::MailSends)
            .map(|item| {
                let (key, value) = item?;
                encoding::read(Tree::MailSends, &key, &value)
            })
            .collect()
    }

    /// Marks `package_id` as arrived by email, before it joins the inbox: so QLVB never
    /// sees it without the mark. Made durable by the acceptance's own flush that follows
    /// (the same package is marked again on a retry).
    ///
    /// # Errors
    /// [`StoreError::Transaction`]: the engine's, or the store failed earlier.
    pub fn mail_arrival_names(
        &self,
        package_id: &PackageId,
        arrival: &MailArrival,
    ) -> Result<(), StoreError> {
        self.db().write_hint(
            Tree::MailArrivals,
            package_id.as_bytes(),
            &encoding::write("mail arrival", arrival)?,
        )
    }

    /// How `package_id` came by email, if it did.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn mail_arrival_of(
        &self,
        package_id: &PackageId,
    ) -> Result<Option<MailArrival>, StoreError> {
        let key = package_id.as_bytes();
        self.db()
            .get(Tree::MailArrivals, key)?
            .map(|value| encoding::read(Tree::MailArrivals, key, &value))
            .transpose()
    }

    /// Records, durably, a mail set aside for a person; `key` is the SHA-256 of its bytes,
    /// so the same mail is listed once.
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors.
    pub fn mail_set_aside(&self, key: &[u8; 32], review: &MailReview) -> Result<(), StoreError> {
        self.db().transaction("mail set aside", |tx| {
            if tx.get(Tree::MailReview, key)?.is_none() {
                tx.insert(
                    Tree::MailReview,
                    key,
                    &encoding::write("mail review", review)?,
                )?;
            }
            Ok(())
        })?;
        self.sync()
    }

    /// Every mail set aside for a person, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn mail_review(&self) -> Result<Vec<MailReview>, StoreError> {
        let mut all: Vec<MailReview> = self
            .db()
            .iter(Tree::MailReview)
            .map(|item| {
                let (key, value) = item?;
                encoding::read(Tree::MailReview, &key, &value)
            })
            .collect::<Result<_, _>>()?;
        all.sort_by_key(|r| r.set_aside_at);
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_is_in_doubt_from_its_start_until_taken_or_failed_and_survives_a_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("opens");
        let package = PackageId::from_bytes([3; 32]);
        let unit: OrganId = "000.00.31.H10".parse().expect("id");
        let at = Timestamp::from_millis(10);
        assert_eq!(
            store.mail_send_handed(&package, &unit, at).expect("reads"),
            None,
            "a copy never started is not recorded as taken"
        );
        let started = store
            .mail_send_starting(&package, &unit, "u@x.vn", "m@x.vn", at)
            .expect("starts");
        assert!(started.in_doubt && started.handed_at.is_none());
        store.mail_send_failed(&package, &unit).expect("fails");
        let again = store
            .mail_send_starting(&package, &unit, "u@x.vn", "m@x.vn", at)
            .expect("starts again");
        assert_eq!(again.attempts, 2);
        let handed = store
            .mail_send_handed(&package, &unit, Timestamp::from_millis(20))
            .expect("taken")
            .expect("recorded");
        assert!(!handed.in_doubt);
        // Taken once: a later start returns it unchanged, so nothing is sent again.
        let after = store
            .mail_send_starting(
                &package,
                &unit,
                "u@x.vn",
                "m@x.vn",
                Timestamp::from_millis(30),
            )
            .expect("reads");
        assert_eq!(after.handed_at, Some(Timestamp::from_millis(20)));
        assert_eq!(after.attempts, 2);

        let report = |kind| MailReport {
            kind,
            detail: "2.0.0".to_owned(),
            learned_at: Timestamp::from_millis(40),
        };
        let delivered = report(MailReportKind::Delivered);
        assert_eq!(
            store
                .mail_report(&package, &unit, &delivered)
                .expect("records"),
            Some(true)
        );
        assert_eq!(
            store
                .mail_report(&package, &unit, &delivered)
                .expect("records"),
            Some(false)
        );
        let other = PackageId::from_bytes([4; 32]);
        assert_eq!(
            store.mail_report(&other, &unit, &delivered).expect("reads"),
            None
        );
        drop(store);

        let store = Store::open(dir.path()).expect("reopens");
        let kept = store
            .mail_send(&package, &unit)
            .expect("reads")
            .expect("kept");
        assert_eq!(kept.reports.len(), 1);
        assert_eq!(kept.handed_at, Some(Timestamp::from_millis(20)));
    }
}
