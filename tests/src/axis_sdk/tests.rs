//! Checks against the captured traffic of §2 and §5, and a loopback server for the transport
//! and the reading of answers.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::answers::{base64_lenient, read_count, read_envelope, read_list, read_send_edoc};
use super::*;

const SECRET: &str = "test-secret-not-real";
const A: &str = "000.00.00.H53";
const B: &str = "000.00.01.H53";
const DOC: &str = "5f1c2d3e4a5b6c7d8e9f0a1b";
/// Nowhere: for objects that only sign.
const OFFLINE: &str = "http://127.0.0.1:9";

fn signed(svc: &mut SdkService, op: Op, json: &str) -> Signed {
    svc.sign_call(op, json, None)
        .expect("call JSON")
        .expect("signed")
}

// ---- a loopback server -----------------------------------------------------------------

/// What the loopback server does for one connection.
struct Turn {
    answer: Vec<u8>,
    /// Answer `Expect: 100-continue` with an interim 100.
    send_continue: bool,
    /// Answer right after the head, without reading the body.
    answer_first: bool,
    /// Close the connection after answering.
    close: bool,
}

fn turn(answer: Vec<u8>) -> Turn {
    Turn {
        answer,
        send_continue: true,
        answer_first: false,
        close: false,
    }
}

fn http(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// What the server saw: each request's bytes; and the connections it kept open.
type Seen = (Vec<Vec<u8>>, Vec<TcpStream>);

/// Serves one connection per turn; returns the endpoint and the server thread.
fn serve(turns: Vec<Turn>) -> (String, JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        let (mut requests, mut kept) = (Vec::new(), Vec::new());
        for turn in turns {
            let (mut s, _) = listener.accept().expect("accept");
            s.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let mut req = Vec::new();
            let head_end = loop {
                if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
                let mut buf = [0u8; 8192];
                let n = s.read(&mut buf).expect("read head");
                assert!(n > 0, "client closed before its head");
                req.extend_from_slice(&buf[..n]);
            };
            let head = String::from_utf8_lossy(&req[..head_end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |v| v.trim().parse().expect("length"));
            if head.contains("expect: 100-continue") {
                if turn.answer_first {
                    s.write_all(&turn.answer).expect("answer");
                    requests.push(req);
                    kept.push(s);
                    continue;
                }
                if turn.send_continue {
                    s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").expect("100");
                }
            }
            while req.len() < head_end + length {
                let mut buf = [0u8; 8192];
                let n = s.read(&mut buf).expect("read body");
                assert!(n > 0, "client closed before its body");
                req.extend_from_slice(&buf[..n]);
            }
            s.write_all(&turn.answer).expect("answer");
            requests.push(req);
            if !turn.close {
                kept.push(s);
            }
        }
        (requests, kept)
    });
    (endpoint, handle)
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("axis-sdk-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `<dir>/<yyyy>/<M>/<doc>.edxml` on Vietnam's clock (§4.4).
fn dated(dir: &Path, doc: &str) -> PathBuf {
    let now = sign::civil(sign::now_unix_ms(), VIETNAM_UTC_OFFSET_SECS);
    dir.join(format!("{}/{}/{doc}.edxml", now.year, now.month))
}

// ---- map and signature -------------------------------------------------------------------

#[test]
fn the_section_2_6_table_of_buckets() {
    for (key, b16, b32) in [
        ("systemid", 2, 2),
        ("servicetype", 2, 18),
        ("messagetype", 5, 5),
        ("level", 5, 5),
        ("docId", 6, 6),
        ("docid", 6, 6),
        ("hash-file", 6, 22),
        ("filePath", 7, 7),
        ("AgencyCode", 9, 25),
        ("from", 10, 26),
        ("to", 11, 27),
        ("timestamp", 15, 31),
        ("Content-Type", 15, 31),
        ("status", 15, 31),
    ] {
        assert_eq!(
            (java_bucket(key, 16), java_bucket(key, 32)),
            (b16, b32),
            "{key}"
        );
    }
    assert_eq!(java_string_hash("hello"), 99_162_322);
    // Wrapping int arithmetic, as Java's.
    assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
    // Over UTF-16 units: U+1F600 is two.
    assert_eq!(java_string_hash("\u{1f600}"), 0xd83d * 31 + 0xde00);
}

#[test]
fn the_section_2_2_test_vector() {
    let want = r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-docId":"5f1c2d3e4a5b6c7d8e9f0a1b","XroadVnpt-filePath":"xml","XroadVnpt-timestamp":"07122026T071918+0583","XroadVnpt-Content-Type":"application/json"}"#;
    // docId and filePath sit in different buckets: either textual order gives the same.
    for json in [
        r#"{"filePath":"xml","docId":"5f1c2d3e4a5b6c7d8e9f0a1b"}"#,
        r#"{"docId":"5f1c2d3e4a5b6c7d8e9f0a1b","filePath":"xml"}"#,
    ] {
        let mut svc = SdkService::with_timestamp(OFFLINE, A, SECRET, "07122026T071918+0583");
        let s = signed(&mut svc, Op::GetEdoc, json);
        assert_eq!(s.sign_header, want);
        assert_eq!(
            s.hash_header,
            "78456192d0fc58e8bc249b39acf61f64624ad71328653d5004c2e544adb9c398"
        );
        assert_eq!(
            s.sign_header_key,
            "systemid;docId;filePath;timestamp;Content-Type"
        );
    }
}

#[test]
fn every_cap_row_of_section_5_signs_as_captured() {
    let ts = |ms: &str| format!("07122026T071918+{ms}");
    let rows = [
        (
            Op::UpdateStatus,
            "0618",
            r#"{"status":"done","docId":"5f1c2d3e4a5b6c7d8e9f0a1b"}"#,
            r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-docId":"5f1c2d3e4a5b6c7d8e9f0a1b","XroadVnpt-timestamp":"07122026T071918+0618","XroadVnpt-Content-Type":"application/json","XroadVnpt-status":"done"}"#,
            "1427c0642aee25b72c8d59582fc04b089c3e84db0c7c27d02c375a8dffc5e070",
        ),
        (
            Op::CountReceiveEdoc,
            "0626",
            r#"{"servicetype":"eDoc","messagetype":"edoc"}"#,
            r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-servicetype":"eDoc","XroadVnpt-messagetype":"edoc","XroadVnpt-timestamp":"07122026T071918+0626","XroadVnpt-Content-Type":"application/json"}"#,
            "1d56716e23e7512fad6a6ac6b4708a904c8641ca4028e3a9176ce1c8f6beed0b",
        ),
        (
            Op::CountReceiveStatus,
            "0710",
            r#"{"servicetype":"eDoc","messagetype":"status"}"#,
            r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-servicetype":"eDoc","XroadVnpt-messagetype":"status","XroadVnpt-timestamp":"07122026T071918+0710","XroadVnpt-Content-Type":"application/json"}"#,
            "d354a7ac24fb45aeb3a4ff468722d0976af76ad8b089353a79d9d452a393a223",
        ),
        (
            Op::DownloadEdoc,
            "0746",
            r#"{"filePath":"xml","docId":"5f1c2d3e4a5b6c7d8e9f0a1b"}"#,
            r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-docId":"5f1c2d3e4a5b6c7d8e9f0a1b","XroadVnpt-filePath":"xml","XroadVnpt-timestamp":"07122026T071918+0746","XroadVnpt-Content-Type":"application/json"}"#,
            "d976048f0692a1b9f2b65454b1a8006fb3b0881a5ed97c20ae4503b0985ee752",
        ),
        (
            Op::GetAgenciesListQd20,
            "0796",
            r#"{"level":"1"}"#,
            r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-level":"1","XroadVnpt-timestamp":"07122026T071918+0796","XroadVnpt-Content-Type":"application/json"}"#,
            "91771864312039589d948bb6c3eabd963d89491a8ea9ff6d4599fa94b9754e8f",
        ),
        (
            Op::GetSynchronizeUnit,
            "0810",
            "{}",
            r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-timestamp":"07122026T071918+0810","XroadVnpt-Content-Type":"application/json"}"#,
            "dbdbf0fd68f25d658c524845caf650090fc4390ee81ea7d6f8066ebb41fd831b",
        ),
        (
            Op::RegisterAgency,
            "0833",
            "{}",
            r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-timestamp":"07122026T071918+0833","XroadVnpt-Content-Type":"application/json"}"#,
            "83d934f2eec54bfdc19a5b8d1163fe9a60a39e6617435b38128ec9c833f722fb",
        ),
        (
            Op::DeleteAgency,
            "0843",
            r#"{"AgencyCode":"000.00.09.H53"}"#,
            r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-AgencyCode":"000.00.09.H53","XroadVnpt-timestamp":"07122026T071918+0843","XroadVnpt-Content-Type":"application/json"}"#,
            "cb872a219e1c59b9c2dbbe39e079c5328a0f31049c3a2ab9c98d17b9316b6aea",
        ),
    ];
    for (op, ms, json, sign_header, hash) in rows {
        let mut svc = SdkService::with_timestamp(OFFLINE, A, SECRET, &ts(ms));
        let s = signed(&mut svc, op, json);
        assert_eq!(s.sign_header, sign_header, "{}", op.name());
        assert_eq!(s.hash_header, hash, "{}", op.name());
    }
}

#[test]
fn capture_a_5_carries_stale_keys() {
    let dir = TempDir::new("a5");
    let file = dir.file("status.edxml", b"<edXML/>\n");
    let mut svc = SdkService::with_timestamp(OFFLINE, A, SECRET, "07122026T001357+0244");
    let send = r#"{"from":"000.00.00.H53","servicetype":"eDoc","messagetype":"edoc"}"#;
    svc.sign_call(Op::SendEdoc, send, Some(&file))
        .expect("sendEdoc");
    // The capture's file is not ours: a list call whose JSON names `hash-file` gives the key
    // the captured value in place, as the SDK would (§3: the call JSON can set any key).
    let list = r#"{"servicetype":"eDoc","messagetype":"edoc","hash-file":"43584712d2c2b071e8cec380c13e88cea639262f48b27cb78bec9828f81f0b5"}"#;
    signed(&mut svc, Op::GetReceivedEdocList, list);
    let s = signed(
        &mut svc,
        Op::GetSentEdocList,
        r#"{"servicetype":"eDoc","messagetype":"edoc","docId":"null"}"#,
    );
    assert_eq!(
        s.sign_header,
        r#"{"XroadVnpt-systemid":"000.00.00.H53","XroadVnpt-servicetype":"eDoc","XroadVnpt-messagetype":"edoc","XroadVnpt-hash-file":"43584712d2c2b071e8cec380c13e88cea639262f48b27cb78bec9828f81f0b5","XroadVnpt-docId":"null","XroadVnpt-from":"000.00.00.H53","XroadVnpt-timestamp":"07122026T001357+0244","XroadVnpt-Content-Type":"application/json"}"#
    );
}

#[test]
fn section_3_orders_stale_keys_and_resizes_above_12() {
    let dir = TempDir::new("order");
    let file = dir.file("doc.edxml", b"<edXML/>\n");
    let mut svc = SdkService::with_timestamp(OFFLINE, A, SECRET, "07122026T071918+0583");
    svc.sign_call(
        Op::SendEdoc,
        r#"{"from":"000.00.00.H53","servicetype":"eDoc","messagetype":"edoc"}"#,
        Some(&file),
    )
    .expect("sendEdoc");
    signed(&mut svc, Op::GetEdoc, r#"{"filePath":"xml","docId":"d1"}"#);
    signed(
        &mut svc,
        Op::UpdateStatus,
        r#"{"status":"done","docId":"d1"}"#,
    );
    let s = signed(
        &mut svc,
        Op::GetReceivedEdocList,
        r#"{"servicetype":"eDoc","messagetype":"edoc"}"#,
    );
    assert_eq!(
        s.sign_header_key,
        "systemid;servicetype;messagetype;hash-file;docId;filePath;from;timestamp;Content-Type;status"
    );
    assert_eq!(svc.header_map().capacity(), 16);
    let s = signed(
        &mut svc,
        Op::GetReceivedEdocList,
        r#"{"servicetype":"eDoc","messagetype":"edoc","a1":"1","a2":"2","a3":"3"}"#,
    );
    assert_eq!(
        s.sign_header_key,
        "systemid;messagetype;docId;filePath;a1;a2;servicetype;a3;hash-file;from;timestamp;Content-Type;status"
    );
    assert_eq!(svc.header_map().capacity(), 32);
    // The headers follow the same order, plain Content-Type just before its twin (§2.5).
    let names: Vec<&str> = s.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names[10..14],
        [
            "XroadVnpt-timestamp",
            "Content-Type",
            "XroadVnpt-Content-Type",
            "XroadVnpt-status"
        ]
    );
}

#[test]
fn hash_file_is_unpadded_hex() {
    let digest = hex::decode("134968aaf68bc05b269c69e49bcd900775c7c23bd7a986529b69c93f01334be1")
        .expect("hex");
    assert_eq!(
        unpadded_hex(&digest),
        "134968aaf68bc05b269c69e49bcd90775c7c23bd7a986529b69c93f1334be1"
    );
    use sha2::Digest as _;
    let file = b"<edXML/>";
    let padded = hex::encode(sha2::Sha256::digest(file));
    let want: String = padded
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .expect("hex")
                .trim_start_matches('0')
        })
        .map(|s| if s.is_empty() { "0" } else { s })
        .collect();
    assert_eq!(hash_file_text(file), want);
}

#[test]
fn send_edoc_signs_to_as_its_json_text() {
    let dir = TempDir::new("to");
    let file = dir.file("doc.edxml", b"<edXML/>\n");
    let mut svc = SdkService::with_timestamp(OFFLINE, A, SECRET, "07122026T071918+0583");
    let json = r#"{"from":"000.00.00.H53","to":"000.00.01.H53","servicetype":"eDoc","messagetype":"edoc"}"#;
    let s = svc
        .sign_call(Op::SendEdoc, json, Some(&file))
        .expect("sendEdoc")
        .expect("signed");
    assert!(
        s.sign_header
            .contains(r#""XroadVnpt-to":"\"000.00.01.H53\"""#)
    );
    assert!(
        s.headers
            .contains(&("XroadVnpt-to".to_owned(), "\"000.00.01.H53\"".to_owned()))
    );
    let json = r#"{"from":"A","to":["A", "B"],"servicetype":"eDoc","messagetype":"edoc"}"#;
    svc.sign_call(Op::SendEdoc, json, Some(&file))
        .expect("sendEdoc");
    assert_eq!(svc.header_map().get("to"), Some(r#"["A","B"]"#));
    // Elsewhere `to` is read as any value: its text.
    signed(&mut svc, Op::GetReceivedEdocList, r#"{"to":"X"}"#);
    assert_eq!(svc.header_map().get("to"), Some("X"));
}

#[test]
fn timestamp_is_set_once_in_vietnam_time() {
    assert_eq!(
        format_timestamp(1_796_602_758_583, VIETNAM_UTC_OFFSET_SECS),
        "07122026T071918+0583"
    );
    assert_eq!(format_timestamp(5, 0), "01011970T000000+0005");
    assert_eq!(format_timestamp(-1, 0), "31121969T235959+0999");
    let svc = SdkService::new(OFFLINE, A, SECRET);
    let ts = svc.timestamp().as_bytes();
    assert_eq!(ts.len(), 20);
    assert_eq!((ts[8], ts[15], ts[16]), (b'T', b'+', b'0'));
    let utc = SdkService::with_utc_offset(OFFLINE, A, SECRET, 0);
    assert_eq!(utc.timestamp().len(), 20);
}

#[test]
fn call_json_is_read_like_gson() {
    let mut svc = SdkService::with_timestamp(OFFLINE, A, SECRET, "07122026T071918+0583");
    signed(
        &mut svc,
        Op::GetEdoc,
        "{'docId':0dbcb61d-e30e-4f, level=5; flag:true, one:[\"x\"]} // done",
    );
    let map = svc.header_map();
    assert_eq!(map.get("docId"), Some("0dbcb61d-e30e-4f"));
    assert_eq!(map.get("level"), Some("5"));
    assert_eq!(map.get("flag"), Some("true"));
    assert_eq!(map.get("one"), Some("x"));
    for bad in [
        r#"{"a":"1","b":null,"c":"3"}"#,
        r#"{"b":{"x":1}}"#,
        r#"{"b":["x","y"]}"#,
        r#"{"b":"1"} trailing"#,
        "[]",
        "",
    ] {
        let err = svc.sign_call(Op::UpdateStatus, bad, None).unwrap_err();
        assert!(matches!(err, SdkError::CallJson(_)), "{bad}: {err}");
    }
    // Entries before the bad one stay in the map, as in the SDK.
    assert_eq!(svc.header_map().get("a"), Some("1"));
    assert_eq!(svc.header_map().get("c"), None);
    // A call JSON `systemid`/`timestamp` replaces the SDK's for later calls too (§3).
    signed(
        &mut svc,
        Op::GetReceivedEdocList,
        r#"{"systemid":"X","timestamp":"T"}"#,
    );
    let s = signed(&mut svc, Op::GetSynchronizeUnit, "{}");
    assert!(s.sign_header.contains(r#""XroadVnpt-systemid":"X","#));
    assert!(s.sign_header.contains(r#""XroadVnpt-timestamp":"T""#));
}

// ---- transport, over loopback -----------------------------------------------------------

const CAPTURE_B1: &str = "POST /getReceivedEdocList HTTP/1.1
XroadVnpt-systemid: 000.00.01.H53
XroadVnpt-servicetype: eDoc
XroadVnpt-messagetype: edoc
XroadVnpt-timestamp: 07122026T001357+0348
Content-Type: application/json
XroadVnpt-Content-Type: application/json
XroadVnpt-sign-header-key: systemid;servicetype;messagetype;timestamp;Content-Type
XroadVnpt-sign-header: {\"XroadVnpt-systemid\":\"000.00.01.H53\",\"XroadVnpt-servicetype\":\"eDoc\",\"XroadVnpt-messagetype\":\"edoc\",\"XroadVnpt-timestamp\":\"07122026T001357+0348\",\"XroadVnpt-Content-Type\":\"application/json\"}
XroadVnpt-hash-header: 343bf14aeed577f355693130dd9c91da793a589a8a2a62eba87c84fe8f73bc54
User-Agent: JAVASDKAgent/1.0.0 XRoad/VPCP
XroadVnpt-version: 3.0.201608
Content-Length: 0
Host: 127.0.0.1:40027";

const CAPTURE_B3: &str = "POST /sendEdoc HTTP/1.1
Content-Type: application/octet-stream
XroadVnpt-systemid: 000.00.01.H53
XroadVnpt-servicetype: eDoc
XroadVnpt-messagetype: status
XroadVnpt-hash-file: 134968aaf68bc05b269c69e49bcd90775c7c23bd7a986529b69c93f1334be1
XroadVnpt-from: 000.00.01.H53
XroadVnpt-timestamp: 07122026T001357+0348
XroadVnpt-Content-Type: application/octet-stream
XroadVnpt-sign-header-key: systemid;servicetype;messagetype;hash-file;from;timestamp;Content-Type
XroadVnpt-sign-header: {\"XroadVnpt-systemid\":\"000.00.01.H53\",\"XroadVnpt-servicetype\":\"eDoc\",\"XroadVnpt-messagetype\":\"status\",\"XroadVnpt-hash-file\":\"134968aaf68bc05b269c69e49bcd90775c7c23bd7a986529b69c93f1334be1\",\"XroadVnpt-from\":\"000.00.01.H53\",\"XroadVnpt-timestamp\":\"07122026T001357+0348\",\"XroadVnpt-Content-Type\":\"application/octet-stream\"}
XroadVnpt-hash-header: a15087dff97dac6667c180a83fd0ef3c9c64fea7f0601b7f2a92f5076e4b9e37
User-Agent: JAVASDKAgent/1.0.0 XRoad/VPCP
XroadVnpt-version: 3.0.201608
Cache-Control: no-cache
Pragma: no-cache
Host: 127.0.0.1:40027";

/// The capture's lines with our Host; the hash-header compared by name only (their secret
/// is not ours).
fn assert_head_matches(sent: &[String], capture: &str, host: &str) {
    let want: Vec<String> = capture
        .replace("127.0.0.1:40027", host)
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(sent.len() >= want.len(), "{sent:#?}");
    for (got, want) in sent.iter().zip(&want) {
        if want.starts_with("XroadVnpt-hash-header: ") {
            assert!(got.starts_with("XroadVnpt-hash-header: "), "{got}");
        } else {
            assert_eq!(got, want);
        }
    }
}

#[test]
fn capture_b_list_then_send_edoc_on_one_object() {
    let list_answer = r#"{"status":"OK","ErrorCode":"0","ErrorDesc":"","data":[{"docId":"20c52484","status":"pending","status_desc":"Chờ nhận","serviceType":"eDoc","messageType":"edoc","created_time":"2026/12/07 07:07:03","updated_time":"2026/12/07 07:07:04","from":"000.00.00.H53","to":"000.00.01.H53","contentLength":12}]}"#;
    let send_answer =
        r#"{"status":"OK","ErrorCode":"0","ErrorDesc":"Th\u00e0nh c\u00f4ng","DocId":"d9"}"#;
    let (endpoint, server) = serve(vec![
        turn(http("200 OK", list_answer)),
        turn(http("200 OK", send_answer)),
    ]);
    let host = endpoint.trim_start_matches("http://").to_owned();
    let mut svc = SdkService::with_timestamp(&endpoint, B, SECRET, "07122026T001357+0348");

    let list = svc
        .get_received_edoc_list(r#"{"servicetype":"eDoc","messagetype":"edoc"}"#)
        .expect("call")
        .expect("result");
    let ex = svc.last_exchange().expect("exchange").clone();
    let lines = ex.request_lines();
    assert_head_matches(&lines, CAPTURE_B1, &host);
    assert_eq!(
        lines[14..],
        ["Connection: Keep-Alive", "Accept-Encoding: gzip,deflate"]
    );
    assert!(ex.request_body().is_empty());
    let s = ex.signed.as_ref().expect("signed");
    assert_eq!(s.hash_header, hmac_hex(SECRET, &s.sign_header));
    assert_eq!(ex.expect, ExpectOutcome::NoExpect);
    ex.check_strict().expect("strict");
    assert!(list.envelope.is_success());
    let items = list.data.expect("items");
    assert_eq!(items[0].id.as_deref(), Some("20c52484"));
    assert_eq!(items[0].status_desc.as_deref(), Some("Chờ nhận"));
    assert_eq!(items[0].to.as_deref(), Some(B));

    // A 1679-byte status file, like the capture's (whose bytes we lack: its hash-file differs).
    let dir = TempDir::new("b3");
    let mut file = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">".to_vec();
    let tail = b"</edXML>\n";
    file.resize(1679 - tail.len(), b' ');
    file.extend_from_slice(tail);
    let path = dir.file("status.edxml", &file);
    let ours = hash_file_text(&file);
    let sent = svc
        .send_edoc(
            r#"{"from":"000.00.01.H53","servicetype":"eDoc","messagetype":"status"}"#,
            &path,
        )
        .expect("call")
        .expect("result");
    let ex = svc.last_exchange().expect("exchange");
    let lines = ex.request_lines();
    let capture = CAPTURE_B3.replace(
        "134968aaf68bc05b269c69e49bcd90775c7c23bd7a986529b69c93f1334be1",
        &ours,
    );
    assert_head_matches(&lines, &capture, &host);
    assert_eq!(
        lines[17..],
        [
            format!("Accept: {JVM_ACCEPT}"),
            "Connection: keep-alive".to_owned(),
            "Content-Length: 1681".to_owned()
        ]
    );
    let mut body = file.clone();
    body.extend_from_slice(b"\r\n");
    assert_eq!(ex.request_body(), body);
    ex.check_strict().expect("strict");
    assert_eq!(sent.doc_id.as_deref(), Some("d9"));
    assert_eq!(sent.envelope.error_desc.as_deref(), Some("Thành công"));

    // The SDK leaves both connections open; so does this server.
    let (requests, _kept) = server.join().expect("server");
    assert_eq!(requests[1], svc.exchanges()[1].request);
    for call in 0..2 {
        assert_eq!(
            svc.peer_state(call, Duration::from_millis(100))
                .expect("state"),
            PeerState::Open
        );
    }
}

#[test]
fn expect_continue_answered_at_once_then_get_edoc_writes_the_file() {
    let edxml = "<edXML>Việt Nam</edXML>";
    let standard = base64_simd::STANDARD.encode_to_string(edxml);
    let url_safe = base64_simd::URL_SAFE_NO_PAD.encode_to_string(edxml);
    let url_safe = format!("{}\n {}", &url_safe[..10], &url_safe[10..]);
    let answer = |b64: &str| {
        http(
            "200 OK",
            &format!(r#"{{"status":"OK","ErrorCode":"0","ErrorDesc":"","data":"{b64}"}}"#),
        )
    };
    let (endpoint, server) = serve(vec![
        turn(answer(&standard)),
        turn(answer(&url_safe.replace('\n', "\\n"))),
        Turn {
            answer_first: true,
            ..turn(http(
                "401 Unauthorized",
                r#"{"status":"FAIL","ErrorCode":"401","ErrorDesc":"sai chữ ký"}"#,
            ))
        },
    ]);
    let dir = TempDir::new("getedoc");
    let mut svc = SdkService::new(&endpoint, A, SECRET);
    let json = format!(r#"{{"filePath":"{}","docId":"{DOC}"}}"#, dir.0.display());
    let got = svc.get_edoc(&json).expect("call").expect("result");
    let ex = svc.last_exchange().expect("exchange");
    assert_eq!(ex.expect, ExpectOutcome::Continued);
    assert_eq!(ex.interim, [100]);
    assert_eq!(ex.request_body(), b"{}");
    let lines = ex.request_lines();
    let n = lines.len();
    assert_eq!(
        lines[n - 5..],
        [
            "Content-Length: 2".to_owned(),
            format!("Host: {}", endpoint.trim_start_matches("http://")),
            "Connection: Keep-Alive".to_owned(),
            "Expect: 100-continue".to_owned(),
            "Accept-Encoding: gzip,deflate".to_owned(),
        ]
    );
    ex.check_strict().expect("strict");
    assert_eq!(got.data.as_deref(), Some(edxml));
    let path = dated(&dir.0, DOC);
    assert_eq!(got.file_path.as_deref(), Some(path.as_path()));
    assert_eq!(std::fs::read_to_string(&path).expect("file"), edxml);

    // URL-safe, unpadded, with whitespace: the SDK decodes it all the same; strict does not.
    let got = svc
        .get_edoc(&format!(r#"{{"docId":"{DOC}"}}"#))
        .expect("call")
        .expect("result");
    assert_eq!(got.data.as_deref(), Some(edxml));
    assert_eq!(got.file_path, None);
    assert!(svc.last_exchange().expect("ex").check_strict().is_err());

    // A final answer before the body: HttpClient never sends the body.
    let got = svc
        .update_status(r#"{"status":"done","docId":"x"}"#)
        .expect("call")
        .expect("result");
    let ex = svc.last_exchange().expect("exchange");
    assert_eq!(ex.expect, ExpectOutcome::AnsweredFirst);
    assert!(ex.request_body().is_empty());
    assert_eq!(ex.status, 401);
    ex.check_strict_failure().expect("strict failure");
    assert!(got.is_fail());
    server.join().expect("server");
}

#[test]
fn expect_continue_without_an_answer_sends_the_body_after_3_s() {
    let (endpoint, server) = serve(vec![Turn {
        send_continue: false,
        ..turn(http(
            "200 OK",
            r#"{"status":"OK","ErrorCode":"0","ErrorDesc":""}"#,
        ))
    }]);
    let mut svc = SdkService::new(&endpoint, A, SECRET);
    let started = Instant::now();
    let got = svc
        .update_status(r#"{"status":"done","docId":"x"}"#)
        .expect("call")
        .expect("result");
    assert!(started.elapsed() >= Duration::from_millis(2900));
    let ex = svc.last_exchange().expect("exchange");
    assert_eq!(ex.expect, ExpectOutcome::TimedOut);
    assert!(ex.interim.is_empty());
    assert_eq!(ex.request_body(), b"{}");
    assert!(got.is_success());
    server.join().expect("server");
}

#[test]
fn transport_reads_chunked_and_close_framed_answers_and_sees_closes() {
    let mut chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for part in [
        r#"{"sta"#,
        r#"tus":"OK","ErrorCode":0,"ErrorDesc":"","count""#,
        r#":"2"}"#,
    ] {
        chunked.extend_from_slice(format!("{:x};ext=1\r\n{part}\r\n", part.len()).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\nX-Trailer: 1\r\n\r\n");
    let close_framed =
        b"HTTP/1.0 200 OK\r\n\r\n{\"status\":\"OK\",\"ErrorCode\":\"0\",\"ErrorDesc\":\"\"}"
            .to_vec();
    let (endpoint, server) = serve(vec![
        turn(chunked),
        Turn {
            close: true,
            ..turn(close_framed)
        },
    ]);
    // A trailing `/` gives `//op` (§1).
    let mut svc = SdkService::new(&format!("{endpoint}/"), A, SECRET);
    let count = svc
        .count_receive_edoc(r#"{"servicetype":"eDoc","messagetype":"edoc"}"#)
        .expect("call")
        .expect("result");
    assert_eq!(count.count, 2);
    assert_eq!(count.envelope.error_code.as_deref(), Some("0"));
    assert_eq!(
        svc.exchanges()[0].request_lines()[0],
        "POST //countReceiveEdoc HTTP/1.1"
    );
    // ErrorCode a number: the SDK reads it, strict does not.
    assert!(svc.exchanges()[0].check_strict().is_err());
    let got = svc
        .delete_agency(r#"{"AgencyCode":"000.00.09.H53"}"#)
        .expect("call")
        .expect("result");
    assert!(got.is_success());
    let (_requests, _kept) = server.join().expect("server");
    assert_eq!(
        svc.peer_state(1, Duration::from_secs(5)).expect("state"),
        PeerState::Closed
    );
    assert_eq!(
        svc.peer_state(0, Duration::from_millis(50)).expect("state"),
        PeerState::Open
    );
}

#[test]
fn downloads_save_the_raw_body() {
    let (endpoint, server) = serve(vec![
        turn(http("200 OK", "<edXML/>")),
        turn(http("404 Not Found", "")),
        turn(http("200 OK", "<edXML>2</edXML>")),
    ]);
    let dir = TempDir::new("download");
    let mut svc = SdkService::new(&format!("{endpoint}/prefix"), A, SECRET);
    let json = format!(r#"{{"filePath":"{}","docid":"{DOC}"}}"#, dir.0.display());
    let got = svc.download_edoc(&json).expect("call");
    let path = dated(&dir.0, DOC);
    assert_eq!(
        (got.status.as_str(), got.error_code.as_str()),
        ("SUCCESS", "0")
    );
    assert_eq!(got.file_path, path.to_string_lossy());
    assert_eq!(std::fs::read(&path).expect("file"), b"<edXML/>");
    let ex = svc.last_exchange().expect("exchange");
    let lines = ex.request_lines();
    assert_eq!(lines[0], "GET /prefix/downloadEdoc HTTP/1.1");
    assert!(lines.contains(&"Content-Type: application/json".to_owned()));
    assert!(lines.contains(&"XroadVnpt-docid: 5f1c2d3e4a5b6c7d8e9f0a1b".to_owned()));
    assert!(!lines.iter().any(|l| l.starts_with("Content-Length")));
    assert!(!lines.iter().any(|l| l.starts_with("Expect")));
    ex.check_strict().expect("strict");

    let got = svc.download_edoc(&json).expect("call");
    assert_eq!(
        (
            got.status.as_str(),
            got.error_code.as_str(),
            got.file_path.as_str()
        ),
        ("FAIL", "100", "")
    );
    assert_eq!(std::fs::read(&path).expect("empty file left"), b"");

    let got = svc.download_edoc2(&json).expect("call");
    assert_eq!(got.status, "SUCCESS");
    let lines = svc.last_exchange().expect("exchange").request_lines();
    assert_eq!(
        lines,
        [
            "GET /prefix/downloadEdoc HTTP/1.1".to_owned(),
            format!("Host: {}", endpoint.trim_start_matches("http://")),
            "Connection: Keep-Alive".to_owned(),
            format!("User-Agent: {DOWNLOAD_EDOC2_USER_AGENT}"),
            "Accept-Encoding: gzip,deflate".to_owned(),
        ]
    );
    server.join().expect("server");
}

#[test]
fn agency_calls() {
    let agencies = r#"{"status":"OK","ErrorCode":"0","ErrorDesc":"","data":[{"id":"1","pid":"0","code":"000.00.01.H53","name":"Sở","mail":"a@b.vn","oldCode":""}]}"#;
    let qd20 = r#"{"status":"OK","ErrorCode":"0","ErrorDesc":"","data":[{"id":"1","code":"000.00.01.H53","name":"Sở","mail":"a@b.vn","code102":"H53"}]}"#;
    let units = r#"{"status":"OK","ErrorCode":"0","ErrorDesc":"","data":[{"id":"1","pid":"0","code":"C","name":"N","mail":"m","centerCode":"cc","modifyDate":"2026-12-07","version":3,"deleted":false,"isAgency":true}]}"#;
    let ok = r#"{"status":"OK","ErrorCode":"0","ErrorDesc":""}"#;
    let (endpoint, server) = serve(vec![
        turn(http("200 OK", agencies)),
        turn(http("200 OK", qd20)),
        turn(http("200 OK", units)),
        turn(http("200 OK", ok)),
    ]);
    let mut svc = SdkService::new(&endpoint, A, SECRET);
    let got = svc.get_agencies_list("{}").expect("call").expect("result");
    assert_eq!(got.data.expect("items")[0].code.as_deref(), Some(B));
    let lines = svc.exchanges()[0].request_lines();
    assert!(lines.contains(&"Content-Length: 0".to_owned()));
    assert!(!lines.iter().any(|l| l.starts_with("Expect")));
    let got = svc
        .get_agencies_list_qd20(r#"{"level":"1"}"#)
        .expect("call")
        .expect("result");
    assert_eq!(got.data.expect("items")[0].code102.as_deref(), Some("H53"));
    let got = svc
        .get_synchronize_unit("{}")
        .expect("call")
        .expect("result");
    let unit = &got.data.expect("items")[0];
    assert_eq!(
        (unit.version, unit.deleted, unit.is_agency),
        (Some(3), Some(false), Some(true))
    );
    let data = r#"{"id":"","pcode":"000.00.00.H53","code":"000.00.09.H53","name":"Don vi thu","mail":"t@example.gov.vn","mobile":"","fax":""}"#;
    let got = svc
        .register_agency("{}", data)
        .expect("call")
        .expect("result");
    assert!(got.is_success());
    let ex = svc.last_exchange().expect("exchange");
    assert_eq!(ex.request_body(), data.as_bytes());
    assert_eq!(ex.request_body().len(), 123);
    assert_eq!(ex.expect, ExpectOutcome::Continued);
    for ex in svc.exchanges() {
        ex.check_strict().expect("strict");
    }
    server.join().expect("server");
}

#[test]
fn send_edoc_reads_its_answer_as_ascii() {
    let raw_utf8 = r#"{"status":"FAIL","ErrorCode":"401","ErrorDesc":"Thành","DocId":""}"#;
    let (endpoint, server) = serve(vec![
        turn(http("200 OK", raw_utf8)),
        turn(http("500 Internal Server Error", "")),
        turn(http("200 OK", "")),
    ]);
    let dir = TempDir::new("ascii");
    let file = dir.file("doc.edxml", b"<edXML/>\n");
    let json = r#"{"from":"000.00.00.H53","servicetype":"eDoc","messagetype":"edoc"}"#;
    let mut svc = SdkService::new(&endpoint, A, SECRET);
    let got = svc.send_edoc(json, &file).expect("call").expect("result");
    assert_eq!(
        got.envelope.error_desc.as_deref(),
        Some("Th\u{fffd}\u{fffd}nh")
    );
    assert_eq!(got.doc_id.as_deref(), Some(""));
    let err = svc.exchanges()[0].check_strict_failure().unwrap_err();
    assert!(err.to_string().contains("ASCII"), "{err}");
    assert_eq!(svc.send_edoc(json, &file).expect("call"), None);
    assert_eq!(
        svc.send_edoc(json, &file).expect("call"),
        Some(SendEdocResult::default())
    );
    let missing = dir.0.join("missing.edxml");
    assert!(matches!(
        svc.send_edoc(json, &missing),
        Err(SdkError::File(..))
    ));
    server.join().expect("server");
}

#[test]
fn tampered_requests() {
    let ok = r#"{"status":"OK","ErrorCode":"0","ErrorDesc":"","DocId":"d"}"#;
    let (endpoint, server) = serve(vec![turn(http("200 OK", ok)), turn(http("200 OK", ok))]);
    let dir = TempDir::new("tamper");
    let file = dir.file("doc.edxml", b"<edXML/>\n");
    let mut svc = SdkService::new(&endpoint, A, SECRET);
    svc.tamper_next_call(Tamper {
        headers: vec![("XroadVnpt-docId".to_owned(), Some("other".to_owned()))],
        body: None,
    });
    svc.get_edoc(&format!(r#"{{"docId":"{DOC}"}}"#))
        .expect("call");
    let ex = svc.last_exchange().expect("exchange");
    assert!(
        ex.request_lines()
            .contains(&"XroadVnpt-docId: other".to_owned())
    );
    let signed = ex.signed.as_ref().expect("signed");
    assert!(signed.sign_header.contains(DOC));

    svc.tamper_next_call(Tamper {
        headers: Vec::new(),
        body: Some(b"<edXML>changed</edXML>\r\n".to_vec()),
    });
    let json = r#"{"from":"000.00.00.H53","servicetype":"eDoc","messagetype":"edoc"}"#;
    svc.send_edoc(json, &file).expect("call");
    let ex = svc.last_exchange().expect("exchange");
    assert_eq!(ex.request_body(), b"<edXML>changed</edXML>\r\n");
    assert!(
        ex.request_lines()
            .contains(&"Content-Length: 24".to_owned())
    );
    assert_eq!(
        svc.header_map().get("hash-file"),
        Some(hash_file_text(b"<edXML/>\n").as_str())
    );

    // Another secret, the same state: the same sign-header, another hash.
    let mut wrong = svc.with_other_secret("not-the-secret");
    let a = signed_pair(&mut svc);
    let b = signed_pair(&mut wrong);
    assert_eq!(a.0, b.0);
    assert_ne!(a.1, b.1);
    server.join().expect("server");
}

fn signed_pair(svc: &mut SdkService) -> (String, String) {
    let s = signed(svc, Op::GetSynchronizeUnit, "{}");
    (s.sign_header, s.hash_header)
}

// ---- answers -------------------------------------------------------------------------------

#[test]
fn bad_answers_read_as_the_sdk_does() {
    let env = |status: &str, code: &str| Envelope {
        status: Some(status.to_owned()),
        error_code: Some(code.to_owned()),
        error_desc: Some(String::new()),
    };
    // Not JSON: the received list fabricates a success, the others give null.
    for text in [
        "<html>502</html>",
        r#"{"status":"OK"} x"#,
        r#"{"status":"O"#,
    ] {
        let got = read_list::<Knobstick>(text, true).expect("fabricated");
        assert_eq!(got.envelope.error_desc.as_deref(), Some("Success"));
        assert_eq!(got.data, Some(Vec::new()));
        assert_eq!(read_list::<StatusResult>(text, false), None);
        assert_eq!(read_envelope(text), None);
    }
    // Empty, cut after a value, envelope key missing or null: all fields null.
    for text in [
        "",
        "  ",
        r#"{"status":"OK","ErrorCode":"0""#,
        r#"{"status":"OK","ErrorCode":"0"}"#,
        r#"{"status":"OK","ErrorCode":null,"ErrorDesc":""}"#,
    ] {
        assert_eq!(
            read_list::<Knobstick>(text, true),
            Some(ListResult::default()),
            "{text}"
        );
        assert_eq!(read_envelope(text), Some(Envelope::default()), "{text}");
    }
    // Pretty JSON; a number ErrorCode; absent item keys skipped; a null item loses the list.
    let pretty = "{\n  \"status\": \"OK\",\r\n  \"ErrorCode\": 0,\n  \"ErrorDesc\": \"\",\n  \"data\": [{\"docId\": 7}]\n}";
    let got = read_list::<Knobstick>(pretty, true).expect("result");
    assert_eq!(got.envelope, env("OK", "0"));
    let item = &got.data.expect("items")[0];
    assert_eq!(
        (item.id.as_deref(), item.status.as_deref()),
        (Some("7"), None)
    );
    let nulled =
        r#"{"status":"OK","ErrorCode":"0","ErrorDesc":"","data":[{"docId":"a"},{"docId":null}]}"#;
    assert_eq!(
        read_list::<Knobstick>(nulled, true),
        Some(ListResult {
            envelope: env("OK", "0"),
            data: None
        })
    );
    let not_array = r#"{"status":"OK","ErrorCode":"0","ErrorDesc":"","data":{}}"#;
    assert_eq!(read_list::<Agency>(not_array, false).expect("r").data, None);
    let failed = r#"{"status":"FAIL","ErrorCode":"00","ErrorDesc":"","data":[]}"#;
    assert_eq!(read_list::<Agency>(failed, false).expect("r").data, None);
    // sendEdoc: DocId mandatory even on failure.
    let no_doc_id = r#"{"status":"FAIL","ErrorCode":"1","ErrorDesc":"x","docId":"d"}"#;
    assert_eq!(read_send_edoc(no_doc_id), Some(SendEdocResult::default()));
    // count: number or numeric string, 0 when absent, not read on FAIL.
    let count = |text: &str| read_count(text).expect("result").count;
    assert_eq!(
        count(r#"{"status":"OK","ErrorCode":"0","ErrorDesc":"","count":"12"}"#),
        12
    );
    assert_eq!(
        count(r#"{"status":"OK","ErrorCode":"0","ErrorDesc":""}"#),
        0
    );
    assert_eq!(
        count(r#"{"status":"FAIL","ErrorCode":"1","ErrorDesc":"","count":3}"#),
        0
    );
    // UnitSynchronize: a version that is no int loses the list.
    let bad_version = r#"{"status":"OK","ErrorCode":"0","ErrorDesc":"","data":[{"version":"x"}]}"#;
    assert_eq!(
        read_list::<UnitSynchronize>(bad_version, false)
            .expect("r")
            .data,
        None
    );
    // Lenient base64: standard or URL-safe, whitespace skipped, padding optional.
    assert_eq!(base64_lenient("PD94\nbWw-_w"), b"<?xml\x3e\xff");
    assert_eq!(base64_lenient("YQ=="), b"a");
}

#[test]
fn strict_view_names_what_is_missing() {
    let ok = |op, body: &str| check_strict(op, body.as_bytes());
    let item = r#"{"docId":"d","status":"pending","status_desc":"","serviceType":"eDoc","messageType":"edoc","created_time":"t","updated_time":"t","from":"A","to":"B"}"#;
    let list = format!(r#"{{"status":"OK","ErrorCode":"0","ErrorDesc":"","data":[{item}]}}"#);
    ok(Op::GetReceivedEdocList, &list).expect("complete");
    let err = ok(
        Op::GetReceivedEdocList,
        &list.replace(r#""status_desc":"","#, ""),
    )
    .unwrap_err();
    assert_eq!(err.op, Op::GetReceivedEdocList);
    assert!(err.to_string().contains("getReceivedEdocList"), "{err}");
    assert!(err.problem.contains("data[0].status_desc"), "{err}");
    let err = ok(
        Op::GetReceivedEdocList,
        &list.replace(r#""to":"B""#, r#""to":null"#),
    )
    .unwrap_err();
    assert!(err.problem.contains("data[0].to"), "{err}");
    let err = ok(
        Op::UpdateStatus,
        r#"{"status":"OK","ErrorCode":0,"ErrorDesc":""}"#,
    )
    .unwrap_err();
    assert!(err.problem.contains("ErrorCode"), "{err}");
    let err = ok(Op::DeleteAgency, r#"{"status":"OK","ErrorCode":"0"}"#).unwrap_err();
    assert!(err.problem.contains("ErrorDesc"), "{err}");
    let err = ok(
        Op::CountReceiveStatus,
        r#"{"status":"OK","ErrorCode":"0","ErrorDesc":"","count":"x"}"#,
    )
    .unwrap_err();
    assert!(err.problem.contains("count"), "{err}");
    ok(
        Op::CountReceiveStatus,
        r#"{"status":"OK","ErrorCode":"0","ErrorDesc":"","count":2}"#,
    )
    .expect("count");
    let err = ok(
        Op::SendEdoc,
        r#"{"status":"OK","ErrorCode":"0","ErrorDesc":""}"#,
    )
    .unwrap_err();
    assert!(err.problem.contains("DocId"), "{err}");
    let units = r#"{"status":"OK","ErrorCode":"0","ErrorDesc":"","data":[{"id":"1","pid":"0","code":"C","name":"N","mail":"m","centerCode":"c","modifyDate":"d","version":"3","deleted":false,"isAgency":true}]}"#;
    let err = ok(Op::GetSynchronizeUnit, units).unwrap_err();
    assert!(err.problem.contains("data[0].version"), "{err}");
    ok(Op::GetSynchronizeUnit, &units.replace(r#""3""#, "3")).expect("units");
    let err = ok(Op::DownloadEdoc, r#"{"status":"FAIL"}"#).unwrap_err();
    assert!(err.problem.contains("edXML"), "{err}");
    check_strict_failure(
        Op::SendEdoc,
        br#"{"status":"FAIL","ErrorCode":"401","ErrorDesc":"x","DocId":""}"#,
    )
    .expect("failure");
    let err = check_strict_failure(
        Op::GetEdoc,
        br#"{"status":"Fail","ErrorCode":"1","ErrorDesc":""}"#,
    )
    .unwrap_err();
    assert!(err.problem.contains("FAIL"), "{err}");
}
