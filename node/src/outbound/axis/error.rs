//! What can go wrong talking to the axis, in the terms the outbox shows.

/// Why an axis call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AxisError {
    /// No answer in the axis's JSON: connection refused or cut, timeout, or a gateway's
    /// page (the axis is down or overloaded). Try again later; the outbox shows
    /// `axis_unreachable`.
    #[error("axis_unreachable: {0}")]
    Unreachable(String),
    /// The axis answered FAIL: its `ErrorCode` and `ErrorDesc`, which the outbox shows.
    #[error("the axis refused: {desc} (ErrorCode {code})")]
    Refused {
        /// `ErrorCode`.
        code: String,
        /// `ErrorDesc`.
        desc: String,
    },
    /// The axis answered JSON that lacks what the SDK reads.
    #[error("the axis's answer does not read: {0}")]
    Malformed(String),
}

impl AxisError {
    /// What the outbox and the stuck list show: `axis_unreachable`, or the axis's text.
    pub fn reason(&self) -> String {
        match self {
            AxisError::Unreachable(_) => "axis_unreachable".to_owned(),
            AxisError::Refused { desc, code } if desc.is_empty() => {
                format!("the axis refused (ErrorCode {code})")
            }
            AxisError::Refused { desc, .. } => desc.clone(),
            AxisError::Malformed(why) => format!("the axis's answer does not read: {why}"),
        }
    }

    /// Whether trying again later may succeed without anyone acting (an axis that is down
    /// or answers garbage may come back; a refusal is the axis's word).
    pub fn is_transient(&self) -> bool {
        !matches!(self, AxisError::Refused { .. })
    }
}
