//! `[evidence]`: the node's evidence log (`docs/evidence.md`): how often it signs a
//! checkpoint, whether it witnesses other agencies' logs, and which agencies besides its
//! relays it asks to witness its own; and the timestamp authority that dates its
//! checkpoints.

use std::path::PathBuf;
use std::time::Duration;

use lienthong_protocol::OrganId;
use lienthong_protocol::roster::Role;
use serde::{Deserialize, Serialize};

/// `[evidence]`; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceConfig {
    /// How often the node signs a checkpoint of its evidence log (when the log grew since
    /// the last one); `POST /api/v1/evidence/checkpoint` signs one at once.
    #[serde(with = "humantime_serde")]
    pub checkpoint_interval: Duration,
    /// Whether this node cosigns other members' checkpoints: for the provincial monitoring
    /// office. A relay always does (its members ask it); any other node refuses to.
    pub witness: bool,
    /// Agencies, besides this agency's relays in the roster, to ask to cosign its
    /// checkpoints: the provincial monitoring office, typically. The roster does not say
    /// who witnesses, so this is said here.
    pub witnesses: Vec<OrganId>,
    /// The RFC 3161 timestamp authority (TSA) asked to date each checkpoint, `http://…`
    /// or `https://…` (the TSA's URL, where `application/timestamp-query` is posted).
    /// Empty: no timestamps.
    pub timestamp_url: String,
    /// PEM file of the TSA's certificate (critical extended key usage timeStamping),
    /// followed by the chain certificates its tokens carry: every token is checked against
    /// it before it is kept, and a token carrying a certificate not in this file is refused. Required with `timestamp_url`; a
    /// relative path is relative to the config file's directory.
    pub tsa_cert_file: PathBuf,
    /// How long to wait before asking the TSA again after it failed; doubled after each
    /// failure, up to ten minutes or 64 times this, whichever is shorter (or this, if
    /// longer than ten minutes).
    #[serde(with = "humantime_serde")]
    pub timestamp_retry: Duration,
    /// How long the TSA may keep failing before a WARN says so (once, until it answers):
    /// until then each failure is logged at DEBUG only.
    #[serde(with = "humantime_serde")]
    pub timestamp_warn_after: Duration,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            // Short enough that an inspector's question about today has a checkpoint to
            // point to; one signature and a few hundred bytes each time.
            checkpoint_interval: Duration::from_secs(300),
            witness: false,
            witnesses: Vec::new(),
            timestamp_url: String::new(),
            tsa_cert_file: PathBuf::new(),
            timestamp_retry: Duration::from_secs(30),
            // A TSA restarting is no news; a morning without timestamps is.
            timestamp_warn_after: Duration::from_secs(3600),
        }
    }
}

impl EvidenceConfig {
    /// The section as `lienthong init` writes it, every key with its comment.
    pub(super) fn documented(&self) -> String {
        let witnesses: Vec<&str> = self.witnesses.iter().map(OrganId::as_str).collect();
        format!(
            r#"
[evidence]
# How often to sign a checkpoint of this node's evidence log (every fact it signs or
# accepts is a leaf), when the log grew; POST /api/v1/evidence/checkpoint signs one at once.
# Each checkpoint is then sent to this agency's witnesses to cosign.
checkpoint_interval = "{interval}"
# Cosign other members' checkpoints, after checking that each extends the one cosigned
# before, and raise the alarm when one does not: true on the provincial monitoring office.
# A relay always witnesses. See docs/evidence.md.
witness = {witness}
# Agencies, besides this agency's relays in the roster, asked to cosign its checkpoints:
# typically the provincial monitoring office, e.g. ["000.00.00.H53"]. Each must run with
# witness = true (or be a relay).
witnesses = {witnesses:?}
# An RFC 3161 timestamp authority (http:// or https://) to date each checkpoint, and so
# every fact before it, with a token from a clock the agencies trust; empty: none.
# Documents never wait for it, and a TSA that is down is caught up when it returns.
timestamp_url = {url:?}
# PEM file of that TSA's certificate (extended key usage timeStamping, critical), then the
# chain certificates its tokens carry: every token is checked against it before it is
# kept; relative to the data directory.
tsa_cert_file = {cert:?}
# After a failed request, ask again after this, doubling each time (up to 10 minutes).
timestamp_retry = "{retry}"
# Log a WARN once the TSA has been failing for this long.
timestamp_warn_after = "{warn_after}"
"#,
            interval = humantime::format_duration(self.checkpoint_interval),
            witness = self.witness,
            url = self.timestamp_url,
            cert = self.tsa_cert_file.display().to_string(),
            retry = humantime::format_duration(self.timestamp_retry),
            warn_after = humantime::format_duration(self.timestamp_warn_after),
        )
    }
}

impl EvidenceConfig {
    /// Whether a node of `role` cosigns other members' checkpoints: a relay always (every
    /// member asks its relays), any other node when `witness` says so.
    pub fn witnesses_others(&self, role: Role) -> bool {
        self.witness || role == Role::Relay
    }

    /// The TSA's URL, unless none is configured.
    pub fn timestamp(&self) -> Option<&str> {
        Some(self.timestamp_url.trim()).filter(|url| !url.is_empty())
    }

    /// The TSA certificate file, unless none is configured.
    pub fn tsa_cert(&self) -> Option<&std::path::Path> {
        Some(self.tsa_cert_file.as_path()).filter(|path| !path.as_os_str().is_empty())
    }

    /// Checks the timestamp keys: a URL is `http://` or `https://` and comes with a
    /// certificate file; the retry is above zero.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.timestamp_retry.is_zero() {
            return Err("evidence.timestamp_retry must be above zero".to_owned());
        }
        match (self.timestamp(), self.tsa_cert()) {
            (None, None) => Ok(()),
            (None, Some(_)) => {
                Err("evidence.tsa_cert_file is set without evidence.timestamp_url".to_owned())
            }
            (Some(_), None) => Err(
                "evidence.timestamp_url needs evidence.tsa_cert_file, the TSA's certificate"
                    .to_owned(),
            ),
            (Some(url), Some(_)) => {
                let lower = url.to_ascii_lowercase();
                if (lower.starts_with("http://") && url.len() > 7)
                    || (lower.starts_with("https://") && url.len() > 8)
                {
                    Ok(())
                } else {
                    Err(format!(
                        "evidence.timestamp_url {url:?} is not an http:// or https:// URL"
                    ))
                }
            }
        }
    }
}
