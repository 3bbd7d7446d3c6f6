//! The axis-compatible API with real processes on loopback, driven the way the axis SDK's
//! client loop drives the national axis: a QLVB signs each call with its systemid, a
//! timestamp and HMAC-SHA256, sends documents and status messages with `sendEdoc`, polls
//! `getReceivedEdocList`, downloads with `getEdoc` and acknowledges with `updateStatus`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{KeyInit as _, Mac as _};
use lienthong_protocol::edxml::{self, Message};
use lienthong_protocol::envelope::Timestamp;
use lienthong_tests::{Federation, ProcessNode, samples_dir, wait_for};
use serde_json::Value;
use sha2::Digest as _;

const DEADLINE: Duration = Duration::from_secs(60);
const VPCP: &str = "000.00.00.G22";
const NGHE_AN: &str = "000.00.00.H41";
/// What the official samples' documents and statuses call document 7816.
const DOCUMENT_ID: &str = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT";

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(samples_dir().join(name)).expect("sample")
}

/// The SDK sample document, from `from` to `to`.
fn document(from: &str, to: &str) -> Vec<u8> {
    String::from_utf8(sample("edoc_new.edxml"))
        .expect("UTF-8")
        .replace("000.00.00.A80", from)
        .replace("28.22.H17", to)
        .into_bytes()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A QLVB's axis client: the SDK's headers, signed with the node's axis secret.
struct AxisClient {
    url: String,
    system_id: String,
    secret: Vec<u8>,
}

/// One answer: the HTTP status and the JSON body.
struct Answer {
    http: u16,
    json: Value,
}

impl Answer {
    fn is_ok(&self) -> bool {
        self.http == 200 && self.json["status"] == "OK" && self.json["ErrorCode"] == "0"
    }

    fn desc(&self) -> &str {
        self.json["ErrorDesc"].as_str().unwrap_or_default()
    }
}

impl AxisClient {
    fn of(node: &ProcessNode) -> AxisClient {
        let secret = std::fs::read_to_string(node.dir().join("axis.secret")).expect("secret");
        AxisClient {
            url: format!("http://{}", node.info().api_addr),
            system_id: node.info().organ_id.to_string(),
            secret: secret.trim().as_bytes().to_vec(),
        }
    }

    /// The time as the SDK writes it: `ddMMyyyy'T'HHmmss+SSSS`, on a server in Vietnam.
    fn timestamp() -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis();
        let vietnam = u64::try_from(now).expect("fits") + 7 * 3600 * 1000;
        // 2026-11-21T05:39:00.123Z
        let t = Timestamp::from_millis(vietnam).to_string();
        format!(
            "{}{}{}T{}{}{}+{:0>4}",
            &t[8..10],
            &t[5..7],
            &t[0..4],
            &t[11..13],
            &t[14..16],
            &t[17..19],
            &t[20..23]
        )
    }

    /// The SDK's authentication headers.
    fn auth_headers(&self) -> Vec<(String, String)> {
        let timestamp = AxisClient::timestamp();
        let message = serde_json::json!({"systemid": self.system_id, "timestamp": timestamp});
        // serde_json writes keys in order here: systemid, timestamp.
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.secret).expect("key");
        mac.update(message.to_string().as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        vec![
            ("systemid".into(), self.system_id.clone()),
            ("timestamp".into(), timestamp.clone()),
            ("XroadVnpt-systemid".into(), self.system_id.clone()),
            ("XroadVnpt-timestamp".into(), timestamp),
            (
                "XroadVnpt-sign-header-key".into(),
                "systemid;timestamp".into(),
            ),
            ("XroadVnpt-sign-header".into(), signature),
            ("XroadVnpt-version".into(), "3.0.201608".into()),
            ("User-Agent".into(), "JAVASDKAgent/1.0.0 XRoad/VPCP".into()),
        ]
    }

    /// `POST /<op>` with the SDK's header JSON as request headers.
    fn call(&self, op: &str, header: &[(&str, &str)]) -> Answer {
        self.post(op, header, None, self.auth_headers())
    }

    fn post(
        &self,
        op: &str,
        header: &[(&str, &str)],
        body: Option<(String, Vec<u8>)>,
        auth: Vec<(String, String)>,
    ) -> Answer {
        let (http, bytes) = self.post_raw(op, header, body, auth);
        let json = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{op} answered {http} with no JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        Answer { http, json }
    }

    fn post_raw(
        &self,
        op: &str,
        header: &[(&str, &str)],
        body: Option<(String, Vec<u8>)>,
        auth: Vec<(String, String)>,
    ) -> (u16, Vec<u8>) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut request = agent.post(format!("{}/{op}", self.url));
        for (name, value) in auth {
            request = request.header(name, value);
        }
        for (name, value) in header {
            request = request.header(*name, *value);
        }
        let mut response = match body {
            Some((content_type, bytes)) => request
                .header("Content-Type", content_type)
                .send(&bytes[..]),
            None => request.send_empty(),
        }
        .expect("the node answers");
        let http = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .expect("body");
        (http, bytes)
    }

    /// `sendEdoc` with `file` as the multipart part `file_doc`, as the SDK sends it.
    fn send_edoc(&self, header: &[(&str, &str)], file: &[u8]) -> Answer {
        self.send_edoc_hashed(header, file, &sha256_hex(file))
    }

    /// `sendEdoc` with `hash` as `hash-file`.
    fn send_edoc_hashed(&self, header: &[(&str, &str)], file: &[u8], hash: &str) -> Answer {
        let boundary = "----lienthong-axis-test-7816";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file_doc\"; filename=\"document.edxml\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut header = header.to_vec();
        header.push(("hash-file", hash));
        self.post(
            "sendEdoc",
            &header,
            Some((format!("multipart/form-data; boundary={boundary}"), body)),
            self.auth_headers(),
        )
    }

    /// The pending items of `getReceivedEdocList`.
    fn received(&self, messagetype: &str) -> Vec<Value> {
        let answer = self.call(
            "getReceivedEdocList",
            &[("servicetype", "eDoc"), ("messagetype", messagetype)],
        );
        assert!(answer.is_ok(), "getReceivedEdocList: {}", answer.json);
        answer.json["data"].as_array().cloned().unwrap_or_default()
    }

    /// The file of one item, decoded from `data`.
    fn get_edoc(&self, id: &str) -> Vec<u8> {
        let answer = self.call("getEdoc", &[("docId", id), ("filePath", "/tmp/qlvb")]);
        assert!(answer.is_ok(), "getEdoc {id}: {}", answer.json);
        base64_simd::STANDARD
            .decode_to_vec(answer.json["data"].as_str().expect("data"))
            .expect("base64")
    }

    fn update_status(&self, id: &str, status: &str) -> Answer {
        self.call("updateStatus", &[("docid", id), ("status", status)])
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| i["id"].as_str().map(str::to_owned))
        .collect()
}

/// How many packages `node` has sent: refused calls must leave it unchanged.
fn sent_count(node: &ProcessNode) -> usize {
    node.get_json("/api/v1/packages")
        .expect("list")
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn a_qlvb_on_the_axis_sdk_exchanges_documents_and_statuses_through_its_node() -> anyhow::Result<()>
{
    let federation = Federation::new("Trục tương thích")?;
    let vpcp = federation.start_node(VPCP, "Văn phòng Chính phủ")?;
    let nghe_an = federation.start_node(NGHE_AN, "UBND tỉnh Nghệ An")?;
    federation.wait_roster(&[&vpcp, &nghe_an])?;
    let a = AxisClient::of(&vpcp);
    let b = AxisClient::of(&nghe_an);

    // A's QLVB sends the sample document, as the SDK does.
    let file = document(VPCP, NGHE_AN);
    let sent = a.send_edoc(
        &[
            ("from", VPCP),
            ("servicetype", "eDoc"),
            ("messagetype", "edoc"),
        ],
        &file,
    );
    assert!(sent.is_ok(), "sendEdoc: {}", sent.json);
    let doc_id = sent.json["DocId"].as_str().expect("DocId").to_owned();
    // Sending the same file again is the same document.
    let again = a.send_edoc(&[("from", VPCP), ("messagetype", "edoc")], &file);
    assert_eq!(again.json["DocId"], doc_id.as_str(), "{}", again.json);

    // B's client loop: poll, download, acknowledge.
    let item = wait_for("the document in B's list", DEADLINE, || {
        b.received("edoc")
            .into_iter()
            .find(|i| i["id"] == doc_id.as_str())
    })?;
    assert_eq!(item["from"], VPCP);
    assert_eq!(item["to"], NGHE_AN);
    assert_eq!(item["messageType"], "edoc");
    assert_eq!(item["serviceType"], "eDoc");
    assert_eq!(item["contentSha256"], sha256_hex(&file).as_str());
    assert_eq!(item["contentLength"], file.len());
    assert_eq!(b.get_edoc(&doc_id), file, "the exact bytes A's QLVB sent");
    let raw = b.post_raw(
        "getEdoc",
        &[("docId", &doc_id), ("Accept", "application/xml")],
        None,
        b.auth_headers(),
    );
    assert_eq!(raw, (200, file.clone()), "the raw file when asked for XML");

    // "fail": B's QLVB could not process it; it is offered again.
    let failed = b.update_status(&doc_id, "fail");
    assert!(failed.is_ok(), "{}", failed.json);
    assert!(
        ids(&b.received("edoc")).contains(&doc_id),
        "a failed item reappears"
    );
    let done = b.update_status(&doc_id, "done");
    assert!(done.is_ok(), "{}", done.json);
    assert_eq!(done.json["newlyDone"], true);
    assert!(
        !ids(&b.received("edoc")).contains(&doc_id),
        "a done item is gone"
    );
    let repeated = b.update_status(&doc_id, "done");
    assert!(repeated.is_ok(), "done is idempotent: {}", repeated.json);
    assert_eq!(repeated.json["newlyDone"], false);

    // B's QLVB registers it (03) and sends the status message, as to the axis.
    let accepted = sample("status_acceptance_03.edxml");
    let status = b.send_edoc(
        &[
            ("from", NGHE_AN),
            ("servicetype", "eDoc"),
            ("messagetype", "status"),
        ],
        &accepted,
    );
    assert!(status.is_ok(), "sendEdoc status: {}", status.json);

    // A collects the statuses: the 01 B's node signed on arrival, and the 03.
    let statuses = wait_for("01 and 03 in A's status list", DEADLINE, || {
        let items = a.received("status");
        let mut codes: Vec<&str> = items
            .iter()
            .filter(|i| i["packageId"] == doc_id.as_str())
            .filter_map(|i| i["statusCode"].as_str())
            .collect();
        // Receipts travel separately: their order in the list is the order they arrived.
        codes.sort_unstable();
        (codes == ["01", "03"]).then_some(items)
    })?;
    // The status package B sent also reaches A's inbox; once there, it is the 03's file.
    wait_for("B's status package at A", DEADLINE, || {
        vpcp.inbox()
            .ok()?
            .iter()
            .any(|e| e["kind"] == "status" && e["from"] == NGHE_AN)
            .then_some(())
    })?;
    for item in &statuses {
        assert_eq!(item["from"], NGHE_AN);
        assert_eq!(item["to"], VPCP);
        assert_eq!(item["messageType"], "status");
        let id = item["id"].as_str().expect("id");
        let bytes = a.get_edoc(id);
        let parsed = edxml::read(bytes.clone())?;
        let Message::Status(status) = parsed.message else {
            panic!("{id} is not a status message");
        };
        assert_eq!(status.from.organ_id.as_str(), NGHE_AN);
        assert_eq!(status.response_for.organ_id.as_str(), VPCP);
        assert_eq!(
            status.response_for.document_id.as_deref(),
            Some(DOCUMENT_ID)
        );
        assert_eq!(Some(status.code.as_str()), item["statusCode"].as_str());
        match status.code.as_str() {
            "03" => assert_eq!(bytes, accepted, "B's own status message"),
            _ => {
                // Written from the receipt: the document's facts as A holds them.
                assert_eq!(status.from.organ_name.as_deref(), Some("UBND tỉnh Nghệ An"));
                assert_eq!(
                    status.response_for.code.as_deref(),
                    Some("74fass22/VPCP-TTĐT")
                );
                assert_eq!(
                    status.response_for.promulgation_date.map(|d| d.to_string()),
                    Some("2019/01/16".to_owned())
                );
                assert!(status.timestamp.is_some());
            }
        }
        let acked = a.update_status(id, "done");
        assert!(acked.is_ok(), "{}", acked.json);
    }
    let left = a.received("status");
    assert!(
        !left.iter().any(|i| i["packageId"] == doc_id.as_str()),
        "collected statuses are gone: {left:?}"
    );
    let unacked = vpcp.get_json("/api/v1/inbox")?;
    assert_eq!(
        unacked.as_array().map(Vec::len),
        Some(0),
        "collecting the 03 acknowledged B's status package too: {unacked}"
    );

    // A's sent list shows B at 03.
    let sent_list = a.call(
        "getSentEdocList",
        &[
            ("servicetype", "eDoc"),
            ("messagetype", "edoc"),
            ("docId", &doc_id),
        ],
    );
    assert!(sent_list.is_ok(), "{}", sent_list.json);
    let rows = sent_list.json["data"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["docId"], doc_id.as_str());
    assert_eq!(row["fromCode"], VPCP);
    assert_eq!(row["toCode"], NGHE_AN);
    assert_eq!(row["notation"], "74fass22/VPCP-TTĐT");
    assert_eq!(row["sendStatus"], "delivered");
    assert_eq!(row["receiveStatus"], "03");
    assert_eq!(row["receiveStatusDesc"], "Đã tiếp nhận");

    // Both agencies are in the directory, whichever path the QLVB uses.
    for op in ["getAgenciesList", "getAgenciesListQD20"] {
        let agencies = b.call(op, &[]);
        assert!(agencies.is_ok(), "{}", agencies.json);
        let codes: Vec<&str> = agencies.json["data"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|a| a["code"].as_str())
            .collect();
        assert!(
            codes.contains(&VPCP) && codes.contains(&NGHE_AN),
            "{codes:?}"
        );
    }
    Ok(())
}

#[test]
fn refused_calls_say_why_and_store_nothing() -> anyhow::Result<()> {
    let federation = Federation::new("Trục từ chối")?;
    let vpcp = federation.start_node(VPCP, "Văn phòng Chính phủ")?;
    let nghe_an = federation.start_node(NGHE_AN, "UBND tỉnh Nghệ An")?;
    federation.wait_roster(&[&vpcp, &nghe_an])?;
    let a = AxisClient::of(&vpcp);
    let file = document(VPCP, NGHE_AN);
    let before = sent_count(&vpcp);

    // A wrong secret.
    let forger = AxisClient {
        secret: b"not the secret".to_vec(),
        ..AxisClient::of(&vpcp)
    };
    let answer = forger.send_edoc(&[("from", VPCP), ("messagetype", "edoc")], &file);
    assert_eq!(answer.http, 401, "{}", answer.json);
    assert_eq!(answer.json["status"], "FAIL");
    assert_eq!(answer.json["ErrorCode"], "401");
    assert!(
        answer.desc().contains("does not match"),
        "{}",
        answer.desc()
    );

    // A `from` that is not this node's agency.
    let answer = a.send_edoc(&[("from", NGHE_AN), ("messagetype", "edoc")], &file);
    assert_eq!(answer.json["status"], "FAIL", "{}", answer.json);
    assert_eq!(answer.http, 422);
    assert!(
        answer.desc().contains(NGHE_AN) && answer.desc().contains("not this node's agency"),
        "{}",
        answer.desc()
    );

    // Malformed XML in file_doc.
    let broken = String::from_utf8(file.clone())?.replace("</edXML:Subject>", "</edXML:Subjec>");
    let answer = a.send_edoc(
        &[("from", VPCP), ("messagetype", "edoc")],
        broken.as_bytes(),
    );
    assert_eq!(answer.json["status"], "FAIL", "{}", answer.json);
    assert_eq!(answer.http, 400);
    assert!(
        answer.desc().contains("not valid edXML"),
        "{}",
        answer.desc()
    );

    // A file whose kind is not the messagetype.
    let answer = a.send_edoc(&[("from", VPCP), ("messagetype", "status")], &file);
    assert_eq!(answer.http, 422, "{}", answer.json);
    assert!(
        answer.desc().contains("messagetype is status"),
        "{}",
        answer.desc()
    );

    // A hash-file that does not match what arrived.
    let answer = a.send_edoc_hashed(&[("from", VPCP)], &file, &sha256_hex(b"another file"));
    assert_eq!(answer.http, 400, "{}", answer.json);
    assert!(
        answer
            .desc()
            .contains("the file was changed or cut on the way"),
        "{}",
        answer.desc()
    );

    // No authentication at all.
    let answer = a.post(
        "getReceivedEdocList",
        &[("messagetype", "edoc")],
        None,
        Vec::new(),
    );
    assert_eq!(answer.http, 401, "{}", answer.json);
    assert!(
        answer.desc().contains("not authenticated"),
        "{}",
        answer.desc()
    );

    // An id this node never listed.
    let answer = a.update_status(&"ab".repeat(32), "done");
    assert_eq!(answer.http, 404, "{}", answer.json);
    assert_eq!(answer.json["status"], "FAIL");

    assert_eq!(sent_count(&vpcp), before, "nothing was stored");
    Ok(())
}
