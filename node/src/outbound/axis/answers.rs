//! The axis's answers, read by the keys the SDK reads (§4.2): an envelope of `status`,
//! `ErrorCode`, `ErrorDesc`, success only on ErrorCode `0`, then the call's keys.

use serde_json::Value;

use super::AxisError;

/// An item of `getReceivedEdocList`: a document or status waiting for this agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedItem {
    /// The DocId to `getEdoc` and `updateStatus` it by.
    pub doc_id: String,
    /// The axis's status of it (`pending`, …), opaque.
    pub status: String,
    /// `edoc` or `status`.
    pub message_type: String,
    /// The sender's code.
    pub from: String,
    /// The recipient's code.
    pub to: String,
    /// When the axis took it, as it writes times.
    pub created_time: String,
}

/// An item of `getSentEdocList`: what became of one recipient's copy of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentItem {
    /// The DocId `sendEdoc` answered.
    pub sender_doc_id: String,
    /// The recipient's copy's DocId.
    pub receiver_doc_id: String,
    /// `edoc` or `status`.
    pub message_type: String,
    /// The sender's code.
    pub from_code: String,
    /// The recipient's code.
    pub to_code: String,
    /// The document's notation, as the axis read it.
    pub notation: String,
    /// The document's title.
    pub title: String,
    /// When it was sent.
    pub sent_time: String,
    /// The recipient's status of it (`pending`, `done`, …), opaque.
    pub receive_status: String,
    /// When the recipient took it.
    pub received_time: String,
}

/// An agency of the axis's directory (`getAgenciesList`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
}

/// The answer's JSON once its envelope says success.
pub(super) fn success(body: &[u8], status: u16) -> Result<Value, AxisError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        let text = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
        AxisError::Unreachable(format!(
            "HTTP {status}, not the axis's JSON: {}",
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        ))
    })?;
    let text = |key: &str| match value.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let code = text("ErrorCode")
        .ok_or_else(|| AxisError::Malformed(format!("no ErrorCode (HTTP {status})")))?;
    if code.eq_ignore_ascii_case("0") && text("status").as_deref() != Some("FAIL") {
        return Ok(value);
    }
    Err(AxisError::Refused {
        code,
        desc: text("ErrorDesc").unwrap_or_default(),
    })
}

/// Member `key` of `item` as text: a string, or a number's or boolean's literal.
fn text(item: &Value, key: &str) -> String {
    match item.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// The `data` array.
fn data(value: &Value) -> Result<&Vec<Value>, AxisError> {
    value
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| AxisError::Malformed("no data array".to_owned()))
}

pub(super) fn received(value: &Value) -> Result<Vec<ReceivedItem>, AxisError> {
    data(value)?
        .iter()
        .map(|item| {
            let doc_id = text(item, "docId");
            if doc_id.is_empty() {
                return Err(AxisError::Malformed("an item without docId".to_owned()));
            }
            Ok(ReceivedItem {
                doc_id,
                status: text(item, "status"),
                message_type: text(item, "messageType"),
                from: text(item, "from"),
                to: text(item, "to"),
                created_time: text(item, "created_time"),
            })
        })
        .collect()
}

pub(super) fn sent(value: &Value) -> Result<Vec<SentItem>, AxisError> {
    Ok(data(value)?
        .iter()
        .map(|item| SentItem {
            sender_doc_id: text(item, "senderDocId"),
            receiver_doc_id: text(item, "receiverDocId"),
            message_type: text(item, "messageType"),
            from_code: text(item, "fromCode"),
            to_code: text(item, "toCode"),
            notation: text(item, "notation"),
            title: text(item, "title"),
            sent_time: text(item, "sentTime"),
            receive_status: text(item, "receiveStatus"),
            received_time: text(item, "receivedTime"),
        })
        .collect())
}

pub(super) fn directory(value: &Value) -> Result<Vec<DirectoryEntry>, AxisError> {
    Ok(data(value)?
        .iter()
        .map(|item| DirectoryEntry {
            code: text(item, "code"),
            name: text(item, "name"),
        })
        .filter(|entry| !entry.code.is_empty())
        .collect())
}

/// getEdoc's `data`, base64 (standard or URL-safe, whitespace and padding optional, as the
/// SDK reads it): the exact bytes, never a text round trip (§7.5).
pub(super) fn edoc_bytes(value: &Value) -> Result<Vec<u8>, AxisError> {
    let data = value
        .get("data")
        .and_then(Value::as_str)
        .ok_or_else(|| AxisError::Malformed("getEdoc without data".to_owned()))?;
    let mut cleaned: Vec<u8> = data
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
        .map(|b| match b {
            b'-' => b'+',
            b'_' => b'/',
            other => other,
        })
        .collect();
    while !cleaned.len().is_multiple_of(4) {
        cleaned.push(b'=');
    }
    base64_simd::STANDARD
        .decode_to_vec(&cleaned)
        .map_err(|e| AxisError::Malformed(format!("getEdoc data is not base64: {e}")))
}
