//! Status receipts with real processes on loopback: QLVB posts the official status samples
//! to its node, the node matches each to the document it answers, signs a receipt and
//! hands it to the sender; take-back requests go the other way; a monitoring node that was
//! no party sees every summary; a status that answers nothing is refused.

use std::time::Duration;

use lienthong_protocol::edxml::{
    self, Code, Document, Message, Organization, PromulgationInfo, ResponseFor, Status, StatusCode,
};
use lienthong_tests::{Federation, ProcessNode, configure, samples_dir, wait_for};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);
const VPCP: &str = "000.00.00.G22";
const NGHE_AN: &str = "000.00.00.H41";

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(samples_dir().join(name)).expect("sample")
}

/// A document from `from` to `to` numbered `number`/VPCP-TTĐT of 30/09/2015, with
/// DocumentId in the SDK's triple form: 7816 is the document the official status samples
/// answer.
fn document(from: &str, to: &str, number: u32) -> Vec<u8> {
    let mut doc = Document::new(
        Organization::new(from.parse().expect("id")),
        vec![Organization::new(to.parse().expect("id"))],
    );
    doc.document_id = Some(format!("{from},2015/09/30,{number}/VPCP-TTĐT"));
    doc.code = Some(Code {
        number: number.to_string(),
        notation: "VPCP-TTĐT".into(),
    });
    doc.promulgation = Some(PromulgationInfo {
        place: Some("Hà Nội".into()),
        date: edxml::EdxmlDate::new(2015, 9, 30),
    });
    doc.subject = Some(format!("Văn bản số {number}"));
    edxml::write(&Message::Document(Box::new(doc))).expect("writes")
}

/// A status message from `from` about document `number` of `to` (or, for 13, sent to
/// `to`), naming it by `document_id` as the other system wrote it.
fn status(from: &str, to: &str, document_id: &str, code: StatusCode, why: Option<&str>) -> Vec<u8> {
    let message = Status {
        from: Organization::new(from.parse().expect("id")),
        response_for: ResponseFor {
            organ_id: to.parse().expect("id"),
            code: None,
            promulgation_date: None,
            document_id: Some(document_id.to_owned()),
        },
        staff: None,
        code,
        description: why.map(str::to_owned),
        timestamp: None,
    };
    edxml::write(&Message::Status(Box::new(message))).expect("writes")
}

/// Posts a status; the package of the document it answers.
fn post_status(node: &ProcessNode, edxml: &[u8]) -> anyhow::Result<String> {
    let (code, body) = node.post("/api/v1/packages", edxml)?;
    let answer: Value = serde_json::from_slice(&body)?;
    anyhow::ensure!(code == 202, "status refused: {code} {answer}");
    Ok(answer["answers"].as_str().unwrap_or_default().to_owned())
}

/// The codes on `recipient`'s timeline of `package` at its sender.
fn timeline(sender: &ProcessNode, package: &str, recipient: &str) -> Vec<String> {
    sender
        .recipient_state(package, recipient)
        .map(|(_, codes)| codes)
        .unwrap_or_default()
}

fn wait_timeline(
    sender: &ProcessNode,
    package: &str,
    recipient: &str,
    expected: &[&str],
) -> anyhow::Result<()> {
    wait_for(
        &format!("{recipient}'s timeline of {package} to be {expected:?}"),
        DEADLINE,
        || (timeline(sender, package, recipient) == expected).then_some(()),
    )
    .map_err(|e| anyhow::anyhow!("{e}; it is {:?}", timeline(sender, package, recipient)))
}

/// The receipts in `node`'s log about `package`, as (issuer, code).
fn logged(node: &ProcessNode, package: &str) -> Vec<(String, String)> {
    let page = node.get_json("/api/v1/receipts?limit=4096").expect("log");
    page["receipts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["package_id"] == package)
        .map(|r| {
            (
                r["issuer"].as_str().unwrap_or_default().to_owned(),
                r["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn two_agencies(name: &str) -> anyhow::Result<(Federation, ProcessNode, ProcessNode)> {
    let federation = Federation::new(name)?;
    let vpcp = federation.start_node(VPCP, "Văn phòng Chính phủ")?;
    let nghe_an = federation.start_node(NGHE_AN, "UBND tỉnh Nghệ An")?;
    federation.wait_roster(&[&vpcp, &nghe_an])?;
    Ok((federation, vpcp, nghe_an))
}

#[test]
fn the_lifecycle_01_to_06_comes_back_signed_to_the_sender() -> anyhow::Result<()> {
    let (_federation, vpcp, nghe_an) = two_agencies("Vòng đời hồi báo")?;
    let package = vpcp.submit(&document(VPCP, NGHE_AN, 7816))?;
    vpcp.wait_state(&package, NGHE_AN, "delivered", DEADLINE)?;

    // Nghệ An's QLVB posts the official samples, as it would to the axis.
    let samples = [
        "status_acceptance_03.edxml",
        "status_assignment_04.edxml",
        "status_processing_05.edxml",
        "status_finish_06.edxml",
    ];
    for name in samples {
        assert_eq!(
            post_status(&nghe_an, &sample(name))?,
            package,
            "{name} answers the document"
        );
    }
    wait_timeline(&vpcp, &package, NGHE_AN, &["01", "03", "04", "05", "06"])?;
    let (state, _) = vpcp.recipient_state(&package, NGHE_AN)?;
    assert_eq!(state, "delivered");

    // The Government Office's QLVB pulls the same edXML status messages it would from the
    // axis, byte for byte.
    let statuses: Vec<Value> = wait_for("four status messages in the inbox", DEADLINE, || {
        let found: Vec<Value> = vpcp
            .inbox()
            .ok()?
            .into_iter()
            .filter(|e| e["kind"] == "status")
            .collect();
        (found.len() == samples.len()).then_some(found)
    })?;
    let mut fetched = Vec::new();
    for entry in &statuses {
        let id = entry["package_id"].as_str().expect("id");
        fetched.push(vpcp.get(&format!("/api/v1/packages/{id}"))?.1);
    }
    for name in samples {
        assert!(fetched.contains(&sample(name)), "{name} arrived unchanged");
    }
    // QLVB posting 01 again adds nothing: the node signed 01 on arrival.
    post_status(&nghe_an, &sample("status_inbox_ 01.edxml"))?;
    assert_eq!(
        logged(&nghe_an, &package)
            .iter()
            .filter(|(_, code)| code == "01")
            .count(),
        1
    );
    Ok(())
}

#[test]
fn a_rejection_02_comes_back_with_its_reason_and_is_listed_as_stuck() -> anyhow::Result<()> {
    let (_federation, vpcp, nghe_an) = two_agencies("Từ chối tiếp nhận")?;
    let package = vpcp.submit(&document(VPCP, NGHE_AN, 7816))?;
    vpcp.wait_state(&package, NGHE_AN, "delivered", DEADLINE)?;
    // Another system's DocumentId form: the number and year, dashed.
    let reason = "Văn bản gửi nhầm đơn vị, đề nghị gửi lại Sở Nội vụ";
    post_status(
        &nghe_an,
        &status(
            NGHE_AN,
            VPCP,
            "7816-2015-7816/VPCP-TTĐT",
            StatusCode::Rejected,
            Some(reason),
        ),
    )?;
    let codes = vpcp.wait_state(&package, NGHE_AN, "rejected", DEADLINE)?;
    assert_eq!(codes, ["01", "02"]);
    let stuck: Value = serde_json::from_str(&lienthong_tests::lienthong(&[
        "stuck",
        "--data-dir",
        vpcp.dir().to_str().expect("utf-8"),
        "--json",
    ])?)?;
    let entry = stuck
        .as_array()
        .and_then(|all| all.iter().find(|s| s["package_id"] == package.as_str()))
        .expect("the rejected document is listed");
    assert_eq!(entry["reason"], "rejected");
    assert_eq!(entry["recipient"], NGHE_AN);
    assert_eq!(entry["detail"], reason);
    Ok(())
}

#[test]
fn a_take_back_13_is_answered_with_15_or_16() -> anyhow::Result<()> {
    let (_federation, vpcp, nghe_an) = two_agencies("Thu hồi văn bản")?;
    let agreed = vpcp.submit(&document(VPCP, NGHE_AN, 7816))?;
    let refused = vpcp.submit(&document(VPCP, NGHE_AN, 7817))?;
    vpcp.wait_state(&agreed, NGHE_AN, "delivered", DEADLINE)?;
    vpcp.wait_state(&refused, NGHE_AN, "delivered", DEADLINE)?;

    // 13 goes from the sender to the recipient: the official sample, and one of ours.
    assert_eq!(
        post_status(&vpcp, &sample("status_cancellation_13.edxml"))?,
        agreed
    );
    let other = format!("{VPCP},2015/09/30,7817/VPCP-TTĐT");
    assert_eq!(
        post_status(
            &vpcp,
            &status(
                VPCP,
                NGHE_AN,
                &other,
                StatusCode::TakeBackRequested,
                Some("Sai số liệu")
            )
        )?,
        refused
    );
    for package in [&agreed, &refused] {
        wait_for("the take-back request at the recipient", DEADLINE, || {
            logged(&nghe_an, package)
                .contains(&(VPCP.to_owned(), "13".to_owned()))
                .then_some(())
        })?;
    }
    assert_eq!(
        post_status(&nghe_an, &sample("status_change-acceptance_15.edxml"))?,
        agreed
    );
    assert_eq!(
        post_status(
            &nghe_an,
            &status(
                NGHE_AN,
                VPCP,
                &other,
                StatusCode::ChangeRefused,
                Some("Văn bản đã được xử lý xong")
            )
        )?,
        refused
    );
    wait_timeline(&vpcp, &agreed, NGHE_AN, &["01", "13", "15"])?;
    wait_timeline(&vpcp, &refused, NGHE_AN, &["01", "13", "16"])?;
    Ok(())
}

#[test]
fn a_status_that_answers_no_document_is_refused_and_changes_nothing() -> anyhow::Result<()> {
    let (_federation, vpcp, nghe_an) = two_agencies("Hồi báo lạc")?;
    let package = vpcp.submit(&document(VPCP, NGHE_AN, 7816))?;
    vpcp.wait_state(&package, NGHE_AN, "delivered", DEADLINE)?;
    let before = nghe_an.get_json("/api/v1/receipts")?;
    let (code, body) = nghe_an.post(
        "/api/v1/packages",
        &status(
            NGHE_AN,
            VPCP,
            "000.00.00.G22,2015/09/30,9999/VPCP-TTĐT",
            StatusCode::Accepted,
            None,
        ),
    )?;
    let answer: Value = serde_json::from_slice(&body)?;
    assert_eq!(code, 422, "{answer}");
    assert_eq!(answer["error"]["kind"], "no_matching_document");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("9999/VPCP-TTĐT") && message.contains(VPCP),
        "{message}"
    );
    // A status about a document the agency sent, not received, matches nothing either.
    let (code, _) = vpcp.post(
        "/api/v1/packages",
        &status(
            VPCP,
            NGHE_AN,
            "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT",
            StatusCode::Accepted,
            None,
        ),
    )?;
    assert_eq!(code, 422);
    assert_eq!(nghe_an.get_json("/api/v1/receipts")?, before);
    assert_eq!(
        nghe_an.inbox()?.len() + vpcp.inbox()?.len(),
        1,
        "only the document itself was exchanged"
    );
    Ok(())
}

#[test]
fn a_monitoring_node_that_was_no_party_sees_the_summaries() -> anyhow::Result<()> {
    let federation = Federation::new("Liên thông tỉnh Tây Ninh")?;
    let office_dir = federation.init("000.00.01.H53", "Văn phòng UBND tỉnh")?;
    let sender_dir = federation.init("000.00.02.H53", "Sở Nội vụ")?;
    let recipient_dir = federation.init("000.00.03.H53", "Sở Tài chính")?;
    configure(&office_dir, "monitor", "true")?;
    let office = ProcessNode::start(&office_dir)?;
    let sender = ProcessNode::start(&sender_dir)?;
    let recipient = ProcessNode::start(&recipient_dir)?;
    for dir in [&office_dir, &sender_dir, &recipient_dir] {
        federation.admit(dir)?;
    }
    federation.wait_roster(&[&office, &sender, &recipient])?;
    // Gossip needs the office connected to the issuer; nodes connect to their fellow
    // members once they hold the roster.
    wait_for("the office connected to both agencies", DEADLINE, || {
        let peers = office.get_json("/api/v1/peers").ok()?;
        let connected = |organ: &str| {
            peers
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["organ_id"] == organ && p["connected"] == true)
        };
        (connected("000.00.02.H53") && connected("000.00.03.H53")).then_some(())
    })?;

    let mut doc = String::from_utf8(document("000.00.02.H53", "000.00.03.H53", 15))?;
    doc = doc.replace("VPCP-TTĐT", "SNV-VP");
    let package = sender.submit(doc.as_bytes())?;
    sender.wait_state(&package, "000.00.03.H53", "delivered", DEADLINE)?;
    post_status(
        &recipient,
        &status(
            "000.00.03.H53",
            "000.00.02.H53",
            "000.00.02.H53,2015/09/30,15/SNV-VP",
            StatusCode::Accepted,
            None,
        ),
    )?;
    wait_for("the office to see 01 and 03", DEADLINE, || {
        let seen = logged(&office, &package);
        (seen.len() == 2).then_some(seen)
    })
    .map(|seen| {
        assert!(seen.contains(&("000.00.03.H53".to_owned(), "01".to_owned())));
        assert!(seen.contains(&("000.00.03.H53".to_owned(), "03".to_owned())));
    })?;
    // What the office holds is the summary only: no document, no inbox entry.
    assert!(office.inbox()?.is_empty());
    let (code, _) = office.get(&format!("/api/v1/packages/{package}"))?;
    assert_eq!(code, 404);
    Ok(())
}
