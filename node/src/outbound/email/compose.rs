//! The message an email unit receives for a package: composed from the package's exact
//! edXML bytes by `lienthong_protocol::mail`, addressed from the agency to the unit.

use lienthong_protocol::edxml;
use lienthong_protocol::envelope::SignedPackage;
use lienthong_protocol::mail::{OutgoingMail, compose};
use lienthong_protocol::roster::EmailUnit;

use super::ids;
use crate::context::NodeContext;

/// The message for `unit`'s copy of `package`, and its Message-ID; `Err` says why it
/// cannot be composed (it never will be: the outbox records it).
///
/// # Errors
/// The edXML does not read, or the message cannot be built.
pub fn compose_copy(
    ctx: &NodeContext,
    package: &SignedPackage,
    unit: &EmailUnit,
) -> Result<(Vec<u8>, String), String> {
    let parsed = edxml::read(package.content().to_vec())
        .map_err(|e| format!("the package's edXML does not read: {e}"))?;
    let own = ctx.config.email.address.trim();
    let message_id = ids::message_id(&package.id(), &unit.organ_id, own);
    let headers = [
        ("X-Lienthong-Package", package.id().to_string()),
        ("X-Lienthong-Recipient", unit.organ_id.to_string()),
    ];
    let message = match &parsed.message {
        edxml::Message::Document(document) => compose(&OutgoingMail {
            edxml: package.content(),
            document,
            from_address: own,
            from_name: &ctx.config.name,
            to_address: &unit.address,
            to_name: &unit.name,
            message_id: &message_id,
            date: package.created_at(),
            notification_to: own,
            headers: &headers,
        })
        .map_err(|e| format!("the mail cannot be composed: {e}"))?,
        edxml::Message::Status(_) => {
            return Err(
                "a status message is not mailed: email units receive documents only".to_owned(),
            );
        }
    };
    Ok((message, message_id))
}
