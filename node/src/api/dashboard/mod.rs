//! The operators' dashboard at `/`: one self-contained page served by the node itself.
//!
//! The page holds no data, so it is served without the token; it asks for the token (or
//! takes it from the link's `#token=` fragment, which never reaches the server) and reads
//! everything it shows from `GET /api/v1/dashboard`, behind the token. It loads nothing
//! from elsewhere: agencies' networks are often closed to the Internet.

mod data;

use std::net::SocketAddr;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::ApiState;

/// The page: HTML with its CSS and JavaScript inline, compiled into the binary.
const PAGE: &str = include_str!("page.html");

/// What the page may do: run its own inline script and style and call this node's API,
/// nothing else (no other origin, no frames, no forms posted anywhere).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The link that opens the dashboard of the node whose API is at `api_addr`, signed in with
/// `token`. The token rides in the fragment, which a browser never sends to a server, so
/// the link can be clicked from a terminal without the token reaching any log on the way.
///
/// Only a node whose API listens on this machine alone (loopback) gets such a link printed:
/// anywhere else the token would be shown to whoever reads the console of a shared server.
pub fn link(api_addr: SocketAddr, token: &str) -> Option<String> {
    api_addr
        .ip()
        .is_loopback()
        .then(|| format!("http://{api_addr}/#token={token}"))
}

/// The page itself, which asks for the API token before it shows anything.
pub(super) fn public_routes() -> Router<ApiState> {
    Router::new().route("/", get(page))
}

/// The data the page shows, behind the API token.
pub(super) fn authed_routes() -> Router<ApiState> {
    Router::new().route("/api/v1/dashboard", get(data::dashboard))
}

async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
}

#[cfg(test)]
mod tests {
    use super::{PAGE, link};

    #[test]
    fn a_loopback_api_gets_a_link_with_its_token_and_no_other_does() {
        assert_eq!(
            link("127.0.0.1:7180".parse().unwrap(), "abc").as_deref(),
            Some("http://127.0.0.1:7180/#token=abc")
        );
        assert_eq!(
            link("[::1]:7180".parse().unwrap(), "abc").as_deref(),
            Some("http://[::1]:7180/#token=abc")
        );
        assert_eq!(link("0.0.0.0:7180".parse().unwrap(), "abc"), None);
        assert_eq!(link("10.1.2.3:7180".parse().unwrap(), "abc"), None);
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for external in ["http://", "https://", "//fonts.", "@import", "src=\""] {
            assert!(
                !PAGE.contains(external),
                "the dashboard page must be self-contained, but it contains {external:?}"
            );
        }
    }

    #[test]
    fn the_page_names_every_status_code_in_vietnamese() {
        for name in [
            "Đã đến",
            "Từ chối tiếp nhận",
            "Đã tiếp nhận",
            "Phân công",
            "Đang xử lý",
            "Hoàn thành",
            "Yêu cầu lấy lại",
            "Đồng ý lấy lại",
            "Từ chối lấy lại",
        ] {
            assert!(
                PAGE.contains(name),
                "the page lacks the status name {name:?}"
            );
        }
    }
}
