//! [`SmtpClient`]: the agency's own mail server as lienthong submits to it, one message per
//! connection, with the delivery status notifications of RFC 3461 asked for.
//!
//! lettre's high-level transport sends `MAIL FROM` and `RCPT TO` without parameters, so
//! the transaction is driven with its connection and commands: `RET=HDRS` and `ENVID` on
//! `MAIL FROM`, `NOTIFY` and `ORCPT` on each `RCPT TO`. A server that does not know those
//! parameters (no DSN extension) is asked again without them: the message still goes,
//! only the delivery report will not come.

use std::time::Duration;

use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, Certificate, CertificateStore, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{
    ClientId, MailBodyParameter, MailParameter, RcptParameter,
};

use crate::config::{EmailConfig, MailSecurity};

/// One recipient of a transaction, and which reports to ask for.
#[derive(Debug, Clone)]
pub struct SmtpRecipient {
    /// The address.
    pub address: String,
    /// Ask for a report of delivery and of failure (`NOTIFY=SUCCESS,FAILURE,DELAY`), or
    /// for none (`NOTIFY=NEVER`: the agency's own copy).
    pub reports: bool,
}

/// Why a message was not taken.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// The server could not be reached, or answered "try later" (4xx): nothing is lost by
    /// trying again.
    #[error("the mail server {server} is unreachable or busy: {problem}")]
    Unavailable {
        /// `host:port`.
        server: String,
        /// What happened.
        problem: String,
    },
    /// The message was sent and the server's answer to it was lost (the connection broke,
    /// a timeout): it may have taken it.
    #[error("the mail server {server} did not answer the message: {problem}")]
    AnswerLost {
        /// `host:port`.
        server: String,
        /// What happened.
        problem: String,
    },
    /// The server refused one recipient for good (5xx on `RCPT TO`).
    #[error("the mail server refused {address}: {answer}")]
    RecipientRefused {
        /// The refused address.
        address: String,
        /// The server's answer.
        answer: String,
    },
    /// The server refused the sender or the message itself for good (5xx).
    #[error("the mail server refused the message: {0}")]
    Refused(String),
    /// The configuration cannot be used (an address that does not read, a CA file).
    #[error("the [email] settings cannot be used: {0}")]
    Config(String),
}

impl SmtpError {
    /// Whether trying again later, unchanged, may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SmtpError::Unavailable { .. } | SmtpError::AnswerLost { .. }
        )
    }

    /// Whether the server may have taken the message in spite of the error.
    pub fn is_in_doubt(&self) -> bool {
        matches!(self, SmtpError::AnswerLost { .. })
    }
}

/// The agency's submission server, from `[email]`.
#[derive(Clone)]
pub struct SmtpClient {
    host: String,
    port: u16,
    security: MailSecurity,
    credentials: Option<Credentials>,
    ca_pem: Option<Vec<u8>>,
    timeout: Duration,
    hello: ClientId,
}

impl std::fmt::Debug for SmtpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpClient")
            .field("server", &self.server())
            .field("security", &self.security)
            .finish_non_exhaustive()
    }
}

impl SmtpClient {
    /// The client `config` describes; `password` when `smtp_auth` is on; `ca_pem` the CA
    /// certificates to trust instead of the public roots.
    pub fn new(config: &EmailConfig, password: Option<&str>, ca_pem: Option<Vec<u8>>) -> Self {
        let domain = config
            .address
            .rsplit_once('@')
            .map_or("localhost", |(_, d)| d)
            .to_owned();
        SmtpClient {
            host: config.smtp_host.trim().to_owned(),
            port: config.smtp_port,
            security: config.smtp_security,
            credentials: password
                .filter(|_| config.smtp_auth)
                .map(|p| Credentials::new(config.username_or_address().to_owned(), p.to_owned())),
            ca_pem,
            timeout: config.timeout,
            hello: ClientId::Domain(domain),
        }
    }

    /// `host:port`.
    pub fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Submits `message` from `from` to `recipients`, with `envelope_id` as the DSN
    /// envelope id; done when the server has answered the message with 2xx.
    ///
    /// # Errors
    /// [`SmtpError`]; nothing is taken unless `Ok`.
    pub async fn submit(
        &self,
        from: &str,
        envelope_id: &str,
        recipients: &[SmtpRecipient],
        message: &[u8],
    ) -> Result<(), SmtpError> {
        let from: Address = from
            .parse()
            .map_err(|e| SmtpError::Config(format!("the sender {from:?}: {e}")))?;
        let mut connection = self.connect().await?;
        let result = self
            .transaction(&mut connection, &from, envelope_id, recipients, message)
            .await;
        let _ = connection.quit().await;
        result
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let unavailable = |problem: String| SmtpError::Unavailable {
            server: self.server(),
            problem,
        };
        let tls = match self.security {
            MailSecurity::None => None,
            MailSecurity::Tls | MailSecurity::Starttls => Some(self.tls_parameters()?),
        };
        let wrapped = match (&tls, self.security) {
            (Some(parameters), MailSecurity::Tls) => Some(parameters.clone()),
            _ => None,
        };
        let mut connection = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(self.timeout),
            &self.hello,
            wrapped,
            None,
        )
        .await
        .map_err(|e| unavailable(e.to_string()))?;
        if self.security == MailSecurity::Starttls {
            if !connection.can_starttls() {
                return Err(unavailable(
                    "it does not offer STARTTLS, and smtp_security = \"starttls\"".to_owned(),
                ));
            }
            let parameters = tls.unwrap_or_else(|| unreachable!("made for starttls above"));
            connection
                .starttls(parameters, &self.hello)
                .await
                .map_err(|e| unavailable(format!("STARTTLS: {e}")))?;
        }
        if let Some(credentials) = &self.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(|e| {
                    if e.is_permanent() {
                        SmtpError::Refused(format!("the log-in was refused: {e}"))
                    } else {
                        unavailable(format!("log-in: {e}"))
                    }
                })?;
        }
        Ok(connection)
    }

    fn tls_parameters(&self) -> Result<TlsParameters, SmtpError> {
        let mut builder = TlsParameters::builder(self.host.clone());
        if let Some(pem) = &self.ca_pem {
            builder = builder.certificate_store(CertificateStore::None);
            for block in split_pem(pem) {
                let certificate = Certificate::from_pem(&block)
                    .map_err(|e| SmtpError::Config(format!("email.ca_file: {e}")))?;
                builder = builder.add_root_certificate(certificate);
            }
        }
        builder
            .build_rustls()
            .map_err(|e| SmtpError::Config(format!("TLS: {e}")))
    }

    async fn transaction(
        &self,
        connection: &mut AsyncSmtpConnection,
        from: &Address,
        envelope_id: &str,
        recipients: &[SmtpRecipient],
        message: &[u8],
    ) -> Result<(), SmtpError> {
        let answer = |e: lettre::transport::smtp::Error| -> SmtpError {
            if e.is_permanent() {
                SmtpError::Refused(e.to_string())
            } else {
                SmtpError::Unavailable {
                    server: self.server(),
                    problem: e.to_string(),
                }
            }
        };
        let mut body = Vec::new();
        if !message.is_ascii() {
            body.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let mut dsn = vec![
            MailParameter::Other {
                keyword: "RET".to_owned(),
                value: Some("HDRS".to_owned()),
            },
            MailParameter::Other {
                keyword: "ENVID".to_owned(),
                value: Some(xtext(envelope_id)),
            },
        ];
        dsn.extend(body.iter().cloned());
        let with_dsn = match connection.command(Mail::new(Some(from.clone()), dsn)).await {
            Ok(_) => true,
            // 555: parameters not recognised; 501/504 from servers without DSN.
            Err(e)
                if e.status()
                    .is_some_and(|c| matches!(u16::from(c), 501 | 504 | 555)) =>
            {
                connection
                    .command(Mail::new(Some(from.clone()), body))
                    .await
                    .map_err(answer)?;
                false
            }
            Err(e) => return Err(answer(e)),
        };
        for recipient in recipients {
            let address: Address =
                recipient
                    .address
                    .parse()
                    .map_err(|e| SmtpError::RecipientRefused {
                        address: recipient.address.clone(),
                        answer: format!("not a mail address: {e}"),
                    })?;
            let parameters = if with_dsn {
                vec![
                    RcptParameter::Other {
                        keyword: "NOTIFY".to_owned(),
                        value: Some(
                            if recipient.reports {
                                "SUCCESS,FAILURE,DELAY"
                            } else {
                                "NEVER"
                            }
                            .to_owned(),
                        ),
                    },
                    RcptParameter::Other {
                        keyword: "ORCPT".to_owned(),
                        value: Some(format!("rfc822;{}", xtext(&recipient.address))),
                    },
                ]
            } else {
                Vec::new()
            };
            if let Err(e) = connection.command(Rcpt::new(address, parameters)).await {
                if e.is_permanent() {
                    return Err(SmtpError::RecipientRefused {
                        address: recipient.address.clone(),
                        answer: e.to_string(),
                    });
                }
                return Err(answer(e));
            }
        }
        connection.command(Data).await.map_err(answer)?;
        connection.message(message).await.map_err(|e| {
            if e.is_permanent() {
                SmtpError::Refused(e.to_string())
            } else {
                SmtpError::AnswerLost {
                    server: self.server(),
                    problem: e.to_string(),
                }
            }
        })?;
        Ok(())
    }
}

/// `text` as RFC 3461 xtext: `+`, `=`, and bytes outside `!`..`~` as `+XX`.
fn xtext(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

/// The PEM certificates in `pem`, one block each (lettre reads one per call).
fn split_pem(pem: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(pem);
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.starts_with("-----BEGIN ") {
            current.clear();
        }
        current.push_str(line);
        current.push('\n');
        if line.starts_with("-----END ") {
            blocks.push(current.clone().into_bytes());
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_ids_and_addresses_are_written_as_xtext() {
        assert_eq!(xtext("5ff13a6c.000.00.31.H10"), "5ff13a6c.000.00.31.H10");
        assert_eq!(xtext("a+b=c d"), "a+2Bb+3Dc+20d");
    }
}
