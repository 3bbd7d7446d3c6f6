//! `[evidence]`: the node's evidence log (`docs/evidence.md`): how often it signs a
//! checkpoint, whether it witnesses other agencies' logs, and which agencies besides its
//! relays it asks to witness its own.

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
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            // Short enough that an inspector's question about today has a checkpoint to
            // point to; one signature and a few hundred bytes each time.
            checkpoint_interval: Duration::from_secs(300),
            witness: false,
            witnesses: Vec::new(),
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
"#,
            interval = humantime::format_duration(self.checkpoint_interval),
            witness = self.witness,
        )
    }
}

impl EvidenceConfig {
    /// Whether a node of `role` cosigns other members' checkpoints: a relay always (every
    /// member asks its relays), any other node when `witness` says so.
    pub fn witnesses_others(&self, role: Role) -> bool {
        self.witness || role == Role::Relay
    }
}
