//! A re-enactment of the national axis's Java client SDK (SDKVXP 2.0.1) as a QLVB uses it,
//! so end-to-end tests can drive lienthong's axis-compatible API exactly as that SDK speaks.
//!
//! It follows `shared/domain/vxp-sdk-wire.md` (cited as §n): one [`SdkService`] is one
//! `KnobstickServiceImp` / `AgencyServiceImp` object, with its quirks: a timestamp fixed at
//! construction, a header map that is never cleared and iterates in Java `HashMap` order,
//! call JSON parsed leniently, answers read as the SDK reads them. Besides what the
//! application receives, every call keeps its raw [`Exchange`] and a [strict
//! view](check_strict) says whether an answer carries everything the SDK reads.

mod answers;
mod json;
mod sign;
mod strict;
#[cfg(test)]
mod tests;
mod transport;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use answers::{
    Agency, AgencyQd20, CountResult, DownloadResult, Envelope, GetEdocResult, Knobstick,
    ListResult, SendEdocResult, StatusResult, UnitSynchronize,
};
pub use sign::{
    HeaderMap, Signed, USER_AGENT, VERSION, format_timestamp, hash_file_text, hmac_hex,
    java_bucket, java_string_hash, sign, unpadded_hex,
};
pub use strict::{StrictError, check_strict, check_strict_failure};
pub use transport::{ExpectOutcome, PeerState};

use json::{JVal, parse_lenient};
use transport::{Conn, Request, Writer};

/// Vietnam's offset from UTC, the SDK's JVM default time zone there (§2.3).
pub const VIETNAM_UTC_OFFSET_SECS: i32 = 7 * 3600;
/// downloadEdoc2's `User-Agent`, HttpClient's own (§2.5).
pub const DOWNLOAD_EDOC2_USER_AGENT: &str = "Apache-HttpClient/4.5.6 (Java/1.8.0_392)";
/// The JVM's default `Accept` on sendEdoc (§2.5).
pub const JVM_ACCEPT: &str = "text/html, image/gif, image/jpeg, */*; q=0.2";
/// How long a call waits for a byte of its answer by default; the SDK itself never times out.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The SDK calls (§1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `getReceivedEdocList`.
    GetReceivedEdocList,
    /// `getSentEdocList`.
    GetSentEdocList,
    /// `sendEdoc`.
    SendEdoc,
    /// `getEdoc`.
    GetEdoc,
    /// `updateStatus`.
    UpdateStatus,
    /// `countReceiveEdoc`.
    CountReceiveEdoc,
    /// `countReceiveStatus`.
    CountReceiveStatus,
    /// `downloadEdoc`.
    DownloadEdoc,
    /// `downloadEdoc2`: `GET /downloadEdoc` without any SDK header.
    DownloadEdoc2,
    /// `getAgenciesList`.
    GetAgenciesList,
    /// `getAgenciesListQD20`.
    GetAgenciesListQd20,
    /// `getSynchronizeUnit`.
    GetSynchronizeUnit,
    /// `registerAgency`.
    RegisterAgency,
    /// `deleteAgency`.
    DeleteAgency,
}

impl Op {
    /// The SDK method's name.
    pub fn name(self) -> &'static str {
        match self {
            Op::GetReceivedEdocList => "getReceivedEdocList",
            Op::GetSentEdocList => "getSentEdocList",
            Op::SendEdoc => "sendEdoc",
            Op::GetEdoc => "getEdoc",
            Op::UpdateStatus => "updateStatus",
            Op::CountReceiveEdoc => "countReceiveEdoc",
            Op::CountReceiveStatus => "countReceiveStatus",
            Op::DownloadEdoc => "downloadEdoc",
            Op::DownloadEdoc2 => "downloadEdoc2",
            Op::GetAgenciesList => "getAgenciesList",
            Op::GetAgenciesListQd20 => "getAgenciesListQD20",
            Op::GetSynchronizeUnit => "getSynchronizeUnit",
            Op::RegisterAgency => "registerAgency",
            Op::DeleteAgency => "deleteAgency",
        }
    }

    /// What follows the endpoint in the URL: `/` and the operation (downloadEdoc2 shares
    /// `/downloadEdoc`) (§1).
    pub fn path(self) -> &'static str {
        match self {
            Op::GetReceivedEdocList => "/getReceivedEdocList",
            Op::GetSentEdocList => "/getSentEdocList",
            Op::SendEdoc => "/sendEdoc",
            Op::GetEdoc => "/getEdoc",
            Op::UpdateStatus => "/updateStatus",
            Op::CountReceiveEdoc => "/countReceiveEdoc",
            Op::CountReceiveStatus => "/countReceiveStatus",
            Op::DownloadEdoc | Op::DownloadEdoc2 => "/downloadEdoc",
            Op::GetAgenciesList => "/getAgenciesList",
            Op::GetAgenciesListQd20 => "/getAgenciesListQD20",
            Op::GetSynchronizeUnit => "/getSynchronizeUnit",
            Op::RegisterAgency => "/registerAgency",
            Op::DeleteAgency => "/deleteAgency",
        }
    }

    /// `GET` for the downloads, `POST` otherwise (the count calls too) (§1).
    pub fn method(self) -> &'static str {
        match self {
            Op::DownloadEdoc | Op::DownloadEdoc2 => "GET",
            _ => "POST",
        }
    }
}

/// Why a call gave no answer. Where the SDK would swallow it the application sees (§4.3):
/// `CallJson`/`File` → `null` (registerAgency throws, downloadEdoc `FAIL`/`100`); `Io`/`Http`
/// (after its retries) → a result with all fields `null` for the empty-body POSTs, `null` for
/// the others.
#[derive(Debug)]
pub enum SdkError {
    /// The call JSON is not a flat object of readable values; nothing was sent (§2.1).
    CallJson(String),
    /// sendEdoc's file could not be read; nothing was sent.
    File(PathBuf, io::Error),
    /// The endpoint is not an `http://` URL.
    Endpoint(String),
    /// The connection failed.
    Io(io::Error),
    /// The answer could not be read as HTTP (or within the read timeout).
    Http(String),
}

impl fmt::Display for SdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SdkError::CallJson(why) => write!(f, "bad call JSON: {why}"),
            SdkError::File(path, e) => write!(f, "cannot read {}: {e}", path.display()),
            SdkError::Endpoint(why) => write!(f, "bad endpoint: {why}"),
            SdkError::Io(e) => write!(f, "connection: {e}"),
            SdkError::Http(why) => write!(f, "answer: {why}"),
        }
    }
}

impl std::error::Error for SdkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SdkError::File(_, e) | SdkError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for SdkError {
    fn from(e: io::Error) -> Self {
        SdkError::Io(e)
    }
}

/// A deliberately wrong request: applied to the next call after signing, so what is sent
/// disagrees with what was signed or hashed (§2.2, §2.4).
#[derive(Debug, Clone, Default)]
pub struct Tamper {
    /// Header edits, in order: `Some(v)` sets the first header of that exact name to `v`
    /// (appending it when absent), `None` removes it.
    pub headers: Vec<(String, Option<String>)>,
    /// Body bytes to send instead (for sendEdoc: instead of file + CR LF);
    /// `Content-Length` follows them unless a header edit says otherwise.
    pub body: Option<Vec<u8>>,
}

/// One call as it went over the wire.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The call.
    pub op: Op,
    /// What the SDK signed for it (`None` for downloadEdoc2).
    pub signed: Option<Signed>,
    /// The exact bytes written: the head and, unless the server answered first, the body.
    pub request: Vec<u8>,
    head_len: usize,
    /// What became of `Expect: 100-continue`.
    pub expect: ExpectOutcome,
    /// The interim 1xx answers skipped.
    pub interim: Vec<u16>,
    /// The final answer's status.
    pub status: u16,
    /// Its reason phrase.
    pub reason: String,
    /// Its headers, in order.
    pub headers: Vec<(String, String)>,
    /// Its body (chunked encoding undone).
    pub body: Vec<u8>,
}

impl Exchange {
    /// The request head, up to and including the blank line.
    pub fn request_head(&self) -> &[u8] {
        &self.request[..self.head_len]
    }

    /// The request body as sent (empty if none was sent).
    pub fn request_body(&self) -> &[u8] {
        &self.request[self.head_len..]
    }

    /// The request line and header lines, bytes read as ISO-8859-1, without CR LF.
    pub fn request_lines(&self) -> Vec<String> {
        let head: String = self.request_head().iter().map(|&b| char::from(b)).collect();
        head.split("\r\n")
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// An answer header's value (name ignoring case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// [`check_strict`] on this answer.
    pub fn check_strict(&self) -> Result<(), StrictError> {
        check_strict(self.op, &self.body)
    }

    /// [`check_strict_failure`] on this answer.
    pub fn check_strict_failure(&self) -> Result<(), StrictError> {
        check_strict_failure(self.op, &self.body)
    }
}

/// One SDK service object: its endpoint, secret, header map, and the connections it left open.
#[derive(Debug)]
pub struct SdkService {
    endpoint: String,
    secret: String,
    utc_offset_secs: i32,
    map: HeaderMap,
    read_timeout: Duration,
    tamper: Option<Tamper>,
    exchanges: Vec<Exchange>,
    conns: Vec<Conn>,
}

/// What the SDK has ready once it has put a call's keys in its map.
struct Prepared {
    call: Vec<(String, JVal)>,
    signed: Option<Signed>,
    file: Vec<u8>,
}

impl SdkService {
    /// A new object, its timestamp the current time in Vietnam (§2.3).
    pub fn new(endpoint: &str, systemid: &str, secret: &str) -> SdkService {
        SdkService::with_utc_offset(endpoint, systemid, secret, VIETNAM_UTC_OFFSET_SECS)
    }

    /// A new object whose clock is `utc_offset_secs` east of UTC (the JVM's default zone).
    pub fn with_utc_offset(
        endpoint: &str,
        systemid: &str,
        secret: &str,
        utc_offset_secs: i32,
    ) -> SdkService {
        let timestamp = format_timestamp(sign::now_unix_ms(), utc_offset_secs);
        SdkService::build(endpoint, systemid, secret, &timestamp, utc_offset_secs)
    }

    /// A new object with this timestamp text, to replay captures (§5).
    pub fn with_timestamp(
        endpoint: &str,
        systemid: &str,
        secret: &str,
        timestamp: &str,
    ) -> SdkService {
        SdkService::build(
            endpoint,
            systemid,
            secret,
            timestamp,
            VIETNAM_UTC_OFFSET_SECS,
        )
    }

    /// The same object state (map, timestamp, clock) with another secret and no call history:
    /// the same calls, wrongly signed.
    pub fn with_other_secret(&self, secret: &str) -> SdkService {
        SdkService {
            endpoint: self.endpoint.clone(),
            secret: secret.to_owned(),
            utc_offset_secs: self.utc_offset_secs,
            map: self.map.clone(),
            read_timeout: self.read_timeout,
            tamper: None,
            exchanges: Vec::new(),
            conns: Vec::new(),
        }
    }

    /// The constructor puts `timestamp`, then `systemid`, once (§2.1, §3).
    fn build(
        endpoint: &str,
        systemid: &str,
        secret: &str,
        timestamp: &str,
        utc_offset_secs: i32,
    ) -> SdkService {
        let mut map = HeaderMap::new();
        map.put("timestamp", timestamp);
        map.put("systemid", systemid);
        SdkService {
            endpoint: endpoint.to_owned(),
            secret: secret.to_owned(),
            utc_offset_secs,
            map,
            read_timeout: DEFAULT_READ_TIMEOUT,
            tamper: None,
            exchanges: Vec::new(),
            conns: Vec::new(),
        }
    }

    /// The endpoint, as given.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The header map as it stands (it only grows, §3).
    pub fn header_map(&self) -> &HeaderMap {
        &self.map
    }

    /// The `timestamp` every signed call carries, unless a call JSON replaced it (§3).
    pub fn timestamp(&self) -> &str {
        self.map.get("timestamp").unwrap_or_default()
    }

    /// How long a call waits for each read of its answer (the SDK waits forever).
    pub fn set_read_timeout(&mut self, timeout: Duration) {
        self.read_timeout = timeout;
    }

    /// Makes the next call that sends a request send a wrong one.
    pub fn tamper_next_call(&mut self, tamper: Tamper) {
        self.tamper = Some(tamper);
    }

    /// Every call's exchange, oldest first.
    pub fn exchanges(&self) -> &[Exchange] {
        &self.exchanges
    }

    /// The last call's exchange.
    pub fn last_exchange(&self) -> Option<&Exchange> {
        self.exchanges.last()
    }

    /// What the server did with call `index`'s connection, which the SDK left open (§2.5):
    /// reads with `wait` as a deadline.
    ///
    /// # Errors
    /// When there is no such call or the read fails otherwise.
    pub fn peer_state(&mut self, index: usize, wait: Duration) -> io::Result<PeerState> {
        self.conns
            .get_mut(index)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such call"))?
            .state(wait)
    }

    /// Closes every connection the object left open (the SDK never does).
    pub fn close_connections(&mut self) {
        self.conns.clear();
    }

    /// What the SDK does for a call before sending: puts `Content-Type`, the call JSON's
    /// entries and (sendEdoc) `hash-file` in the map, then signs (§2.1–§2.2). A dry run:
    /// the map keeps the keys, as it would after the real call. `None` for downloadEdoc2.
    ///
    /// # Errors
    /// Bad call JSON (entries before the bad one stay in the map, as in the SDK); sendEdoc
    /// without a readable file.
    pub fn sign_call(
        &mut self,
        op: Op,
        call_json: &str,
        file: Option<&Path>,
    ) -> Result<Option<Signed>, SdkError> {
        Ok(self.prepare(op, call_json, file)?.signed)
    }

    fn prepare(
        &mut self,
        op: Op,
        call_json: &str,
        file: Option<&Path>,
    ) -> Result<Prepared, SdkError> {
        let call = match parse_lenient(call_json) {
            Ok(JVal::Obj(members)) => members,
            Ok(_) => return Err(SdkError::CallJson("not a JSON object".to_owned())),
            Err(e) => return Err(SdkError::CallJson(format!("{e:?}"))),
        };
        let readable = |k: &str, v: &JVal| {
            v.java_string()
                .ok_or_else(|| SdkError::CallJson(format!("`{k}` is {}", v.gson_text())))
        };
        if op == Op::DownloadEdoc2 {
            for (k, v) in &call {
                readable(k, v)?;
            }
            return Ok(Prepared {
                call,
                signed: None,
                file: Vec::new(),
            });
        }
        let content_type = if op == Op::SendEdoc {
            "application/octet-stream"
        } else {
            "application/json"
        };
        self.map.put("Content-Type", content_type);
        for (k, v) in &call {
            let text = if op == Op::SendEdoc && k == "to" {
                v.gson_text()
            } else {
                readable(k, v)?
            };
            self.map.put(k, &text);
        }
        let mut bytes = Vec::new();
        if op == Op::SendEdoc {
            let path =
                file.ok_or_else(|| SdkError::CallJson("sendEdoc needs a file".to_owned()))?;
            bytes = std::fs::read(path).map_err(|e| SdkError::File(path.to_owned(), e))?;
            self.map.put("hash-file", &hash_file_text(&bytes));
        }
        Ok(Prepared {
            call,
            signed: Some(sign(&self.map, &self.secret)),
            file: bytes,
        })
    }

    /// Prepares, sends and records one call; returns the exchange's index and the call JSON.
    fn run(
        &mut self,
        op: Op,
        call_json: &str,
        file: Option<&Path>,
        data: &str,
    ) -> Result<(usize, Vec<(String, JVal)>), SdkError> {
        let prepared = self.prepare(op, call_json, file)?;
        let target = transport::parse_url(&format!("{}{}", self.endpoint, op.path()))?;
        let signed_headers = prepared
            .signed
            .as_ref()
            .map(|s| s.headers.clone())
            .unwrap_or_default();
        let header = |n: &str, v: &str| (n.to_owned(), v.to_owned());
        let (mut headers, mut body, writer) = match op {
            Op::SendEdoc => {
                // HttpURLConnection: plain Content-Type where the SDK first set it (§2.5).
                let mut headers = signed_headers;
                if let Some(i) = headers.iter().position(|(n, _)| n == "Content-Type") {
                    let plain = headers.remove(i);
                    headers.insert(0, plain);
                }
                let mut body = prepared.file.clone();
                body.extend_from_slice(b"\r\n");
                headers.extend([
                    header("Cache-Control", "no-cache"),
                    header("Pragma", "no-cache"),
                    header("Host", &target.host_header_url_connection),
                    header("Accept", JVM_ACCEPT),
                    header("Connection", "keep-alive"),
                    header("Content-Length", &body.len().to_string()),
                ]);
                (headers, body, Writer::UrlConnection)
            }
            Op::DownloadEdoc2 => (
                vec![
                    header("Host", &target.host_header),
                    header("Connection", "Keep-Alive"),
                    header("User-Agent", DOWNLOAD_EDOC2_USER_AGENT),
                    header("Accept-Encoding", "gzip,deflate"),
                ],
                Vec::new(),
                Writer::HttpClient,
            ),
            _ => {
                let body = match op {
                    Op::GetEdoc
                    | Op::UpdateStatus
                    | Op::CountReceiveEdoc
                    | Op::CountReceiveStatus
                    | Op::DeleteAgency => b"{}".to_vec(),
                    Op::RegisterAgency => data.as_bytes().to_vec(),
                    _ => Vec::new(),
                };
                let mut headers = signed_headers;
                if op.method() == "POST" {
                    headers.push(header("Content-Length", &body.len().to_string()));
                }
                headers.push(header("Host", &target.host_header));
                headers.push(header("Connection", "Keep-Alive"));
                if !body.is_empty() {
                    headers.push(header("Expect", "100-continue"));
                }
                headers.push(header("Accept-Encoding", "gzip,deflate"));
                (headers, body, Writer::HttpClient)
            }
        };
        if let Some(tamper) = self.tamper.take() {
            if let Some(new_body) = tamper.body {
                body = new_body;
                for (n, v) in &mut headers {
                    if n == "Content-Length" {
                        *v = body.len().to_string();
                    }
                }
            }
            for (name, value) in tamper.headers {
                let at = headers.iter().position(|(n, _)| *n == name);
                match (at, value) {
                    (Some(i), Some(v)) => headers[i].1 = v,
                    (None, Some(v)) => headers.push((name, v)),
                    (Some(i), None) => {
                        headers.remove(i);
                    }
                    (None, None) => {}
                }
            }
        }
        let request = Request {
            method: op.method(),
            path: target.path.clone(),
            headers,
            body,
            writer,
        };
        let (raw, conn) = transport::exchange(&target, &request, self.read_timeout)?;
        self.exchanges.push(Exchange {
            op,
            signed: prepared.signed,
            request: raw.request,
            head_len: raw.head_len,
            expect: raw.expect,
            interim: raw.interim,
            status: raw.status,
            reason: raw.reason,
            headers: raw.headers,
            body: raw.body,
        });
        self.conns.push(conn);
        let index = self.exchanges.len() - 1;
        if let Some(coding) = self.exchanges[index]
            .header("Content-Encoding")
            .filter(|c| !c.eq_ignore_ascii_case("identity"))
        {
            return Err(SdkError::Http(format!(
                "Content-Encoding {coding} is not undone here (the SDK would)"
            )));
        }
        Ok((index, prepared.call))
    }

    /// Runs a JSON call and returns its body as UTF-8 text (§4.1).
    fn call_text(&mut self, op: Op, call_json: &str, data: &str) -> Result<String, SdkError> {
        let (index, _) = self.run(op, call_json, None, data)?;
        Ok(answers::decode_utf8(&self.exchanges[index].body))
    }

    /// `<filePath>/<yyyy>/<M>/<docId>.edxml` on the object's clock (§4.4).
    fn dated_path(&self, dir: &str, doc_id: &str) -> PathBuf {
        let now = sign::civil(sign::now_unix_ms(), self.utc_offset_secs);
        PathBuf::from(format!("{dir}/{}/{}/{doc_id}.edxml", now.year, now.month))
    }

    /// `getReceivedEdocList(json)`: the documents or statuses waiting (§1, §4.2). `None` is
    /// the SDK's `null`; a non-JSON answer reads as an empty success (§4.3).
    ///
    /// # Errors
    /// [`SdkError`]: nothing sent, or no HTTP answer.
    pub fn get_received_edoc_list(
        &mut self,
        call_json: &str,
    ) -> Result<Option<ListResult<Knobstick>>, SdkError> {
        let text = self.call_text(Op::GetReceivedEdocList, call_json, "")?;
        Ok(answers::read_list(&text, true))
    }

    /// `getSentEdocList(json)`: the statuses of a sent document (§1, §4.2).
    ///
    /// # Errors
    /// [`SdkError`]: nothing sent, or no HTTP answer.
    pub fn get_sent_edoc_list(
        &mut self,
        call_json: &str,
    ) -> Result<Option<ListResult<StatusResult>>, SdkError> {
        let text = self.call_text(Op::GetSentEdocList, call_json, "")?;
        Ok(answers::read_list(&text, false))
    }

    /// `sendEdoc(json, filePath)`: the file's bytes and CR LF, `hash-file` signed (§1, §2.4).
    /// A 200/201 answer is read as US-ASCII; a non-2xx without body gives `None` (§4.1).
    ///
    /// # Errors
    /// [`SdkError`]: bad call JSON, unreadable file, or no HTTP answer.
    pub fn send_edoc(
        &mut self,
        call_json: &str,
        file: impl AsRef<Path>,
    ) -> Result<Option<SendEdocResult>, SdkError> {
        let (index, _) = self.run(Op::SendEdoc, call_json, Some(file.as_ref()), "")?;
        let exchange = &self.exchanges[index];
        let text = match exchange.status {
            200 | 201 => answers::decode_ascii(&exchange.body),
            s if !(200..300).contains(&s) && exchange.body.is_empty() => return Ok(None),
            _ => answers::decode_utf8(&exchange.body),
        };
        Ok(answers::read_send_edoc(&text))
    }

    /// `getEdoc(json)`: the document as text; with a non-empty `filePath` in the call JSON
    /// and ErrorCode `0`, also written to `<filePath>/<yyyy>/<M>/<docId>.edxml` (§4.4).
    ///
    /// # Errors
    /// [`SdkError`]: nothing sent, no HTTP answer, or the file could not be written.
    pub fn get_edoc(&mut self, call_json: &str) -> Result<Option<GetEdocResult>, SdkError> {
        let (index, call) = self.run(Op::GetEdoc, call_json, None, "")?;
        let text = answers::decode_utf8(&self.exchanges[index].body);
        let Some(mut result) = answers::read_get_edoc(&text) else {
            return Ok(None);
        };
        if let (Some(dir), true, Some(data)) = (
            call_value(&call, "filePath").filter(|d| !d.is_empty()),
            result.envelope.is_success(),
            &result.data,
        ) {
            let doc_id = call_value(&call, "docId").unwrap_or_else(|| "null".to_owned());
            let path = self.dated_path(&dir, &doc_id);
            write_file(&path, data.as_bytes())?;
            result.file_path = Some(path);
        }
        Ok(Some(result))
    }

    /// `updateStatus(json)` (§1).
    ///
    /// # Errors
    /// [`SdkError`]: nothing sent, or no HTTP answer.
    pub fn update_status(&mut self, call_json: &str) -> Result<Option<Envelope>, SdkError> {
        let text = self.call_text(Op::UpdateStatus, call_json, "")?;
        Ok(answers::read_envelope(&text))
    }

    /// `countReceiveEdoc(json)` (§1).
    ///
    /// # Errors
    /// [`SdkError`]: nothing sent, or no HTTP answer.
    pub fn count_receive_edoc(&mut self, call_json: &str) -> Result<Option<CountResult>, SdkError> {
        let text = self.call_text(Op::CountReceiveEdoc, call_json, "")?;
        Ok(answers::read_count(&text))
    }

    /// `countReceiveStatus(json)` (§1).
    ///
    /// # Errors
    /// [`SdkError`]: nothing sent, or no HTTP answer.
    pub fn count_receive_status(
        &mut self,
        call_json: &str,
    ) -> Result<Option<CountResult>, SdkError> {
        let text = self.call_text(Op::CountReceiveStatus, call_json, "")?;
        Ok(answers::read_count(&text))
    }

    /// `downloadEdoc(json)`: signed GET; the raw body saved like getEdoc's file (§4.4).
    ///
    /// # Errors
    /// [`SdkError`]: nothing sent, no HTTP answer, or the file could not be written.
    pub fn download_edoc(&mut self, call_json: &str) -> Result<DownloadResult, SdkError> {
        self.download(Op::DownloadEdoc, call_json)
    }

    /// `downloadEdoc2(json)`: the same GET with only HttpClient's own headers (§2.5).
    ///
    /// # Errors
    /// [`SdkError`]: nothing sent, no HTTP answer, or the file could not be written.
    pub fn download_edoc2(&mut self, call_json: &str) -> Result<DownloadResult, SdkError> {
        self.download(Op::DownloadEdoc2, call_json)
    }

    /// Whatever the status, the body is the document: non-empty → `SUCCESS`/`0`, empty →
    /// `FAIL`/`100` and an empty file (§4.4). Without a `filePath` nothing is written here
    /// (where the SDK would write is undetermined).
    fn download(&mut self, op: Op, call_json: &str) -> Result<DownloadResult, SdkError> {
        let (index, call) = self.run(op, call_json, None, "")?;
        let mut path = String::new();
        if let Some(dir) = call_value(&call, "filePath").filter(|d| !d.is_empty()) {
            let doc_id = call_value(&call, "docId").unwrap_or_else(|| "null".to_owned());
            let file = self.dated_path(&dir, &doc_id);
            write_file(&file, &self.exchanges[index].body)?;
            path = file.to_string_lossy().into_owned();
        }
        let empty = self.exchanges[index].body.is_empty();
        Ok(DownloadResult {
            status: if empty { "FAIL" } else { "SUCCESS" }.to_owned(),
            error_code: if empty { "100" } else { "0" }.to_owned(),
            file_path: if empty { String::new() } else { path },
        })
    }

    /// `getAgenciesList(json)` (§1).
    ///
    /// # Errors
    /// [`SdkError`]: nothing sent, or no HTTP answer.
    pub fn get_agencies_list(
        &mut self,
        call_json: &str,
    ) -> Result<Option<ListResult<Agency>>, SdkError> {
        let text = self.call_text(Op::GetAgenciesList, call_json, "")?;
        Ok(answers::read_list(&text, false))
    }

    /// `getAgenciesListQD20(json)` (§1).
    ///
    /// # Errors
    /// [`SdkError`]: nothing sent, or no HTTP answer.
    pub fn get_agencies_list_qd20(
        &mut self,
        call_json: &str,
    ) -> Result<Option<ListResult<AgencyQd20>>, SdkError> {
        let text = self.call_text(Op::GetAgenciesListQd20, call_json, "")?;
        Ok(answers::read_list(&text, false))
    }

    /// `getSynchronizeUnit(json)` (§1).
    ///
    /// # Errors
    /// [`SdkError`]: nothing sent, or no HTTP answer.
    pub fn get_synchronize_unit(
        &mut self,
        call_json: &str,
    ) -> Result<Option<ListResult<UnitSynchronize>>, SdkError> {
        let text = self.call_text(Op::GetSynchronizeUnit, call_json, "")?;
        Ok(answers::read_list(&text, false))
    }

    /// `registerAgency(json, data)`: `data` sent verbatim as the body (§1).
    ///
    /// # Errors
    /// [`SdkError`]: nothing sent, or no HTTP answer.
    pub fn register_agency(
        &mut self,
        call_json: &str,
        data: &str,
    ) -> Result<Option<Envelope>, SdkError> {
        let text = self.call_text(Op::RegisterAgency, call_json, data)?;
        Ok(answers::read_envelope(&text))
    }

    /// `deleteAgency(json)` (§1).
    ///
    /// # Errors
    /// [`SdkError`]: nothing sent, or no HTTP answer.
    pub fn delete_agency(&mut self, call_json: &str) -> Result<Option<Envelope>, SdkError> {
        let text = self.call_text(Op::DeleteAgency, call_json, "")?;
        Ok(answers::read_envelope(&text))
    }
}

/// A call JSON value by key ignoring case, as getEdoc/downloadEdoc find `filePath` and
/// `docId` (§4.4); the first such key.
fn call_value(call: &[(String, JVal)], key: &str) -> Option<String> {
    call.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| v.java_string())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SdkError> {
    let io = |e| SdkError::File(path.to_owned(), e);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, bytes).map_err(io)
}
