//! What the application receives from an answer, read as the SDK reads it (§4).
//!
//! Every model field is an `Option`: `None` is the SDK's Java `null`.

use std::path::PathBuf;

use super::json::{JVal, ParseFail, member, parse_lenient};

/// The envelope every JSON call reads first, all three keys mandatory (§4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// `status`: `OK`, `FAIL`, or whatever the server said.
    pub status: Option<String>,
    /// `ErrorCode` (a number is read as its text).
    pub error_code: Option<String>,
    /// `ErrorDesc`.
    pub error_desc: Option<String>,
}

impl Envelope {
    /// The SDK's success test: `ErrorCode` equal to `0` ignoring case (`"00"` fails) (§4.2).
    pub fn is_success(&self) -> bool {
        self.error_code
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("0"))
    }

    /// The SDK's failure test: `status` exactly `FAIL` (§4.2).
    pub fn is_fail(&self) -> bool {
        self.status.as_deref() == Some("FAIL")
    }
}

/// A list call's result: the envelope and its `data` items (§4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListResult<T> {
    /// The envelope.
    pub envelope: Envelope,
    /// The items; `None` when ErrorCode was not `0`, `data` was missing or not an array, or
    /// an item could not be read (one bad item loses the whole list, §4.1).
    pub data: Option<Vec<T>>,
}

impl<T> Default for ListResult<T> {
    fn default() -> Self {
        ListResult {
            envelope: Envelope::default(),
            data: None,
        }
    }
}

/// getReceivedEdocList's item, the SDK's `Knobstick` (§4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Knobstick {
    /// `id` ← `docId`.
    pub id: Option<String>,
    /// `status`.
    pub status: Option<String>,
    /// `statusDesc` ← `status_desc`.
    pub status_desc: Option<String>,
    /// `serviceType`.
    pub service_type: Option<String>,
    /// `messageType`.
    pub message_type: Option<String>,
    /// `created_time`.
    pub created_time: Option<String>,
    /// `updated_time`.
    pub updated_time: Option<String>,
    /// `from`.
    pub from: Option<String>,
    /// `to`.
    pub to: Option<String>,
}

/// getSentEdocList's item, the SDK's `StatusResult` (§4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusResult {
    /// `serviceType`.
    pub service_type: Option<String>,
    /// `messageType`.
    pub message_type: Option<String>,
    /// `senderDocId`.
    pub sender_doc_id: Option<String>,
    /// `receiverDocId`.
    pub receiver_doc_id: Option<String>,
    /// `fromCode`.
    pub from_code: Option<String>,
    /// `toCode`.
    pub to_code: Option<String>,
    /// `title`.
    pub title: Option<String>,
    /// `notation`.
    pub notation: Option<String>,
    /// `sentTime`.
    pub sent_time: Option<String>,
    /// `sendStatus`.
    pub send_status: Option<String>,
    /// `sendStatusDesc`.
    pub send_status_desc: Option<String>,
    /// `receivedTime`.
    pub received_time: Option<String>,
    /// `receiveStatus`.
    pub receive_status: Option<String>,
    /// `receiveStatusDesc`.
    pub receive_status_desc: Option<String>,
}

/// sendEdoc's result (§4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendEdocResult {
    /// The envelope.
    pub envelope: Envelope,
    /// `docID` ← `DocId` (capital D, I), mandatory even on failure.
    pub doc_id: Option<String>,
}

/// getEdoc's result (§4.2, §4.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetEdocResult {
    /// The envelope.
    pub envelope: Envelope,
    /// `data`, base64-decoded leniently and read as UTF-8 (bad sequences → U+FFFD).
    pub data: Option<String>,
    /// The `.edxml` file the SDK wrote, when it wrote one.
    pub file_path: Option<PathBuf>,
}

/// countReceiveEdoc's and countReceiveStatus's result (§4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountResult {
    /// The envelope.
    pub envelope: Envelope,
    /// `count`: 0 when absent or unreadable.
    pub count: i32,
}

/// getAgenciesList's item, the SDK's `Agency` (§4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Agency {
    /// `id`.
    pub id: Option<String>,
    /// `pid`.
    pub pid: Option<String>,
    /// `code`.
    pub code: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `mail`.
    pub mail: Option<String>,
    /// `oldCode`.
    pub old_code: Option<String>,
}

/// getAgenciesListQD20's item, the SDK's QD20 `Agency` (§4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgencyQd20 {
    /// `id`.
    pub id: Option<String>,
    /// `code`.
    pub code: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `mail`.
    pub mail: Option<String>,
    /// `code102`.
    pub code102: Option<String>,
}

/// getSynchronizeUnit's item, the SDK's `UnitSynchronize` (§4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitSynchronize {
    /// `id`.
    pub id: Option<String>,
    /// `pid`.
    pub pid: Option<String>,
    /// `code`.
    pub code: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `mail`.
    pub mail: Option<String>,
    /// `centerCode`.
    pub center_code: Option<String>,
    /// `modifyDate`.
    pub modify_date: Option<String>,
    /// `version`, read as an int.
    pub version: Option<i32>,
    /// `deleted`, read as a boolean.
    pub deleted: Option<bool>,
    /// `isAgency`, read as a boolean.
    pub is_agency: Option<bool>,
}

/// downloadEdoc's result: what the SDK reports after saving the raw body (§4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadResult {
    /// `SUCCESS` for a non-empty body, `FAIL` for an empty one.
    pub status: String,
    /// `0` or `100`.
    pub error_code: String,
    /// The file written, `""` on failure.
    pub file_path: String,
}

/// An item model the SDK reads from one `data` element; `None` where the SDK throws.
pub(crate) trait Item: Sized {
    fn read(obj: &[(String, JVal)]) -> Option<Self>;
}

/// An item key read as a string: absent → skipped (`None`), present but unreadable
/// (null, object…) → throws (outer `None`) (§4.1).
fn text(obj: &[(String, JVal)], key: &str) -> Option<Option<String>> {
    typed(obj, key, JVal::java_string)
}

/// An item key read through one of gson's getters, absent → `None` as for [`text`].
fn typed<T>(
    obj: &[(String, JVal)],
    key: &str,
    read: impl Fn(&JVal) -> Option<T>,
) -> Option<Option<T>> {
    match member(obj, key) {
        None => Some(None),
        Some(v) => read(v).map(Some),
    }
}

impl Item for Knobstick {
    fn read(o: &[(String, JVal)]) -> Option<Self> {
        Some(Knobstick {
            id: text(o, "docId")?,
            status: text(o, "status")?,
            status_desc: text(o, "status_desc")?,
            service_type: text(o, "serviceType")?,
            message_type: text(o, "messageType")?,
            created_time: text(o, "created_time")?,
            updated_time: text(o, "updated_time")?,
            from: text(o, "from")?,
            to: text(o, "to")?,
        })
    }
}

impl Item for StatusResult {
    fn read(o: &[(String, JVal)]) -> Option<Self> {
        Some(StatusResult {
            service_type: text(o, "serviceType")?,
            message_type: text(o, "messageType")?,
            sender_doc_id: text(o, "senderDocId")?,
            receiver_doc_id: text(o, "receiverDocId")?,
            from_code: text(o, "fromCode")?,
            to_code: text(o, "toCode")?,
            title: text(o, "title")?,
            notation: text(o, "notation")?,
            sent_time: text(o, "sentTime")?,
            send_status: text(o, "sendStatus")?,
            send_status_desc: text(o, "sendStatusDesc")?,
            received_time: text(o, "receivedTime")?,
            receive_status: text(o, "receiveStatus")?,
            receive_status_desc: text(o, "receiveStatusDesc")?,
        })
    }
}

impl Item for Agency {
    fn read(o: &[(String, JVal)]) -> Option<Self> {
        Some(Agency {
            id: text(o, "id")?,
            pid: text(o, "pid")?,
            code: text(o, "code")?,
            name: text(o, "name")?,
            mail: text(o, "mail")?,
            old_code: text(o, "oldCode")?,
        })
    }
}

impl Item for AgencyQd20 {
    fn read(o: &[(String, JVal)]) -> Option<Self> {
        Some(AgencyQd20 {
            id: text(o, "id")?,
            code: text(o, "code")?,
            name: text(o, "name")?,
            mail: text(o, "mail")?,
            code102: text(o, "code102")?,
        })
    }
}

impl Item for UnitSynchronize {
    fn read(o: &[(String, JVal)]) -> Option<Self> {
        Some(UnitSynchronize {
            id: text(o, "id")?,
            pid: text(o, "pid")?,
            code: text(o, "code")?,
            name: text(o, "name")?,
            mail: text(o, "mail")?,
            center_code: text(o, "centerCode")?,
            modify_date: text(o, "modifyDate")?,
            version: typed(o, "version", JVal::java_int)?,
            deleted: typed(o, "deleted", JVal::java_bool)?,
            is_agency: typed(o, "isAgency", JVal::java_bool)?,
        })
    }
}

/// The body as text: UTF-8 (bad sequences → U+FFFD) (§4.1).
pub(crate) fn decode_utf8(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// The body as US-ASCII, as sendEdoc reads a 200/201: each byte above 0x7F → U+FFFD (§4.1).
pub(crate) fn decode_ascii(body: &[u8]) -> String {
    body.iter()
        .map(|&b| if b < 0x80 { char::from(b) } else { '\u{fffd}' })
        .collect()
}

/// How the SDK's parse of an answer turned out (§4.3).
pub(crate) enum Parsed {
    /// Not JSON: getReceivedEdocList fabricates a success, the others return `null`.
    NotJson,
    /// Read, but nothing usable: a result with every field `null`.
    AllNull,
    /// The envelope and the object's members.
    Envelope(Envelope, Vec<(String, JVal)>),
}

/// Drops line breaks, parses leniently and reads the mandatory envelope (§4.1–§4.3).
pub(crate) fn parse_answer(text: &str) -> Parsed {
    let text: String = text.chars().filter(|&c| c != '\r' && c != '\n').collect();
    let members = match parse_lenient(&text) {
        Ok(JVal::Obj(members)) => members,
        Ok(JVal::Null) | Err(ParseFail::Empty | ParseFail::EofAfterValue) => {
            return Parsed::AllNull;
        }
        Ok(_) | Err(ParseFail::Syntax(_)) => return Parsed::NotJson,
    };
    let field = |key| member(&members, key).and_then(JVal::java_string);
    match (field("status"), field("ErrorCode"), field("ErrorDesc")) {
        (Some(status), Some(code), Some(desc)) => Parsed::Envelope(
            Envelope {
                status: Some(status),
                error_code: Some(code),
                error_desc: Some(desc),
            },
            members,
        ),
        _ => Parsed::AllNull,
    }
}

/// The `data` list: required array of objects; any unreadable item loses it (§4.1).
fn read_items<T: Item>(members: &[(String, JVal)]) -> Option<Vec<T>> {
    let Some(JVal::Arr(items)) = member(members, "data") else {
        return None;
    };
    items
        .iter()
        .map(|item| match item {
            JVal::Obj(o) => T::read(o),
            _ => None,
        })
        .collect()
}

/// A list call's answer. `fabricate`: getReceivedEdocList turns "not JSON" into
/// `OK`/`0`/`Success` with an empty list (§4.3).
pub(crate) fn read_list<T: Item>(text: &str, fabricate: bool) -> Option<ListResult<T>> {
    match parse_answer(text) {
        Parsed::NotJson if fabricate => Some(ListResult {
            envelope: Envelope {
                status: Some("OK".to_owned()),
                error_code: Some("0".to_owned()),
                error_desc: Some("Success".to_owned()),
            },
            data: Some(Vec::new()),
        }),
        Parsed::NotJson => None,
        Parsed::AllNull => Some(ListResult::default()),
        Parsed::Envelope(envelope, members) => {
            let data = if envelope.is_success() {
                read_items(&members)
            } else {
                None
            };
            Some(ListResult { envelope, data })
        }
    }
}

/// updateStatus, registerAgency, deleteAgency: the envelope only.
pub(crate) fn read_envelope(text: &str) -> Option<Envelope> {
    match parse_answer(text) {
        Parsed::NotJson => None,
        Parsed::AllNull => Some(Envelope::default()),
        Parsed::Envelope(envelope, _) => Some(envelope),
    }
}

/// sendEdoc: `DocId` is mandatory like the envelope (§4.2).
pub(crate) fn read_send_edoc(text: &str) -> Option<SendEdocResult> {
    match parse_answer(text) {
        Parsed::NotJson => None,
        Parsed::AllNull => Some(SendEdocResult::default()),
        Parsed::Envelope(envelope, members) => Some(
            match member(&members, "DocId").and_then(JVal::java_string) {
                Some(doc_id) => SendEdocResult {
                    envelope,
                    doc_id: Some(doc_id),
                },
                None => SendEdocResult::default(),
            },
        ),
    }
}

/// getEdoc: `data` read unless status is `FAIL`; the file is written by the caller (§4.4).
pub(crate) fn read_get_edoc(text: &str) -> Option<GetEdocResult> {
    match parse_answer(text) {
        Parsed::NotJson => None,
        Parsed::AllNull => Some(GetEdocResult::default()),
        Parsed::Envelope(envelope, members) => {
            let data = if envelope.is_fail() {
                None
            } else {
                member(&members, "data")
                    .and_then(JVal::java_string)
                    .map(|b64| String::from_utf8_lossy(&base64_lenient(&b64)).into_owned())
            };
            Some(GetEdocResult {
                envelope,
                data,
                file_path: None,
            })
        }
    }
}

/// countReceiveEdoc/Status: `count` read unless status is `FAIL`; 0 if absent or bad (§4.2).
pub(crate) fn read_count(text: &str) -> Option<CountResult> {
    match parse_answer(text) {
        Parsed::NotJson => None,
        Parsed::AllNull => Some(CountResult::default()),
        Parsed::Envelope(envelope, members) => {
            let count = if envelope.is_fail() {
                0
            } else {
                member(&members, "count")
                    .and_then(JVal::java_int)
                    .unwrap_or(0)
            };
            Some(CountResult { envelope, count })
        }
    }
}

/// Base64 as the SDK decodes getEdoc's `data`: standard or URL-safe alphabet, any other
/// character skipped, decoding stops at `=`, a trailing partial group kept as far as it
/// makes whole bytes (§4.4).
pub(crate) fn base64_lenient(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
