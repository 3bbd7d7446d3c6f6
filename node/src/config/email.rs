//! `[email]`: official email for units that run no node (`docs/email.md`).
//!
//! The node sends documents to the roster's email units through the agency's own mail
//! server, as the agency's own mail client would (SMTP submission with delivery status
//! notifications and a read receipt asked for), and reads the agency's mailbox over IMAP
//! for what comes back and for documents units send in.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The default name of the mail account's password file, in the data directory.
pub const EMAIL_PASSWORD_FILE: &str = "email.secret";

/// How a connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailSecurity {
    /// TLS from the first byte (SMTPS on 465, IMAPS on 993).
    Tls,
    /// Plain, then STARTTLS before anything else is said (submission on 587).
    Starttls,
    /// No TLS at all: only for a mail server on this machine (loopback).
    None,
}

impl MailSecurity {
    fn as_str(self) -> &'static str {
        match self {
            MailSecurity::Tls => "tls",
            MailSecurity::Starttls => "starttls",
            MailSecurity::None => "none",
        }
    }
}

/// `[email]`; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// Whether this node mails the roster's email units and reads the agency's mailbox.
    pub enabled: bool,
    /// The agency's official address: the sender of every mail, where delivery reports and
    /// read receipts come back, and where units send documents.
    pub address: String,
    /// The mail server's submission host.
    pub smtp_host: String,
    /// Its submission port.
    pub smtp_port: u16,
    /// `starttls`, `tls` or `none` (loopback only).
    pub smtp_security: MailSecurity,
    /// Whether to log in to the submission server (AUTH) with `username` and the password.
    pub smtp_auth: bool,
    /// The mailbox's IMAP host.
    pub imap_host: String,
    /// Its IMAP port.
    pub imap_port: u16,
    /// `tls`, `starttls` or `none` (loopback only).
    pub imap_security: MailSecurity,
    /// The account's user name on both servers; empty means `address`.
    pub username: String,
    /// The file holding the account's password, as text, mode 0600; relative to the data
    /// directory.
    pub password_file: PathBuf,
    /// A PEM file of CA certificates to trust for the mail server instead of the public web
    /// roots; relative to the data directory. Empty: the public roots.
    pub ca_file: PathBuf,
    /// How often the mailbox is read.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// The folder handled mail is moved to (never deleted).
    pub handled_folder: String,
    /// The folder for mail a person must look at: from no listed unit, or unreadable.
    pub review_folder: String,
    /// How long opening a connection and each command may take.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            enabled: false,
            address: String::new(),
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_security: MailSecurity::Starttls,
            smtp_auth: true,
            imap_host: String::new(),
            imap_port: 993,
            imap_security: MailSecurity::Tls,
            username: String::new(),
            password_file: PathBuf::from(EMAIL_PASSWORD_FILE),
            ca_file: PathBuf::new(),
            poll_interval: Duration::from_secs(30),
            handled_folder: "Lienthong/Handled".to_owned(),
            review_folder: "Lienthong/Review".to_owned(),
            timeout: Duration::from_secs(60),
        }
    }
}

impl EmailConfig {
    /// The account's user name: [`Self::username`], or the address.
    pub fn username_or_address(&self) -> &str {
        if self.username.trim().is_empty() {
            self.address.trim()
        } else {
            self.username.trim()
        }
    }

    /// What is wrong with the section, if anything.
    pub(super) fn problem(&self) -> Option<String> {
        if !self.enabled {
            return None;
        }
        let address = self.address.trim();
        if address.is_empty() || !address.contains('@') || address.contains(char::is_whitespace) {
            return Some(format!(
                "email.address {address:?} must be the agency's mail address"
            ));
        }
        for (name, host, security) in [
            ("smtp", &self.smtp_host, self.smtp_security),
            ("imap", &self.imap_host, self.imap_security),
        ] {
            if host.trim().is_empty() {
                return Some(format!(
                    "email.{name}_host is empty while email.enabled = true"
                ));
            }
            if security == MailSecurity::None && !is_loopback(host) {
                return Some(format!(
                    "email.{name}_security = \"none\" is only for a mail server on this machine; {host} is not a loopback address (use \"starttls\" or \"tls\")"
                ));
            }
        }
        if self.smtp_port == 0 || self.imap_port == 0 {
            return Some("email.smtp_port and email.imap_port must be above zero".to_owned());
        }
        if self.password_file.as_os_str().is_empty() {
            return Some("email.password_file is empty".to_owned());
        }
        if self.handled_folder.trim().is_empty() || self.review_folder.trim().is_empty() {
            return Some("email.handled_folder and email.review_folder must be named".to_owned());
        }
        if self.poll_interval.is_zero() || self.timeout.is_zero() {
            return Some("email.poll_interval and email.timeout must be above zero".to_owned());
        }
        None
    }

    /// The section as `lienthong init` writes it, every key commented.
    pub(super) fn documented(&self) -> String {
        let d = |duration: &Duration| humantime::format_duration(*duration).to_string();
        format!(
            r#"
[email]
# Reach the roster's units that have no node by official email, through this agency's own
# mail server, and read the agency's mailbox for delivery reports, read receipts and
# documents units send in. See docs/email.md.
enabled = {enabled}
# The agency's official address: sender of every mail, and where answers come back.
address = {address:?}
# The mail server's submission host.
smtp_host = {smtp_host:?}
# Its submission port: 587 with STARTTLS, 465 with TLS.
smtp_port = {smtp_port}
# "starttls", "tls", or "none" (refused unless the host is this machine).
smtp_security = "{smtp_security}"
# Log in to the submission server with username and the password file.
smtp_auth = {smtp_auth}
# The mailbox's IMAP host.
imap_host = {imap_host:?}
# Its IMAP port: 993 with TLS, 143 with STARTTLS.
imap_port = {imap_port}
# "tls", "starttls", or "none" (refused unless the host is this machine).
imap_security = "{imap_security}"
# The account's user name on both servers; empty means the address.
username = {username:?}
# The file with the account's password, as text, mode 0600; relative to the data directory.
password_file = {password:?}
# A PEM file of CA certificates to trust for the mail server instead of the public roots.
ca_file = {ca:?}
# How often to read the mailbox.
poll_interval = "{poll}"
# Where handled mail is moved (never deleted); "/" becomes the server's own delimiter.
handled_folder = {handled:?}
# Where mail a person must look at is moved: from no listed unit, or unreadable.
review_folder = {review:?}
# How long opening a connection, and each command, may take.
timeout = "{timeout}"
"#,
            enabled = self.enabled,
            address = self.address,
            smtp_host = self.smtp_host,
            smtp_port = self.smtp_port,
            smtp_security = self.smtp_security.as_str(),
            smtp_auth = self.smtp_auth,
            imap_host = self.imap_host,
            imap_port = self.imap_port,
            imap_security = self.imap_security.as_str(),
            username = self.username,
            password = self.password_file.display().to_string(),
            ca = self.ca_file.display().to_string(),
            poll = d(&self.poll_interval),
            handled = self.handled_folder,
            review = self.review_folder,
            timeout = d(&self.timeout),
        )
    }
}

/// Whether `host` names this machine: `localhost`, or a loopback address.
fn is_loopback(host: &str) -> bool {
    let host = host.trim();
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled() -> EmailConfig {
        EmailConfig {
            enabled: true,
            address: "vanthu@sotuphap.binhthuan.gov.vn".to_owned(),
            smtp_host: "mail.binhthuan.gov.vn".to_owned(),
            imap_host: "mail.binhthuan.gov.vn".to_owned(),
            ..EmailConfig::default()
        }
    }

    #[test]
    fn off_by_default_and_an_enabled_section_needs_an_address_and_hosts() {
        assert_eq!(EmailConfig::default().problem(), None);
        assert_eq!(enabled().problem(), None);
        let mut config = enabled();
        config.address = "vanthu".to_owned();
        assert!(config.problem().expect("problem").contains("email.address"));
        let mut config = enabled();
        config.imap_host = String::new();
        assert!(
            config
                .problem()
                .expect("problem")
                .contains("email.imap_host")
        );
    }

    #[test]
    fn a_mail_server_without_tls_is_refused_unless_it_is_on_this_machine() {
        let mut config = enabled();
        config.smtp_security = MailSecurity::None;
        let problem = config.problem().expect("refused");
        assert!(problem.contains("loopback"), "{problem}");
        config.smtp_host = "127.0.0.1".to_owned();
        config.imap_host = "localhost".to_owned();
        config.imap_security = MailSecurity::None;
        assert_eq!(config.problem(), None);
    }
}
