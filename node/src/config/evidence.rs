//! `[evidence]`: the node's evidence log (`docs/evidence.md`): how often it signs a
//! checkpoint.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[evidence]`; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceConfig {
    /// How often the node signs a checkpoint of its evidence log (when the log grew since
    /// the last one); `POST /api/v1/evidence/checkpoint` signs one at once.
    #[serde(with = "humantime_serde")]
    pub checkpoint_interval: Duration,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            // Short enough that an inspector's question about today has a checkpoint to
            // point to; one signature and a few hundred bytes each time.
            checkpoint_interval: Duration::from_secs(300),
        }
    }
}

impl EvidenceConfig {
    /// The section as `lienthong init` writes it, every key with its comment.
    pub(super) fn documented(&self) -> String {
        format!(
            r#"
[evidence]
# How often to sign a checkpoint of this node's evidence log (every fact it signs or
# accepts is a leaf), when the log grew; POST /api/v1/evidence/checkpoint signs one at once.
checkpoint_interval = "{interval}"
"#,
            interval = humantime::format_duration(self.checkpoint_interval),
        )
    }
}
