//! Who may call the axis-compatible endpoints: a client with the API's bearer token (the
//! CLI, scripts, a QLVB already using the node's own API), or one signing like the axis SDK
//! (see `hmac.rs`) with the secret of `[api.axis] secret_file`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use tracing::{Instrument as _, info, info_span, warn};
use zeroize::Zeroizing;

use super::envelope::Fail;
use super::hmac::{self, HmacSettings, SIGN_HEADER, SIGN_HEADER_KEY};
use crate::api::ApiState;
use crate::api::auth::constant_time_eq;
use crate::api::packages::read_limited;
use crate::clock;
use crate::data_dir;

/// What the middleware checks requests against; loaded once, when the API starts.
#[derive(Debug)]
pub(super) struct Guard {
    enabled: bool,
    token: Arc<str>,
    hmac: HmacSettings,
}

impl Guard {
    /// Reads the settings and the secret file. A secret that cannot be read leaves the
    /// bearer token working and makes every signed request fail with the reason.
    pub(super) fn load(state: &ApiState) -> Guard {
        let config = &state.ctx.config;
        let axis = &config.api.axis;
        let system_id = axis.system_id_or(&config.organ_id).to_owned();
        let secret = if axis.enabled {
            read_secret(&axis.secret_file)
        } else {
            Err("the axis-compatible endpoints are turned off".to_owned())
        };
        match (&secret, axis.enabled) {
            (_, false) => {
                info!("axis-compatible endpoints turned off ([api.axis] enabled = false)")
            }
            (Ok(_), true) => {
                info!(%system_id, "axis-compatible endpoints on: bearer token or SDK signature")
            }
            (Err(reason), true) => {
                warn!(%reason, "axis-compatible endpoints on, bearer token only: SDK signatures cannot be checked")
            }
        }
        Guard {
            enabled: axis.enabled,
            token: state.token.clone(),
            hmac: HmacSettings {
                system_id,
                secret,
                skew: axis.timestamp_skew,
            },
        }
    }

    fn admit(&self, request: &Request) -> Result<&'static str, Fail> {
        if !self.enabled {
            return Err(Fail::not_found(
                "the axis-compatible endpoints are turned off on this node ([api.axis] enabled = false)",
            ));
        }
        let headers = request.headers();
        if let Some(value) = headers.get(AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or_else(|| {
                    Fail::unauthorized("Authorization must be \"Bearer <the node's api.token>\"")
                })?;
            return if constant_time_eq(token.as_bytes(), self.token.as_bytes()) {
                Ok("token")
            } else {
                Err(Fail::unauthorized(
                    "the bearer token is not this node's API token",
                ))
            };
        }
        if hmac::is_signed(headers) {
            return hmac::verify(headers, &self.hmac, clock::now())
                .map(|()| "signature")
                .map_err(|e| Fail::unauthorized(e.to_string()));
        }
        Err(Fail::unauthorized(format!(
            "not authenticated: sign like the axis SDK (systemid, timestamp, {SIGN_HEADER_KEY}, {SIGN_HEADER}) or send Authorization: Bearer <the node's api.token>"
        )))
    }
}

/// The secret's bytes: the file's text, trimmed, as the SDK keeps `secret` in its settings.
fn read_secret(path: &std::path::Path) -> Result<Zeroizing<Vec<u8>>, String> {
    let text = Zeroizing::new(
        data_dir::read_secret(path).map_err(|e| format!("{}: {e}", path.display()))?,
    );
    let secret = text.trim();
    if secret.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(Zeroizing::new(secret.as_bytes().to_vec()))
}

/// Lets a request through when [`Guard`] admits it; answers FAIL 401 (or 404 when the
/// endpoints are off) otherwise.
pub(super) async fn check(
    State(guard): State<Arc<Guard>>,
    request: Request,
    next: Next,
) -> Response {
    let span = info_span!("axis", op = %request.uri().path());
    match guard.admit(&request) {
        Ok(how) => {
            tracing::debug!(parent: &span, by = how, "axis call admitted");
            next.run(request).instrument(span).await
        }
        Err(fail) => {
            // Read what the client is still sending (without keeping it), so that it
            // receives the answer rather than a connection closed under it.
            let _ = read_limited(request.into_body(), 0)
                .instrument(span.clone())
                .await;
            let _entered = span.enter();
            fail.into_response()
        }
    }
}
