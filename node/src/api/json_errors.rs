//! The native API's errors are all the documented JSON, whoever answers.
//!
//! Handlers answer with [`ApiError`], but axum answers some requests itself, in plain text
//! or with no body at all: a path or query its extractors cannot read (`?limit=abc`, `%ff`
//! in an id), a method a route does not take (405). [`json_errors`] wraps every such
//! answer of the native routes in the JSON shape, keeping its status and headers and its
//! text as the message, so that a QLVB reads every error the same
//! way. A layer rather than a custom rejection on every extractor: it also covers what a
//! handler written tomorrow forgets. The axis-compatible routes keep their own envelope and
//! are not under it.
//!
//! [`no_route`] is the router's fallback, and [`uri_limit`] refuses an over-long URI with
//! a JSON 414 well below hyper's own limit (64 KiB), where hyper would answer with no body.

use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use super::axis;
use super::error::ApiError;

/// The longest URI (path and query) the API reads: far beyond any it serves (ids are 64
/// digits), and under hyper's 64 KiB, past which it answers 414 itself with no body.
pub(super) const MAX_URI_LEN: usize = 8 * 1024;

/// How much of a non-JSON error body is read to become the message (axum's are a line).
const TEXT_LIMIT: usize = 16 * 1024;

/// Gives every error response of the routes under it the JSON error shape.
pub(super) async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, TEXT_LIMIT)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let message = match status {
        // axum adds `Allow` around the layer, so it is not known here.
        StatusCode::METHOD_NOT_ALLOWED => format!(
            "{method} is not allowed on {}; the Allow header lists the methods it takes",
            uri.path()
        ),
        _ if text.is_empty() => format!(
            "{method} {}: {}",
            uri.path(),
            status.canonical_reason().unwrap_or("refused")
        ),
        _ => format!("{method} {}: {text}", uri.path()),
    };
    let error = ApiError::new(status, kind_of(status), message).into_response();
    let (error_parts, body) = error.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &error_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, body)
}

/// The answer to a request for a route this API does not have.
pub(super) async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!(
        "{method} {}: no such route on this node's API; the routes are described at /api/v1/openapi.json",
        uri.path()
    ))
}

/// Refuses a URI longer than [`MAX_URI_LEN`] with 414, in the shape of the route asked for:
/// the axis envelope for an axis call, the JSON error otherwise.
pub(super) async fn uri_limit(request: Request, next: Next) -> Response {
    let len = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if len <= MAX_URI_LEN {
        return next.run(request).await;
    }
    let error = ApiError::new(
        StatusCode::URI_TOO_LONG,
        "uri_too_long",
        format!(
            "the URI is {len} bytes long, longer than the {MAX_URI_LEN} bytes this API reads; send parameters in the body"
        ),
    );
    // Its body is not read: hyper closes the connection after the answer.
    let path = request.uri().path().to_owned();
    drop(request.into_body());
    axis::refusal(&path, error.clone()).unwrap_or_else(|| error.into_response())
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// The stable name of an error for which only the status is known.
fn kind_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::INSUFFICIENT_STORAGE => "insufficient_storage",
        s if s.is_client_error() => "bad_request",
        _ => "internal",
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::extract::{Path, Query};
    use axum::http::HeaderValue;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    /// A plain-text error, as axum's own.
    fn plain(status: StatusCode, text: &'static str) -> Response {
        let mut response = Response::new(Body::from(text));
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }

    #[derive(Debug, serde::Deserialize)]
    struct Limit {
        #[allow(dead_code)]
        limit: Option<usize>,
    }

    /// Routes shaped like the API's, with its layers.
    fn app() -> Router {
        Router::new()
            .route(
                "/api/v1/packages",
                get(|Query(_): Query<Limit>| async { "[]" }),
            )
            .route(
                "/api/v1/packages/{id}",
                get(|Path(id): Path<String>| async move { id }),
            )
            .route(
                "/api/v1/plain",
                get(|| async { plain(StatusCode::CONFLICT, "exists already") }),
            )
            .route(
                "/api/v1/json",
                get(|| async { ApiError::not_found("no package 12ab on this node") }),
            )
            .fallback(no_route)
            .layer(axum::middleware::from_fn(json_errors))
            .layer(axum::middleware::from_fn(uri_limit))
    }

    async fn call(method: &str, uri: &str) -> (StatusCode, HeaderMap, serde_json::Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("request");
        let response = app().oneshot(request).await.expect("answers");
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.expect("body");
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {body:?}"));
        (parts.status, parts.headers, json)
    }

    fn error_of(json: &serde_json::Value) -> (&str, &str) {
        (
            json["error"]["kind"].as_str().expect("kind"),
            json["error"]["message"].as_str().expect("message"),
        )
    }

    #[tokio::test]
    async fn a_query_that_does_not_read_is_a_json_400_naming_the_parameter() {
        let (status, _, json) = call("GET", "/api/v1/packages?limit=abc").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (kind, message) = error_of(&json);
        assert_eq!(kind, "bad_request");
        assert!(message.contains("limit"), "{message}");
    }

    #[tokio::test]
    async fn an_id_that_is_not_utf8_is_a_json_400() {
        let (status, _, json) = call("GET", "/api/v1/packages/%ff").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error_of(&json).0, "bad_request");
    }

    #[tokio::test]
    async fn an_unknown_route_is_a_json_404() {
        let (status, _, json) = call("GET", "/api/v2/nothing").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (kind, message) = error_of(&json);
        assert_eq!(kind, "not_found");
        assert!(message.contains("/api/v2/nothing"), "{message}");
    }

    #[tokio::test]
    async fn a_wrong_method_is_a_json_405_that_keeps_allow() {
        let (status, headers, json) = call("DELETE", "/api/v1/packages").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(headers.contains_key(header::ALLOW));
        assert_eq!(headers[header::ALLOW], "GET,HEAD");
        let (kind, message) = error_of(&json);
        assert_eq!(kind, "method_not_allowed");
        assert!(message.contains("DELETE"), "{message}");
    }

    #[tokio::test]
    async fn a_plain_error_keeps_its_status_and_text() {
        let (status, headers, json) = call("GET", "/api/v1/plain").await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(error_of(&json).1, "GET /api/v1/plain: exists already");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    }

    #[tokio::test]
    async fn a_json_error_is_left_as_it_is() {
        let (status, _, json) = call("GET", "/api/v1/json").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(error_of(&json).1, "no package 12ab on this node");
    }

    #[tokio::test]
    async fn a_long_uri_is_a_json_414() {
        let uri = format!("/api/v1/packages?limit=1&x={}", "a".repeat(MAX_URI_LEN));
        let (status, _, json) = call("GET", &uri).await;
        assert_eq!(status, StatusCode::URI_TOO_LONG);
        let (kind, message) = error_of(&json);
        assert_eq!(kind, "uri_too_long");
        assert!(message.contains(&MAX_URI_LEN.to_string()), "{message}");
    }
}
