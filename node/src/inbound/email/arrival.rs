//! Ordinary mail in the agency's mailbox: the agency's own copy of what it mailed a unit,
//! or a document a unit sends in.

use std::sync::Arc;

use bytes::Bytes;
use lienthong_protocol::edxml::{self, Organization};
use lienthong_protocol::envelope::{
    PackageFields, ReceiptFields, SignedPackage, SignedReceipt, Timestamp,
};
use lienthong_protocol::mail::{
    IncomingMail, MailAttachment, document_from_mail, headline, read_mail,
};
use lienthong_protocol::roster::EmailUnit;
use lienthong_protocol::{OrganId, StatusCode};
use tracing::{debug, info};

use super::Handled;
use super::imap::Fetched;
use crate::clock;
use crate::context::NodeContext;
use crate::outbound::email::ids;
use crate::receipts::ReceiptsHandle;
use crate::store::{DeliveryState, InboxEntry, IncomingOutcome, MailArrival, StoreError};

/// The name the original message is attached under in the composed edXML.
const ORIGINAL_NAME: &str = "thu-goc.eml";

/// A mail's sender address and subject, as far as they read, for the review list.
pub(super) fn sender_and_subject(raw: &[u8]) -> (String, String) {
    let (from, subject) = headline(raw);
    (
        from.unwrap_or_else(|| "(không đọc được)".to_owned()),
        subject,
    )
}

/// Takes an ordinary mail. Blocking (the store).
///
/// # Errors
/// [`StoreError`].
pub(super) fn mail(
    ctx: &Arc<NodeContext>,
    receipts: &ReceiptsHandle,
    fetched: &Fetched,
) -> Result<Handled, StoreError> {
    let limit = usize::try_from(ctx.limits.max_content_len).unwrap_or(usize::MAX);
    let mail = match read_mail(&fetched.raw, limit) {
        Ok(mail) => mail,
        Err(e) => return Ok(Handled::SetAside(format!("the mail cannot be read: {e}"))),
    };
    let own = ctx.config.email.address.trim();
    if mail.from_address.trim().eq_ignore_ascii_case(own)
        && let Some((package_id, recipient)) = mail.message_id.as_deref().and_then(ids::copy_of)
    {
        return own_copy(ctx, &package_id, &recipient);
    }
    let roster = ctx.roster();
    let Some(unit) = roster.as_ref().and_then(|r| {
        r.bundle()
            .roster()
            .email_unit_by_address(&mail.from_address)
            .cloned()
    }) else {
        return Ok(Handled::SetAside(format!(
            "from {}, an address of no unit the roster lists on official email",
            mail.from_address
        )));
    };
    let received_at = fetched.received_at.or(mail.date).unwrap_or_else(clock::now);
    document(ctx, receipts, &unit, mail, fetched, received_at)
}

/// The agency's own copy: the server took the message, whatever the node recorded.
fn own_copy(
    ctx: &Arc<NodeContext>,
    package_id: &lienthong_protocol::envelope::PackageId,
    recipient: &OrganId,
) -> Result<Handled, StoreError> {
    if ctx
        .store
        .mail_send_handed(package_id, recipient, clock::now())?
        .is_none()
    {
        return Ok(Handled::SetAside(format!(
            "a copy of package {} to {recipient} that this node has no record of mailing",
            package_id.fmt_short()
        )));
    }
    if let Some(entry) = ctx.store.outbox_entry(package_id, recipient)?
        && entry.state != DeliveryState::HandedToMailServer
    {
        let mut handed = entry;
        handed.state = DeliveryState::HandedToMailServer;
        handed.last_error = None;
        handed.delivered_at = Some(clock::now());
        // `KeptFinal`: nothing else ends an email unit's delivery; either way it is recorded.
        let _ = ctx.store.update_outbox(&handed)?;
        info!(
            target: "lienthong::events::handed_to_mail_server",
            package = %package_id,
            %recipient,
            "the agency's own copy shows the mail server took it"
        );
    }
    Ok(Handled::Taken("own copy"))
}

/// A unit's mail as an inbox document: composed edXML (with the original attached), in a
/// package this node signs for its own store (sender: the unit), with this agency's
/// receipt 01. `received_at` is the package's and the receipt's time, and signatures are
/// deterministic, so taking the same mail again builds the same package.
fn document(
    ctx: &Arc<NodeContext>,
    receipts: &ReceiptsHandle,
    unit: &EmailUnit,
    mut mail: IncomingMail,
    fetched: &Fetched,
    received_at: Timestamp,
) -> Result<Handled, StoreError> {
    mail.attachments.push(MailAttachment {
        name: ORIGINAL_NAME.to_owned(),
        content_type: "message/rfc822".to_owned(),
        bytes: fetched.raw.clone(),
    });
    let mut from = Organization::new(unit.organ_id.clone());
    from.organ_name = Some(unit.name.clone());
    let mut to = Organization::new(ctx.organ_id.clone());
    to.organ_name = Some(ctx.config.name.clone());
    let edxml_bytes = match document_from_mail(&mail, from, to, received_at) {
        Ok(bytes) => bytes,
        Err(e) => {
            return Ok(Handled::SetAside(format!(
                "no document can be composed from the mail: {e}"
            )));
        }
    };
    let parsed = match edxml::read(edxml_bytes.clone()) {
        Ok(parsed) => parsed,
        Err(e) => {
            return Ok(Handled::SetAside(format!(
                "the document composed from the mail does not read: {e}"
            )));
        }
    };
    let package = match SignedPackage::sign(
        ctx.identity.agency_key(),
        PackageFields {
            sender: unit.organ_id.clone(),
            recipients: vec![ctx.organ_id.clone()],
            kind: parsed.message.kind(),
            created_at: received_at,
        },
        Bytes::from(edxml_bytes),
        &ctx.limits,
    ) {
        Ok(package) => package,
        Err(e) => {
            return Ok(Handled::SetAside(format!(
                "the document cannot be kept: {e}"
            )));
        }
    };
    let document_id = parsed.message.document_id().map(str::to_owned);
    let receipt = match SignedReceipt::sign(
        ctx.identity.agency_key(),
        ReceiptFields {
            package_id: package.id(),
            sender: unit.organ_id.clone(),
            recipient: ctx.organ_id.clone(),
            document_id: document_id.clone(),
            code: StatusCode::Arrived,
            issued_at: received_at,
            description: None,
        },
        &ctx.limits,
    ) {
        Ok(receipt) => receipt,
        Err(e) => {
            return Ok(Handled::SetAside(format!(
                "the document cannot be acknowledged: {e}"
            )));
        }
    };
    let entry = InboxEntry {
        package_id: package.id(),
        from: unit.organ_id.clone(),
        kind: package.kind(),
        document_id,
        received_at,
        acked_at: None,
    };
    let index = crate::receipts::index::package_index(&ctx.store, &unit.organ_id, &parsed.message)?;
    ctx.store.mail_arrival_names(
        &package.id(),
        &MailArrival {
            from_address: mail.from_address.clone(),
            message_id: mail.message_id.clone(),
        },
    )?;
    match ctx
        .store
        .accept_incoming_indexed(&package, &entry, &receipt, &index)?
    {
        IncomingOutcome::Stored => {
            ctx.metrics.packages_received.inc();
            receipts.signed_on_arrival();
            info!(
                target: "lienthong::events::received",
                package = %package.id(),
                from = %unit.organ_id,
                address = %mail.from_address,
                via = "email",
                bytes = package.content().len(),
                "package received"
            );
        }
        IncomingOutcome::Duplicate(_) => {
            debug!(package = %package.id(), "a mail taken before");
        }
    }
    Ok(Handled::Taken("document"))
}
