//! [`MailboxSession`]: the agency's mailbox over IMAP, as the reader uses it: list what is
//! in the inbox, fetch one message whole, move it to a folder. Nothing is ever deleted.

use std::sync::Arc;

use async_imap::Session;
use futures::TryStreamExt as _;
use lienthong_protocol::envelope::Timestamp;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::config::{EmailConfig, MailSecurity};

/// A byte stream to the IMAP server: plain on loopback, or TLS.
pub(super) trait ImapStream:
    AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug
{
}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> ImapStream for T {}

/// Why the mailbox could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ImapError {
    /// The server could not be reached, or the connection broke.
    #[error("the mailbox server {server} is unreachable: {problem}")]
    Unreachable {
        /// `host:port`.
        server: String,
        /// What happened.
        problem: String,
    },
    /// The server refused the log-in.
    #[error("the mailbox server refused the log-in of {user}: {problem}")]
    LogIn {
        /// The user name.
        user: String,
        /// The server's words.
        problem: String,
    },
    /// A command failed.
    #[error("the mailbox server refused {command}: {problem}")]
    Command {
        /// The command.
        command: &'static str,
        /// The server's words.
        problem: String,
    },
    /// The TLS settings cannot be used.
    #[error("the [email] TLS settings cannot be used: {0}")]
    Tls(String),
}

/// A message fetched from the mailbox.
#[derive(Debug)]
pub(super) struct Fetched {
    /// Its bytes, exactly as the server holds them.
    pub(super) raw: Vec<u8>,
    /// When the server received it (IMAP's INTERNALDATE).
    pub(super) received_at: Option<Timestamp>,
}

/// A logged-in session with the inbox selected.
pub(super) struct MailboxSession {
    session: Session<Box<dyn ImapStream>>,
    /// The server's hierarchy delimiter (`/` or `.`): folder names are written with `/`
    /// in the config and with this on the wire.
    delimiter: String,
}

impl std::fmt::Debug for MailboxSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailboxSession").finish_non_exhaustive()
    }
}

impl MailboxSession {
    /// Connects, logs in as `config`'s account and selects the inbox; `folders` are
    /// created if missing.
    ///
    /// # Errors
    /// [`ImapError`].
    pub(super) async fn open(
        config: &EmailConfig,
        password: &str,
        ca_pem: Option<&[u8]>,
        folders: &[&str],
    ) -> Result<MailboxSession, ImapError> {
        let server = format!("{}:{}", config.imap_host.trim(), config.imap_port);
        let unreachable = |problem: String| ImapError::Unreachable {
            server: server.clone(),
            problem,
        };
        let connect = async {
            let tcp = TcpStream::connect((config.imap_host.trim(), config.imap_port))
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let stream: Box<dyn ImapStream> = match config.imap_security {
                MailSecurity::None => Box::new(tcp),
                MailSecurity::Tls => Box::new(tls(config, ca_pem, tcp).await?),
                MailSecurity::Starttls => {
                    let mut client = async_imap::Client::new(tcp);
                    greeting(&mut client).await.map_err(unreachable)?;
                    client
                        .run_command_and_check_ok("STARTTLS", None)
                        .await
                        .map_err(|e| unreachable(format!("STARTTLS: {e}")))?;
                    Box::new(tls(config, ca_pem, client.into_inner()).await?)
                }
            };
            let mut client = async_imap::Client::new(stream);
            if config.imap_security != MailSecurity::Starttls {
                greeting(&mut client).await.map_err(unreachable)?;
            }
            let user = config.username_or_address();
            let mut session =
                client
                    .login(user, password)
                    .await
                    .map_err(|(e, _)| ImapError::LogIn {
                        user: user.to_owned(),
                        problem: e.to_string(),
                    })?;
            let delimiter = {
                let names: Vec<_> = session
                    .list(Some(""), Some("\"\""))
                    .await
                    .map_err(|e| command("LIST", e))?
                    .try_collect()
                    .await
                    .map_err(|e| command("LIST", e))?;
                names
                    .first()
                    .and_then(|n| n.delimiter().map(str::to_owned))
                    .unwrap_or_else(|| "/".to_owned())
            };
            let mut mailbox = MailboxSession { session, delimiter };
            for folder in folders {
                let folder = mailbox.on_wire(folder);
                // "Already exists" is the usual answer after the first run.
                let _ = mailbox.session.create(&folder).await;
            }
            mailbox
                .session
                .select("INBOX")
                .await
                .map_err(|e| command("SELECT INBOX", e))?;
            Ok(mailbox)
        };
        tokio::time::timeout(config.timeout, connect)
            .await
            .map_err(|_| unreachable(format!("no answer within {:?}", config.timeout)))?
    }

    /// The UIDs of the messages in the inbox, oldest first, at most `limit`.
    ///
    /// # Errors
    /// [`ImapError`].
    pub(super) async fn inbox(&mut self, limit: usize) -> Result<Vec<u32>, ImapError> {
        let mut uids: Vec<u32> = self
            .session
            .uid_search("ALL")
            .await
            .map_err(|e| command("UID SEARCH", e))?
            .into_iter()
            .collect();
        uids.sort_unstable();
        uids.truncate(limit);
        Ok(uids)
    }

    /// The size of message `uid` as the server counts it; `None` when it is gone.
    ///
    /// # Errors
    /// [`ImapError`].
    pub(super) async fn size(&mut self, uid: u32) -> Result<Option<u64>, ImapError> {
        Ok(self
            .fetch_one(uid, "(UID RFC822.SIZE)")
            .await?
            .and_then(|f| f.size.map(u64::from)))
    }

    /// `query`'s answer about message `uid`; `None` when it is gone.
    async fn fetch_one(
        &mut self,
        uid: u32,
        query: &str,
    ) -> Result<Option<async_imap::types::Fetch>, ImapError> {
        let fetches: Vec<_> = self
            .session
            .uid_fetch(uid.to_string(), query)
            .await
            .map_err(|e| command("UID FETCH", e))?
            .try_collect()
            .await
            .map_err(|e| command("UID FETCH", e))?;
        Ok(fetches.into_iter().find(|f| f.uid == Some(uid)))
    }

    /// The message `uid`, whole; `None` when it is gone.
    ///
    /// # Errors
    /// [`ImapError`].
    pub(super) async fn fetch(&mut self, uid: u32) -> Result<Option<Fetched>, ImapError> {
        Ok(self
            .fetch_one(uid, "(UID INTERNALDATE BODY.PEEK[])")
            .await?
            .and_then(|f| {
                let raw = f.body()?.to_vec();
                let received_at = f.internal_date().and_then(|d| {
                    u64::try_from(d.timestamp_millis())
                        .ok()
                        .map(Timestamp::from_millis)
                });
                Some(Fetched { raw, received_at })
            }))
    }

    /// `folder` as the server names it: `/` replaced by its delimiter.
    fn on_wire(&self, folder: &str) -> String {
        folder.replace('/', &self.delimiter)
    }

    /// Moves `uid` to `folder` (written with `/`).
    ///
    /// # Errors
    /// [`ImapError`].
    pub(super) async fn move_to(&mut self, uid: u32, folder: &str) -> Result<(), ImapError> {
        let folder = self.on_wire(folder);
        self.session
            .uid_mv(uid.to_string(), &folder)
            .await
            .map_err(|e| command("UID MOVE", e))
    }

    /// Logs out, politely; a failure changes nothing.
    pub(super) async fn close(mut self) {
        let _ = self.session.logout().await;
    }
}

fn command(command: &'static str, e: async_imap::error::Error) -> ImapError {
    ImapError::Command {
        command,
        problem: e.to_string(),
    }
}

async fn greeting<T: ImapStream>(client: &mut async_imap::Client<T>) -> Result<(), String> {
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err("the server closed the connection before its greeting".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

async fn tls(
    config: &EmailConfig,
    ca_pem: Option<&[u8]>,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ImapError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            for certificate in CertificateDer::pem_slice_iter(pem) {
                let certificate =
                    certificate.map_err(|e| ImapError::Tls(format!("email.ca_file: {e}")))?;
                roots
                    .add(certificate)
                    .map_err(|e| ImapError::Tls(format!("email.ca_file: {e}")))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ImapError::Tls(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from(config.imap_host.trim().to_owned())
        .map_err(|e| ImapError::Tls(format!("email.imap_host: {e}")))?;
    tokio_rustls::TlsConnector::from(Arc::new(client))
        .connect(name, tcp)
        .await
        .map_err(|e| ImapError::Unreachable {
            server: format!("{}:{}", config.imap_host.trim(), config.imap_port),
            problem: format!("TLS: {e}"),
        })
}
