//! How a test axis misbehaves, switched at run time.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The misbehaviour switches; the default is a well-behaved axis.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Switches {
    /// A delay before every answer, in milliseconds.
    pub slow_ms: u64,
    /// Answer FAIL.
    pub fail: Option<FailSwitch>,
    /// Answer every call with a gateway's HTML 502, as a proxy in front of a stopped axis
    /// does.
    pub down: bool,
}

/// FAIL answers, with the axis's error text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FailSwitch {
    /// The calls that fail (`sendEdoc`, `getEdoc`…); empty for every call.
    pub ops: Vec<String>,
    /// `ErrorCode`.
    pub code: String,
    /// `ErrorDesc`.
    pub desc: String,
}

impl Switches {
    /// The delay before answering.
    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.slow_ms)
    }

    /// The failure `op` answers with, if any.
    pub fn failure(&self, op: &str) -> Option<&FailSwitch> {
        self.fail
            .as_ref()
            .filter(|f| f.ops.is_empty() || f.ops.iter().any(|o| o.eq_ignore_ascii_case(op)))
    }
}
