//! Reading the test mailboxes over IMAP (async-imap against Dovecot on loopback).

use anyhow::{Context as _, anyhow};
use futures::TryStreamExt as _;
use tokio::net::TcpStream;

use super::MailServer;

/// A logged-in IMAP session on the test server.
pub type Session = async_imap::Session<TcpStream>;

/// Connects to the test server's IMAP port and logs in as `address`.
///
/// # Errors
/// When the connection, the greeting or the login fails.
pub async fn login(address: &str) -> anyhow::Result<Session> {
    let stream = TcpStream::connect(MailServer::IMAP)
        .await
        .with_context(|| format!("connecting to IMAP on {}", MailServer::IMAP))?;
    let mut client = async_imap::Client::new(stream);
    client
        .read_response()
        .await
        .context("reading the IMAP greeting")?
        .ok_or_else(|| anyhow!("the IMAP server closed the connection before its greeting"))?;
    client
        .login(address, MailServer::PASSWORD)
        .await
        .map_err(|(error, _)| anyhow!("IMAP login as {address}: {error}"))
}

/// The names of the folders that exist.
///
/// # Errors
/// When LIST fails.
pub async fn folders(session: &mut Session) -> anyhow::Result<Vec<String>> {
    let names: Vec<_> = session
        .list(Some(""), Some("*"))
        .await?
        .try_collect()
        .await?;
    Ok(names.iter().map(|name| name.name().to_owned()).collect())
}

/// Raw bytes of every message in `folder`, oldest first; none when the folder does not
/// exist. Reads with BODY.PEEK, so nothing is marked seen.
///
/// # Errors
/// When IMAP fails.
pub async fn messages(address: &str, folder: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut session = login(address).await?;
    let exists = folders(&mut session).await?.iter().any(|name| {
        name == folder
            || (name.eq_ignore_ascii_case("INBOX") && folder.eq_ignore_ascii_case("INBOX"))
    });
    let mut messages = Vec::new();
    if exists {
        let selected = session.examine(folder).await?;
        if selected.exists > 0 {
            let mut fetches: Vec<_> = session
                .fetch("1:*", "BODY.PEEK[]")
                .await?
                .try_collect()
                .await?;
            fetches.sort_by_key(|fetch| fetch.message);
            for fetch in &fetches {
                let body = fetch.body().ok_or_else(|| {
                    anyhow!(
                        "message {} of {folder} came without its body",
                        fetch.message
                    )
                })?;
                messages.push(body.to_vec());
            }
        }
    }
    session.logout().await?;
    Ok(messages)
}
