//! The axis's JSON envelope: `{"status":"OK","ErrorCode":"0","ErrorDesc":"",…}` on success,
//! `{"status":"FAIL","ErrorCode":"<code>","ErrorDesc":"<what was wrong and where>"}` on
//! failure.
//!
//! A failure answers with the HTTP status that fits it (400 bad request, 401
//! authentication, 404 unknown id, 413 too large, 422 refused content, 503 the node cannot
//! now), and `ErrorCode` is that same number as text. The SDK reads the JSON body whatever
//! the status, so it sees what it sees from the axis; proxies, logs and scripts see an
//! error as an error.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tracing::warn;

use crate::api::ApiError;

/// A failed axis call: its HTTP status and what was wrong.
#[derive(Debug)]
pub(super) struct Fail {
    status: StatusCode,
    desc: String,
}

/// What every axis handler returns.
pub(super) type AxisResult = Result<Response, Fail>;

impl Fail {
    /// A failure with `status`.
    pub(super) fn new(status: StatusCode, desc: impl Into<String>) -> Self {
        Fail {
            status,
            desc: desc.into(),
        }
    }

    /// 400: a parameter missing or malformed.
    pub(super) fn bad_request(desc: impl Into<String>) -> Self {
        Fail::new(StatusCode::BAD_REQUEST, desc)
    }

    /// 401: the caller is not authenticated.
    pub(super) fn unauthorized(desc: impl Into<String>) -> Self {
        Fail::new(StatusCode::UNAUTHORIZED, desc)
    }

    /// 404: no such document or status here.
    pub(super) fn not_found(desc: impl Into<String>) -> Self {
        Fail::new(StatusCode::NOT_FOUND, desc)
    }

    /// 422: well-formed, but refused (a `from` of another agency, a kind mismatch, …).
    pub(super) fn refused(desc: impl Into<String>) -> Self {
        Fail::new(StatusCode::UNPROCESSABLE_ENTITY, desc)
    }

    /// 503: the node cannot do it now (a store failure); QLVB retries later.
    pub(super) fn unavailable(desc: impl Into<String>) -> Self {
        Fail::new(StatusCode::SERVICE_UNAVAILABLE, desc)
    }

    /// What was wrong.
    #[cfg(test)]
    pub(super) fn desc(&self) -> &str {
        &self.desc
    }
}

/// The API's own errors keep their status and message.
impl From<ApiError> for Fail {
    fn from(error: ApiError) -> Self {
        Fail::new(error.status(), error.message())
    }
}

impl From<crate::submit::SubmitError> for Fail {
    fn from(error: crate::submit::SubmitError) -> Self {
        Fail::from(ApiError::from(error))
    }
}

impl From<crate::store::StoreError> for Fail {
    fn from(error: crate::store::StoreError) -> Self {
        Fail::unavailable(format!("the node's store failed, try again later: {error}"))
    }
}

impl From<tokio::task::JoinError> for Fail {
    fn from(error: tokio::task::JoinError) -> Self {
        Fail::unavailable(format!("the request's task failed: {error}"))
    }
}

#[derive(Serialize)]
struct FailBody<'a> {
    status: &'static str,
    #[serde(rename = "ErrorCode")]
    error_code: String,
    #[serde(rename = "ErrorDesc")]
    error_desc: &'a str,
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        warn!(code = self.status.as_u16(), reason = %self.desc, "axis call failed");
        let body = FailBody {
            status: "FAIL",
            error_code: self.status.as_u16().to_string(),
            error_desc: &self.desc,
        };
        (self.status, Json(body)).into_response()
    }
}

#[derive(Serialize)]
struct OkBody<T> {
    status: &'static str,
    #[serde(rename = "ErrorCode")]
    error_code: &'static str,
    #[serde(rename = "ErrorDesc")]
    error_desc: &'static str,
    #[serde(flatten)]
    rest: T,
}

/// 200 with `status` OK and the fields of `rest` beside it.
pub(super) fn ok<T: Serialize>(rest: T) -> Response {
    Json(OkBody {
        status: "OK",
        error_code: "0",
        error_desc: "",
        rest,
    })
    .into_response()
}

/// The `data` field of list answers.
#[derive(Serialize)]
pub(super) struct Data<T> {
    /// The items.
    pub(super) data: T,
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn json(response: Response) -> (StatusCode, serde_json::Value) {
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("reads");
        (status, serde_json::from_slice(&body).expect("JSON"))
    }

    #[tokio::test]
    async fn answers_have_the_axis_shape() {
        #[derive(Serialize)]
        struct Sent {
            #[serde(rename = "DocId")]
            doc_id: &'static str,
        }
        let (status, body) = json(ok(Sent { doc_id: "abc" })).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            serde_json::json!({"status":"OK","ErrorCode":"0","ErrorDesc":"","DocId":"abc"})
        );
        let (status, body) = json(Fail::refused("from is not this agency").into_response()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body,
            serde_json::json!({"status":"FAIL","ErrorCode":"422","ErrorDesc":"from is not this agency"})
        );
    }
}
