//! Handing one package to the agency's mail server for one email unit, exactly once across
//! crashes.
//!
//! 1. A copy the server took is done: nothing is sent again.
//! 2. A copy whose last transaction is in doubt (the node stopped after the message was
//!    sent and before recording the server's answer, or the answer was lost) waits for the
//!    agency's own copy: every message is also addressed to the agency's own mailbox, and
//!    the mailbox reader, finding it, records that the server took the message. Only when
//!    no copy has come [`OWN_COPY_WAIT`] after the start is the message sent again.
//! 3. Otherwise the start is recorded durably, the message is submitted, and the server's
//!    acceptance is recorded durably before the caller moves the outbox on.
//!
//! A duplicate is possible only when the agency's own copy takes longer than
//! [`OWN_COPY_WAIT`] to reach its mailbox after such a crash; it carries the same
//! Message-ID, which mail clients show once.

use std::time::Duration;

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::{PackageId, Timestamp};
use tracing::debug;

use super::smtp::{SmtpClient, SmtpError, SmtpRecipient};
use crate::clock;
use crate::outbound::axis::crash::{CrashPoint, crash_point};
use crate::store::{Store, StoreError};

/// How long after an in-doubt start the agency's own copy is waited for before the
/// message is sent again.
pub const OWN_COPY_WAIT: Duration = Duration::from_secs(120);

/// One email unit's copy of a package, as it goes on the wire.
#[derive(Debug, Clone)]
pub struct MailCopy {
    /// The package.
    pub package_id: PackageId,
    /// The unit.
    pub recipient: OrganId,
    /// The unit's address.
    pub address: String,
    /// The message's Message-ID, without brackets.
    pub message_id: String,
    /// The DSN envelope id.
    pub envelope_id: String,
}

/// Why a copy was not handed over.
#[derive(Debug, thiserror::Error)]
pub enum MailSendError {
    /// The server did not take it.
    #[error(transparent)]
    Smtp(#[from] SmtpError),
    /// The store could not record a step: nothing may be assumed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The last transaction is in doubt; the agency's own copy is awaited until `until`.
    #[error(
        "the mail server may have taken the message; waiting for the agency's own copy until {until}"
    )]
    AwaitingOwnCopy {
        /// When the message will be sent again if no copy has come.
        until: Timestamp,
    },
}

/// Hands `copy` (the composed `message`, from `own_address`) to the server once. See the
/// module docs.
///
/// # Errors
/// [`MailSendError`].
pub async fn send_once(
    client: &SmtpClient,
    store: &Store,
    own_address: &str,
    copy: &MailCopy,
    message: &[u8],
) -> Result<(), MailSendError> {
    let (package_id, recipient) = (copy.package_id, copy.recipient.clone());
    let existing = {
        let recipient = recipient.clone();
        store
            .call(move |s| s.mail_send(&package_id, &recipient))
            .await?
    };
    if existing.as_ref().is_some_and(|s| s.handed_at.is_some()) {
        return Ok(());
    }
    let now = clock::now();
    if let Some(doubtful) = existing.as_ref().filter(|s| s.in_doubt) {
        let until = Timestamp::from_millis(
            doubtful
                .started_at
                .as_millis()
                .saturating_add(u64::try_from(OWN_COPY_WAIT.as_millis()).unwrap_or(u64::MAX)),
        );
        if now < until {
            return Err(MailSendError::AwaitingOwnCopy { until });
        }
        debug!(package = %package_id.fmt_short(), %recipient, "no own copy of an in-doubt mail came; sending again");
    }
    {
        let (recipient, address, message_id) = (
            recipient.clone(),
            copy.address.clone(),
            copy.message_id.clone(),
        );
        store
            .call(move |s| {
                s.mail_send_starting(&package_id, &recipient, &address, &message_id, now)
            })
            .await?;
    }
    let recipients = [
        SmtpRecipient {
            address: copy.address.clone(),
            reports: true,
        },
        SmtpRecipient {
            address: own_address.to_owned(),
            reports: false,
        },
    ];
    if let Err(e) = client
        .submit(own_address, &copy.envelope_id, &recipients, message)
        .await
    {
        if !e.is_in_doubt() {
            let recipient = recipient.clone();
            store
                .call(move |s| s.mail_send_failed(&package_id, &recipient))
                .await?;
        }
        return Err(e.into());
    }
    crash_point(CrashPoint::MailSentNotRecorded);
    store
        .call(move |s| s.mail_send_handed(&package_id, &recipient, clock::now()))
        .await?;
    Ok(())
}
