//! Errors as the API reports them: an HTTP status and a JSON body saying what was wrong,
//! and for edXML errors, where.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::receipts::issue::StatusMatchError;
use crate::submit::SubmitError;

/// An API error: status code and body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

#[derive(Debug, Serialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Serialize)]
struct ErrorDetail {
    /// A stable name for programs: `invalid_edxml`, `too_large`, `not_found`, …
    kind: &'static str,
    /// For people.
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
}

impl ApiError {
    /// An error with a status, a kind and a message.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                error: ErrorDetail {
                    kind,
                    message: message.into(),
                    line: None,
                    column: None,
                    path: None,
                },
            },
        }
    }

    /// The HTTP status it answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Its stable name for programs: `invalid_edxml`, `too_large`, `not_found`, …
    pub fn kind(&self) -> &'static str {
        self.body.error.kind
    }

    /// What was wrong, for people.
    pub fn message(&self) -> &str {
        &self.body.error.message
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 400 for a malformed path or query.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 503: the node could not do it now (store failure).
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> Self {
        let message = error.to_string();
        match error {
            SubmitError::TooLarge { .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
            }
            SubmitError::Edxml(e) => {
                let mut api = ApiError::new(StatusCode::BAD_REQUEST, "invalid_edxml", message);
                api.body.error.line = e.position.map(|p| p.line);
                api.body.error.column = e.position.map(|p| p.column);
                api.body.error.path = (!e.path.is_empty()).then_some(e.path);
                api
            }
            SubmitError::NotFromThisAgency { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_from_this_agency",
                message,
            ),
            SubmitError::UnknownRecipients(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_recipients",
                message,
            ),
            SubmitError::NoRoster => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "no_roster", message)
            }
            SubmitError::Envelope(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_package", message)
            }
            SubmitError::Status(StatusMatchError::NoDocument { .. }) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_matching_document",
                message,
            ),
            SubmitError::Status(StatusMatchError::Envelope(_)) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_receipt", message)
            }
            SubmitError::Store(_) | SubmitError::Status(_) => ApiError::unavailable(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
