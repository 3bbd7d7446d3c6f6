//! The axis's answers (`vxp-sdk-wire.md` §4, §6.8–6.9).
//!
//! - Success: `{"status":"OK","ErrorCode":"0","ErrorDesc":"",…}`, the call's fields beside.
//! - Failure: `{"status":"FAIL","ErrorCode":"<code>","ErrorDesc":"<what was wrong and
//!   where>"}`, and for `sendEdoc` also `"DocId":""`: the SDK reads `DocId` unconditionally
//!   and, without it, hands QLVB an empty result with no reason.
//! - `downloadEdoc` answers the file itself; its failure is an empty body (the SDK saves any
//!   non-empty body as the document and calls it a success) with the reason in the
//!   `Lienthong-Error` header.
//!
//! Every JSON answer is ASCII, other characters escaped as `\uXXXX`: the SDK decodes
//! `sendEdoc`'s answer as US-ASCII, and JSON readers everywhere take the escapes. No value is
//! ever `null` (the SDK throws on one); absent fields are left out.
//!
//! A failure answers with the HTTP status that fits it (400 bad request, 401
//! authentication, 403 not done by a node, 404 unknown id, 408 a body that stopped
//! arriving, 413 too large, 414 URI too long, 422 refused content, 500 a fault of the node,
//! 503 the node cannot now, 507 its disk is full), and `ErrorCode` is that same number as
//! text; 503 and 507 also carry `Retry-After`. The SDK reads the body whatever the status,
//! as it reads the axis's; proxies, logs and scripts see an error as an error.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tracing::{info, warn};

use super::Op;
use crate::api::ApiError;

/// The header that carries a failed download's reason.
pub(super) const ERROR_HEADER: &str = "Lienthong-Error";

/// How a call's failure is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Shape {
    /// The envelope alone.
    #[default]
    Envelope,
    /// The envelope and `"DocId":""` (`sendEdoc`).
    WithDocId,
    /// An empty body, the reason in [`ERROR_HEADER`] (`downloadEdoc`).
    EmptyFile,
}

/// A failed axis call: its HTTP status and what was wrong.
#[derive(Debug)]
pub(super) struct Fail {
    status: StatusCode,
    desc: String,
    shape: Shape,
    /// For failures that pass: when to try again (`Retry-After`).
    retry_after: Option<Duration>,
}

/// What every axis handler returns.
pub(super) type AxisResult = Result<Response, Fail>;

impl Fail {
    /// A failure with `status`.
    pub(super) fn new(status: StatusCode, desc: impl Into<String>) -> Self {
        Fail {
            status,
            desc: desc.into(),
            shape: Shape::Envelope,
            retry_after: None,
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

    /// 403: a call a node does not do (registering agencies).
    pub(super) fn forbidden(desc: impl Into<String>) -> Self {
        Fail::new(StatusCode::FORBIDDEN, desc)
    }

    /// 404: no such document or status here.
    pub(super) fn not_found(desc: impl Into<String>) -> Self {
        Fail::new(StatusCode::NOT_FOUND, desc)
    }

    /// 422: well-formed, but refused (a `from` of another agency, a kind mismatch, …).
    pub(super) fn refused(desc: impl Into<String>) -> Self {
        Fail::new(StatusCode::UNPROCESSABLE_ENTITY, desc)
    }

    /// 503: the node cannot do it now (a store failure); QLVB retries after `Retry-After`.
    pub(super) fn unavailable(desc: impl Into<String>) -> Self {
        Fail {
            retry_after: Some(crate::api::store_failure::STORE_RETRY_AFTER),
            ..Fail::new(StatusCode::SERVICE_UNAVAILABLE, desc)
        }
    }

    /// The same failure, in the shape `op`'s caller reads.
    pub(super) fn answering(mut self, op: Option<Op>) -> Self {
        self.shape = op.map_or(Shape::Envelope, Op::failure_shape);
        self
    }

    /// What was wrong.
    #[cfg(test)]
    pub(super) fn desc(&self) -> &str {
        &self.desc
    }
}

/// The API's own errors keep their status, message and `Retry-After`.
impl From<ApiError> for Fail {
    fn from(error: ApiError) -> Self {
        Fail {
            retry_after: error.retry_after(),
            ..Fail::new(error.status(), error.message())
        }
    }
}

impl From<crate::api::submit::SubmitError> for Fail {
    fn from(error: crate::api::submit::SubmitError) -> Self {
        Fail::from(ApiError::from(error))
    }
}

/// As on the native API (`store_failure.rs`): 507 for a full disk, 503 for other passing
/// failures, 500 for corruption.
impl From<crate::store::StoreError> for Fail {
    fn from(error: crate::store::StoreError) -> Self {
        Fail::from(ApiError::store(
            &error,
            "the node could not read or write its store",
        ))
    }
}

/// A blocking task that panicked: a bug.
impl From<tokio::task::JoinError> for Fail {
    fn from(error: tokio::task::JoinError) -> Self {
        Fail::from(ApiError::from(error))
    }
}

#[derive(Serialize)]
struct FailBody<'a> {
    status: &'static str,
    #[serde(rename = "ErrorCode")]
    error_code: String,
    #[serde(rename = "ErrorDesc")]
    error_desc: &'a str,
    #[serde(rename = "DocId", skip_serializing_if = "Option::is_none")]
    doc_id: Option<&'static str>,
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let code = self.status.as_u16();
        // Operators act on refused signatures (a QLVB with the wrong secret, or a stranger)
        // and on a node that cannot answer; QLVB reads the rest in the answer itself.
        if code == 401 || self.status.is_server_error() {
            warn!(code, reason = %self.desc, "axis call failed");
        } else {
            info!(code, reason = %self.desc, "axis call refused");
        }
        let mut response = if self.shape == Shape::EmptyFile {
            let mut response = self.status.into_response();
            if let Ok(value) = HeaderValue::from_str(&ascii_header(&self.desc)) {
                response.headers_mut().insert(ERROR_HEADER, value);
            }
            response
        } else {
            let body = FailBody {
                status: "FAIL",
                error_code: code.to_string(),
                error_desc: &self.desc,
                doc_id: (self.shape == Shape::WithDocId).then_some(""),
            };
            json(self.status, &body)
        };
        if let Some(after) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(after.as_secs()));
        }
        response
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
    json(
        StatusCode::OK,
        &OkBody {
            status: "OK",
            error_code: "0",
            error_desc: "",
            rest,
        },
    )
}

/// The `data` field of list answers.
#[derive(Serialize)]
pub(super) struct Data<T> {
    /// The items.
    pub(super) data: T,
}

/// `value` as ASCII JSON with `status`.
fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_string(value) {
        Ok(text) => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            ascii_json(&text),
        )
            .into_response(),
        Err(e) => {
            warn!(error = %e, "an axis answer could not be written");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// JSON text with every character outside ASCII escaped. Such characters only stand inside
/// strings, where `\uXXXX` (a surrogate pair above the basic plane) means the same.
fn ascii_json(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out
}

/// A reason as a header value: visible ASCII, other characters as `?`.
fn ascii_header(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(response: Response) -> (StatusCode, serde_json::Value) {
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
        let (status, body) = read(ok(Sent { doc_id: "abc" })).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            serde_json::json!({"status":"OK","ErrorCode":"0","ErrorDesc":"","DocId":"abc"})
        );
        let (status, body) = read(Fail::refused("from is not this agency").into_response()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body,
            serde_json::json!({"status":"FAIL","ErrorCode":"422","ErrorDesc":"from is not this agency"})
        );
    }

    #[tokio::test]
    async fn a_failed_send_carries_an_empty_doc_id_and_a_failed_download_no_body() {
        let (status, body) = read(
            Fail::unauthorized("wrong secret")
                .answering(Some(Op::SendEdoc))
                .into_response(),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            serde_json::json!({"status":"FAIL","ErrorCode":"401","ErrorDesc":"wrong secret","DocId":""})
        );
        let response = Fail::not_found("no document 12ab on this node")
            .answering(Some(Op::DownloadEdoc))
            .into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response
                .headers()
                .get(ERROR_HEADER)
                .map(HeaderValue::as_bytes),
            Some(&b"no document 12ab on this node"[..])
        );
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("reads");
        assert!(body.is_empty(), "the SDK would save a body as the document");
    }

    /// A full disk is not "try again at once": 507 and when, in the FAIL envelope.
    #[tokio::test]
    async fn a_full_disk_is_a_507_fail_with_retry_after() {
        let error = crate::store::StoreError::PackageFile {
            path: "/var/lib/lienthong/store/package-files/ab.1".into(),
            source: std::io::Error::from(std::io::ErrorKind::StorageFull),
        };
        let response = Fail::from(crate::api::submit::SubmitError::Store(error))
            .answering(Some(Op::SendEdoc))
            .into_response();
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(
                crate::api::store_failure::DISK_FULL_RETRY_AFTER.as_secs()
            ))
        );
        let (status, body) = read(response).await;
        assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE);
        assert_eq!(body["status"], "FAIL");
        assert_eq!(body["ErrorCode"], "507");
        assert_eq!(body["DocId"], "");
        let desc = body["ErrorDesc"].as_str().expect("text");
        assert!(desc.contains("no space left on device"), "{desc}");
    }

    #[tokio::test]
    async fn answers_are_ascii_and_mean_the_same() {
        #[derive(Serialize)]
        struct Named {
            name: &'static str,
        }
        let response = ok(Named {
            name: "UBND tỉnh Nghệ An 𝔸",
        });
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("reads");
        assert!(body.is_ascii(), "{}", String::from_utf8_lossy(&body));
        assert!(
            String::from_utf8_lossy(&body).contains(r"Ngh\u1ec7 An \ud835\udd38"),
            "{}",
            String::from_utf8_lossy(&body)
        );
        let value: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(value["name"], "UBND tỉnh Nghệ An 𝔸");
    }
}
