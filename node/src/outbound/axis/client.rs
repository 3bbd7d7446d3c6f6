//! [`AxisClient`]: one method per axis call the bridge makes, each request signed as the
//! SDK signs it (§2.2) with a fresh timestamp (§7.1), bodies byte for byte as the SDK's
//! (§7.3): none for the lists, `{}` for getEdoc and updateStatus, the file and CR LF for
//! sendEdoc with its unpadded `hash-file`.
//!
//! The HTTP client is blocking (ureq); every call runs on the blocking pool, bounded by
//! the connect and overall timeouts of `[axis]`. An `https://` axis is reached over TLS
//! (rustls), its certificate checked against the public web roots or `[axis] ca_file`.

use std::sync::Arc;
use std::time::Duration;

use lienthong_protocol::axis_wire::{self, CONTENT_TYPE_JSON, CONTENT_TYPE_OCTETS};
use serde_json::Value;
use ureq::tls::{RootCerts, TlsConfig};
use zeroize::Zeroizing;

use super::AxisError;
use super::answers::{self, DirectoryEntry, ReceivedItem, SentItem};
use crate::clock;
use crate::tasks::blocking;

/// The two kinds of message the axis carries (`messagetype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// A document (`edoc`).
    Edoc,
    /// A status of a document (`status`).
    Status,
}

impl MessageType {
    /// As the SDK writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Edoc => "edoc",
            MessageType::Status => "status",
        }
    }
}

/// A client of one axis under one agency's account. Cheap to clone.
#[derive(Clone)]
pub struct AxisClient {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: String,
    system_id: String,
    secret: Zeroizing<Vec<u8>>,
    agent: ureq::Agent,
    /// The largest answer read (a getEdoc of the largest package, base64).
    max_answer: u64,
}

impl std::fmt::Debug for AxisClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AxisClient")
            .field("endpoint", &self.inner.endpoint)
            .field("system_id", &self.inner.system_id)
            .finish_non_exhaustive()
    }
}

impl AxisClient {
    /// A client of the axis at `endpoint` as `system_id`, signing with `secret` (the
    /// text of the agency's secret, trimmed, used as bytes as the SDK does). Answers above
    /// `max_answer` bytes are refused. An `https://` axis is checked against the public
    /// web roots (Mozilla's list).
    pub fn new(
        endpoint: &str,
        system_id: &str,
        secret: &str,
        connect_timeout: Duration,
        request_timeout: Duration,
        max_answer: u64,
    ) -> AxisClient {
        let timeouts = (connect_timeout, request_timeout);
        Self::build(
            endpoint,
            system_id,
            secret,
            timeouts,
            max_answer,
            RootCerts::WebPki,
        )
    }

    /// As [`AxisClient::new`] (`timeouts`: connect, whole call), but with `ca_pem` (PEM) trusting for an `https://` axis only
    /// the CA certificates it holds: a provincial axis with its own CA, or a CA the web
    /// roots lack. `None` is [`AxisClient::new`].
    ///
    /// # Errors
    /// When `ca_pem` holds no certificate, or one that does not read.
    pub fn with_ca(
        endpoint: &str,
        system_id: &str,
        secret: &str,
        timeouts: (Duration, Duration),
        max_answer: u64,
        ca_pem: Option<&[u8]>,
    ) -> Result<AxisClient, String> {
        let roots = match ca_pem {
            None => RootCerts::WebPki,
            Some(pem) => RootCerts::new_with_certs(&certificates(pem)?),
        };
        Ok(Self::build(
            endpoint, system_id, secret, timeouts, max_answer, roots,
        ))
    }

    fn build(
        endpoint: &str,
        system_id: &str,
        secret: &str,
        (connect_timeout, request_timeout): (Duration, Duration),
        max_answer: u64,
        roots: RootCerts,
    ) -> AxisClient {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(connect_timeout))
            .timeout_global(Some(request_timeout))
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            .build()
            .into();
        AxisClient {
            inner: Arc::new(Inner {
                // The SDK joins endpoint and call as text (§1); a trailing `/` is dropped
                // here so that the path is `/call`, not `//call`.
                endpoint: endpoint.trim().trim_end_matches('/').to_owned(),
                system_id: system_id.to_owned(),
                secret: Zeroizing::new(secret.trim().as_bytes().to_vec()),
                agent,
                max_answer,
            }),
        }
    }

    /// The agency's `systemid` on the axis.
    pub fn system_id(&self) -> &str {
        &self.inner.system_id
    }

    /// `sendEdoc`: `file` exactly as given, to `to`, as `message_type`; the axis's DocId.
    ///
    /// # Errors
    /// [`AxisError`]; a FAIL answer is [`AxisError::Refused`] with the axis's text.
    pub async fn send_edoc(
        &self,
        file: Arc<Vec<u8>>,
        message_type: MessageType,
        to: &str,
    ) -> Result<String, AxisError> {
        let this = self.clone();
        let to = serde_json::to_string(to).unwrap_or_default();
        let value = run(move || {
            let hash = axis_wire::hash_file(&file);
            let from = this.inner.system_id.clone();
            let params = [
                ("from", from.as_str()),
                ("servicetype", "eDoc"),
                ("messagetype", message_type.as_str()),
                ("to", to.as_str()),
                ("hash-file", hash.as_str()),
            ];
            let mut body = Vec::with_capacity(file.len() + 2);
            body.extend_from_slice(&file);
            body.extend_from_slice(b"\r\n");
            this.call("sendEdoc", CONTENT_TYPE_OCTETS, &params, Body::Bytes(body))
        })
        .await?;
        let doc_id = match value.get("DocId") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            _ => {
                return Err(AxisError::Malformed(
                    "sendEdoc answered no DocId".to_owned(),
                ));
            }
        };
        Ok(doc_id)
    }

    /// `getReceivedEdocList`: what waits for this agency, of `message_type`.
    ///
    /// # Errors
    /// [`AxisError`].
    pub async fn received(
        &self,
        message_type: MessageType,
    ) -> Result<Vec<ReceivedItem>, AxisError> {
        let this = self.clone();
        let value = run(move || {
            let params = [
                ("servicetype", "eDoc"),
                ("messagetype", message_type.as_str()),
            ];
            this.call(
                "getReceivedEdocList",
                CONTENT_TYPE_JSON,
                &params,
                Body::Empty,
            )
        })
        .await?;
        answers::received(&value)
    }

    /// `getEdoc`: the exact bytes of `doc_id`.
    ///
    /// # Errors
    /// [`AxisError`].
    pub async fn get_edoc(&self, doc_id: &str) -> Result<Vec<u8>, AxisError> {
        let this = self.clone();
        let doc_id = doc_id.to_owned();
        let value = run(move || {
            let params = [("docId", doc_id.as_str())];
            this.call("getEdoc", CONTENT_TYPE_JSON, &params, Body::Braces)
        })
        .await?;
        answers::edoc_bytes(&value)
    }

    /// `updateStatus`: `done` once the document is stored, `fail` when it cannot be.
    ///
    /// # Errors
    /// [`AxisError`].
    pub async fn update_status(&self, doc_id: &str, status: &str) -> Result<(), AxisError> {
        let this = self.clone();
        let doc_id = doc_id.to_owned();
        let status = status.to_owned();
        run(move || {
            let params = [("status", status.as_str()), ("docId", doc_id.as_str())];
            this.call("updateStatus", CONTENT_TYPE_JSON, &params, Body::Braces)
        })
        .await
        .map(|_| ())
    }

    /// `getSentEdocList`: the recipients' copies of the send `doc_id`, or, without it,
    /// of every send of `message_type` (to find a send whose answer was lost).
    ///
    /// # Errors
    /// [`AxisError`].
    pub async fn sent(
        &self,
        message_type: MessageType,
        doc_id: Option<&str>,
    ) -> Result<Vec<SentItem>, AxisError> {
        let this = self.clone();
        let doc_id = doc_id.map(str::to_owned);
        let value = run(move || {
            let mut params = vec![
                ("servicetype", "eDoc"),
                ("messagetype", message_type.as_str()),
            ];
            if let Some(id) = &doc_id {
                params.push(("docId", id.as_str()));
            }
            this.call("getSentEdocList", CONTENT_TYPE_JSON, &params, Body::Empty)
        })
        .await?;
        answers::sent(&value)
    }

    /// `getAgenciesList`: the axis's directory.
    ///
    /// # Errors
    /// [`AxisError`].
    pub async fn agencies(&self) -> Result<Vec<DirectoryEntry>, AxisError> {
        let this = self.clone();
        let value =
            run(move || this.call("getAgenciesList", CONTENT_TYPE_JSON, &[], Body::Empty)).await?;
        answers::directory(&value)
    }

    /// One signed call, blocking: the answer's JSON when its envelope says success.
    fn call(
        &self,
        op: &str,
        content_type: &str,
        params: &[(&str, &str)],
        body: Body,
    ) -> Result<Value, AxisError> {
        let inner = &self.inner;
        let timestamp =
            axis_wire::timestamp_text(clock::now().as_millis(), axis_wire::VIETNAM_UTC_OFFSET_SECS);
        let signed = axis_wire::sign(
            &inner.secret,
            &inner.system_id,
            &timestamp,
            content_type,
            params,
        );
        let mut request = inner.agent.post(format!("{}/{op}", inner.endpoint));
        for (name, value) in &signed.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let answer = match body {
            Body::Empty => request.header("Content-Length", "0").send_empty(),
            Body::Braces => request.send(&b"{}"[..]),
            Body::Bytes(bytes) => request.send(&bytes[..]),
        };
        let mut response = answer.map_err(|e| AxisError::Unreachable(format!("{op}: {e}")))?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(inner.max_answer)
            .read_to_vec()
            .map_err(|e| AxisError::Unreachable(format!("{op}: reading the answer: {e}")))?;
        answers::success(&bytes, status).map_err(|e| match e {
            AxisError::Unreachable(why) => AxisError::Unreachable(format!("{op}: {why}")),
            other => other,
        })
    }
}

/// The certificates of a PEM file, refusing one that holds none or anything else.
fn certificates(pem: &[u8]) -> Result<Vec<ureq::tls::Certificate<'static>>, String> {
    let mut certificates = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item.map_err(|e| format!("a PEM section does not read: {e}"))? {
            ureq::tls::PemItem::Certificate(certificate) => certificates.push(certificate),
            _ => return Err("it holds something other than certificates".to_owned()),
        }
    }
    if certificates.is_empty() {
        return Err("it holds no PEM certificate".to_owned());
    }
    Ok(certificates)
}

/// A request body, as the SDK sends it for each call.
enum Body {
    /// None (`Content-Length: 0`): the lists and the directory.
    Empty,
    /// `{}`: getEdoc, updateStatus.
    Braces,
    /// sendEdoc's file and CR LF.
    Bytes(Vec<u8>),
}

/// Runs a blocking call on the blocking pool.
async fn run<F>(f: F) -> Result<Value, AxisError>
where
    F: FnOnce() -> Result<Value, AxisError> + Send + 'static,
{
    blocking(f)
        .await
        .map_err(|e| AxisError::Unreachable(format!("the call did not finish: {e}")))?
}
