//! A clean console: a node that starts, works and stops as it should logs nothing at WARN or
//! ERROR, alone or in a federation, so that whatever does show at those levels is something
//! an operator must act on. And `lienthong run` prints the dashboard's link, signed in with
//! the token, for an API on loopback.
//!
//! The nodes run with `lienthong run`'s own default filter, plus lienthong's debug lines to
//! wait on: what an operator's console shows at WARN and above is exactly what is checked.

use std::time::Duration;

use lienthong_node::ops::log_filter;
use lienthong_protocol::edxml::{
    self, Code, Document, Message, Organization, PromulgationInfo, Status, StatusCode,
};
use lienthong_tests::{Federation, ProcessNode, wait_for};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);
const VPCP: &str = "000.00.00.G22";
const NGHE_AN: &str = "000.00.00.H41";
const TAY_NINH: &str = "000.00.00.H53";

/// `lienthong run`'s default filter, with lienthong's own debug lines: WARN and above are
/// as an operator sees them.
fn filter() -> String {
    format!("{},lienthong_node=debug,lienthong=debug", log_filter::RUN)
}

/// The lines of `node`'s log (its standard output and error) at WARN or ERROR.
fn loud_lines(node: &ProcessNode) -> Vec<String> {
    node.log_text()
        .lines()
        .filter(|line| {
            // `2026-12-07T05:41:24.945530Z  WARN target: message`
            matches!(line.split_whitespace().nth(1), Some("WARN" | "ERROR"))
        })
        .map(str::to_owned)
        .collect()
}

/// Fails with every WARN or ERROR line of every node, named by its agency.
fn assert_quiet(nodes: &[&ProcessNode]) {
    let loud: Vec<String> = nodes
        .iter()
        .flat_map(|node| {
            let organ = node.info().organ_id.to_string();
            loud_lines(node)
                .into_iter()
                .map(move |line| format!("{organ}: {line}"))
        })
        .collect();
    assert!(
        loud.is_empty(),
        "a healthy federation logged at WARN or above:\n{}",
        loud.join("\n")
    );
}

/// Waits until `node`'s log has a line containing every one of `words`.
fn wait_logged(node: &ProcessNode, words: &[&str]) -> anyhow::Result<()> {
    wait_for(
        &format!("{} to log {words:?}", node.info().organ_id),
        DEADLINE,
        || {
            node.log_text()
                .lines()
                .any(|line| words.iter().all(|w| line.contains(w)))
                .then_some(())
        },
    )
}

/// A document from `from` to `to`, numbered `number`/VPCP-TTĐT of 30/09/2015 (7816 is the
/// one the official status samples answer).
fn document(from: &str, to: &[&str], number: u32) -> Vec<u8> {
    let mut doc = Document::new(
        Organization::new(from.parse().expect("id")),
        to.iter()
            .map(|id| Organization::new(id.parse().expect("id")))
            .collect(),
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

/// Status 03 (accepted) from `from` about `sender`'s document `number`.
fn accepted(from: &str, sender: &str, number: u32) -> Vec<u8> {
    let message = Status::about_document(
        Organization::new(from.parse().expect("id")),
        sender.parse().expect("id"),
        format!("{sender},2015/09/30,{number}/VPCP-TTĐT"),
        StatusCode::Accepted,
        None,
    );
    edxml::write(&Message::Status(Box::new(message))).expect("writes")
}

/// The codes of `recipient`'s receipts of `package`, at its sender.
fn codes(sender: &ProcessNode, package: &str, recipient: &str) -> Vec<String> {
    sender
        .recipient_state(package, recipient)
        .map(|(_, codes)| codes)
        .unwrap_or_default()
}

/// Starts a node of `federation` as an operator does: initialised, running, then admitted.
fn join(federation: &Federation, organ_id: &str, name: &str) -> anyhow::Result<ProcessNode> {
    let dir = federation.init(organ_id, name)?;
    let node = ProcessNode::start_with_log(&dir, &filter())?;
    federation.admit(&dir)?;
    Ok(node)
}

#[test]
fn a_lone_node_starts_and_stops_with_nothing_to_warn_about_and_prints_its_dashboard_link()
-> anyhow::Result<()> {
    // As `lienthong run` makes a development node: its own federation of one, admitted
    // before it first starts.
    let federation = Federation::new("Một mình")?;
    let dir = federation.init(VPCP, "Văn phòng Chính phủ")?;
    federation.admit(&dir)?;
    let mut alone = ProcessNode::start_with_log(&dir, &filter())?;
    // Its start-up work is done once it has tried to publish where it is (to nobody).
    wait_logged(&alone, &["presence record"])?;
    alone.get_json("/health")?;

    // A node fresh from `lienthong init`, not admitted yet, waiting for its roster.
    let fresh_dir = federation.init(NGHE_AN, "UBND tỉnh Nghệ An")?;
    let mut fresh = ProcessNode::start_with_log(&fresh_dir, &filter())?;
    wait_logged(&fresh, &["no federation roster yet"])?;
    fresh.get_json("/health")?;

    // The dashboard link, on the terminal (standard output) and nowhere in the log lines.
    for node in [&alone, &fresh] {
        let token = std::fs::read_to_string(node.dir().join("api.token"))?;
        let link = format!("http://{}/#token={}", node.info().api_addr, token.trim());
        let log = node.log_text();
        let printed: Vec<&str> = log.lines().filter(|l| l.contains(token.trim())).collect();
        assert_eq!(
            printed,
            [format!("  dashboard  {link}")],
            "the link is printed once, on the terminal, and the token nowhere else:\n{log}"
        );
    }

    assert!(alone.terminate()?, "the lone node stops cleanly");
    assert!(fresh.terminate()?, "the fresh node stops cleanly");
    assert_quiet(&[&alone, &fresh]);
    Ok(())
}

#[test]
fn a_federation_exchanges_a_document_and_loses_a_member_with_nothing_to_warn_about()
-> anyhow::Result<()> {
    let federation = Federation::new("Liên thông")?;
    let mut vpcp = join(&federation, VPCP, "Văn phòng Chính phủ")?;
    let mut nghe_an = join(&federation, NGHE_AN, "UBND tỉnh Nghệ An")?;
    let mut tay_ninh = join(&federation, TAY_NINH, "UBND tỉnh Tây Ninh")?;
    federation.wait_roster(&[&vpcp, &nghe_an, &tay_ninh])?;

    // A document to both provinces: each node signs 01 on arrival; Nghệ An's QLVB accepts
    // it (03), which comes back to the Government Office.
    let package = vpcp.submit(&document(VPCP, &[NGHE_AN, TAY_NINH], 7816))?;
    vpcp.wait_state(&package, NGHE_AN, "delivered", DEADLINE)?;
    vpcp.wait_state(&package, TAY_NINH, "delivered", DEADLINE)?;
    let (code, body) = nghe_an.post("/api/v1/packages", &accepted(NGHE_AN, VPCP, 7816))?;
    assert_eq!(code, 202, "{}", String::from_utf8_lossy(&body));
    wait_for("03 from Nghệ An at the sender", DEADLINE, || {
        (codes(&vpcp, &package, NGHE_AN) == ["01", "03"]).then_some(())
    })?;
    wait_for("01 from Tây Ninh at the sender", DEADLINE, || {
        (codes(&vpcp, &package, TAY_NINH) == ["01"]).then_some(())
    })?;

    // Tây Ninh's node stops; the others see it go.
    assert!(tay_ninh.terminate()?, "Tây Ninh stops cleanly");
    for node in [&vpcp, &nghe_an] {
        wait_for(
            &format!("{} to see Tây Ninh gone", node.info().organ_id),
            DEADLINE,
            || {
                let peers = node.get_json("/api/v1/peers").ok()?;
                peers
                    .as_array()?
                    .iter()
                    .any(|p| p["organ_id"] == TAY_NINH && p["connected"] == Value::Bool(false))
                    .then_some(())
            },
        )?;
    }

    // The two left go on: another document, its 01 back.
    let second = vpcp.submit(&document(VPCP, &[NGHE_AN], 7817))?;
    vpcp.wait_state(&second, NGHE_AN, "delivered", DEADLINE)?;
    wait_for("01 of the second document", DEADLINE, || {
        (codes(&vpcp, &second, NGHE_AN) == ["01"]).then_some(())
    })?;

    assert!(vpcp.terminate()?, "the Government Office stops cleanly");
    assert!(nghe_an.terminate()?, "Nghệ An stops cleanly");
    assert_quiet(&[&vpcp, &nghe_an, &tay_ninh]);
    Ok(())
}
