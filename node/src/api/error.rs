//! Errors as the API reports them: an HTTP status and a JSON body saying what was wrong,
//! and for edXML errors, where.
//!
//! Every error of the native API has this shape, `{"error":{"kind","message",…}}`, whoever
//! produced it: a handler, an extractor refusing the path or query, the router finding no
//! route (`json_errors.rs` rewrites what axum answers in plain text).

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tracing::warn;

use super::store_failure;
use crate::api::submit::SubmitError;
use crate::receipts::issue::StatusMatchError;
use crate::store::StoreError;

/// An API error: status code and body.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    /// For failures that pass: when to try again (`Retry-After`).
    retry_after: Option<Duration>,
}

#[derive(Debug, Clone, Serialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize)]
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
            retry_after: None,
        }
    }

    /// The same error, telling the client when to try again.
    #[must_use]
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// When to try again, for failures that pass.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
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

    /// 503: the node could not do it now (its network, or its store: see
    /// [`ApiError::store`]); the client may send the same again after `Retry-After`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            .with_retry_after(store_failure::STORE_RETRY_AFTER)
    }

    /// 500: a bug (a task that panicked); trying again will not help.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// A store failure met while `doing` (see `store_failure.rs`): 507 for a full disk,
    /// 503 for other passing failures, both with `Retry-After`; 500 for corruption.
    pub fn store(error: &StoreError, doing: &str) -> Self {
        let failure = store_failure::answer(error, doing);
        let api = ApiError::new(failure.status, failure.kind, failure.message);
        match failure.retry_after {
            Some(after) => api.with_retry_after(after),
            None => api,
        }
    }
}

/// A store failure while reading or writing what the request is about.
impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::store(&error, "the node could not read or write its store")
    }
}

/// A blocking task that panicked: a bug.
impl From<tokio::task::JoinError> for ApiError {
    fn from(error: tokio::task::JoinError) -> Self {
        ApiError::internal(format!("the request's task failed: {error}"))
    }
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> Self {
        let message = error.to_string();
        match error {
            SubmitError::TooLarge { .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
            }
            SubmitError::DocumentIdTooLong { element, .. } => {
                let mut api = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "document_id_too_long",
                    message,
                );
                api.body.error.path = Some(format!(
                    "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/{element}"
                ));
                api
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
            SubmitError::StatusToEmailUnits(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "status_to_email_unit",
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
            SubmitError::Store(e) => ApiError::store(
                &e,
                "the message could not be stored, so it was not accepted",
            ),
            SubmitError::Status(StatusMatchError::Store(e)) => ApiError::store(
                &e,
                "the document this status answers could not be looked up, so it was not accepted",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Only the node's operator can act on its own failures; QLVB reads the rest.
        if self.status.is_server_error() {
            warn!(
                status = self.status.as_u16(),
                kind = self.body.error.kind,
                reason = %self.body.error.message,
                "API request failed"
            );
        }
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(after) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(after.as_secs()));
        }
        response
    }
}
