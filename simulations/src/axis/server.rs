//! The test axis's HTTP calls: the SDK's signature checked under the caller's own secret,
//! parameters only from what it signed, answers in the axis's envelope (§4.5, §6).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, put};
use lienthong_protocol::axis_wire::{
    self, HASH_HEADER, PREFIX, SIGN_HEADER, SIGN_HEADER_KEY, SignedPairs, VERSION_HEADER,
};
use serde_json::{Value, json};

use super::state::NewSend;
use super::{Shared, Switches, lock};

/// The largest sendEdoc body taken.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/admin/switches", put(set_switches).get(get_switches))
        .route("/admin/state", get(admin_state))
        .fallback(any(call))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

async fn set_switches(
    State(shared): State<Arc<Shared>>,
    axum::Json(switches): axum::Json<Switches>,
) -> axum::Json<Switches> {
    *lock(&shared.switches) = switches.clone();
    axum::Json(switches)
}

async fn get_switches(State(shared): State<Arc<Shared>>) -> axum::Json<Switches> {
    axum::Json(lock(&shared.switches).clone())
}

async fn admin_state(State(shared): State<Arc<Shared>>) -> axum::Json<Value> {
    let state = lock(&shared.state);
    axum::Json(json!({"summary": state.summary(), "copies": state.copies()}))
}

/// An answer: the JSON, ASCII only (non-ASCII escaped), as sendEdoc's reader needs (§6.9).
fn answer(value: Value) -> Response {
    let text = serde_json::to_string(&value).unwrap_or_default();
    let mut ascii = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                ascii.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        ascii,
    )
        .into_response()
}

/// A FAIL envelope in the shape `op` is read in (sendEdoc always with `DocId`).
fn fail(op: &str, code: &str, desc: &str) -> Response {
    let mut value = json!({"status": "FAIL", "ErrorCode": code, "ErrorDesc": desc});
    if op == "sendEdoc" {
        value["DocId"] = json!("");
    }
    answer(value)
}

fn ok(mut extra: Value) -> Response {
    let mut value = json!({"status": "OK", "ErrorCode": "0", "ErrorDesc": ""});
    if let (Some(object), Some(more)) = (value.as_object_mut(), extra.as_object_mut()) {
        object.append(more);
    }
    answer(value)
}

/// Every SDK call: the last segment of the path names it (§6.1).
async fn call(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let op = uri
        .path()
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_owned();
    let switches = lock(&shared.switches).clone();
    if !switches.delay().is_zero() {
        tokio::time::sleep(switches.delay()).await;
    }
    if switches.down {
        return (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>",
        )
            .into_response();
    }
    lock(&shared.state).count_call(&op);
    if let Some(failure) = switches.failure(&op) {
        let code = if failure.code.is_empty() {
            "500"
        } else {
            &failure.code
        };
        return fail(&op, code, &failure.desc);
    }
    let (agency, signed) = match authenticate(&shared, &headers) {
        Ok(found) => found,
        Err(why) => return fail(&op, "401", &why),
    };
    match op.as_str() {
        "sendEdoc" => send_edoc(&shared, &agency, &signed, &body),
        "getReceivedEdocList" => received(&shared, &agency, &signed),
        "getEdoc" => get_edoc(&shared, &agency, &signed),
        "downloadEdoc" => download_edoc(&shared, &agency, &signed),
        "updateStatus" => update_status(&shared, &agency, &signed),
        "getSentEdocList" => sent(&shared, &agency, &signed),
        "countReceiveEdoc" | "countReceiveStatus" => {
            let kind = if op == "countReceiveEdoc" {
                "edoc"
            } else {
                "status"
            };
            let count = lock(&shared.state).received(&agency, kind).len();
            ok(json!({"count": count}))
        }
        "getAgenciesList" | "getAgenciesListQD20" | "getSynchronizeUnit" => agencies(&shared),
        "registerAgency" | "deleteAgency" => fail(
            &op,
            "403",
            "the test axis's agencies come from its agencies file",
        ),
        _ => fail(&op, "404", &format!("no call {op:?} on the axis")),
    }
}

/// The caller's `systemid` and what it signed: HMAC over the received sign-header under
/// that agency's secret, every signed pair sent as its header, every parameter header
/// signed (§6.3).
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<(String, SignedPairs), String> {
    let sign_header = headers
        .get(SIGN_HEADER)
        .ok_or_else(|| format!("{SIGN_HEADER} is missing"))?;
    let hash_header = headers
        .get(HASH_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("{HASH_HEADER} is missing"))?;
    let text = sign_header
        .to_str()
        .map_err(|_| format!("{SIGN_HEADER} is not ASCII"))?;
    let unverified = SignedPairs::parse(text).map_err(|e| e.to_string())?;
    let system_id = unverified
        .get("systemid")
        .ok_or_else(|| "systemid is not signed".to_owned())?;
    let agency = shared
        .agencies
        .iter()
        .find(|a| a.code == system_id)
        .ok_or_else(|| format!("systemid {system_id} has no account on this axis"))?;
    let signed = axis_wire::verify(
        sign_header.as_bytes(),
        hash_header,
        agency.secret.trim().as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    for (name, value) in &signed.pairs {
        let sent = headers
            .get(format!("{PREFIX}{name}"))
            .map(|v| v.as_bytes() == value.trim().as_bytes());
        if sent != Some(true) {
            return Err(format!("{PREFIX}{name} was not sent as signed"));
        }
    }
    for (name, _) in headers {
        let name = name.as_str();
        let own = [SIGN_HEADER, SIGN_HEADER_KEY, HASH_HEADER, VERSION_HEADER];
        if name.len() > PREFIX.len()
            && name[..PREFIX.len()].eq_ignore_ascii_case(PREFIX)
            && !own.iter().any(|o| o.eq_ignore_ascii_case(name))
            && signed.get(&name[PREFIX.len()..]).is_none()
        {
            return Err(format!("{name} is not signed"));
        }
    }
    Ok((agency.code.clone(), signed))
}

/// `null` is the SDK's text for a value the application lacked (§3).
fn param<'a>(signed: &'a SignedPairs, name: &str) -> Option<&'a str> {
    signed.get(name).filter(|v| !v.is_empty() && *v != "null")
}

fn send_edoc(shared: &Shared, agency: &str, signed: &SignedPairs, body: &[u8]) -> Response {
    let op = "sendEdoc";
    // The SDK appends CR LF to the file (§1).
    let file = body.strip_suffix(b"\r\n").unwrap_or(body);
    let Some(hash) = param(signed, "hash-file") else {
        return fail(op, "400", "hash-file is missing");
    };
    if hash != axis_wire::hash_file(file) {
        return fail(op, "400", "hash-file does not match the file");
    }
    let from = param(signed, "from").unwrap_or_default();
    if from != agency {
        return fail(
            op,
            "403",
            &format!("Don vi gui {from} khong dung voi ma da dang ky: {agency}"),
        );
    }
    let message_type = param(signed, "messagetype")
        .unwrap_or("edoc")
        .to_ascii_lowercase();
    if message_type != "edoc" && message_type != "status" {
        return fail(
            op,
            "400",
            &format!("messagetype {message_type} is neither edoc nor status"),
        );
    }
    let parsed = lienthong_protocol::edxml::read(file.to_vec()).ok();
    let to: Vec<String> = match param(signed, "to") {
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::String(one)) => vec![one],
            Ok(Value::Array(many)) => many
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => vec![text.to_owned()],
        },
        None => parsed
            .as_ref()
            .map(|p| {
                p.message
                    .addressees()
                    .into_iter()
                    .map(|o| o.as_str().to_owned())
                    .collect()
            })
            .unwrap_or_default(),
    };
    if to.is_empty() {
        return fail(op, "400", "no recipient: neither to nor an edXML To");
    }
    if let Some(unknown) = to
        .iter()
        .find(|t| !shared.agencies.iter().any(|a| &a.code == *t))
    {
        return fail(
            op,
            "404",
            &format!("Don vi nhan {unknown} khong ton tai tren truc"),
        );
    }
    let document = parsed.as_ref().and_then(|p| p.message.as_document());
    let title = document.and_then(|d| d.subject.clone()).unwrap_or_default();
    let notation = document
        .and_then(|d| d.code.as_ref())
        .map(|c| format!("{}/{}", c.number, c.notation))
        .unwrap_or_default();
    let doc_id = lock(&shared.state).send(NewSend {
        from: agency.to_owned(),
        to,
        message_type,
        title,
        notation,
        bytes: file.to_vec(),
    });
    ok(json!({"DocId": doc_id}))
}

fn received(shared: &Shared, agency: &str, signed: &SignedPairs) -> Response {
    let kind = param(signed, "messagetype").unwrap_or("");
    let items: Vec<Value> = lock(&shared.state)
        .received(agency, kind)
        .into_iter()
        .map(|r| {
            json!({
                "docId": r.doc_id, "status": r.status, "status_desc": r.status,
                "serviceType": "eDoc", "messageType": r.message_type,
                "created_time": r.created_time, "updated_time": r.updated_time,
                "from": r.from, "to": r.to,
            })
        })
        .collect();
    ok(json!({"data": items}))
}

fn get_edoc(shared: &Shared, agency: &str, signed: &SignedPairs) -> Response {
    let Some(doc_id) = param(signed, "docId") else {
        return fail("getEdoc", "400", "docId is missing");
    };
    match lock(&shared.state).get(agency, doc_id) {
        Some(bytes) => {
            ok(json!({"data": base64_simd::STANDARD.encode_to_string(bytes.as_slice())}))
        }
        None => fail(
            "getEdoc",
            "404",
            &format!("no document {doc_id} for {agency}"),
        ),
    }
}

fn download_edoc(shared: &Shared, agency: &str, signed: &SignedPairs) -> Response {
    let bytes = param(signed, "docId").and_then(|id| lock(&shared.state).get(agency, id));
    match bytes {
        Some(bytes) => (StatusCode::OK, bytes.as_slice().to_vec()).into_response(),
        None => (StatusCode::NOT_FOUND, Vec::new()).into_response(),
    }
}

fn update_status(shared: &Shared, agency: &str, signed: &SignedPairs) -> Response {
    let op = "updateStatus";
    let Some(doc_id) = param(signed, "docId") else {
        return fail(op, "400", "docId is missing");
    };
    let status = param(signed, "status")
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !matches!(status.as_str(), "done" | "fail" | "processing") {
        return fail(
            op,
            "400",
            &format!("status {status:?} is not done, fail or processing"),
        );
    }
    if lock(&shared.state).update(agency, doc_id, &status) {
        ok(json!({}))
    } else {
        fail(op, "404", &format!("no document {doc_id} for {agency}"))
    }
}

fn sent(shared: &Shared, agency: &str, signed: &SignedPairs) -> Response {
    let doc_id = param(signed, "docId");
    let kind = param(signed, "messagetype").unwrap_or("");
    let items: Vec<Value> = lock(&shared.state)
        .sent(agency, doc_id, kind)
        .into_iter()
        .map(|s| {
            json!({
                "serviceType": "eDoc", "messageType": s.message_type,
                "senderDocId": s.sender_doc_id, "receiverDocId": s.receiver_doc_id,
                "fromCode": s.from, "toCode": s.to, "title": s.title, "notation": s.notation,
                "sentTime": s.sent_time, "sendStatus": "sent", "sendStatusDesc": "sent",
                "receivedTime": s.received_time, "receiveStatus": s.receive_status,
                "receiveStatusDesc": s.receive_status,
            })
        })
        .collect();
    ok(json!({"data": items}))
}

fn agencies(shared: &Shared) -> Response {
    let items: Vec<Value> = shared
        .agencies
        .iter()
        .enumerate()
        .map(|(n, a)| {
            json!({"id": (n + 1).to_string(), "pid": "0", "code": a.code, "name": a.name,
                   "mail": "", "oldCode": "", "code102": a.code})
        })
        .collect();
    ok(json!({"data": items}))
}
