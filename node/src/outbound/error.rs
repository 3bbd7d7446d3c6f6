//! [`OutboundError`]: why a call to another agency's node got no answer of its kind.

use lienthong_protocol::OrganId;
use lienthong_protocol::wire::{Refusal, Rejection, WireError};

use crate::network::{NetworkError, RequestError};
use crate::tasks::TaskFailed;

/// Why a call to another agency's node got no answer of its kind.
///
/// The text of each variant is what the outbox shows as a delivery's `last_error`, so it
/// says the whole story on one line, cause included: an operator reads it in the status
/// API and `lienthong status`, not in a chain of sources.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboundError {
    /// This node has not been admitted to a federation yet.
    #[error("this node has no roster")]
    NoRoster,
    /// The roster does not list the agency.
    #[error("{0} is not in the roster")]
    NotInRoster(OrganId),
    /// The network has stopped (the node is shutting down).
    #[error("network unavailable: {0}")]
    Network(NetworkError),
    /// No connection carried the request to its end, or no answer came back on one.
    #[error("cannot reach {to}: {error}")]
    Request {
        /// Who the call was for.
        to: OrganId,
        /// What the network said.
        error: RequestError,
    },
    /// The answer could not be decoded (or its decoding did not finish).
    #[error("{to} answered with a malformed frame: {problem}")]
    Malformed {
        /// Who answered.
        to: OrganId,
        /// What was wrong with the frame.
        problem: String,
    },
    /// The peer refused the request; nothing was stored there.
    #[error("refused by {to}: {rejection}")]
    Rejected {
        /// Who refused.
        to: OrganId,
        /// Why.
        rejection: Rejection,
    },
    /// The peer is overloaded and asked for a moment.
    #[error("{to} is busy")]
    Busy {
        /// Who is busy.
        to: OrganId,
    },
    /// The peer answered with another kind of answer than the call's.
    #[error("unexpected answer from {to}: {answer} to a {call} request")]
    Unexpected {
        /// Who answered.
        to: OrganId,
        /// The request.
        call: &'static str,
        /// The answer.
        answer: &'static str,
    },
}

impl OutboundError {
    /// The error for `refusal`, an answer of `to`'s.
    pub(crate) fn refused(to: &OrganId, refusal: Refusal) -> OutboundError {
        let to = to.clone();
        match refusal {
            Refusal::Rejected(rejection) => OutboundError::Rejected { to, rejection },
            Refusal::Busy => OutboundError::Busy { to },
            Refusal::Unexpected { call, answer } => OutboundError::Unexpected { to, call, answer },
            other => OutboundError::Malformed {
                to,
                problem: other.to_string(),
            },
        }
    }

    /// The error for a decoding that failed.
    pub(crate) fn malformed(to: &OrganId, error: &WireError) -> OutboundError {
        OutboundError::Malformed {
            to: to.clone(),
            problem: error.to_string(),
        }
    }

    /// The error for a decoding that did not finish.
    pub(crate) fn decoding_failed(to: &OrganId, error: &TaskFailed) -> OutboundError {
        OutboundError::Malformed {
            to: to.clone(),
            problem: format!("decoding task failed: {error}"),
        }
    }

    /// Whether no connection to the agency could be made at all (every dial failed), as
    /// opposed to a request lost on a connection that was there (a timeout, a reset).
    pub(crate) fn is_unreachable(&self) -> bool {
        matches!(
            self,
            OutboundError::Request {
                error: RequestError::DialFailure { .. },
                ..
            }
        )
    }

    /// Whether the agency's node answered, whatever it said: then a way to it worked.
    pub(crate) fn answered(&self) -> bool {
        matches!(
            self,
            OutboundError::Rejected { .. }
                | OutboundError::Busy { .. }
                | OutboundError::Unexpected { .. }
                | OutboundError::Malformed { .. }
        )
    }
}
