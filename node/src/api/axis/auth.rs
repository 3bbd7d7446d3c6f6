//! Who may call the axis-compatible endpoints: QLVB through the axis SDK, signing with the
//! secret of `[api.axis] secret_file` (see `signature.rs`), or a client with the API's
//! bearer token (the CLI, scripts, a QLVB already using the node's own API).

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use tracing::{Instrument as _, debug, info, info_span, warn};
use zeroize::Zeroizing;

use super::Op;
use super::envelope::Fail;
use super::signature::{self, HASH_HEADER, SIGN_HEADER, SignatureSettings, Signed};
use crate::api::ApiState;
use crate::api::auth::constant_time_eq;
use crate::api::body::read_limited;
use crate::data_dir;

/// Who an admitted call is from; the guard puts it in the request's extensions.
#[derive(Debug, Clone)]
pub(super) enum Caller {
    /// The bearer token: parameters from plain headers, the query or the body.
    Token,
    /// The SDK's signature: parameters only from what it signed.
    Sdk(Arc<Signed>),
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Caller, Fail> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| Fail::unauthorized("the call was not admitted by the axis guard"))
    }
}

/// What the middleware checks requests against; loaded once, when the API starts.
#[derive(Debug)]
pub(super) struct Guard {
    enabled: bool,
    token: Arc<str>,
    signature: SignatureSettings,
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
                info!("axis-compatible endpoints turned off ([api.axis] enabled = false)");
            }
            (Ok(_), true) => {
                info!(%system_id, "axis-compatible endpoints on: axis SDK signature or bearer token");
            }
            (Err(reason), true) => {
                warn!(%reason, "axis-compatible endpoints on, bearer token only: the axis SDK's signatures cannot be checked");
            }
        }
        if axis.timestamp_skew.is_some() {
            info!(
                "api.axis.timestamp_skew is no longer used and can be removed: the axis SDK signs every call of a service object with the timestamp it was created with"
            );
        }
        Guard {
            enabled: axis.enabled,
            token: state.token.clone(),
            signature: SignatureSettings { system_id, secret },
        }
    }

    fn admit(&self, request: &Request) -> Result<Caller, Fail> {
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
                Ok(Caller::Token)
            } else {
                Err(Fail::unauthorized(
                    "the bearer token is not this node's API token",
                ))
            };
        }
        if signature::is_signed(headers) {
            return signature::verify(headers, &self.signature)
                .map(|signed| Caller::Sdk(Arc::new(signed)))
                .map_err(|e| Fail::unauthorized(e.to_string()));
        }
        Err(Fail::unauthorized(format!(
            "not authenticated: sign like the axis SDK ({SIGN_HEADER} and {HASH_HEADER}, with the systemid and secret of collaboration.properties) or send Authorization: Bearer <the node's api.token>"
        )))
    }
}

/// The secret's bytes: the file's text, trimmed, as the SDK keeps `secret` in its
/// settings (text, never decoded).
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

/// Lets a request through with its [`Caller`] when [`Guard`] admits it; answers FAIL 401
/// (or 404 when the endpoints are off) in the shape of the call otherwise.
pub(super) async fn check(
    State(guard): State<Arc<Guard>>,
    mut request: Request,
    next: Next,
) -> Response {
    let op = Op::from_path(request.uri().path());
    let span = info_span!("axis", op = op.map_or("?", Op::name));
    match guard.admit(&request) {
        Ok(caller) => {
            debug!(parent: &span, by = match caller { Caller::Token => "token", Caller::Sdk(_) => "signature" }, "axis call admitted");
            request.extensions_mut().insert(caller);
            next.run(request).instrument(span).await
        }
        Err(fail) => {
            // Read what the client is still sending (without keeping it), so that it
            // receives the answer rather than a connection closed under it.
            let _ = read_limited(request.into_body(), 0)
                .instrument(span.clone())
                .await;
            let _entered = span.enter();
            fail.answering(op).into_response()
        }
    }
}
