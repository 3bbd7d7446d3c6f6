//! The agency's mail server for the official-email tests: the real Postfix (SMTP) and
//! Dovecot (IMAP) on loopback that `tests/mail/setup-mail.sh` configures and starts.
//!
//! [`MailServer::require`] fails, never skips, when they are not running, and says how to
//! start them. Both offer TLS with a certificate of the test CA ([`MailServer::CA_FILE`]). [`MailServer::mailbox`] hands out fresh mailboxes (every `box-` local part of
//! `lienthong.test` is one) and [`MailServer::unknown_address`] addresses whose mail
//! bounces. [`Mailbox`] reads its folders over IMAP and sends over SMTP; it also plays the
//! recipient's mail client that sends a read receipt ([`Mailbox::send_read_receipt`]).
//!
//! The API is blocking, like the process tests that use it: each call runs async-imap or
//! lettre on a small current-thread runtime ([`block_on`]) and opens its own connection.

pub mod imap;
pub mod mdn;
pub mod smtp;

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher as _, Hasher as _};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use lettre::transport::smtp::extension::{MailParameter, RcptParameter};
use mail_parser::MimeHeaders as _;

/// The test domain: every local part beginning with `box-` is a mailbox, any other bounces.
pub const DOMAIN: &str = "lienthong.test";

/// How often [`Mailbox::wait_message`] looks into the folder again.
const POLL: Duration = Duration::from_millis(100);

/// How long connecting to either port may take before the server counts as missing.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs `future` to completion on a current-thread runtime of its own.
///
/// # Panics
/// When the runtime cannot be built (out of file descriptors).
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime")
        .block_on(future)
}

/// The loopback Postfix + Dovecot that `tests/mail/setup-mail.sh` starts.
#[derive(Debug)]
pub struct MailServer {
    /// Makes every [`MailServer::mailbox`] of this process distinct.
    next: AtomicU64,
    /// Makes them distinct from those of other processes and earlier runs.
    salt: u64,
}

impl MailServer {
    /// Postfix's SMTP listener: no auth needed from loopback; STARTTLS offered, and SMTP
    /// AUTH (PLAIN, LOGIN) after it.
    pub const SMTP: &str = "127.0.0.1:2587";
    /// Dovecot's IMAP listener (plaintext on loopback; STARTTLS offered).
    pub const IMAP: &str = "127.0.0.1:1143";
    /// Dovecot's IMAPS listener (TLS from the first byte).
    pub const IMAPS: &str = "127.0.0.1:1993";
    /// The test CA (PEM) that signed both servers' certificate, for `localhost` and
    /// `127.0.0.1`: what a client trusts instead of the public roots.
    pub const CA_FILE: &str = "/etc/lienthong-test-mail/ca.pem";
    /// The password of every mailbox.
    pub const PASSWORD: &str = "lienthong-test";

    /// Checks that both servers answer, on all three ports.
    ///
    /// # Errors
    /// When either port is closed: the message says how to set them up. Tests that need mail
    /// fail on it; they are never skipped.
    pub fn require() -> anyhow::Result<MailServer> {
        for (name, addr) in [
            ("SMTP (Postfix)", Self::SMTP),
            ("IMAP (Dovecot)", Self::IMAP),
            ("IMAPS (Dovecot)", Self::IMAPS),
        ] {
            let socket = addr.parse().expect("a socket address");
            if let Err(error) = TcpStream::connect_timeout(&socket, CONNECT_TIMEOUT) {
                bail!(
                    "the test mail server is not running: {name} on {addr}: {error}. \
                     Set it up (installs Debian's postfix and dovecot-imapd, loopback only) \
                     with `sudo tests/mail/setup-mail.sh`; CI runs it from .ci/run"
                );
            }
        }
        let salt = RandomState::new().build_hasher().finish()
            ^ SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos() as u64);
        Ok(MailServer {
            next: AtomicU64::new(0),
            salt,
        })
    }

    /// A fresh known mailbox, `box-<role>-<pid>-<n>-<random>@lienthong.test`, unique across
    /// test processes and reruns (its folders start empty).
    ///
    /// # Panics
    /// When `role` holds anything but lowercase letters, digits and `-`.
    pub fn mailbox(&self, role: &str) -> Mailbox {
        Mailbox {
            address: format!("box-{}@{DOMAIN}", self.unique(role)),
        }
    }

    /// As [`MailServer::mailbox`], `box-tls-<role>-...`: Postfix takes mail from this
    /// address only from a client that logged in (SMTP AUTH, which it offers only after
    /// STARTTLS), so a sender that does not log in is refused.
    ///
    /// # Panics
    /// As [`MailServer::mailbox`].
    pub fn login_only_mailbox(&self, role: &str) -> Mailbox {
        self.mailbox(&format!("tls-{role}"))
    }

    /// A unique address of the domain that has no mailbox: Postfix accepts mail for it and
    /// then bounces it to the sender with a DSN.
    ///
    /// # Panics
    /// As [`MailServer::mailbox`].
    pub fn unknown_address(&self, role: &str) -> String {
        format!("nobody-{}@{DOMAIN}", self.unique(role))
    }

    fn unique(&self, role: &str) -> String {
        assert!(
            !role.is_empty()
                && role
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "mailbox role {role:?}: use lowercase letters, digits and '-'"
        );
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let random = self
            .salt
            .wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15)) as u32;
        format!("{role}-{}-{n}-{random:08x}", std::process::id())
    }
}

/// One mailbox of the test domain: reads it over IMAP, sends from it over SMTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// `box-...@lienthong.test`, also its IMAP login.
    pub address: String,
}

impl Mailbox {
    /// Raw RFC 5322 bytes of every message in `folder` ("INBOX", or another folder, which
    /// may not exist yet: then none), oldest first.
    ///
    /// # Errors
    /// When IMAP fails.
    pub fn messages(&self, folder: &str) -> anyhow::Result<Vec<Vec<u8>>> {
        block_on(imap::messages(&self.address, folder))
            .with_context(|| format!("reading {folder} of {} over IMAP", self.address))
    }

    /// Waits until a message in `folder` satisfies `matches`, and returns its raw bytes.
    ///
    /// # Errors
    /// When IMAP fails, or after `deadline`; the error names `what` and lists the subjects
    /// of what the folder held.
    pub fn wait_message(
        &self,
        folder: &str,
        what: &str,
        deadline: Duration,
        matches: impl Fn(&mail_parser::Message) -> bool,
    ) -> anyhow::Result<Vec<u8>> {
        let start = Instant::now();
        loop {
            let messages = self.messages(folder)?;
            if let Some(found) = messages
                .iter()
                .find(|raw| parse(raw).is_some_and(|message| matches(&message)))
            {
                return Ok(found.clone());
            }
            if start.elapsed() > deadline {
                let held: Vec<String> = messages.iter().map(|raw| summary(raw)).collect();
                bail!(
                    "timed out after {deadline:?} waiting for {what} in {folder} of {}; it held {} \
                     message(s): {held:?}",
                    self.address,
                    messages.len()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// The names of the folders that exist (INBOX always does).
    ///
    /// # Errors
    /// When IMAP fails.
    pub fn folders(&self) -> anyhow::Result<Vec<String>> {
        block_on(async {
            let mut session = imap::login(&self.address).await?;
            let folders = imap::folders(&mut session).await?;
            session.logout().await?;
            Ok::<_, anyhow::Error>(folders)
        })
        .with_context(|| format!("listing the folders of {} over IMAP", self.address))
    }

    /// How many messages in `folder` carry Message-ID `id` (with or without its angle
    /// brackets): proves a mail arrived exactly once.
    ///
    /// # Errors
    /// When IMAP fails.
    pub fn count_with_message_id(&self, folder: &str, id: &str) -> anyhow::Result<usize> {
        let id = id.trim().trim_start_matches('<').trim_end_matches('>');
        Ok(self
            .messages(folder)?
            .iter()
            .filter(|raw| parse(raw).is_some_and(|message| message.message_id() == Some(id)))
            .count())
    }

    /// An IMAP session logged in as this mailbox, for what the blocking calls do not cover
    /// (creating folders, moving messages); run it inside [`block_on`].
    ///
    /// # Errors
    /// When the connection or the login fails.
    pub async fn imap(&self) -> anyhow::Result<imap::Session> {
        imap::login(&self.address).await
    }

    /// Sends raw message bytes over SMTP with this address as envelope sender.
    ///
    /// # Errors
    /// When the server refuses any step.
    pub fn send_raw(&self, to: &str, raw: &[u8]) -> anyhow::Result<()> {
        self.send_raw_with(to, raw, Vec::new(), Vec::new())
    }

    /// As [`Mailbox::send_raw`], with ESMTP parameters on MAIL FROM and RCPT TO: the DSN
    /// request of RFC 3461 (`RET`, `ENVID`; `NOTIFY`, `ORCPT`), as the node sends them.
    ///
    /// # Errors
    /// When the server refuses any step.
    pub fn send_raw_with(
        &self,
        to: &str,
        raw: &[u8],
        mail: Vec<MailParameter>,
        rcpt: Vec<RcptParameter>,
    ) -> anyhow::Result<()> {
        block_on(smtp::send(Some(&self.address), to, raw, mail, rcpt))
            .with_context(|| format!("sending from {} to {to} over SMTP", self.address))
    }

    /// A message from this address to `to` (mail-builder): a subject, a text body and
    /// attachments given as (file name, content type, bytes).
    pub fn compose(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        attachments: &[(&str, &str, &[u8])],
    ) -> Vec<u8> {
        let mut builder = mail_builder::MessageBuilder::new()
            .from(self.address.as_str())
            .to(to)
            .subject(subject)
            .text_body(body);
        for (name, content_type, bytes) in attachments {
            builder = builder.attachment(*content_type, *name, *bytes);
        }
        builder.write_to_vec().expect("writing into a Vec")
    }

    /// Plays the recipient's mail client: sends the RFC 8098 read receipt of `original`
    /// (which this mailbox received) to the address its Disposition-Notification-To names.
    /// The envelope sender is null, as RFC 8098 requires of an MDN.
    ///
    /// # Errors
    /// When `original` asks for no receipt or has no Message-ID, or SMTP fails.
    pub fn send_read_receipt(&self, original: &[u8]) -> anyhow::Result<()> {
        let receipt = mdn::read_receipt(&self.address, original)?;
        block_on(smtp::send(
            None,
            &receipt.to,
            &receipt.raw,
            Vec::new(),
            Vec::new(),
        ))
        .with_context(|| {
            format!(
                "sending the read receipt of {} to {}",
                self.address, receipt.to
            )
        })
    }
}

/// Parses a message; `None` for bytes mail-parser cannot read.
pub fn parse(raw: &[u8]) -> Option<mail_parser::Message<'_>> {
    mail_parser::MessageParser::default().parse(raw)
}

/// One line about a message for error reports: its Subject and Content-Type.
fn summary(raw: &[u8]) -> String {
    match parse(raw) {
        Some(message) => {
            let content_type = message
                .content_type()
                .map(|ct| {
                    let mut text = format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or(""));
                    if let Some(report) = ct.attribute("report-type") {
                        text.push_str(&format!("; report-type={report}"));
                    }
                    text
                })
                .unwrap_or_else(|| "text/plain".to_owned());
            format!("{:?} ({content_type})", message.subject().unwrap_or(""))
        }
        None => format!("unparsable, {} bytes", raw.len()),
    }
}
