//! The API's contract with QLVB software, against real node processes on loopback: what a
//! QLVB may count on when it retries, when it sends something wrong, and when it sends
//! too slowly. One test per promise.
//!
//! Requests that an ordinary client would not send (a raw `%ff`, a body that stops) go
//! over a plain socket, so that exactly those bytes reach the node.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use lienthong_tests::axis_sdk::SdkService;
use lienthong_tests::{Federation, ProcessNode, samples_dir, wait_for};
use serde_json::Value;

const DELIVERY: Duration = Duration::from_secs(60);
const VPCP: &str = "000.00.00.G22";
const NGHE_AN: &str = "000.00.00.H41";
/// The DocumentId of the sample document, in its message header.
const DOCUMENT_ID: &str =
    "<edXML:DocumentId>000.00.00.G22,2015/09/30,7816/VPCP-TTĐT</edXML:DocumentId>";
/// What the node allows for a request body to stop (`BODY_STALL` in `node/src/api/body.rs`
/// is 10 s), with room for a loaded machine.
const STALL_DEADLINE: Duration = Duration::from_secs(40);

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(samples_dir().join(name)).expect("sample")
}

/// The sample document from `from` to `to`, its header's DocumentId replaced by
/// `document_id` (no element at all for `None`).
fn document(from: &str, to: &str, document_id: Option<&str>) -> Vec<u8> {
    let replacement = document_id.map_or_else(String::new, |id| {
        format!("<edXML:DocumentId>{id}</edXML:DocumentId>")
    });
    String::from_utf8(sample("edoc_new.edxml"))
        .expect("UTF-8")
        .replacen(DOCUMENT_ID, &replacement, 1)
        .replace("000.00.00.A80", from)
        .replace("28.22.H17", to)
        .into_bytes()
}

/// A running node for the Government Office, and the Nghệ An province admitted beside it
/// but not running: enough to submit documents that stay queued.
fn office() -> anyhow::Result<(Federation, ProcessNode)> {
    let federation = Federation::new("Hợp đồng API")?;
    let vpcp_dir = federation.init(VPCP, "Văn phòng Chính phủ")?;
    let nghe_an_dir = federation.init(NGHE_AN, "UBND tỉnh Nghệ An")?;
    federation.admit(&vpcp_dir)?;
    federation.admit(&nghe_an_dir)?;
    let vpcp = ProcessNode::start(&vpcp_dir)?;
    federation.wait_roster(&[&vpcp])?;
    Ok((federation, vpcp))
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

fn token(node: &ProcessNode) -> String {
    std::fs::read_to_string(node.dir().join("api.token"))
        .expect("token")
        .trim()
        .to_owned()
}

/// How many packages `node` has sent.
fn sent_count(node: &ProcessNode) -> usize {
    node.get_json("/api/v1/packages?limit=1000")
        .expect("list")
        .as_array()
        .map_or(0, Vec::len)
}

/// A QLVB's axis SDK pointed at `node`.
fn sdk(node: &ProcessNode) -> SdkService {
    let secret = std::fs::read_to_string(node.dir().join("axis.secret")).expect("secret");
    SdkService::new(
        &format!("http://{}", node.info().api_addr),
        node.info().organ_id.as_str(),
        secret.trim(),
    )
}

/// An HTTP answer read off a socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The native API's error: its kind and message, having checked the shape.
    fn error(&self) -> (String, String) {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        let value = json(&self.body);
        let kind = value["error"]["kind"].as_str().expect("kind").to_owned();
        let message = value["error"]["message"]
            .as_str()
            .expect("message")
            .to_owned();
        (kind, message)
    }
}

/// Writes `head` (and `body`) to the node's API on a new connection and reads one answer.
fn exchange(node: &ProcessNode, head: &str, body: &[u8]) -> anyhow::Result<Answer> {
    let mut stream = TcpStream::connect(&node.info().api_addr)?;
    stream.set_read_timeout(Some(STALL_DEADLINE))?;
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    read_answer(&mut stream)
}

/// One answer from `stream`: its head, then a body of `Content-Length` bytes, chunked, or
/// up to the end of the connection.
fn read_answer(stream: &mut TcpStream) -> anyhow::Result<Answer> {
    let mut data = Vec::new();
    let mut buffer = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream
            .read(&mut buffer)
            .context("reading the answer's head")?;
        if n == 0 {
            bail!(
                "the connection closed before an answer: {:?}",
                String::from_utf8_lossy(&data)
            );
        }
        data.extend_from_slice(&buffer[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .context("status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut answer = Answer {
        status,
        headers,
        body: data[head_end..].to_vec(),
    };
    if let Some(len) = answer.header("content-length") {
        let len: usize = len.parse()?;
        while answer.body.len() < len {
            let n = stream.read(&mut buffer)?;
            if n == 0 {
                bail!("the connection closed inside the body");
            }
            answer.body.extend_from_slice(&buffer[..n]);
        }
        answer.body.truncate(len);
    } else {
        stream.read_to_end(&mut answer.body)?;
        if answer
            .header("transfer-encoding")
            .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
        {
            answer.body = unchunk(&answer.body)?;
        }
    }
    Ok(answer)
}

fn unchunk(mut data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("chunk size")?;
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end])?.trim(), 16)?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// A QLVB loses the answer to a document without a DocumentId (accepted with a warning)
/// and sends the same bytes again: it is told the same package, and the recipient gets the
/// document once.
#[test]
fn a_document_without_document_id_sent_twice_is_one_package_and_arrives_once() -> anyhow::Result<()>
{
    let federation = Federation::new("Văn bản không có DocumentId")?;
    let vpcp = federation.start_node(VPCP, "Văn phòng Chính phủ")?;
    let nghe_an = federation.start_node(NGHE_AN, "UBND tỉnh Nghệ An")?;
    federation.wait_roster(&[&vpcp, &nghe_an])?;

    let file = document(VPCP, NGHE_AN, None);
    let (status, first) = vpcp.post("/api/v1/packages", &file)?;
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&first));
    let first = json(&first);
    assert_eq!(first["document_id"], Value::Null);
    assert!(
        first["warnings"].as_array().is_some_and(|w| !w.is_empty()),
        "accepted with a warning: {first}"
    );
    let (status, again) = vpcp.post("/api/v1/packages", &file)?;
    assert_eq!(status, 202);
    let again = json(&again);
    assert_eq!(again["package_id"], first["package_id"]);
    assert_eq!(again["duplicate"], true);
    // The axis SDK's sendEdoc, a third time: still the same package.
    let mut qlvb = sdk(&vpcp);
    let path = federation.dir().join("no-document-id.edxml");
    std::fs::write(&path, &file)?;
    let sent = qlvb
        .send_edoc(
            &format!(r#"{{"from":"{VPCP}","servicetype":"eDoc","messagetype":"edoc"}}"#),
            &path,
        )?
        .expect("an answer");
    assert!(sent.envelope.is_success(), "{sent:?}");
    assert_eq!(sent.doc_id.as_deref(), first["package_id"].as_str());
    assert_eq!(sent_count(&vpcp), 1, "one package to deliver, not three");

    let package = first["package_id"].as_str().expect("id");
    vpcp.wait_state(package, NGHE_AN, "delivered", DELIVERY)?;
    let received: Vec<Value> = nghe_an
        .inbox()?
        .into_iter()
        .filter(|e| e["from"] == VPCP)
        .collect();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["package_id"], package);
    Ok(())
}

/// A DocumentId longer than lienthong takes is the document's fault, not the node's: 422
/// naming DocumentId, its length and the limit, on both APIs, never a 503 that would make
/// the QLVB send it for ever. Nothing is stored.
#[test]
fn an_over_long_document_id_is_refused_with_422_naming_it_and_nothing_is_stored()
-> anyhow::Result<()> {
    let (federation, vpcp) = office()?;
    let long_id = format!("000.00.00.G22,2015/09/30,{}", "7".repeat(300));
    let file = document(VPCP, NGHE_AN, Some(&long_id));

    let (status, body) = vpcp.post("/api/v1/packages", &file)?;
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&body));
    let error = json(&body);
    assert_eq!(error["error"]["kind"], "document_id_too_long");
    let message = error["error"]["message"].as_str().expect("message");
    for word in ["DocumentId", &long_id.len().to_string(), "256"] {
        assert!(message.contains(word), "{word} in {message}");
    }
    assert!(
        error["error"]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("/DocumentId")),
        "{error}"
    );

    let mut qlvb = sdk(&vpcp);
    let path = federation.dir().join("long-document-id.edxml");
    std::fs::write(&path, &file)?;
    let sent = qlvb
        .send_edoc(
            &format!(r#"{{"from":"{VPCP}","servicetype":"eDoc","messagetype":"edoc"}}"#),
            &path,
        )?
        .expect("an answer");
    let exchange = qlvb.last_exchange().expect("sent");
    assert_eq!(exchange.status, 422);
    assert!(sent.envelope.is_fail(), "{sent:?}");
    assert_eq!(sent.envelope.error_code.as_deref(), Some("422"));
    assert_eq!(sent.doc_id.as_deref(), Some(""));
    let desc = sent.envelope.error_desc.unwrap_or_default();
    assert!(
        desc.contains("DocumentId") && desc.contains("256"),
        "{desc}"
    );

    assert_eq!(sent_count(&vpcp), 0, "nothing stored");
    Ok(())
}

/// A QLVB that lost an answer and sends the same request again is told exactly what it
/// would have been told: the same status and body, but for `duplicate`. For documents and
/// for status messages (whose answer names the document they answer).
#[test]
fn a_retried_submission_gets_the_same_answer() -> anyhow::Result<()> {
    let (federation, vpcp) = office()?;
    let document_bytes = document(
        VPCP,
        NGHE_AN,
        Some("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"),
    );
    let take_back = sample("status_cancellation_13.edxml");
    for (what, file) in [("document", &document_bytes), ("status 13", &take_back)] {
        let (status, first) = vpcp.post("/api/v1/packages", file)?;
        assert_eq!(status, 202, "{what}: {}", String::from_utf8_lossy(&first));
        let (status_again, again) = vpcp.post("/api/v1/packages", file)?;
        assert_eq!(status_again, status, "{what}");
        let mut first = json(&first);
        let mut again = json(&again);
        assert_eq!(first["duplicate"], false, "{what}");
        assert_eq!(again["duplicate"], true, "{what}");
        first["duplicate"] = Value::Null;
        again["duplicate"] = Value::Null;
        assert_eq!(again, first, "{what}: the same answer");
        if what == "status 13" {
            assert!(first["answers"].is_string(), "{first}");
        }
    }
    // sendEdoc: the same status and the same DocId.
    let mut qlvb = sdk(&vpcp);
    let path = federation.dir().join("7816.edxml");
    std::fs::write(&path, &document_bytes)?;
    let call = format!(r#"{{"from":"{VPCP}","servicetype":"eDoc","messagetype":"edoc"}}"#);
    let first = qlvb.send_edoc(&call, &path)?.expect("an answer");
    let first_status = qlvb.last_exchange().expect("sent").status;
    let again = qlvb.send_edoc(&call, &path)?.expect("an answer");
    assert_eq!(qlvb.last_exchange().expect("sent").status, first_status);
    assert_eq!(again, first);
    assert_eq!(sent_count(&vpcp), 2, "one document, one status");
    Ok(())
}

/// Whatever is wrong with a request, the native API answers its JSON error, with a status
/// that says what; the axis calls answer their own envelope. The routes that are not JSON
/// (the dashboard, metrics) still answer as they did.
#[test]
fn every_malformed_request_answers_the_documented_json_error() -> anyhow::Result<()> {
    let (_federation, vpcp) = office()?;
    let token = token(&vpcp);
    let auth = format!("Authorization: Bearer {token}\r\n");
    let get = |target: &str| {
        exchange(
            &vpcp,
            &format!("GET {target} HTTP/1.1\r\nHost: node\r\n{auth}Connection: close\r\n\r\n"),
            b"",
        )
    };

    let cases: [(&str, String, u16, &str, &str); 6] = [
        (
            "a query that does not read",
            "/api/v1/packages?limit=abc".into(),
            400,
            "bad_request",
            "limit",
        ),
        (
            "an id that is not UTF-8",
            "/api/v1/packages/%ff/status".into(),
            400,
            "bad_request",
            "/api/v1/packages/%ff/status",
        ),
        (
            "an id that is not an id",
            "/api/v1/packages/xyz".into(),
            400,
            "bad_request",
            "xyz",
        ),
        (
            "an unknown route",
            "/api/v2/packages".into(),
            404,
            "not_found",
            "/api/v2/packages",
        ),
        (
            "a URI too long",
            format!("/api/v1/packages?limit=1&pad={}", "a".repeat(10_000)),
            414,
            "uri_too_long",
            "8192",
        ),
        (
            "an inbox flag that is not a boolean",
            "/api/v1/inbox?all=maybe".into(),
            400,
            "bad_request",
            "all",
        ),
    ];
    for (what, target, status, kind, word) in cases {
        let answer = get(&target)?;
        assert_eq!(answer.status, status, "{what}: {answer:?}");
        let (found_kind, message) = answer.error();
        assert_eq!(found_kind, kind, "{what}: {message}");
        assert!(message.contains(word), "{what}: {word} in {message}");
    }

    let answer = exchange(
        &vpcp,
        &format!(
            "DELETE /api/v1/packages HTTP/1.1\r\nHost: node\r\n{auth}Connection: close\r\n\r\n"
        ),
        b"",
    )?;
    assert_eq!(answer.status, 405, "{answer:?}");
    assert!(answer.header("allow").is_some_and(|a| a.contains("GET")));
    assert_eq!(answer.error().0, "method_not_allowed");

    // The backup takes a small JSON request; a large one is refused before it is read.
    let large = vec![b' '; 200 * 1024];
    let answer = exchange(
        &vpcp,
        &format!(
            "POST /api/v1/backup HTTP/1.1\r\nHost: node\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            large.len()
        ),
        &large,
    )?;
    assert_eq!(answer.status, 413, "{answer:?}");
    assert_eq!(answer.error().0, "too_large");

    // An axis call keeps its envelope, even refused before routing.
    let answer = get(&format!("/getEdoc?pad={}", "a".repeat(10_000)))?;
    assert_eq!(answer.status, 414, "{answer:?}");
    let envelope = json(&answer.body);
    assert_eq!(envelope["status"], "FAIL");
    assert_eq!(envelope["ErrorCode"], "414");

    // Not JSON, and not errors: unchanged.
    let page = get("/")?;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    );
    let metrics = get("/metrics")?;
    assert_eq!(metrics.status, 200);
    assert!(String::from_utf8_lossy(&metrics.body).contains("lienthong_api_request_duration"));
    let openapi = get("/api/v1/openapi.json")?;
    assert_eq!(openapi.status, 200);
    assert!(json(&openapi.body)["paths"].is_object());
    Ok(())
}

/// A client that declares a body and stops sending it gets a JSON 408 and its connection
/// closed, within a bounded time, on the native API and on sendEdoc alike; the node goes
/// on serving everyone else meanwhile and after.
#[test]
fn a_body_that_stops_arriving_is_answered_408_and_the_node_keeps_serving() -> anyhow::Result<()> {
    let (_federation, vpcp) = office()?;
    let token = token(&vpcp);
    let stalled = |path: &'static str| {
        let addr = vpcp.info().api_addr.clone();
        let token = token.clone();
        std::thread::spawn(move || -> anyhow::Result<(Answer, Duration, bool)> {
            let start = Instant::now();
            let mut stream = TcpStream::connect(&addr)?;
            stream.set_read_timeout(Some(STALL_DEADLINE))?;
            write!(
                stream,
                "POST {path} HTTP/1.1\r\nHost: node\r\nAuthorization: Bearer {token}\r\nContent-Type: application/xml\r\nContent-Length: 100000\r\n\r\n<?xml version=\"1.0\"?>"
            )?;
            let answer = read_answer(&mut stream)?;
            let took = start.elapsed();
            // The node closes the connection: the rest of the body is not awaited.
            let mut rest = Vec::new();
            let closed = match stream.read_to_end(&mut rest) {
                Ok(_) => true,
                Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
            };
            Ok((answer, took, closed))
        })
    };
    let native = stalled("/api/v1/packages");
    let axis = stalled("/sendEdoc");

    // Meanwhile, others are served.
    let file = document(
        VPCP,
        NGHE_AN,
        Some("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"),
    );
    vpcp.submit(&file)?;

    for (what, handle) in [("native", native), ("axis", axis)] {
        let (answer, took, closed) = handle.join().expect("the client thread")?;
        assert_eq!(answer.status, 408, "{what}: {answer:?}");
        assert!(took < STALL_DEADLINE, "{what}: {took:?}");
        assert!(closed, "{what}: the connection is closed after the 408");
        if what == "native" {
            let (kind, message) = answer.error();
            assert_eq!(kind, "timeout");
            assert!(message.contains("stopped arriving"), "{message}");
        } else {
            let envelope = json(&answer.body);
            assert_eq!(envelope["status"], "FAIL");
            assert_eq!(envelope["ErrorCode"], "408");
            assert_eq!(envelope["DocId"], "");
        }
    }

    let health = wait_for("the node to answer", Duration::from_secs(10), || {
        vpcp.get("/health")
            .ok()
            .filter(|(status, _)| *status == 200)
    })?;
    assert_eq!(json(&health.1)["organ_id"], VPCP);
    assert_eq!(sent_count(&vpcp), 1);
    Ok(())
}
