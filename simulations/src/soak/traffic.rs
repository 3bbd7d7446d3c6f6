//! The soak's traffic: QLVB clients that keep submitting documents to their node, through
//! its kills and restarts, and the ledger of what each node acknowledged (202).
//!
//! A client whose submission gets no answer (the node was killed under it) waits until the
//! node answers again and submits the same bytes again, as a QLVB would: the node either
//! stored it before it died (and answers `duplicate`) or did not. So every document a
//! client submitted ends acknowledged, and the ledger is the full list of what the
//! federation was told to deliver.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::documents::Sample;
use crate::process::wait_for;

/// How long a client waits for its node to answer again after a kill, and for its
/// backlog to shrink.
const NODE_BACK: Duration = Duration::from_secs(180);

/// One node's local HTTP API, as its QLVB uses it: one keep-alive connection per client.
#[derive(Debug, Clone)]
pub(super) struct Api {
    base: String,
    authorization: String,
    agent: ureq::Agent,
}

impl Api {
    /// The API at `address` (`127.0.0.1:port`) with the node's bearer token.
    pub(super) fn new(address: &str, token: &str) -> Api {
        Api {
            base: format!("http://{address}"),
            authorization: format!("Bearer {}", token.trim()),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(120)))
                .build()
                .into(),
        }
    }

    /// GETs `path`: status and body.
    ///
    /// # Errors
    /// When the node cannot be reached.
    pub(super) fn get(&self, path: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut response = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", &self.authorization)
            .call()?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()?;
        Ok((status, body))
    }

    /// GETs JSON, failing on any status but 200.
    ///
    /// # Errors
    /// When the node cannot be reached, answers another status or no JSON.
    pub(super) fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let (status, body) = self.get(path)?;
        if status != 200 {
            bail!("GET {path}: {status} {}", String::from_utf8_lossy(&body));
        }
        serde_json::from_slice(&body).with_context(|| format!("GET {path}: not JSON"))
    }

    /// POSTs edXML: status and body.
    ///
    /// # Errors
    /// When the node cannot be reached or the answer is cut.
    pub(super) fn post(&self, path: &str, body: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut response = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Authorization", &self.authorization)
            .header("Content-Type", "application/xml")
            .send(body)?;
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_vec()?;
        Ok((status, body))
    }

    /// The node's outbox entries not yet delivered, when it answers.
    pub(super) fn pending(&self) -> Option<u64> {
        let health = self.get_json("/health").ok()?;
        (health["status"] == "ok")
            .then(|| health["pending_deliveries"].as_u64())
            .flatten()
    }
}

/// A document a node acknowledged.
#[derive(Debug, Clone)]
pub(super) struct Acked {
    /// The package id the node answered.
    pub(super) package: String,
    /// Its DocumentId.
    pub(super) document: String,
    /// The sending node (index).
    pub(super) from: usize,
    /// The recipients (indices).
    pub(super) to: Vec<usize>,
    /// SHA-256 of the bytes submitted.
    pub(super) sha256: [u8; 32],
    /// How many bytes.
    pub(super) bytes: usize,
    /// Whether it carries a large attachment.
    pub(super) large: bool,
}

/// What the clients did, shared between them and the run.
#[derive(Debug, Default)]
pub(super) struct Ledger {
    acked: Mutex<Vec<Acked>>,
    count: AtomicUsize,
    /// Submissions that got no answer (the node died under them) and were sent again.
    interrupted: AtomicUsize,
    /// Of those, the ones the node had stored before it died: it answered `duplicate`.
    found_stored: AtomicUsize,
    /// Submissions refused with a status that says they will be refused again (4xx),
    /// with the answer.
    refused: Mutex<Vec<String>>,
    /// The first client error that stopped a client, which stops the run.
    fatal: Mutex<Option<String>>,
}

impl Ledger {
    /// Documents acknowledged so far.
    pub(super) fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Every document acknowledged, in the order the answers came.
    pub(super) fn acked(&self) -> Vec<Acked> {
        self.acked.lock().map(|a| a.clone()).unwrap_or_default()
    }

    pub(super) fn interrupted(&self) -> usize {
        self.interrupted.load(Ordering::Acquire)
    }

    pub(super) fn found_stored(&self) -> usize {
        self.found_stored.load(Ordering::Acquire)
    }

    pub(super) fn refused(&self) -> Vec<String> {
        self.refused.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Why a client stopped, if one did.
    pub(super) fn fatal(&self) -> Option<String> {
        self.fatal.lock().ok().and_then(|f| f.clone())
    }

    fn push(&self, acked: Acked) {
        if let Ok(mut all) = self.acked.lock() {
            all.push(acked);
        }
        self.count.fetch_add(1, Ordering::AcqRel);
    }

    fn refuse(&self, why: String) {
        if let Ok(mut refused) = self.refused.lock() {
            refused.push(why);
        }
    }

    fn stop_with(&self, error: &anyhow::Error) {
        if let Ok(mut fatal) = self.fatal.lock() {
            fatal.get_or_insert_with(|| format!("{error:#}"));
        }
    }
}

/// What one client sends.
#[derive(Debug, Clone)]
pub(super) struct Client {
    /// Its node's API.
    pub(super) api: Api,
    /// Its node (index) and every agency of the soak, by index.
    pub(super) from: usize,
    pub(super) organs: Vec<String>,
    /// Which client of its node it is, for distinct DocumentIds.
    pub(super) number: usize,
    pub(super) seed: u64,
    /// Share of documents with a large attachment.
    pub(super) large_share: f64,
    /// Size range of large documents, edXML bytes.
    pub(super) large_bytes: (usize, usize),
    /// The client waits while its node has more deliveries pending than this, so that
    /// the traffic stays within what the federation delivers instead of piling up.
    pub(super) backlog: u64,
}

impl Client {
    /// Submits documents until `stop`, recording each acknowledgement in `ledger`. A
    /// client that cannot go on (its node does not come back) records why in the ledger.
    pub(super) fn run(&self, sample: &Sample, ledger: &Ledger, stop: &AtomicBool) {
        if let Err(error) = self.send_until(sample, ledger, stop) {
            ledger.stop_with(&error);
        }
    }

    fn send_until(
        &self,
        sample: &Sample,
        ledger: &Ledger,
        stop: &AtomicBool,
    ) -> anyhow::Result<()> {
        let mut rng = StdRng::seed_from_u64(
            self.seed
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .wrapping_add((self.from * 64 + self.number) as u64),
        );
        let others: Vec<usize> = (0..self.organs.len()).filter(|&i| i != self.from).collect();
        let mut n = 0u64;
        while !stop.load(Ordering::Acquire) && ledger.fatal().is_none() {
            wait_for(
                &format!(
                    "{} to have fewer than {} deliveries pending",
                    self.organs[self.from], self.backlog
                ),
                NODE_BACK,
                || (self.api.pending()? < self.backlog).then_some(()),
            )?;
            // One recipient in three documents is every other agency; the rest go to one.
            let to: Vec<usize> = if others.len() > 1 && rng.random_bool(1.0 / 3.0) {
                others.clone()
            } else {
                vec![others[rng.random_range(0..others.len())]]
            };
            let recipients: Vec<&str> = to.iter().map(|&i| self.organs[i].as_str()).collect();
            let number = format!("SOAK-{}-{}-{n}", self.from, self.number);
            let large = rng.random_bool(self.large_share);
            let bytes = if large {
                let (min, max) = self.large_bytes;
                let size = rng.random_range(min..=max.max(min));
                // Base64 makes the attachment 4/3 as large in the edXML.
                let attachment = size * 3 / 4;
                sample.large(
                    &self.organs[self.from],
                    &recipients,
                    &number,
                    attachment,
                    rng.random(),
                )?
            } else {
                sample.small(&self.organs[self.from], &recipients, &number)?
            };
            let sha256: [u8; 32] = Sha256::digest(&bytes).into();
            if let Some(package) = self.submit(&bytes, ledger)? {
                ledger.push(Acked {
                    package,
                    document: number,
                    from: self.from,
                    to,
                    sha256,
                    bytes: bytes.len(),
                    large,
                });
            }
            n += 1;
        }
        Ok(())
    }

    /// Submits until the node answers: the package id on 202, `None` when refused.
    fn submit(&self, bytes: &[u8], ledger: &Ledger) -> anyhow::Result<Option<String>> {
        let mut interrupted = false;
        loop {
            match self.api.post("/api/v1/packages", bytes) {
                Ok((202, body)) => {
                    let answer: Value =
                        serde_json::from_slice(&body).context("202 without JSON")?;
                    let package = answer["package_id"]
                        .as_str()
                        .ok_or_else(|| anyhow!("202 without package_id: {answer}"))?;
                    if interrupted && answer["duplicate"] == true {
                        ledger.found_stored.fetch_add(1, Ordering::AcqRel);
                    }
                    return Ok(Some(package.to_owned()));
                }
                // Busy, or the store takes no writes for now: the node says to try again.
                Ok((503 | 507, _)) => {}
                Ok((status, body)) => {
                    ledger.refuse(format!(
                        "{} refused a document with {status}: {}",
                        self.organs[self.from],
                        String::from_utf8_lossy(&body)
                    ));
                    return Ok(None);
                }
                Err(_) => {
                    if !interrupted {
                        ledger.interrupted.fetch_add(1, Ordering::AcqRel);
                    }
                    interrupted = true;
                }
            }
            wait_for(
                &format!("{} to answer again", self.organs[self.from]),
                NODE_BACK,
                || self.api.pending().map(|_| ()),
            )?;
        }
    }
}
