//! Reports and metrics with real processes on loopback: documents go both ways between the
//! Government Office and Nghệ An, statuses come back (03, 06), one flash document goes to
//! Tây Ninh, whose node never comes up, and sticks; then `lienthong report` counts each
//! counterpart in every format, and `/metrics` shows the traffic.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lienthong_protocol::edxml::{
    self, Code, Document, Message, Organization, OtherInfo, Priority, PromulgationInfo, Status,
    StatusCode,
};
use lienthong_protocol::envelope::Timestamp;
use lienthong_tests::{Federation, ProcessNode, configure, lienthong, wait_for};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);
const VPCP: &str = "000.00.00.G22";
const NGHE_AN: &str = "000.00.00.H41";
const TAY_NINH: &str = "000.00.00.H53";

/// The DocumentId of document `number` of `from`.
fn document_id(from: &str, number: u32) -> String {
    format!("{from},2026/01/15,{number}/BC")
}

fn document(from: &str, to: &str, number: u32, priority: Priority) -> Vec<u8> {
    let mut doc = Document::new(
        Organization::new(from.parse().expect("id")),
        vec![Organization::new(to.parse().expect("id"))],
    );
    doc.document_id = Some(document_id(from, number));
    doc.code = Some(Code {
        number: number.to_string(),
        notation: "BC".into(),
    });
    doc.promulgation = Some(PromulgationInfo {
        place: Some("Hà Nội".into()),
        date: edxml::EdxmlDate::new(2026, 1, 15),
    });
    doc.subject = Some(format!("Văn bản số {number}"));
    doc.other_info = Some(OtherInfo {
        priority: Some(priority),
        ..OtherInfo::default()
    });
    edxml::write(&Message::Document(Box::new(doc))).expect("writes")
}

/// The status `from`'s QLVB posts about document `number` that `sender` sent it.
fn status(from: &str, sender: &str, number: u32, code: StatusCode) -> Vec<u8> {
    let message = Status::about_document(
        Organization::new(from.parse().expect("id")),
        sender.parse().expect("id"),
        document_id(sender, number),
        code,
        None,
    );
    edxml::write(&Message::Status(Box::new(message))).expect("writes")
}

fn post_status(node: &ProcessNode, edxml: &[u8]) -> anyhow::Result<()> {
    let (code, body) = node.post("/api/v1/packages", edxml)?;
    anyhow::ensure!(
        code == 202,
        "status refused: {code} {}",
        String::from_utf8_lossy(&body)
    );
    Ok(())
}

/// Waits until the sender holds every one of `codes` from `recipient` about `package`.
fn wait_codes(
    sender: &ProcessNode,
    package: &str,
    recipient: &str,
    codes: &[&str],
) -> anyhow::Result<()> {
    wait_for(
        &format!("{codes:?} from {recipient} about {package}"),
        DEADLINE,
        || {
            let (_, have) = sender.recipient_state(package, recipient).ok()?;
            let have: HashSet<String> = have.into_iter().collect();
            codes.iter().all(|c| have.contains(*c)).then_some(())
        },
    )
}

/// Today, UTC, as `YYYY-MM-DD`.
fn today() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    let now = Timestamp::from_millis(u64::try_from(millis).expect("fits"));
    now.to_string()[..10].to_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

fn report(dir: &Path, from: &str, to: &str, extra: &[&str]) -> anyhow::Result<String> {
    let mut args = vec![
        "report",
        "--data-dir",
        path(dir),
        "--from",
        from,
        "--to",
        to,
    ];
    args.extend_from_slice(extra);
    lienthong(&args)
}

fn row<'a>(report: &'a Value, organ_id: &str) -> &'a Value {
    report["counterparts"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["organ_id"] == organ_id))
        .unwrap_or_else(|| panic!("no row for {organ_id} in {report:#}"))
}

/// The value of the sample line that starts with `prefix` (name and labels).
fn sample(metrics: &str, prefix: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(prefix)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

#[test]
fn reports_count_each_counterpart_in_every_format_and_metrics_follow_the_traffic()
-> anyhow::Result<()> {
    let federation = Federation::new("Báo cáo liên thông")?;
    let vpcp_dir = federation.init(VPCP, "Văn phòng Chính phủ")?;
    // Flash documents must be confirmed within a second: the one to Tây Ninh sticks at once.
    configure(&vpcp_dir, "flash_receipt_deadline", "\"1s\"")?;
    let vpcp = ProcessNode::start(&vpcp_dir)?;
    federation.admit(&vpcp_dir)?;
    let nghe_an = federation.start_node(NGHE_AN, "UBND tỉnh Nghệ An")?;
    let tay_ninh_dir = federation.init(TAY_NINH, "UBND tỉnh Tây Ninh")?;
    federation.admit(&tay_ninh_dir)?;
    federation.wait_roster(&[&vpcp, &nghe_an])?;
    let from = today();

    // Three documents to Nghệ An, whose QLVB accepts the first two (03) and finishes the
    // first (06).
    let mut sent = Vec::new();
    for number in 1..=3 {
        let package = vpcp.submit(&document(VPCP, NGHE_AN, number, Priority::Normal))?;
        vpcp.wait_state(&package, NGHE_AN, "delivered", DEADLINE)?;
        sent.push(package);
    }
    post_status(&nghe_an, &status(NGHE_AN, VPCP, 1, StatusCode::Accepted))?;
    post_status(&nghe_an, &status(NGHE_AN, VPCP, 1, StatusCode::Completed))?;
    post_status(&nghe_an, &status(NGHE_AN, VPCP, 2, StatusCode::Accepted))?;
    // One document from Nghệ An, which the Government Office accepts and finishes.
    let back = nghe_an.submit(&document(NGHE_AN, VPCP, 7, Priority::Normal))?;
    nghe_an.wait_state(&back, VPCP, "delivered", DEADLINE)?;
    post_status(&vpcp, &status(VPCP, NGHE_AN, 7, StatusCode::Accepted))?;
    post_status(&vpcp, &status(VPCP, NGHE_AN, 7, StatusCode::Completed))?;
    // A flash document to Tây Ninh, whose node never runs.
    let lost = vpcp.submit(&document(VPCP, TAY_NINH, 4, Priority::Flash))?;

    wait_codes(&vpcp, &sent[0], NGHE_AN, &["01", "03", "06"])?;
    wait_codes(&vpcp, &sent[1], NGHE_AN, &["01", "03"])?;
    wait_codes(&nghe_an, &back, VPCP, &["01", "03", "06"])?;
    wait_for("the flash document to be stuck", DEADLINE, || {
        let stuck = vpcp.get_json("/api/v1/stuck").ok()?;
        (stuck.as_array()?.len() == 1 && stuck[0]["package_id"] == lost.as_str()).then_some(())
    })?;
    let to = today();

    // JSON, as scripts read it.
    let json: Value = serde_json::from_str(&report(&vpcp_dir, &from, &to, &["--format", "json"])?)?;
    assert_eq!(json["agency"], VPCP);
    assert_eq!(json["agency_name"], "Văn phòng Chính phủ");
    assert_eq!(json["from"], from.as_str());
    assert_eq!(
        (
            json["documents_sent"].as_u64(),
            json["documents_received"].as_u64()
        ),
        (Some(4), Some(1))
    );
    assert_eq!(
        json["counterparts"].as_array().map(Vec::len),
        Some(2),
        "{json:#}"
    );
    let nghe_an_row = row(&json, NGHE_AN);
    assert_eq!(nghe_an_row["name"], "UBND tỉnh Nghệ An");
    for (field, expected) in [
        ("sent", 3),
        ("arrived_on_time", 3),
        ("arrived_late", 0),
        ("not_arrived", 0),
        ("refused", 0),
        ("answered", 2),
        ("completed", 1),
        ("stuck", 0),
        ("received", 1),
        ("received_answered", 1),
        ("received_completed", 1),
        ("received_refused", 0),
    ] {
        assert_eq!(
            nghe_an_row[field], expected,
            "Nghệ An's {field} in {nghe_an_row:#}"
        );
    }
    assert_eq!(nghe_an_row["arrived_on_time_percent"], 100.0);
    assert_eq!(nghe_an_row["completed_percent"], 33.3);
    assert_eq!(nghe_an_row["received_answered_percent"], 100.0);
    assert!(nghe_an_row["median_seconds_to_arrival"].is_u64());
    let tay_ninh_row = row(&json, TAY_NINH);
    assert_eq!(tay_ninh_row["name"], "UBND tỉnh Tây Ninh");
    for (field, expected) in [
        ("sent", 1),
        ("arrived_on_time", 0),
        ("not_arrived", 1),
        ("stuck", 1),
        ("received", 0),
    ] {
        assert_eq!(
            tay_ninh_row[field], expected,
            "Tây Ninh's {field} in {tay_ninh_row:#}"
        );
    }
    assert!(tay_ninh_row["median_seconds_to_arrival"].is_null());
    assert!(tay_ninh_row["received_answered_percent"].is_null());
    let totals = &json["totals"];
    assert_eq!(
        (totals["sent"].as_u64(), totals["stuck"].as_u64()),
        (Some(4), Some(1))
    );
    assert_eq!(totals["arrived_on_time_percent"], 75.0);

    // The other side of the same exchanges, from Nghệ An.
    let theirs: Value =
        serde_json::from_str(&report(nghe_an.dir(), &from, &to, &["--format", "json"])?)?;
    let vpcp_row = row(&theirs, VPCP);
    for (field, expected) in [
        ("sent", 1),
        ("arrived_on_time", 1),
        ("answered", 1),
        ("completed", 1),
        ("received", 3),
        ("received_answered", 2),
        ("received_completed", 1),
    ] {
        assert_eq!(
            vpcp_row[field], expected,
            "the Government Office's {field} in {vpcp_row:#}"
        );
    }

    // CSV for Excel: a byte order mark, the header, a row per counterpart, the total.
    let csv_file = vpcp_dir.join("quy.csv");
    report(&vpcp_dir, &from, &to, &["--output", path(&csv_file)])?;
    let bytes = std::fs::read(&csv_file)?;
    assert!(bytes.starts_with(b"\xef\xbb\xbf"), "UTF-8 BOM");
    let text = String::from_utf8(bytes[3..].to_vec())?;
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0][0], "Mã định danh");
    assert_eq!(lines[1][..4], [NGHE_AN, "UBND tỉnh Nghệ An", "3", "3"]);
    assert_eq!(lines[1][12], "0", "Nghệ An: nothing stuck");
    assert_eq!(lines[2][..3], [TAY_NINH, "UBND tỉnh Tây Ninh", "1"]);
    assert_eq!(lines[2][12], "1", "Tây Ninh: stuck");
    assert_eq!(lines[3][..3], ["", "Tổng cộng", "4"]);

    // HTML to print, here chosen by the file's extension.
    let html_file = vpcp_dir.join("quy.html");
    report(&vpcp_dir, &from, &to, &["--output", path(&html_file)])?;
    let page = std::fs::read_to_string(&html_file)?;
    let vietnamese = |day: &str| format!("{}/{}/{}", &day[8..10], &day[5..7], &day[..4]);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains(&format!(
        "Từ ngày {} đến ngày {}",
        vietnamese(&from),
        vietnamese(&to)
    )));
    assert!(page.contains("UBND tỉnh Tây Ninh"));
    assert!(
        page.contains("<td class=\"n warn\">1</td>"),
        "the stuck count stands out"
    );
    let stdout = report(&vpcp_dir, &from, &to, &["--format", "html"])?;
    assert!(stdout.contains("BÁO CÁO KẾT QUẢ GỬI, NHẬN VĂN BẢN ĐIỆN TỬ"));

    // A period with nothing in it, and periods that make no sense.
    let empty: Value = serde_json::from_str(&report(
        &vpcp_dir,
        "2020-01-01",
        "2020-12-31",
        &["--format", "json"],
    )?)?;
    assert_eq!(empty["counterparts"].as_array().map(Vec::len), Some(0));
    let reversed = report(&vpcp_dir, "2026-03-31", "2026-01-01", &[]).expect_err("refused");
    assert!(
        reversed
            .to_string()
            .contains("the period starts on 2026-03-31, after its end on 2026-01-01"),
        "{reversed}"
    );
    let impossible = report(&vpcp_dir, "2026-02-30", "2026-03-31", &[]).expect_err("refused");
    assert!(
        impossible
            .to_string()
            .contains("does not exist: its day is out of range"),
        "{impossible}"
    );
    let (code, body) = vpcp.get("/api/v1/report?from=2026-01-01")?;
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("both from and to are required"));

    // /metrics after the traffic, once an attempt at Tây Ninh has failed.
    wait_for("a failed attempt at Tây Ninh", DEADLINE, || {
        let (_, body) = vpcp.get("/metrics").ok()?;
        let text = String::from_utf8(body).ok()?;
        (sample(&text, "lienthong_delivery_retries_total")? >= 1.0).then_some(())
    })?;
    let (code, body) = vpcp.get("/metrics")?;
    assert_eq!(code, 200);
    let metrics = String::from_utf8(body)?;
    let value = |prefix: &str| {
        sample(&metrics, prefix).unwrap_or_else(|| panic!("{prefix} missing in\n{metrics}"))
    };
    assert!(value("lienthong_receipts_by_code_total{code=\"01\"}") >= 3.0);
    assert_eq!(value("lienthong_receipts_by_code_total{code=\"03\"}"), 2.0);
    assert_eq!(value("lienthong_receipts_by_code_total{code=\"06\"}"), 1.0);
    assert_eq!(value("lienthong_receipts_by_code_total{code=\"02\"}"), 0.0);
    assert!(value("lienthong_deliveries_by_path_total{path=\"direct\"}") >= 3.0);
    assert_eq!(
        value("lienthong_deliveries_by_path_total{path=\"mailbox\"}"),
        0.0
    );
    assert!(value("lienthong_deliveries_total") >= 3.0);
    assert!(value("lienthong_delivery_seconds_count") >= 3.0);
    assert!(
        value("lienthong_delivery_retries_total") >= 1.0,
        "Tây Ninh is retried"
    );
    assert_eq!(value("lienthong_stuck"), 1.0);
    assert!(value("lienthong_store_size_bytes") > 0.0);
    // Four documents and two statuses sent from here.
    assert_eq!(value("lienthong_store_records{kind=\"outgoing\"}"), 6.0);
    assert!(value("lienthong_peers_connected") >= 1.0);
    assert_eq!(value("lienthong_peers_relayed"), 0.0);
    assert_eq!(
        value(
            "lienthong_api_request_duration_seconds_count{route=\"/api/v1/packages\",method=\"POST\",status=\"2xx\"}"
        ),
        6.0,
        "every submission is timed"
    );
    assert!(
        value(
            "lienthong_api_request_duration_seconds_count{route=\"/api/v1/report\",method=\"GET\",status=\"4xx\"}"
        ) >= 1.0
    );
    assert!(
        value(
            "lienthong_api_request_duration_seconds_count{route=\"/api/v1/report\",method=\"GET\",status=\"2xx\"}"
        ) >= 5.0
    );
    let sum = value(
        "lienthong_api_request_duration_seconds_sum{route=\"/api/v1/packages\",method=\"POST\",status=\"2xx\"}",
    );
    assert!(
        sum > 0.0 && sum < 6.0 * 30.0,
        "sensible submission times: {sum} s for 6"
    );
    assert!(
        metrics.lines().any(
            |l| l.starts_with("lienthong_api_request_duration_seconds_bucket{")
                && l.contains("route=\"/api/v1/packages/{id}/status\"")
        ),
        "the status route, polled above, by its template"
    );
    Ok(())
}
