//! The email path of a delivery: for a recipient the roster lists as an email unit, the
//! package is mailed through the agency's own mail server exactly once
//! (`outbound::email::send_once`), and the outbox entry moves to `handed_to_mail_server`
//! only after the server's acceptance is durably recorded.

use std::sync::Arc;

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::{PackageId, SignedPackage};
use tracing::{info, warn};

use super::axis_path::NotHanded;
use crate::clock;
use crate::context::NodeContext;
use crate::outbound::email::{MailAccount, MailCopy, MailSendError, compose_copy, ids, send_once};
use crate::store::{DeliveryState, OutboxEntry, StoreError};

/// Mails `package` to `entry`'s recipient and records `handed_to_mail_server`.
///
/// # Errors
/// [`NotHanded`]: the caller records the failed attempt and plans the next.
pub(super) async fn hand_to_mail_server(
    ctx: &Arc<NodeContext>,
    account: &MailAccount,
    entry: OutboxEntry,
    package: &SignedPackage,
) -> Result<(), NotHanded> {
    let not_handed = |reason: String, transient: bool| NotHanded { reason, transient };
    let Some(unit) = ctx
        .roster()
        .and_then(|r| r.bundle().roster().email_unit(&entry.recipient).cloned())
    else {
        return Err(not_handed(
            format!("{} is no longer listed as an email unit", entry.recipient),
            false,
        ));
    };
    let (message, message_id) =
        compose_copy(ctx, package, &unit).map_err(|reason| not_handed(reason, false))?;
    let copy = MailCopy {
        package_id: package.id(),
        recipient: entry.recipient.clone(),
        address: unit.address.clone(),
        message_id,
        envelope_id: ids::envelope_id(&package.id(), &entry.recipient),
    };
    let own = ctx.config.email.address.trim();
    match send_once(&account.smtp, &ctx.store, own, &copy, &message).await {
        Ok(()) => {}
        Err(MailSendError::Smtp(e)) => {
            if !e.is_transient() {
                warn!(package = %package.id(), recipient = %entry.recipient, address = %unit.address, error = %e, "the mail server refused a document for an email unit");
            }
            if let crate::outbound::email::SmtpError::RecipientRefused { answer, .. } = &e {
                record_bounce(ctx, &package.id(), &entry.recipient, answer).await;
            }
            return Err(not_handed(e.to_string(), e.is_transient()));
        }
        Err(e @ MailSendError::AwaitingOwnCopy { .. }) => {
            return Err(not_handed(e.to_string(), true));
        }
        Err(MailSendError::Store(e)) => {
            return Err(not_handed(
                format!("the mail send could not be recorded: {e}"),
                true,
            ));
        }
    }
    record_handed(ctx, entry).await.map_err(|e| {
        not_handed(
            format!("the outbox could not record the hand-over: {e}"),
            true,
        )
    })?;
    info!(
        target: "lienthong::events::handed_to_mail_server",
        package = %package.id(),
        recipient = %copy.recipient,
        address = %copy.address,
        message_id = %copy.message_id,
        "handed to the mail server"
    );
    Ok(())
}

/// Moves `entry` to `handed_to_mail_server`, durably.
///
/// # Errors
/// [`StoreError`].
async fn record_handed(ctx: &Arc<NodeContext>, entry: OutboxEntry) -> Result<(), StoreError> {
    if entry.state == DeliveryState::HandedToMailServer {
        return Ok(());
    }
    let mut handed = entry;
    handed.state = DeliveryState::HandedToMailServer;
    handed.attempts = handed.attempts.saturating_add(1);
    handed.last_error = None;
    handed.delivered_at = Some(clock::now());
    // `KeptFinal`: nothing else ends an email unit's delivery; either way it is recorded.
    ctx.store
        .call(move |store| store.update_outbox(&handed))
        .await
        .map(drop)
}

/// Records the refusal of the unit's address during the transaction as a bounce on the
/// unit's timeline (the server's words), once.
async fn record_bounce(
    ctx: &Arc<NodeContext>,
    package_id: &PackageId,
    recipient: &OrganId,
    answer: &str,
) {
    let report = crate::store::MailReport {
        kind: crate::store::MailReportKind::Bounced,
        detail: answer.to_owned(),
        learned_at: clock::now(),
    };
    let (package_id, recipient) = (*package_id, recipient.clone());
    if let Err(e) = ctx
        .store
        .call(move |s| s.mail_report(&package_id, &recipient, &report))
        .await
    {
        warn!(error = %e, "a bounce could not be recorded");
    }
}
