//! The axis-compatible API against real node processes on loopback, driven by
//! `lienthong_tests::axis_sdk`: a re-enactment of the national axis's Java SDK that writes
//! its requests byte for byte as captured from it (`../shared/domain/vxp-sdk-wire.md`) and
//! reads the answers as it reads them. Each QLVB keeps one service object for the whole
//! run, as QLVB software does, so every call carries the frozen timestamp and the fields of
//! the calls before it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lienthong_protocol::edxml::{self, Message};
use lienthong_tests::axis_sdk::{
    Exchange, ExpectOutcome, Knobstick, PeerState, SdkService, Tamper,
};
use lienthong_tests::{Federation, ProcessNode, sample, sample_document, wait_for};

const DEADLINE: Duration = Duration::from_secs(60);
const VPCP: &str = "000.00.00.G22";
const NGHE_AN: &str = "000.00.00.H41";
/// What the official samples' documents and statuses call document 7816.
const DOCUMENT_ID: &str = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT";
const EDOCS: &str = r#"{"servicetype":"eDoc","messagetype":"edoc"}"#;
const STATUSES: &str = r#"{"servicetype":"eDoc","messagetype":"status"}"#;

/// A QLVB server's directory, where its files are and the SDK writes what it downloads.
fn qlvb_dir(federation: &Federation, name: &str) -> PathBuf {
    let dir = federation.dir().join(name);
    std::fs::create_dir_all(&dir).expect("QLVB directory");
    dir
}

/// `bytes` as a file on the QLVB's server, as `sendEdoc` takes it.
fn file_at(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("writes");
    path
}

/// A QLVB's service object for `node`, configured as `collaboration.properties` would be:
/// the node's API as `service.endpoint` (plus `suffix`), its agency as `systemid`, the text
/// of its `axis.secret` as `secret`.
fn service(node: &ProcessNode, suffix: &str) -> SdkService {
    let secret = std::fs::read_to_string(node.dir().join("axis.secret")).expect("secret");
    SdkService::new(
        &format!("http://{}{suffix}", node.info().api_addr),
        node.info().organ_id.as_str(),
        secret.trim(),
    )
}

/// The last exchange of `sdk`, having checked that its answer carries every key the SDK
/// reads, with the type it reads, and no null.
fn strict(sdk: &SdkService) -> &Exchange {
    let exchange = sdk.last_exchange().expect("a call was made");
    if let Err(e) = exchange.check_strict() {
        panic!("{e}: {}", String::from_utf8_lossy(&exchange.body));
    }
    exchange
}

/// The same for a failure: the FAIL envelope (and `DocId` where the SDK reads it).
fn strict_failure(sdk: &SdkService) -> &Exchange {
    let exchange = sdk.last_exchange().expect("a call was made");
    if let Err(e) = exchange.check_strict_failure() {
        panic!("{e}: {}", String::from_utf8_lossy(&exchange.body));
    }
    exchange
}

/// The documents or statuses `sdk`'s QLVB has waiting.
fn waiting(sdk: &mut SdkService, call: &str) -> Vec<Knobstick> {
    let list = sdk
        .get_received_edoc_list(call)
        .expect("answers")
        .expect("not null");
    strict(sdk);
    assert!(list.envelope.is_success(), "{:?}", list.envelope);
    list.data.expect("a list")
}

fn count(sdk: &mut SdkService, statuses: bool) -> i32 {
    let answer = if statuses {
        sdk.count_receive_status(STATUSES)
    } else {
        sdk.count_receive_edoc(EDOCS)
    }
    .expect("answers")
    .expect("not null");
    strict(sdk);
    assert!(answer.envelope.is_success(), "{:?}", answer.envelope);
    answer.count
}

/// `updateStatus` with QLVB's word, answered OK.
fn update(sdk: &mut SdkService, doc_id: &str, word: &str) {
    let answer = sdk
        .update_status(&format!(r#"{{"docId":"{doc_id}","status":"{word}"}}"#))
        .expect("answers")
        .expect("not null");
    strict(sdk);
    assert!(answer.is_success(), "updateStatus {word}: {answer:?}");
}

/// How many packages `node` has sent: refused calls must leave it unchanged.
fn sent_count(node: &ProcessNode) -> usize {
    node.get_json("/api/v1/packages")
        .expect("list")
        .as_array()
        .map_or(0, Vec::len)
}

/// A time as the axis writes it: `yyyy/MM/dd HH:mm:ss`.
fn is_axis_time(text: Option<&str>) -> bool {
    text.is_some_and(|t| {
        t.len() == 19
            && t.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'/',
                10 => b == b' ',
                13 | 16 => b == b':',
                _ => b.is_ascii_digit(),
            })
    })
}

#[test]
fn a_qlvb_on_the_axis_sdk_runs_its_whole_loop_through_two_nodes() -> anyhow::Result<()> {
    let federation = Federation::new("Trục SDK")?;
    let vpcp = federation.start_node(VPCP, "Văn phòng Chính phủ")?;
    let nghe_an = federation.start_node(NGHE_AN, "UBND tỉnh Nghệ An")?;
    federation.wait_roster(&[&vpcp, &nghe_an])?;
    let dir_a = qlvb_dir(&federation, "qlvb-vpcp");
    let dir_b = qlvb_dir(&federation, "qlvb-nghe-an");
    let mut a = service(&vpcp, "");
    // B's endpoint ends in '/': the SDK then asks for `//getReceivedEdocList`.
    let mut b = service(&nghe_an, "/");

    // A's QLVB sends the sample document.
    let file = sample_document(VPCP, NGHE_AN);
    let path = file_at(&dir_a, "7816.edxml", &file);
    let send = format!(r#"{{"from":"{VPCP}","servicetype":"eDoc","messagetype":"edoc"}}"#);
    let sent = a.send_edoc(&send, &path)?.expect("not null");
    let exchange = strict(&a);
    assert_eq!(exchange.status, 200);
    assert!(sent.envelope.is_success(), "{sent:?}");
    assert_eq!(
        exchange.request_body(),
        [&file[..], b"\r\n"].concat(),
        "the SDK's body"
    );
    let doc_id = sent.doc_id.expect("DocId");
    // The same request again, byte for byte (a replay, or the SDK's HTTP client retrying):
    // the same document, stored and sent once.
    let again = a.send_edoc(&send, &path)?.expect("not null");
    strict(&a);
    assert_eq!(a.exchanges()[0].request, a.exchanges()[1].request);
    assert_eq!(again.doc_id.as_deref(), Some(doc_id.as_str()));
    assert_eq!(sent_count(&vpcp), 1);

    // B's client loop: poll, count, fetch, download, acknowledge.
    let item = wait_for("the document in B's list", DEADLINE, || {
        waiting(&mut b, EDOCS)
            .into_iter()
            .find(|k| k.id.as_deref() == Some(doc_id.as_str()))
    })?;
    assert!(
        b.last_exchange()
            .expect("listed")
            .request_lines()
            .first()
            .is_some_and(|line| line.starts_with("POST //getReceivedEdocList ")),
        "the endpoint's trailing slash reached the node"
    );
    assert_eq!(item.from.as_deref(), Some(VPCP));
    assert_eq!(item.to.as_deref(), Some(NGHE_AN));
    assert_eq!(item.message_type.as_deref(), Some("edoc"));
    assert_eq!(item.service_type.as_deref(), Some("eDoc"));
    assert_eq!(item.status.as_deref(), Some("pending"));
    assert!(item.status_desc.as_deref().is_some_and(|d| !d.is_empty()));
    assert!(is_axis_time(item.created_time.as_deref()), "{item:?}");
    assert!(is_axis_time(item.updated_time.as_deref()), "{item:?}");
    assert_eq!(count(&mut b, false), 1);

    let fetched = b
        .get_edoc(&format!(
            r#"{{"filePath":"{}","docId":"{doc_id}"}}"#,
            dir_b.display()
        ))?
        .expect("not null");
    strict(&b);
    assert!(fetched.envelope.is_success(), "{fetched:?}");
    assert_eq!(fetched.data.as_deref().map(str::as_bytes), Some(&file[..]));
    let written = fetched.file_path.expect("the SDK wrote the file");
    assert!(written.ends_with(format!("{doc_id}.edxml")), "{written:?}");
    assert_eq!(
        std::fs::read(&written)?,
        file,
        "the exact bytes A's QLVB sent"
    );
    std::fs::remove_file(&written)?;
    let downloaded = b.download_edoc(&format!(
        r#"{{"filePath":"{}","docId":"{doc_id}"}}"#,
        dir_b.display()
    ))?;
    assert_eq!(downloaded.status, "SUCCESS", "{downloaded:?}");
    assert_eq!(std::fs::read(&downloaded.file_path)?, file);

    // "fail": B's QLVB could not process it; it is offered again. "done": it is gone.
    update(&mut b, &doc_id, "fail");
    assert_eq!(waiting(&mut b, EDOCS).len(), 1, "a failed item stays");
    update(&mut b, &doc_id, "done");
    assert!(waiting(&mut b, EDOCS).is_empty(), "a done item is gone");
    assert_eq!(count(&mut b, false), 0);
    update(&mut b, &doc_id, "done");

    // B's QLVB registers the document (03) and finishes it (06), with the same object: its
    // headers still carry the docId, filePath and status of the calls above.
    let accepted = sample("status_acceptance_03.edxml");
    let finished = sample("status_finish_06.edxml");
    for (name, bytes) in [("03.edxml", &accepted), ("06.edxml", &finished)] {
        let path = file_at(&dir_b, name, bytes);
        let status = b
            .send_edoc(
                &format!(r#"{{"from":"{NGHE_AN}","servicetype":"eDoc","messagetype":"status"}}"#),
                &path,
            )?
            .expect("not null");
        strict(&b);
        assert!(status.envelope.is_success(), "{name}: {status:?}");
    }
    let signed = b
        .last_exchange()
        .and_then(|e| e.signed.clone())
        .expect("signed");
    for stale in ["docId", "filePath", "status"] {
        assert!(
            signed.sign_header_key.split(';').any(|k| k == stale),
            "sendEdoc carried {stale} from earlier calls: {}",
            signed.sign_header_key
        );
    }

    // A collects the statuses: the 01 B's node signed on arrival, the 03 and the 06.
    wait_for("01, 03 and 06 in A's list", DEADLINE, || {
        (waiting(&mut a, STATUSES).len() == 3).then_some(())
    })?;
    // B's status packages reach A's inbox too; once there, each is its status's file.
    wait_for("B's two status packages at A", DEADLINE, || {
        let inbox = vpcp.inbox().ok()?;
        (inbox.iter().filter(|e| e["kind"] == "status").count() == 2).then_some(())
    })?;
    assert_eq!(count(&mut a, true), 3);
    let mut codes = Vec::new();
    for item in waiting(&mut a, STATUSES) {
        assert_eq!(item.from.as_deref(), Some(NGHE_AN));
        assert_eq!(item.to.as_deref(), Some(VPCP));
        assert_eq!(item.message_type.as_deref(), Some("status"));
        let id = item.id.expect("docId");
        let got = a
            .get_edoc(&format!(
                r#"{{"filePath":"{}","docId":"{id}"}}"#,
                dir_a.display()
            ))?
            .expect("not null");
        strict(&a);
        let bytes = got.data.expect("data").into_bytes();
        let Message::Status(status) = edxml::read(bytes.clone())?.message else {
            panic!("{id} is not a status message");
        };
        assert_eq!(status.from.organ_id.as_str(), NGHE_AN);
        assert_eq!(status.response_for.organ_id.as_str(), VPCP);
        assert_eq!(
            status.response_for.document_id.as_deref(),
            Some(DOCUMENT_ID)
        );
        match status.code.as_str() {
            "03" => assert_eq!(bytes, accepted, "B's own status message"),
            "06" => assert_eq!(bytes, finished, "B's own status message"),
            _ => {
                // Written from the receipt: the document's facts as A holds them.
                assert_eq!(status.from.organ_name.as_deref(), Some("UBND tỉnh Nghệ An"));
                assert_eq!(
                    status.response_for.code.as_deref(),
                    Some("74fass22/VPCP-TTĐT")
                );
                assert!(status.timestamp.is_some());
            }
        }
        codes.push(status.code.as_str().to_owned());
        update(&mut a, &id, "done");
    }
    codes.sort();
    assert_eq!(codes, ["01", "03", "06"]);
    assert!(waiting(&mut a, STATUSES).is_empty(), "collected");
    assert_eq!(count(&mut a, true), 0);
    let unacked = vpcp.get_json("/api/v1/inbox")?;
    assert_eq!(
        unacked.as_array().map(Vec::len),
        Some(0),
        "collecting the statuses acknowledged B's status packages too: {unacked}"
    );

    // A's sent list: the document, and B at 06.
    let sent_list = a
        .get_sent_edoc_list(&format!(
            r#"{{"servicetype":"eDoc","messagetype":"edoc","docId":"{doc_id}"}}"#
        ))?
        .expect("not null");
    strict(&a);
    let rows = sent_list.data.expect("rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row.sender_doc_id.as_deref(), Some(doc_id.as_str()));
    assert_eq!(row.receiver_doc_id.as_deref(), Some(doc_id.as_str()));
    assert_eq!(row.from_code.as_deref(), Some(VPCP));
    assert_eq!(row.to_code.as_deref(), Some(NGHE_AN));
    assert_eq!(row.service_type.as_deref(), Some("eDoc"));
    assert_eq!(row.message_type.as_deref(), Some("edoc"));
    assert_eq!(row.notation.as_deref(), Some("74fass22/VPCP-TTĐT"));
    assert!(row.title.as_deref().is_some_and(|t| !t.is_empty()));
    assert_eq!(row.send_status.as_deref(), Some("delivered"));
    assert_eq!(row.receive_status.as_deref(), Some("06"));
    assert!(is_axis_time(row.sent_time.as_deref()), "{row:?}");
    assert!(is_axis_time(row.received_time.as_deref()), "{row:?}");
    // The QLVB's "null" docId, and the docId left over from getEdoc: the whole list.
    for call in [
        r#"{"servicetype":"eDoc","messagetype":"edoc","docId":null}"#.replace("null", "\"null\""),
        EDOCS.to_owned(),
    ] {
        let all = a.get_sent_edoc_list(&call)?.expect("not null");
        strict(&a);
        assert!(
            all.data
                .expect("rows")
                .iter()
                .any(|r| r.sender_doc_id.as_deref() == Some(doc_id.as_str())),
            "{call}"
        );
    }

    // The directory, through the QLVB's separate agency object.
    let mut agencies = service(&nghe_an, "");
    let list = agencies.get_agencies_list("{}")?.expect("not null");
    strict(&agencies);
    let codes: Vec<String> = list
        .data
        .expect("agencies")
        .into_iter()
        .filter_map(|a| a.code)
        .collect();
    assert!(
        codes.contains(&VPCP.to_owned()) && codes.contains(&NGHE_AN.to_owned()),
        "{codes:?}"
    );
    let qd20 = agencies
        .get_agencies_list_qd20(r#"{"level":1}"#)?
        .expect("not null");
    strict(&agencies);
    assert_eq!(qd20.data.expect("agencies").len(), codes.len());
    let units = agencies.get_synchronize_unit("{}")?.expect("not null");
    strict(&agencies);
    let units = units.data.expect("units");
    assert_eq!(units.len(), codes.len());
    assert!(
        units
            .iter()
            .all(|u| u.deleted == Some(false) && u.is_agency == Some(true))
    );
    assert!(units.iter().all(|u| u.version.is_some_and(|v| v > 0)));

    // Registering and deleting agencies are the federation authority's: FAIL, saying so.
    let registered = agencies
        .register_agency(
            "{}",
            r#"{"id":"","pcode":"000.00.00.H41","code":"000.00.09.H41","name":"Don vi thu","mail":"t@example.gov.vn","mobile":"","fax":""}"#,
        )?
        .expect("not null");
    strict_failure(&agencies);
    assert!(registered.is_fail(), "{registered:?}");
    assert!(
        registered
            .error_desc
            .is_some_and(|d| d.contains("lienthong federation admit")),
    );
    let deleted = agencies
        .delete_agency(r#"{"AgencyCode":"000.00.09.H41"}"#)?
        .expect("not null");
    strict_failure(&agencies);
    assert!(deleted.is_fail(), "{deleted:?}");
    // The SDK's unsigned downloadEdoc2 names no document: an empty body, which the SDK
    // reports as FAIL rather than saving an error as the document.
    let unsigned = agencies.download_edoc2(&format!(
        r#"{{"filePath":"{}","docId":"{doc_id}"}}"#,
        dir_b.display()
    ))?;
    assert_eq!(unsigned.status, "FAIL", "{unsigned:?}");
    assert_eq!(agencies.last_exchange().map(|e| e.status), Some(401));

    // Every `{}` body was asked for at once with 100 Continue, never after the SDK's wait.
    for sdk in [&a, &b, &agencies] {
        for exchange in sdk.exchanges() {
            assert!(
                matches!(
                    exchange.expect,
                    ExpectOutcome::NoExpect | ExpectOutcome::Continued
                ),
                "{:?}: {:?}",
                exchange.op,
                exchange.expect
            );
        }
    }
    // The SDK left every connection open; the node closes idle ones itself.
    let closed = wait_for(
        "the node to close A's first idle connection",
        DEADLINE,
        || match a.peer_state(0, Duration::from_secs(1)) {
            Ok(PeerState::Open) => None,
            other => Some(other),
        },
    )?;
    assert!(matches!(closed, Ok(PeerState::Closed)), "{closed:?}");
    Ok(())
}

#[test]
fn refused_sdk_calls_say_why_in_the_sdk_shape_and_store_nothing() -> anyhow::Result<()> {
    let federation = Federation::new("Trục từ chối")?;
    let vpcp = federation.start_node(VPCP, "Văn phòng Chính phủ")?;
    let nghe_an = federation.start_node(NGHE_AN, "UBND tỉnh Nghệ An")?;
    federation.wait_roster(&[&vpcp, &nghe_an])?;
    let dir = qlvb_dir(&federation, "qlvb-vpcp");
    let file = sample_document(VPCP, NGHE_AN);
    let path = file_at(&dir, "7816.edxml", &file);
    let send = format!(r#"{{"from":"{VPCP}","servicetype":"eDoc","messagetype":"edoc"}}"#);
    let mut a = service(&vpcp, "");

    // Each refusal: the SDK's FAIL envelope with DocId "", the HTTP status, and the reason.
    let refused = |sdk: &mut SdkService, path: &Path, http: u16, reason: &str| {
        let answer = sdk
            .send_edoc(&send, path)
            .expect("answers")
            .expect("not null");
        let exchange = strict_failure(sdk);
        assert_eq!(exchange.status, http, "{answer:?}");
        assert!(answer.envelope.is_fail(), "{answer:?}");
        assert_eq!(answer.envelope.error_code, Some(http.to_string()));
        assert_eq!(answer.doc_id.as_deref(), Some(""), "the SDK reads DocId");
        let desc = answer.envelope.error_desc.unwrap_or_default();
        assert!(desc.contains(reason), "{reason:?} not in {desc:?}");
    };

    // A wrong secret.
    let mut forger = a.with_other_secret("not the secret");
    refused(&mut forger, &path, 401, "does not match");
    // A systemid this node does not serve, signed with its secret.
    let secret = std::fs::read_to_string(vpcp.dir().join("axis.secret"))?;
    let mut stranger = SdkService::new(
        &format!("http://{}", vpcp.info().api_addr),
        "vxp.saas.03",
        secret.trim(),
    );
    refused(&mut stranger, &path, 401, "not the one this node serves");
    // A signed header changed on the way.
    a.tamper_next_call(Tamper {
        headers: vec![("XroadVnpt-messagetype".into(), Some("status".into()))],
        body: None,
    });
    refused(&mut a, &path, 401, "changed after signing");
    // A parameter added beside the signed ones.
    a.tamper_next_call(Tamper {
        headers: vec![("XroadVnpt-to".into(), Some("000.00.99.H41".into()))],
        body: None,
    });
    refused(&mut a, &path, 401, "is not signed");
    // A body changed on the way: hash-file no longer matches.
    let mut changed = String::from_utf8(file.clone())?
        .replace("7816", "7817")
        .into_bytes();
    changed.extend_from_slice(b"\r\n");
    a.tamper_next_call(Tamper {
        headers: Vec::new(),
        body: Some(changed),
    });
    refused(&mut a, &path, 400, "the file was changed or cut on the way");
    // Malformed XML, honestly hashed: where it breaks.
    let broken = String::from_utf8(file.clone())?.replace("</edXML:Subject>", "</edXML:Subjec>");
    refused(
        &mut a,
        &file_at(&dir, "broken.edxml", broken.as_bytes()),
        400,
        "not valid edXML",
    );
    // A document of another agency.
    let foreign = file_at(&dir, "foreign.edxml", &sample_document(NGHE_AN, VPCP));
    refused(
        &mut a,
        &foreign,
        422,
        "the file's From/OrganId is 000.00.00.H41",
    );

    // The other calls refuse in their own shapes.
    let unknown = "ab".repeat(32);
    let answer = a
        .update_status(&format!(r#"{{"docId":"{unknown}","status":"done"}}"#))?
        .expect("not null");
    assert_eq!(strict_failure(&a).status, 404, "{answer:?}");
    assert!(answer.is_fail());
    let answer = a
        .get_edoc(&format!(
            r#"{{"filePath":"{}","docId":"{unknown}"}}"#,
            dir.display()
        ))?
        .expect("not null");
    assert_eq!(strict_failure(&a).status, 404, "{answer:?}");
    assert!(answer.file_path.is_none(), "nothing written on a failure");
    let download = a.download_edoc(&format!(
        r#"{{"filePath":"{}","docId":"{unknown}"}}"#,
        dir.display()
    ))?;
    assert_eq!(download.status, "FAIL", "{download:?}");
    let exchange = a.last_exchange().expect("called");
    assert_eq!(exchange.status, 404);
    assert!(exchange.body.is_empty());
    assert!(
        exchange
            .header("Lienthong-Error")
            .is_some_and(|e| e.contains(&unknown)),
        "{:?}",
        exchange.headers
    );
    let mut forger = a.with_other_secret("not the secret");
    let listed = forger.get_received_edoc_list(EDOCS)?.expect("not null");
    strict_failure(&forger);
    assert!(
        listed.envelope.is_fail() && listed.data.is_none(),
        "{listed:?}"
    );

    // Nothing was stored anywhere.
    assert_eq!(sent_count(&vpcp), 0);
    assert!(nghe_an.inbox()?.is_empty());
    assert!(waiting(&mut a, EDOCS).is_empty());
    Ok(())
}
