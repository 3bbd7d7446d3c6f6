//! Trusted timestamps (RFC 3161) on this node's checkpoints, from the timestamp authority
//! `[evidence] timestamp_url` names.
//!
//! After each checkpoint is signed (the same wake as witnessing) and on a retry timer while
//! the TSA fails, the task asks for one token over the latest checkpoint not yet
//! timestamped: since a checkpoint commits to every leaf before it, one token dates every
//! fact up to that size, however many checkpoints went by while the TSA was away. The
//! token is checked with [`timestamp::verify_token`] against the configured TSA
//! certificate, then kept in the store (`timestamps`) durably, and only then counted.
//!
//! Nothing else waits for this: documents, receipts and checkpoints go on while the TSA is
//! down. Each failed attempt is a DEBUG line; once the TSA has failed for longer than
//! `[evidence] timestamp_warn_after`, one WARN says so (the operator must act), and an INFO
//! when it answers again. `lienthong_evidence_untimestamped_leaves` shows what waits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lienthong_protocol::tlog::timestamp::{
    self, MAX_TOKEN_BYTES, TimestampError, TimestampRequest, TsaCertificate,
};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{EvidenceError, EvidenceHandle, SignedCheckpoint};
use crate::config::EvidenceConfig;
use crate::context::NodeContext;
use crate::tasks::blocking;

/// The longest wait between two attempts while the TSA fails, unless `timestamp_retry`
/// is longer; and at most this many times `timestamp_retry`.
const MAX_RETRY: Duration = Duration::from_secs(600);
const MAX_BACKOFF_FACTOR: u32 = 64;

/// How long one request to the TSA may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The TSA to ask and the certificate its tokens must verify against.
#[derive(Debug)]
pub struct Timestamper {
    url: String,
    tsa: Arc<TsaCertificate>,
    agent: ureq::Agent,
    retry: Duration,
    warn_after: Duration,
}

/// Why the timestamp authority cannot be used: the node does not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampSetupError {
    /// `tsa_cert_file` could not be read.
    #[error("cannot read the TSA certificate {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `tsa_cert_file` is not a TSA's certificate.
    #[error("{path} is not a usable TSA certificate")]
    Certificate {
        /// The file.
        path: String,
        /// What is wrong with it.
        #[source]
        source: TimestampError,
    },
}

/// Why one attempt gave no token.
#[derive(Debug, thiserror::Error)]
enum AttemptError {
    #[error("{0}")]
    Evidence(#[from] EvidenceError),
    #[error("the TSA cannot be reached: {0}")]
    Unreachable(String),
    #[error("the TSA answered HTTP {0}")]
    Status(u16),
    #[error("the TSA's answer is refused: {0}")]
    Token(#[from] TimestampError),
}

/// What one attempt did.
enum Attempt {
    /// A token was kept over the latest checkpoint.
    Taken,
    /// The latest checkpoint has a token already, or there is none.
    UpToDate,
}

impl Timestamper {
    /// The TSA `config` names, with its certificate read and checked; `None` when no
    /// `timestamp_url` is set.
    ///
    /// # Errors
    /// [`TimestampSetupError`] when the certificate file is unreadable or not a TSA's.
    pub fn from_config(config: &EvidenceConfig) -> Result<Option<Self>, TimestampSetupError> {
        let (Some(url), Some(path)) = (config.timestamp(), config.tsa_cert()) else {
            return Ok(None);
        };
        let shown = path.display().to_string();
        let pem = std::fs::read(path).map_err(|source| TimestampSetupError::Read {
            path: shown.clone(),
            source,
        })?;
        let tsa =
            TsaCertificate::from_pem(&pem).map_err(|source| TimestampSetupError::Certificate {
                path: shown,
                source,
            })?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .into();
        Ok(Some(Timestamper {
            url: url.trim().to_owned(),
            tsa: Arc::new(tsa),
            agent,
            retry: config.timestamp_retry,
            warn_after: config.timestamp_warn_after,
        }))
    }

    /// The TSA certificate's subject.
    pub fn tsa(&self) -> &str {
        self.tsa.subject()
    }

    /// The TSA's certificate, which every token kept verifies against.
    pub fn certificate(&self) -> Arc<TsaCertificate> {
        self.tsa.clone()
    }

    /// Posts `request` and answers the response's bytes (blocking).
    fn post(&self, request: &TimestampRequest) -> Result<Vec<u8>, AttemptError> {
        let mut response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/timestamp-query")
            .send(request.to_der())
            .map_err(|e| AttemptError::Unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(AttemptError::Status(status));
        }
        response
            .body_mut()
            .with_config()
            .limit(MAX_TOKEN_BYTES as u64)
            .read_to_vec()
            .map_err(|e| AttemptError::Unreachable(format!("reading the answer: {e}")))
    }
}

/// Runs until `shutdown`: at start, after each checkpoint `handle` announces, and while
/// the TSA fails on a retry timer with backoff, timestamps the latest checkpoint.
pub(crate) async fn run(
    ctx: Arc<NodeContext>,
    timestamper: Arc<Timestamper>,
    handle: EvidenceHandle,
    shutdown: CancellationToken,
) {
    let mut failing_since: Option<Instant> = None;
    let mut warned = false;
    let mut retry = timestamper.retry;
    show_latest(&ctx, &timestamper).await;
    loop {
        let wait = match attempt(&ctx, &timestamper).await {
            Ok(taken) => {
                if warned {
                    info!(tsa = %timestamper.tsa(), "the timestamp authority answers again");
                }
                if matches!(taken, Attempt::Taken) {
                    ctx.metrics.evidence_timestamps.inc();
                }
                (failing_since, warned, retry) = (None, false, timestamper.retry);
                None
            }
            Err(e) => {
                ctx.metrics.evidence_timestamp_failures.inc();
                let since = *failing_since.get_or_insert_with(Instant::now);
                debug!(error = %e, retry_in = ?retry, "no timestamp for the latest checkpoint");
                if !warned && since.elapsed() > timestamper.warn_after {
                    warn!(
                        error = %e,
                        failing_for = ?since.elapsed(),
                        url = %timestamper.url,
                        "the timestamp authority has been failing; checkpoints are not \
                         timestamped until it answers"
                    );
                    warned = true;
                }
                let wait = retry;
                let base = timestamper.retry;
                retry = (retry * 2).min(MAX_RETRY.min(base * MAX_BACKOFF_FACTOR).max(base));
                Some(wait)
            }
        };
        update_backlog(&ctx).await;
        let woken = async {
            match wait {
                Some(wait) => {
                    tokio::select! {
                        () = handle.timestamp.notified() => {}
                        () = tokio::time::sleep(wait) => {}
                    }
                }
                None => handle.timestamp.notified().await,
            }
        };
        if shutdown.run_until_cancelled(woken).await.is_none() {
            break;
        }
    }
}

/// Asks for a token over the latest checkpoint unless it has one, verifies it and keeps it.
async fn attempt(
    ctx: &Arc<NodeContext>,
    timestamper: &Arc<Timestamper>,
) -> Result<Attempt, AttemptError> {
    let Some(checkpoint) = super::latest(ctx).await? else {
        return Ok(Attempt::UpToDate);
    };
    let covered = ctx
        .store
        .call(|store| store.latest_timestamp())
        .await
        .map_err(EvidenceError::from)?;
    if covered.is_some_and(|size| size >= checkpoint.size) {
        return Ok(Attempt::UpToDate);
    }
    let SignedCheckpoint { size, note, .. } = checkpoint;
    let this = timestamper.clone();
    let (token, info) = blocking(move || {
        let request = TimestampRequest::new(&note)?;
        let response = this.post(&request)?;
        let token = timestamp::read_response(&response, &request)?;
        let info = timestamp::verify_token(&token, &note, &this.tsa)?;
        Ok::<_, AttemptError>((token, info))
    })
    .await
    .map_err(|e| AttemptError::Unreachable(e.to_string()))??;
    ctx.store
        .call(move |store| store.record_timestamp(size, &token))
        .await
        .map_err(EvidenceError::from)?;
    ctx.metrics
        .evidence_timestamped_at
        .set(i64::try_from(info.gen_time_unix()).unwrap_or(i64::MAX));
    debug!(
        target: "lienthong::events::evidence",
        size,
        gen_time = info.gen_time_unix(),
        serial = %info.serial,
        "checkpoint timestamped"
    );
    Ok(Attempt::Taken)
}

/// Sets the gauge of the latest token's time from the store, at start.
async fn show_latest(ctx: &NodeContext, timestamper: &Timestamper) {
    let stored = ctx
        .store
        .call(|store| {
            let Some(size) = store.latest_timestamp()? else {
                return Ok(None);
            };
            Ok(store.timestamp_at(size)?.zip(store.checkpoint_at(size)?))
        })
        .await;
    if let Ok(Some((token, note))) = stored {
        match timestamp::verify_token(&token, &note, &timestamper.tsa) {
            Ok(info) => {
                ctx.metrics
                    .evidence_timestamped_at
                    .set(i64::try_from(info.gen_time_unix()).unwrap_or(i64::MAX));
            }
            // A TSA certificate changed since: the token stays, as it was verified then.
            Err(e) => {
                debug!(error = %e, "the latest timestamp token does not verify against the TSA certificate now")
            }
        }
    }
}

/// Sets the gauge of leaves no token covers yet.
async fn update_backlog(ctx: &NodeContext) {
    let sizes = ctx
        .store
        .call(|store| {
            let latest = store.latest_checkpoint()?.map_or(0, |(size, _)| size);
            let covered = store.latest_timestamp()?.unwrap_or(0);
            Ok::<_, crate::store::StoreError>(latest.saturating_sub(covered))
        })
        .await;
    if let Ok(backlog) = sizes {
        ctx.metrics
            .evidence_untimestamped_leaves
            .set(i64::try_from(backlog).unwrap_or(i64::MAX));
    }
}
