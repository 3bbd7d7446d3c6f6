//! The operators' dashboard in a real browser: two agencies exchange documents, one
//! recipient is never reachable, and headless Chromium opens each node's page with the
//! token in the link's fragment. The page must show what was sent and what came back
//! (03 Đã tiếp nhận), highlight the stuck document, list what the other node received,
//! show the peers, switch to English and remember it, and say when the token is wrong.
//!
//! Needs Debian's `chromium` (`apt-get install -y chromium`); without it the test fails.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, ensure};
use lienthong_protocol::edxml::{
    self, Code, Document, Message, Organization, PromulgationInfo, Status, StatusCode,
};
use lienthong_tests::browser::{browse, chromium, element, start_tag};
use lienthong_tests::{Federation, ProcessNode, configure, wait_for};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);

const VPCP: &str = "000.00.00.G22";
const NGHE_AN: &str = "000.00.00.H41";
/// Admitted, never started: documents to it cannot arrive.
const HA_NAM: &str = "000.00.00.H35";

const ACCEPTED_SUBJECT: &str = "Về việc triển khai liên thông văn bản điện tử";
const STUCK_SUBJECT: &str = "Về việc báo cáo tình hình tiếp nhận văn bản quý IV";

fn document(from: &str, to: &[&str], number: u32, subject: &str) -> (String, Vec<u8>) {
    let mut doc = Document::new(
        Organization::new(from.parse().expect("id")),
        to.iter()
            .map(|id| Organization::new(id.parse().expect("id")))
            .collect(),
    );
    let document_id = format!("{from},2025/11/20,{number}/VPCP-TTĐT");
    doc.document_id = Some(document_id.clone());
    doc.code = Some(Code {
        number: number.to_string(),
        notation: "VPCP-TTĐT".into(),
    });
    doc.promulgation = Some(PromulgationInfo {
        place: Some("Hà Nội".into()),
        date: edxml::EdxmlDate::new(2025, 11, 20),
    });
    doc.subject = Some(subject.to_owned());
    let bytes = edxml::write(&Message::Document(Box::new(doc))).expect("writes");
    (document_id, bytes)
}

/// Status 03 from `from` about `document_id`, which `to` sent.
fn accepted(from: &str, to: &str, document_id: &str) -> Vec<u8> {
    let message = Status::about_document(
        Organization::new(from.parse().expect("id")),
        to.parse().expect("id"),
        document_id,
        StatusCode::Accepted,
        Some("Đã vào sổ văn bản đến".to_owned()),
    );
    edxml::write(&Message::Status(Box::new(message))).expect("writes")
}

/// A plain HTTP GET without a token; status line and body.
fn get_without_token(node: &ProcessNode, path: &str) -> anyhow::Result<(String, String)> {
    let mut stream = std::net::TcpStream::connect(&node.info().api_addr)?;
    stream.set_read_timeout(Some(DEADLINE))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        node.info().api_addr
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    Ok((head.to_owned(), body.to_owned()))
}

/// A fresh browser profile inside the federation's temporary directory (removed with it).
fn browser_dir(federation: &Federation, name: &str) -> PathBuf {
    federation.dir().with_file_name(format!("browser-{name}"))
}

fn dashboard_url(node: &ProcessNode, query: &str) -> String {
    let token = std::fs::read_to_string(node.dir().join("api.token")).expect("api.token");
    format!(
        "http://{}/{query}#token={}",
        node.info().api_addr,
        token.trim()
    )
}

#[test]
fn the_dashboard_shows_sent_received_stuck_and_peers_in_a_browser() -> anyhow::Result<()> {
    chromium();
    let federation = Federation::new("Bảng điều khiển")?;
    // The Government Office reports a recipient as stuck two seconds after sending.
    let vpcp_dir = federation.init(VPCP, "Văn phòng Chính phủ")?;
    configure(&vpcp_dir, "receipt_deadline", "\"2s\"")?;
    let vpcp = ProcessNode::start(&vpcp_dir)?;
    federation.admit(&vpcp_dir)?;
    let nghe_an = federation.start_node(NGHE_AN, "UBND tỉnh Nghệ An")?;
    let ha_nam_dir = federation.init(HA_NAM, "UBND tỉnh Hà Nam")?;
    federation.admit(&ha_nam_dir)?;
    federation.wait_roster(&[&vpcp, &nghe_an])?;

    // One document arrives and is accepted (03); the next also goes to Hà Nam, whose node
    // never runs, so it is stuck there.
    let (accepted_id, edxml) = document(VPCP, &[NGHE_AN], 101, ACCEPTED_SUBJECT);
    let accepted_package = vpcp.submit(&edxml)?;
    vpcp.wait_state(&accepted_package, NGHE_AN, "delivered", DEADLINE)?;
    let (stuck_id, edxml) = document(VPCP, &[NGHE_AN, HA_NAM], 102, STUCK_SUBJECT);
    let stuck_package = vpcp.submit(&edxml)?;
    vpcp.wait_state(&stuck_package, NGHE_AN, "delivered", DEADLINE)?;
    let (code, body) = nghe_an.post("/api/v1/packages", &accepted(NGHE_AN, VPCP, &accepted_id))?;
    ensure!(
        code == 202,
        "status 03 refused: {code} {}",
        String::from_utf8_lossy(&body)
    );
    wait_for("03 to reach the sender", DEADLINE, || {
        let (_, codes) = vpcp.recipient_state(&accepted_package, NGHE_AN).ok()?;
        (codes == ["01", "03"]).then_some(())
    })?;
    vpcp.wait_state(&stuck_package, HA_NAM, "stuck", DEADLINE)?;
    // Nghệ An's QLVB collects the first document, not the second.
    let (code, _) = nghe_an.post(&format!("/api/v1/inbox/{accepted_package}/ack"), b"")?;
    ensure!(code == 200, "ack: {code}");
    wait_for("the sender to be connected to Nghệ An", DEADLINE, || {
        let peers = vpcp.get_json("/api/v1/peers").ok()?;
        peers
            .as_array()?
            .iter()
            .any(|p| p["organ_id"] == NGHE_AN && p["connected"] == true)
            .then_some(())
    })?;

    // The page is public and holds no data; the data is behind the token.
    let (head, page) = get_without_token(&vpcp, "/")?;
    ensure!(head.starts_with("HTTP/1.1 200"), "GET /: {head}");
    ensure!(
        head.to_ascii_lowercase()
            .contains("content-type: text/html"),
        "{head}"
    );
    ensure!(
        !page.contains(VPCP) && !page.contains(ACCEPTED_SUBJECT),
        "the public page must hold no data"
    );
    let (head, _) = get_without_token(&vpcp, "/api/v1/dashboard")?;
    ensure!(
        head.starts_with("HTTP/1.1 401"),
        "the dashboard data needs the token: {head}"
    );

    // The data the page shows.
    let data = vpcp.get_json("/api/v1/dashboard")?;
    assert_eq!(data["summary"]["sent"], 2, "{data:#}");
    assert_eq!(data["summary"]["stuck_documents"], 1, "{data:#}");
    assert_eq!(data["summary"]["stuck_recipients"], 1, "{data:#}");
    assert_eq!(data["stuck"]["items"][0]["recipient"], HA_NAM, "{data:#}");
    assert_eq!(
        data["stuck"]["items"][0]["reason"], "recipient_unreachable",
        "{data:#}"
    );
    assert_eq!(
        data["sent"]["items"][0]["package_id"],
        stuck_package.as_str(),
        "newest first"
    );
    let received: Value = nghe_an.get_json("/api/v1/dashboard")?;
    assert_eq!(received["summary"]["received"], 2, "{received:#}");
    assert_eq!(received["summary"]["waiting_for_qlvb"], 1, "{received:#}");
    assert_eq!(
        received["received"]["items"][1]["package_id"],
        accepted_package.as_str(),
        "newest first: {received:#}"
    );
    assert_eq!(
        received["received"]["items"][1]["latest_status"]["code"], "03",
        "Nghệ An's own latest status for the first document: {received:#}"
    );

    // The sender's page, in Vietnamese.
    let profile = browser_dir(&federation, "vpcp");
    let dom = browse(&dashboard_url(&vpcp, ""), &profile, None)?;
    assert!(dom.contains("lang=\"vi\""), "Vietnamese by default");
    assert!(dom.contains("Văn bản đã gửi"), "{dom}");
    assert!(dom.contains(ACCEPTED_SUBJECT), "{dom}");
    assert!(
        dom.contains(&accepted_id) && dom.contains(&stuck_id),
        "{dom}"
    );
    let row = element(
        &dom,
        "tr",
        &[("data-row", "sent"), ("data-package", &accepted_package)],
    )?;
    let cell = start_tag(row, "div", &[("data-recipient", NGHE_AN)])?;
    assert_eq!(cell.attr("data-state"), Some("delivered"), "{row}");
    assert_eq!(cell.attr("data-code"), Some("03"), "{row}");
    assert!(row.contains("<b>03</b> Đã tiếp nhận"), "{row}");
    let timeline = cell.attr("title").unwrap_or_default();
    assert!(
        timeline.contains("01 Đã đến") && timeline.contains("03 Đã tiếp nhận"),
        "the cell's title holds the whole timeline: {timeline}"
    );
    assert_eq!(
        start_tag(
            &dom,
            "tr",
            &[("data-row", "sent"), ("data-package", &accepted_package)]
        )?
        .attr("data-stuck"),
        Some("false")
    );

    let stuck_row = element(
        &dom,
        "tr",
        &[("data-row", "sent"), ("data-package", &stuck_package)],
    )?;
    let stuck_tag = start_tag(
        &dom,
        "tr",
        &[("data-row", "sent"), ("data-package", &stuck_package)],
    )?;
    assert_eq!(stuck_tag.attr("data-stuck"), Some("true"), "{stuck_row}");
    assert!(stuck_tag.has_class("problem"), "{stuck_row}");
    let stuck_cell = start_tag(stuck_row, "div", &[("data-recipient", HA_NAM)])?;
    assert_eq!(stuck_cell.attr("data-state"), Some("stuck"), "{stuck_row}");
    assert!(stuck_cell.has_class("state-stuck"), "{stuck_row}");
    let arrived_cell = start_tag(stuck_row, "div", &[("data-recipient", NGHE_AN)])?;
    assert_eq!(arrived_cell.attr("data-state"), Some("delivered"));
    assert!(stuck_row.contains(STUCK_SUBJECT));

    let stuck_card = start_tag(&dom, "div", &[("data-summary", "stuck")])?;
    assert!(
        stuck_card.has_class("alert"),
        "the summary flags stuck documents"
    );
    let stuck_panel = start_tag(&dom, "section", &[("id", "stuck-panel")])?;
    assert!(!stuck_panel.has_class("hidden"), "the stuck list is shown");
    let stuck_entry = start_tag(
        &dom,
        "tr",
        &[
            ("data-row", "stuck"),
            ("data-package", &stuck_package),
            ("data-recipient", HA_NAM),
        ],
    )?;
    assert_eq!(
        stuck_entry.attr("data-reason"),
        Some("recipient_unreachable")
    );
    assert!(dom.contains("Không liên lạc được với đơn vị nhận"));

    let peer = start_tag(&dom, "tr", &[("data-row", "peer"), ("data-organ", NGHE_AN)])?;
    assert_eq!(peer.attr("data-connection"), Some("connected"));
    let absent = start_tag(&dom, "tr", &[("data-row", "peer"), ("data-organ", HA_NAM)])?;
    assert_eq!(absent.attr("data-connection"), Some("disconnected"));
    assert!(dom.contains("UBND tỉnh Nghệ An"));
    assert!(
        dom.contains("Cập nhật lúc"),
        "the page says when it refreshed"
    );
    let banner = start_tag(&dom, "div", &[("id", "banner")])?;
    assert!(banner.has_class("hidden"), "no error shown: {dom}");

    // The recipient's page lists what it received.
    let dom = browse(
        &dashboard_url(&nghe_an, ""),
        &browser_dir(&federation, "nghe-an"),
        None,
    )?;
    assert!(dom.contains("Văn bản đã nhận"), "{dom}");
    let first = start_tag(
        &dom,
        "tr",
        &[
            ("data-row", "received"),
            ("data-package", &accepted_package),
        ],
    )?;
    assert_eq!(first.attr("data-from"), Some(VPCP));
    assert_eq!(first.attr("data-collected"), Some("true"));
    let first_row = element(
        &dom,
        "tr",
        &[
            ("data-row", "received"),
            ("data-package", &accepted_package),
        ],
    )?;
    assert!(first_row.contains(&accepted_id), "{first_row}");
    assert!(first_row.contains("03 Đã tiếp nhận"), "{first_row}");
    let second = start_tag(
        &dom,
        "tr",
        &[("data-row", "received"), ("data-package", &stuck_package)],
    )?;
    assert_eq!(second.attr("data-collected"), Some("false"));
    assert!(
        element(
            &dom,
            "tr",
            &[("data-row", "received"), ("data-package", &stuck_package)]
        )?
        .contains("01 Đã đến"),
        "the recipient's own 01 is its latest status for the second document"
    );
    assert!(
        start_tag(&dom, "tr", &[("data-row", "peer"), ("data-organ", VPCP)])?
            .attr("data-connection")
            == Some("connected")
    );

    // In English, and the choice is remembered in the same browser profile.
    let dom = browse(&dashboard_url(&vpcp, "?lang=en"), &profile, None)?;
    assert!(dom.contains("lang=\"en\""), "{dom}");
    for label in [
        "Sent documents",
        "Received documents",
        "Federation nodes",
        "Stuck documents",
        "Updated at",
        "<b>03</b> Accepted",
        "The recipient cannot be reached",
    ] {
        assert!(
            dom.contains(label),
            "no {label:?} in the English page:\n{dom}"
        );
    }
    assert!(!dom.contains("Văn bản đã gửi"), "{dom}");
    let dom = browse(&dashboard_url(&vpcp, ""), &profile, None)?;
    assert!(
        dom.contains("lang=\"en\"") && dom.contains("Sent documents"),
        "English is remembered without ?lang=en"
    );

    // A wrong token is said to be wrong, and nothing is shown.
    let wrong = format!("http://{}/#token=not-the-token", vpcp.info().api_addr);
    let dom = browse(&wrong, &browser_dir(&federation, "wrong-token"), None)?;
    let banner = start_tag(&dom, "div", &[("id", "banner")])?;
    assert_eq!(banner.attr("data-kind"), Some("unauthorized"), "{dom}");
    assert!(dom.contains("Token không đúng"), "{dom}");
    assert!(!dom.contains(ACCEPTED_SUBJECT));
    assert!(!start_tag(&dom, "div", &[("id", "login")])?.has_class("hidden"));

    // A screenshot for people to look at.
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(shots)?;
    let png = shots.join("dashboard.png");
    let _ = std::fs::remove_file(&png);
    browse(
        &dashboard_url(&vpcp, "?lang=vi"),
        &browser_dir(&federation, "screenshot"),
        Some(&png),
    )?;
    let size = std::fs::metadata(&png)
        .with_context(|| format!("no screenshot at {}", png.display()))?
        .len();
    ensure!(
        size > 20_000,
        "the screenshot at {} is only {size} bytes",
        png.display()
    );
    println!("dashboard screenshot: {}", png.display());
    Ok(())
}
