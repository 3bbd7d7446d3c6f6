//! Official email (thư điện tử công vụ): the formats a node uses to reach units that have no
//! node of their own.
//!
//! Pure and synchronous like the rest of the crate; the node does the SMTP and IMAP.
//!
//! - [`compose`] builds the mail a node sends a unit for one edXML document: a Vietnamese
//!   letter naming the document, the document's files decoded, the edXML itself attached,
//!   a read receipt requested (`Disposition-Notification-To`, RFC 8098). The same input
//!   always gives the same bytes, so a node that composes again after a crash sends the
//!   same message.
//! - [`read_report`] reads what comes back to the agency's mailbox: delivery status
//!   notifications (RFC 3464, as Postfix writes them) and read receipts (RFC 8098).
//! - [`read_mail`] and [`document_from_mail`] turn a mail a unit sends in into the edXML
//!   document the agency's QLVB software receives.
//!
//! MIME is built by `mail-builder` and parsed by `mail-parser`; only the `field: value`
//! blocks of a report body, which `mail-parser` leaves as bytes, are split here (and each
//! block's fields are still read by `mail-parser`'s header parser).
//!
//! `docs/email.md` describes the formats.

mod error;
mod incoming;
mod outgoing;
mod report;
mod text;

pub use error::MailError;
pub use incoming::{IncomingMail, MailAttachment, document_from_mail, headline, read_mail};
pub use outgoing::{OutgoingMail, compose};
pub use report::{
    DeliveryAction, DeliveryReport, DispositionReport, RecipientStatus, Report, read_report,
};
