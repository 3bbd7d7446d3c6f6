//! `POST /sendEdoc`: a document or status message from QLVB, through the same submission
//! path as `POST /api/v1/packages`, answered only once it is durable.
//!
//! The SDK sends the file's bytes followed by `\r\n` as the whole body
//! (`application/octet-stream`), and `from`, `servicetype`, `messagetype`, `hash-file` and
//! optionally `to` as signed parameters (`vxp-sdk-wire.md` §1, §6.6). A bearer-token client
//! may also send the file as the multipart part `file_doc`.
//!
//! - `hash-file` (required from the SDK: it is what binds the body to the signature) must
//!   be the SHA-256 of the file, in the SDK's unpadded hexadecimal or the usual 64 digits;
//! - `from`, when given, must be this node's agency and the file's `From`;
//! - `messagetype`, when given, must be the file's kind (`edoc` or `status`);
//! - `to` does not decide anything: the file's `To` does. From a token client, it must be
//!   among the file's recipients; from the SDK it is not checked, because the SDK keeps the
//!   `to` of an earlier call on every later one.
//!
//! Anything refused stores nothing, and the answer still carries `"DocId":""`. Sending the
//! same file again answers with the same `DocId` (the package id) and stores nothing new.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse as _, Response};
use bytes::Bytes;
use lienthong_protocol::{MessageKind, OrganId, edxml};
use serde::Serialize;
use tracing::{debug, info};

use super::Op;
use super::auth::Caller;
use super::envelope::{AxisResult, Fail, ok};
use super::params::{Params, Source};
use super::send_body;
use crate::api::ApiState;
use crate::api::body::read_limited;
use crate::api::submit;
use crate::context::NodeContext;

/// Room for the multipart framing and text fields around a file of the largest size.
const MULTIPART_OVERHEAD: usize = 1024 * 1024;
/// The multipart part a token client may send the file in.
const FILE_PART: &str = "file_doc";

#[derive(Serialize)]
struct Sent {
    #[serde(rename = "DocId")]
    doc_id: String,
}

pub(super) async fn send_edoc(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    receive(&state, &caller, &headers, &uri, body)
        .await
        .unwrap_or_else(|fail| fail.answering(Some(Op::SendEdoc)).into_response())
}

async fn receive(
    state: &ApiState,
    caller: &Caller,
    headers: &HeaderMap,
    uri: &Uri,
    body: Body,
) -> AxisResult {
    let limit =
        usize::try_from(state.ctx.config.limits.max_package_size.as_u64()).unwrap_or(usize::MAX);
    // The body first: a client still sending would not receive an early answer.
    let body = read_limited(body, limit.saturating_add(MULTIPART_OVERHEAD)).await?;
    let mut params = match caller {
        Caller::Sdk(signed) => Params::signed(signed),
        Caller::Token => Params::new(headers, uri)?,
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let body = if content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/")
    {
        let fields = matches!(caller, Caller::Token).then_some(&mut params);
        read_multipart(content_type, body, fields).await?
    } else {
        body
    };
    let hash = params.get("hash-file")?;
    if hash.is_none() && matches!(caller, Caller::Sdk(_)) {
        return Err(Fail::bad_request(
            "hash-file is missing: the SDK signs the SHA-256 of the file on every sendEdoc, and without it the signature does not cover the body",
        ));
    }
    let file = send_body::file_of(body, hash.as_deref())?;
    if file.iter().all(u8::is_ascii_whitespace) {
        return Err(Fail::bad_request(
            "the file is empty: send the .edxml file's bytes as the body",
        ));
    }
    if file.len() > limit {
        return Err(Fail::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the file is {} bytes, larger than this node's limit of {limit} bytes",
                file.len()
            ),
        ));
    }
    let checks = Checks::from_params(&params, &state.ctx.organ_id, caller)?;
    let ctx = state.ctx.clone();
    let (delivery, receipts) = (state.delivery.clone(), state.receipts.clone());
    let submission = tokio::task::spawn_blocking(move || -> Result<submit::Submission, Fail> {
        checks.content(&ctx, &file)?;
        Ok(submit::submit(&ctx, &delivery, &receipts, file)?)
    })
    .await??;
    info!(
        package = %submission.package_id.fmt_short(),
        kind = %submission.kind,
        duplicate = submission.duplicate,
        "sendEdoc accepted"
    );
    Ok(ok(Sent {
        doc_id: submission.package_id.to_string(),
    }))
}

/// The file part; every text part joins `params`, when given (a token client's; the SDK's
/// parameters are only what it signed).
async fn read_multipart(
    content_type: &str,
    body: Bytes,
    mut params: Option<&mut Params>,
) -> Result<Bytes, Fail> {
    let boundary = multer::parse_boundary(content_type).map_err(|e| {
        Fail::bad_request(format!(
            "Content-Type {content_type:?} is not multipart/form-data with a boundary: {e}"
        ))
    })?;
    let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let unreadable =
        |e: multer::Error| Fail::bad_request(format!("the multipart body does not read: {e}"));
    let mut file: Option<Bytes> = None;
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or("").to_owned();
        if name.eq_ignore_ascii_case(FILE_PART) {
            if file.is_some() {
                return Err(Fail::bad_request(format!(
                    "the multipart body has {FILE_PART} twice; send one file per call"
                )));
            }
            file = Some(field.bytes().await.map_err(unreadable)?);
        } else if let Some(params) = params.as_deref_mut()
            && field.file_name().is_none()
            && !name.is_empty()
        {
            let value = field.text().await.map_err(unreadable)?;
            params.add(name, value, Source::FormField);
        }
    }
    file.ok_or_else(|| {
        Fail::bad_request(format!(
            "the multipart body has no part named {FILE_PART}: send the .edxml file in it"
        ))
    })
}

/// What the parameters say the file must be.
#[derive(Debug)]
struct Checks {
    kind: Option<MessageKind>,
    from: Option<OrganId>,
    /// Recipients the file must address; the SDK's `to` is not checked (see the top).
    to: Vec<OrganId>,
}

impl Checks {
    fn from_params(params: &Params, this: &OrganId, caller: &Caller) -> Result<Checks, Fail> {
        params.check_service_type()?;
        let kind = params.message_type()?;
        let from = params
            .get("from")?
            .map(|text| {
                let from = OrganId::parse(&text).map_err(|e| {
                    Fail::bad_request(format!("from {text:?} is not an agency id: {e}"))
                })?;
                if &from != this {
                    return Err(Fail::refused(format!(
                        "from {from} is not this node's agency ({this}); send through the node of {from}"
                    )));
                }
                Ok(from)
            })
            .transpose()?;
        let to = match (params.get("to")?, caller) {
            (Some(text), Caller::Token) => send_body::recipients(&text)?,
            (Some(text), Caller::Sdk(_)) => {
                debug!(to = %text, "sendEdoc: the SDK's to is not checked; the file's To decides");
                Vec::new()
            }
            (None, _) => Vec::new(),
        };
        Ok(Checks { kind, from, to })
    }

    /// Checks the file against the parameters. Blocking (parses the file).
    fn content(&self, ctx: &NodeContext, file: &Bytes) -> Result<(), Fail> {
        if self.kind.is_none() && self.from.is_none() && self.to.is_empty() {
            return Ok(());
        }
        let options = edxml::ReadOptions {
            max_size: usize::try_from(ctx.config.limits.max_package_size.as_u64())
                .unwrap_or(usize::MAX),
            ..edxml::ReadOptions::default()
        };
        let parsed = edxml::read_with(file.clone(), &options)
            .map_err(|e| Fail::bad_request(format!("the file is not valid edXML: {e}")))?;
        let message = &parsed.message;
        if let Some(kind) = self.kind
            && kind != message.kind()
        {
            return Err(Fail::refused(format!(
                "messagetype is {kind} but the file is {} message",
                match message.kind() {
                    MessageKind::Edoc => "a document (edoc)",
                    MessageKind::Status => "a status (status)",
                }
            )));
        }
        if let Some(from) = &self.from
            && from != message.from()
        {
            return Err(Fail::refused(format!(
                "from is {from} but the file's From/OrganId is {}",
                message.from()
            )));
        }
        let addressees = message.addressees();
        let strangers: Vec<String> = self
            .to
            .iter()
            .filter(|t| !addressees.contains(t))
            .map(ToString::to_string)
            .collect();
        if !strangers.is_empty() {
            return Err(Fail::refused(format!(
                "to names {} but the file does not address it (its recipients: {}); the file's To decides where it goes",
                strangers.join(", "),
                addressees
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(())
    }
}
