//! Request latency per route, for `/metrics`.
//!
//! The route label is the template that matched (`/api/v1/packages/{id}`), taken from
//! axum's [`MatchedPath`], so a thousand package ids make one series, not a thousand;
//! requests that match no route share the label [`UNMATCHED_ROUTE`].

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::ApiState;
use crate::ops::metrics::{Metrics, UNMATCHED_ROUTE};

/// Times each request.
pub(super) async fn observe(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    timed(&state.ctx.metrics, request, next).await
}

/// Runs the rest of the stack and records how long it took to produce the response
/// (headers ready; a streamed body may take longer to send).
async fn timed(metrics: &Metrics, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || UNMATCHED_ROUTE.to_owned(),
        |path| path.as_str().to_owned(),
    );
    let method = request.method().clone();
    let start = Instant::now();
    let response = next.run(request).await;
    metrics.request(
        &route,
        method.as_str(),
        response.status().as_u16(),
        start.elapsed(),
    );
    response
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    /// A router shaped like the API's (a parameterised route, a fallback 404), timed by
    /// the same middleware.
    fn app(metrics: Arc<Metrics>) -> Router {
        Router::new()
            .route("/api/v1/packages/{id}", get(|| async { "content" }))
            .route("/health", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(move |request, next| {
                let metrics = metrics.clone();
                async move { timed(&metrics, request, next).await }
            }))
    }

    async fn call(app: &Router, method: &str, uri: &str) -> StatusCode {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("request");
        app.clone()
            .oneshot(request)
            .await
            .expect("answers")
            .status()
    }

    fn count(text: &str, labels: &str) -> Option<u64> {
        let prefix = format!("lienthong_api_request_duration_seconds_count{{{labels}}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|value| value.parse().ok())
    }

    #[tokio::test]
    async fn requests_are_timed_under_their_route_template() {
        let metrics = Arc::new(Metrics::new());
        let app = app(metrics.clone());
        for id in ["aaa", "bbb", "ccc"] {
            assert_eq!(
                call(&app, "GET", &format!("/api/v1/packages/{id}")).await,
                StatusCode::OK
            );
        }
        assert_eq!(call(&app, "GET", "/health").await, StatusCode::OK);
        assert_eq!(
            call(&app, "GET", "/no/such/page").await,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(&app, "GET", "/another/unknown").await,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(&app, "POST", "/health").await,
            StatusCode::METHOD_NOT_ALLOWED
        );

        let text = metrics.render();
        assert_eq!(
            count(
                &text,
                "route=\"/api/v1/packages/{id}\",method=\"GET\",status=\"2xx\""
            ),
            Some(3),
            "one series for every id:\n{text}"
        );
        assert_eq!(
            count(&text, "route=\"/health\",method=\"GET\",status=\"2xx\""),
            Some(1)
        );
        assert_eq!(
            count(&text, "route=\"unmatched\",method=\"GET\",status=\"4xx\""),
            Some(2)
        );
        assert_eq!(
            count(&text, "route=\"/health\",method=\"POST\",status=\"4xx\""),
            Some(1)
        );
        assert!(!text.contains("aaa") && !text.contains("/no/such/page"));
        // A histogram: buckets up to +Inf, each request in the last one.
        let inf = "lienthong_api_request_duration_seconds_bucket{le=\"+Inf\",route=\"/health\",method=\"GET\",status=\"2xx\"} 1";
        assert!(text.contains(inf), "{text}");
    }
}
