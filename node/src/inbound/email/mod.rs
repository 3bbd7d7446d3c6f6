//! What comes back to the agency's mailbox, and documents units send in by mail
//! (`docs/email.md`, inbound).
//!
//! Every `[email] poll_interval` the node reads the mailbox's inbox over IMAP and takes
//! each message, oldest first:
//!
//! - **The agency's own copy** of a message it mailed a unit: the mail server took it.
//!   It settles a send whose answer was lost (`outbound::email::send`).
//! - **A delivery report** (RFC 3464): "delivered to the recipient's mailbox", "bounced"
//!   with the server's reason, or "delayed", on that unit's timeline.
//! - **A read receipt** (RFC 8098): "opened", as the unit's mail client says.
//! - **A mail from a listed unit's address**: an inbox document for QLVB, composed from
//!   the mail (From: the unit's OrganId), unsigned by the unit and marked as arrived by
//!   email; the original message is attached to it byte for byte.
//!
//! Anything else (a mail from an address no unit has, a report of a mail lienthong never
//! sent, a message that does not read) is set aside for a person: recorded with why, moved
//! to the review folder and listed in the dashboard. Each message is recorded durably
//! before it is moved out of the inbox, and every record is idempotent, so a crash between
//! the two only means the message is taken again, to the same effect. Nothing is deleted.

mod arrival;
mod imap;
mod reports;

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::clock;
use crate::context::NodeContext;
use crate::outbound::email::MailAccount;
use crate::receipts::ReceiptsHandle;
use crate::store::{MailReview, StoreError};
pub(crate) use imap::ImapError;
use imap::{Fetched, MailboxSession};

/// At most this many messages are taken per round; the rest wait for the next.
const ROUND: usize = 256;

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Handled {
    /// Taken: moved to the handled folder.
    Taken(&'static str),
    /// Set aside for a person, with why: moved to the review folder.
    SetAside(String),
}

/// A mail set aside: its key in the review list (so a mail taken again after a crash is
/// listed once), and what a person needs to find it.
#[derive(Debug)]
struct Aside {
    key: [u8; 32],
    from: String,
    subject: String,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Round {
    /// Messages taken.
    pub(crate) taken: usize,
    /// Messages set aside.
    pub(crate) set_aside: usize,
}

/// Why a round stopped; what was not moved waits in the inbox for the next.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RoundError {
    /// The mailbox.
    #[error(transparent)]
    Imap(#[from] ImapError),
    /// The store could not record a message: it stays in the inbox.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The node's reader of its agency's mailbox.
#[derive(Debug, Clone)]
pub(crate) struct EmailInbound {
    ctx: Arc<NodeContext>,
    account: MailAccount,
    receipts: ReceiptsHandle,
}

impl EmailInbound {
    /// The reader of `account`'s mailbox, for the node of `ctx`.
    pub(crate) fn new(
        ctx: Arc<NodeContext>,
        account: MailAccount,
        receipts: ReceiptsHandle,
    ) -> EmailInbound {
        EmailInbound {
            ctx,
            account,
            receipts,
        }
    }

    /// Reads the mailbox now, then every `interval`, until `shutdown`.
    pub(crate) async fn poll(self, interval: Duration, shutdown: CancellationToken) {
        // Said once per run of failures: a mailbox that cannot be read leaves reports and
        // units' documents waiting on the server until the operator acts or it returns.
        let mut failing = false;
        loop {
            let round = tokio::select! {
                () = shutdown.cancelled() => return,
                round = self.round() => round,
            };
            match round {
                Ok(round) => {
                    if failing {
                        info!("the agency's mailbox is read again");
                    }
                    failing = false;
                    if round != Round::default() {
                        debug!(
                            taken = round.taken,
                            set_aside = round.set_aside,
                            "mailbox read"
                        );
                    }
                }
                Err(problem) => {
                    if !failing {
                        warn!(%problem, "the agency's mailbox cannot be read; delivery reports and documents by email wait on the mail server");
                    }
                    failing = true;
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// One round: every message in the inbox, up to [`ROUND`].
    ///
    /// # Errors
    /// [`RoundError`]; what was moved before stays moved.
    pub(crate) async fn round(&self) -> Result<Round, RoundError> {
        let config = &self.ctx.config.email;
        let (handled, review) = (config.handled_folder.trim(), config.review_folder.trim());
        let mut mailbox = MailboxSession::open(
            config,
            &self.account.password,
            self.account.ca_pem.as_deref(),
            &[handled, review],
        )
        .await?;
        let mut round = Round::default();
        let result = async {
            let limit = self.ctx.limits.max_content_len;
            for uid in mailbox.inbox(ROUND).await? {
                // A mail larger than any package may be is not fetched at all.
                let outcome = match mailbox.size(uid).await? {
                    None => continue,
                    Some(size) if size > limit => {
                        self.set_aside_unfetched(uid, size, limit).await?
                    }
                    Some(_) => {
                        let Some(fetched) = mailbox.fetch(uid).await? else {
                            continue;
                        };
                        self.take(fetched).await?
                    }
                };
                match outcome {
                    Handled::Taken(what) => {
                        debug!(uid, what, "mail taken");
                        mailbox.move_to(uid, handled).await?;
                        round.taken += 1;
                    }
                    Handled::SetAside(reason) => {
                        debug!(uid, %reason, "mail set aside");
                        mailbox.move_to(uid, review).await?;
                        round.set_aside += 1;
                    }
                }
            }
            Ok::<(), RoundError>(())
        }
        .await;
        mailbox.close().await;
        result.map(|()| round)
    }

    /// Records what `fetched` is, durably; set-aside mail is recorded for the dashboard.
    async fn take(&self, fetched: Fetched) -> Result<Handled, StoreError> {
        let this = self.clone();
        let (handled, aside) = crate::tasks::blocking(move || {
            let handled = this.classify(&fetched)?;
            // Only mail set aside is hashed and its headers read again, for the list.
            let aside = matches!(handled, Handled::SetAside(_)).then(|| {
                let (from, subject) = arrival::sender_and_subject(&fetched.raw);
                Aside {
                    key: Sha256::digest(&fetched.raw).into(),
                    from,
                    subject,
                }
            });
            Ok::<_, StoreError>((handled, aside))
        })
        .await
        .map_err(StoreError::Task)??;
        if let (Handled::SetAside(reason), Some(aside)) = (&handled, aside) {
            self.record_aside(aside, reason.clone()).await?;
        }
        Ok(handled)
    }

    /// Records message `uid`, too large to fetch, as set aside; its sender and subject
    /// stay unread.
    async fn set_aside_unfetched(
        &self,
        uid: u32,
        size: u64,
        limit: u64,
    ) -> Result<Handled, StoreError> {
        let reason = format!(
            "{size} bytes, larger than limits.max_package_size ({limit} bytes): not fetched"
        );
        let aside = Aside {
            key: Sha256::digest(format!("unfetched:{uid}:{size}")).into(),
            from: "(chưa đọc: thư quá lớn)".to_owned(),
            subject: String::new(),
        };
        self.record_aside(aside, reason.clone()).await?;
        Ok(Handled::SetAside(reason))
    }

    /// Records, durably, a mail set aside for a person, and says so in the log.
    async fn record_aside(&self, aside: Aside, reason: String) -> Result<(), StoreError> {
        let review = MailReview {
            from_address: aside.from,
            subject: aside.subject,
            reason,
            set_aside_at: clock::now(),
            folder: self.ctx.config.email.review_folder.trim().to_owned(),
        };
        info!(
            target: "lienthong::events::mail_set_aside",
            from = %review.from_address,
            subject = %review.subject,
            reason = %review.reason,
            "a mail was set aside for a person to look at"
        );
        let key = aside.key;
        self.ctx
            .store
            .call(move |s| s.mail_set_aside(&key, &review))
            .await
    }

    /// What `fetched` is, acted on. Blocking (the store).
    fn classify(&self, fetched: &Fetched) -> Result<Handled, StoreError> {
        use lienthong_protocol::mail::{Report, read_report};
        Ok(match read_report(&fetched.raw) {
            Ok(Some(Report::Delivery(report))) => reports::delivery(&self.ctx, &report)?,
            Ok(Some(Report::Disposition(report))) => reports::read_receipt(&self.ctx, &report)?,
            Ok(None) => arrival::mail(&self.ctx, &self.receipts, fetched)?,
            Err(e) => Handled::SetAside(format!("a report that cannot be read: {e}")),
        })
    }
}
