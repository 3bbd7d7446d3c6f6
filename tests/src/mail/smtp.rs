//! Sending to the test server over SMTP, with lettre's low-level connection so that the
//! envelope can carry the DSN parameters of RFC 3461.

use anyhow::Context as _;
use lettre::Address;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, MailParameter, RcptParameter};

use super::MailServer;

/// How long one SMTP connection may take to open.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Sends `raw` from `from` (`None`: the null sender `<>`) to `to`, with `mail` parameters
/// on MAIL FROM and `rcpt` parameters on RCPT TO, then QUIT.
///
/// # Errors
/// When an address is malformed or the server refuses a step (its reply is in the error).
pub async fn send(
    from: Option<&str>,
    to: &str,
    raw: &[u8],
    mail: Vec<MailParameter>,
    rcpt: Vec<RcptParameter>,
) -> anyhow::Result<()> {
    let from = from
        .map(|from| {
            from.parse::<Address>()
                .with_context(|| format!("sender {from:?}"))
        })
        .transpose()?;
    let to: Address = to.parse().with_context(|| format!("recipient {to:?}"))?;
    let mut connection = AsyncSmtpConnection::connect_tokio1(
        MailServer::SMTP,
        Some(TIMEOUT),
        &ClientId::Domain("client.lienthong.test".to_owned()),
        None,
        None,
    )
    .await
    .with_context(|| format!("connecting to SMTP on {}", MailServer::SMTP))?;
    connection
        .command(Mail::new(from, mail))
        .await
        .context("MAIL FROM")?;
    connection
        .command(Rcpt::new(to, rcpt))
        .await
        .context("RCPT TO")?;
    connection.command(Data).await.context("DATA")?;
    connection.message(raw).await.context("the message")?;
    connection.quit().await.context("QUIT")?;
    Ok(())
}
