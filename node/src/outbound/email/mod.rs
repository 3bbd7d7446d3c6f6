//! Official email: this node as its agency's own mail client, for the roster's units that
//! run no node (`docs/email.md`).
//!
//! - `smtp.rs`: [`SmtpClient`], the agency's submission server with delivery reports
//!   asked for.
//! - `send.rs`: [`send_once`], one unit's copy exactly once across crashes (the start
//!   recorded, the agency's own copy settling a crash between send and record).
//! - `ids.rs`: the envelope id and Message-ID a copy is mailed under, read back from
//!   delivery reports and read receipts.
//! - `compose.rs`: the message a unit receives, from the package's edXML.
//!
//! What comes back (reports, receipts, documents units send in) is read by
//! `inbound::email`.

mod compose;
pub mod ids;
mod send;
mod smtp;

use tracing::{info, warn};

pub use compose::compose_copy;
pub use send::{MailCopy, MailSendError, OWN_COPY_WAIT, send_once};
pub use smtp::{SmtpClient, SmtpError, SmtpRecipient};

use crate::context::NodeContext;
use crate::data_dir;

/// The mail account `[email]` describes: its password and CA certificates read, or `None`
/// when email is off or they cannot be read (said once, as a warning: the operator must
/// act).
#[derive(Debug, Clone)]
pub struct MailAccount {
    /// The submission server.
    pub smtp: SmtpClient,
    /// The account's password, for IMAP (and SMTP when `smtp_auth`).
    pub password: zeroize::Zeroizing<String>,
    /// The CA certificates to trust instead of the public roots.
    pub ca_pem: Option<Vec<u8>>,
}

/// The account of `ctx`'s `[email]`; see [`MailAccount`].
pub fn account(ctx: &NodeContext) -> Option<MailAccount> {
    let config = &ctx.config.email;
    if !config.enabled {
        return None;
    }
    let password = match data_dir::read_secret(&config.password_file) {
        Ok(text) => zeroize::Zeroizing::new(text.trim_end_matches(['\r', '\n']).to_owned()),
        Err(e) => {
            warn!(file = %config.password_file.display(), error = %e, "official email is off: the mail account's password cannot be read");
            return None;
        }
    };
    let ca_pem = match data_dir::read_optional(&config.ca_file) {
        Ok(pem) => pem,
        Err(e) => {
            warn!(file = %config.ca_file.display(), error = %e, "official email is off: the mail server's CA file cannot be read");
            return None;
        }
    };
    let smtp = SmtpClient::new(config, Some(password.as_str()), ca_pem.clone());
    info!(address = %config.address, smtp = %smtp.server(), imap = %format!("{}:{}", config.imap_host, config.imap_port), "official email on");
    Some(MailAccount {
        smtp,
        password,
        ca_pem,
    })
}
