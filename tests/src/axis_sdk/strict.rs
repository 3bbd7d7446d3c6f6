//! The strict view: does an answer carry every key the SDK reads for this call, with a type
//! it reads, and nothing that could trip it (§4.2, §6.8–§6.9)?
//!
//! The SDK itself is lenient and swallows what it cannot read (§4.3); these checks name the
//! first problem instead, so a test can say exactly what a QLVB would have lost.

use std::fmt;

use serde_json::Value;

use super::Op;

/// What is wrong with an answer, for which call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrictError {
    /// The call whose answer it was.
    pub op: Op,
    /// The first problem found, naming the key.
    pub problem: String,
}

impl fmt::Display for StrictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answer: {}", self.op.name(), self.problem)
    }
}

impl std::error::Error for StrictError {}

/// The item keys each list call reads (§4.2).
fn item_keys(op: Op) -> &'static [&'static str] {
    match op {
        Op::GetReceivedEdocList => &[
            "docId",
            "status",
            "status_desc",
            "serviceType",
            "messageType",
            "created_time",
            "updated_time",
            "from",
            "to",
        ],
        Op::GetSentEdocList => &[
            "serviceType",
            "messageType",
            "senderDocId",
            "receiverDocId",
            "fromCode",
            "toCode",
            "title",
            "notation",
            "sentTime",
            "sendStatus",
            "sendStatusDesc",
            "receivedTime",
            "receiveStatus",
            "receiveStatusDesc",
        ],
        Op::GetAgenciesList => &["id", "pid", "code", "name", "mail", "oldCode"],
        Op::GetAgenciesListQd20 => &["id", "code", "name", "mail", "code102"],
        Op::GetSynchronizeUnit => &[
            "id",
            "pid",
            "code",
            "name",
            "mail",
            "centerCode",
            "modifyDate",
            "version",
            "deleted",
            "isAgency",
        ],
        _ => &[],
    }
}

/// Checks a success answer: strict JSON object, no `null` anywhere, `"status":"OK"`,
/// `"ErrorCode":"0"`, string `ErrorDesc`, and every key the call reads with a usable type;
/// downloadEdoc(2): a non-empty body that is a document (starts with `<`), not an error.
pub fn check_strict(op: Op, body: &[u8]) -> Result<(), StrictError> {
    let fail = |problem: String| StrictError { op, problem };
    if matches!(op, Op::DownloadEdoc | Op::DownloadEdoc2) {
        let start = body
            .strip_prefix(b"\xef\xbb\xbf")
            .unwrap_or(body)
            .iter()
            .find(|b| !b.is_ascii_whitespace());
        return match start {
            None => Err(fail("empty body: the SDK reports FAIL/100".to_owned())),
            Some(b'<') => Ok(()),
            Some(_) => Err(fail(
                "body is not an edXML document: the SDK would save it as one".to_owned(),
            )),
        };
    }
    let obj = envelope(op, body)?;
    let status = obj.get("status").and_then(Value::as_str);
    if status != Some("OK") {
        return Err(fail(format!("`status` is {status:?}, want \"OK\"")));
    }
    let code = obj.get("ErrorCode").and_then(Value::as_str);
    if code != Some("0") {
        return Err(fail(format!("`ErrorCode` is {code:?}, want \"0\"")));
    }
    match op {
        Op::SendEdoc => match obj.get("DocId") {
            Some(Value::String(id)) if !id.is_empty() => Ok(()),
            Some(Value::String(_)) => Err(fail("`DocId` is empty on success".to_owned())),
            other => Err(fail(format!("`DocId` must be a string, found {other:?}"))),
        },
        Op::GetEdoc => {
            let Some(Value::String(data)) = obj.get("data") else {
                return Err(fail("`data` must be a base64 string".to_owned()));
            };
            let bytes = base64_simd::STANDARD
                .decode_to_vec(data)
                .map_err(|e| fail(format!("`data` is not standard base64: {e}")))?;
            String::from_utf8(bytes)
                .map(drop)
                .map_err(|_| fail("`data` decodes to bytes that are not UTF-8".to_owned()))
        }
        Op::CountReceiveEdoc | Op::CountReceiveStatus => match obj.get("count") {
            Some(Value::Number(n)) if n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()) => {
                Ok(())
            }
            Some(Value::String(s)) if s.parse::<i32>().is_ok() => Ok(()),
            other => Err(fail(format!(
                "`count` must be an int or a numeric string, found {other:?}"
            ))),
        },
        Op::GetReceivedEdocList
        | Op::GetSentEdocList
        | Op::GetAgenciesList
        | Op::GetAgenciesListQd20
        | Op::GetSynchronizeUnit => {
            let Some(Value::Array(items)) = obj.get("data") else {
                return Err(fail("`data` must be an array".to_owned()));
            };
            for (n, item) in items.iter().enumerate() {
                let Value::Object(item) = item else {
                    return Err(fail(format!("`data[{n}]` must be an object")));
                };
                for key in item_keys(op) {
                    let value = item
                        .get(*key)
                        .ok_or_else(|| fail(format!("`data[{n}].{key}` is missing")))?;
                    let usable = match (op, *key) {
                        (Op::GetSynchronizeUnit, "version") => {
                            value.as_i64().is_some_and(|v| i32::try_from(v).is_ok())
                        }
                        (Op::GetSynchronizeUnit, "deleted" | "isAgency") => value.is_boolean(),
                        _ => value.is_string() || value.is_number() || value.is_boolean(),
                    };
                    if !usable {
                        return Err(fail(format!(
                            "`data[{n}].{key}` has an unusable type: {value}"
                        )));
                    }
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Checks a failure answer: strict JSON object, no `null`, `"status":"FAIL"`, a string
/// `ErrorCode` other than `0`, a string `ErrorDesc`; sendEdoc also a string `DocId` (§6.8–§6.9).
pub fn check_strict_failure(op: Op, body: &[u8]) -> Result<(), StrictError> {
    let fail = |problem: String| StrictError { op, problem };
    let obj = envelope(op, body)?;
    let status = obj.get("status").and_then(Value::as_str);
    if status != Some("FAIL") {
        return Err(fail(format!("`status` is {status:?}, want \"FAIL\"")));
    }
    if obj
        .get("ErrorCode")
        .and_then(Value::as_str)
        .is_some_and(|c| c.eq_ignore_ascii_case("0"))
    {
        return Err(fail("`ErrorCode` is \"0\" on a failure".to_owned()));
    }
    if op == Op::SendEdoc && !obj.get("DocId").is_some_and(Value::is_string) {
        return Err(fail("`DocId` must be a string, even on failure".to_owned()));
    }
    Ok(())
}

/// Strict JSON object without nulls and with the three envelope keys as strings; sendEdoc's
/// answer also pure ASCII, since the SDK decodes it as US-ASCII (§4.1).
fn envelope(op: Op, body: &[u8]) -> Result<serde_json::Map<String, Value>, StrictError> {
    let fail = |problem: String| StrictError { op, problem };
    if op == Op::SendEdoc && !body.is_ascii() {
        return Err(fail(
            "body is not ASCII: the SDK decodes it as US-ASCII (escape as \\uXXXX)".to_owned(),
        ));
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| fail(format!("not strict JSON: {e}")))?;
    if let Some(path) = null_path(&value, String::new()) {
        return Err(fail(format!("`{path}` is null")));
    }
    let Value::Object(obj) = value else {
        return Err(fail("not a JSON object".to_owned()));
    };
    for key in ["status", "ErrorCode", "ErrorDesc"] {
        match obj.get(key) {
            Some(Value::String(_)) => {}
            None => return Err(fail(format!("`{key}` is missing"))),
            Some(other) => return Err(fail(format!("`{key}` must be a string, found {other}"))),
        }
    }
    Ok(obj)
}

/// Where the first `null` is, if any.
fn null_path(value: &Value, at: String) -> Option<String> {
    match value {
        Value::Null => Some(if at.is_empty() {
            "(document)".to_owned()
        } else {
            at
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(n, v)| null_path(v, format!("{at}[{n}]"))),
        Value::Object(members) => members.iter().find_map(|(k, v)| {
            null_path(
                v,
                if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                },
            )
        }),
        _ => None,
    }
}
