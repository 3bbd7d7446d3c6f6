//! Delivery reports and read receipts, matched to the copy they speak of by its envelope
//! id or Message-ID (`outbound::email::ids`) and recorded on that unit's timeline as the
//! mail server's or the mail client's word.

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::PackageId;
use lienthong_protocol::mail::{DeliveryAction, DeliveryReport, DispositionReport};
use tracing::info;

use super::Handled;
use crate::clock;
use crate::context::NodeContext;
use crate::outbound::email::ids;
use crate::store::{MailReport, MailReportKind, StoreError};

/// A delivery status notification: each recipient's action, on the copy's timeline.
///
/// # Errors
/// [`StoreError`].
pub(super) fn delivery(ctx: &NodeContext, report: &DeliveryReport) -> Result<Handled, StoreError> {
    let copy = report
        .envelope_id
        .as_deref()
        .and_then(ids::copy_of)
        .or_else(|| report.original_message_id.as_deref().and_then(ids::copy_of));
    let Some((package_id, recipient)) = copy else {
        return Ok(Handled::SetAside(
            "a delivery report of a mail lienthong did not send".to_owned(),
        ));
    };
    let mut recorded = false;
    for status in &report.recipients {
        let kind = match status.action {
            DeliveryAction::Delivered => MailReportKind::Delivered,
            DeliveryAction::Failed => MailReportKind::Bounced,
            DeliveryAction::Delayed => MailReportKind::Delayed,
            // Passed on to a system that reports nothing more: nothing to show yet.
            _ => continue,
        };
        let detail = match &status.diagnostic {
            Some(diagnostic) => format!("{} {diagnostic}", status.status),
            None => status.status.clone(),
        };
        match record(ctx, &package_id, &recipient, kind, detail)? {
            Some(_) => recorded = true,
            None => {
                return Ok(Handled::SetAside(format!(
                    "a delivery report of package {} to {recipient}, which this node has no record of mailing",
                    package_id.fmt_short()
                )));
            }
        }
    }
    Ok(if recorded || report.recipients.is_empty() {
        Handled::Taken("delivery report")
    } else {
        Handled::Taken("delivery report (relayed)")
    })
}

/// A read receipt: "opened", as the unit's mail client says.
///
/// # Errors
/// [`StoreError`].
pub(super) fn read_receipt(
    ctx: &NodeContext,
    report: &DispositionReport,
) -> Result<Handled, StoreError> {
    let Some((package_id, recipient)) =
        report.original_message_id.as_deref().and_then(ids::copy_of)
    else {
        return Ok(Handled::SetAside(
            "a read receipt of a mail lienthong did not send".to_owned(),
        ));
    };
    if !report.displayed {
        // "deleted" and the like say nothing of the document being read.
        return Ok(Handled::Taken("read receipt (not displayed)"));
    }
    match record(
        ctx,
        &package_id,
        &recipient,
        MailReportKind::Opened,
        report.disposition.clone(),
    )? {
        Some(_) => Ok(Handled::Taken("read receipt")),
        None => Ok(Handled::SetAside(format!(
            "a read receipt of package {} to {recipient}, which this node has no record of mailing",
            package_id.fmt_short()
        ))),
    }
}

/// Records one report; `None` when this node never mailed that copy.
fn record(
    ctx: &NodeContext,
    package_id: &PackageId,
    recipient: &OrganId,
    kind: MailReportKind,
    detail: String,
) -> Result<Option<bool>, StoreError> {
    let report = MailReport {
        kind,
        detail,
        learned_at: clock::now(),
    };
    let new = ctx.store.mail_report(package_id, recipient, &report)?;
    if new == Some(true) {
        info!(
            target: "lienthong::events::mail_report",
            package = %package_id,
            %recipient,
            report = kind.as_str(),
            reported_by = kind.reported_by(),
            detail = %report.detail,
            "a mail report came back"
        );
    }
    Ok(new)
}
