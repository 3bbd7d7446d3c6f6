//! The province at a glance, with real processes on loopback: the provincial office
//! monitors the province's receipt summaries while three units exchange documents (two
//! finished with 06, one refused with 02, one that arrived and is never registered), and a
//! fourth unit's node never runs. The office's overview (`GET /api/v1/province`) must count
//! every unit right; headless Chromium must show the same figures on the dashboard's
//! province tab, in Vietnamese and English, with the units that fall behind coloured and a
//! unit's stuck documents with their reasons; `lienthong report --province` must give the
//! same figures as JSON, CSV and HTML.
//!
//! Needs Debian's `chromium` (`apt-get install -y chromium`); without it the test fails.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, ensure};
use lienthong_protocol::edxml::{
    self, Code, Document, Message, Organization, PromulgationInfo, Status, StatusCode,
};
use lienthong_protocol::envelope::Timestamp;
use lienthong_tests::browser::{browse, chromium, element, start_tag, tags};
use lienthong_tests::{Federation, ProcessNode, configure, lienthong, wait_for};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);
/// The provincial office, which monitors.
const OFFICE: &str = "000.00.01.H53";
const HOME_AFFAIRS: &str = "000.00.02.H53";
const FINANCE: &str = "000.00.03.H53";
/// Admitted, never started: never heard of.
const HEALTH: &str = "000.00.04.H53";
const REFUSAL: &str = "Sai thể thức văn bản, đề nghị ban hành lại";

fn document_id(from: &str, number: u32) -> String {
    format!("{from},2025/03/20,{number}/VP")
}

fn document(from: &str, to: &str, number: u32) -> Vec<u8> {
    let mut doc = Document::new(
        Organization::new(from.parse().expect("id")),
        vec![Organization::new(to.parse().expect("id"))],
    );
    doc.document_id = Some(document_id(from, number));
    doc.code = Some(Code {
        number: number.to_string(),
        notation: "VP".into(),
    });
    doc.promulgation = Some(PromulgationInfo {
        place: Some("Tây Ninh".into()),
        date: edxml::EdxmlDate::new(2025, 3, 20),
    });
    doc.subject = Some(format!("Văn bản số {number}"));
    edxml::write(&Message::Document(Box::new(doc))).expect("writes")
}

/// The status `from`'s QLVB posts about document `number` that `sender` sent it.
fn post_status(
    node: &ProcessNode,
    from: &str,
    sender: &str,
    number: u32,
    code: StatusCode,
    why: Option<&str>,
) -> anyhow::Result<()> {
    let message = Status::about_document(
        Organization::new(from.parse().expect("id")),
        sender.parse().expect("id"),
        document_id(sender, number),
        code,
        why.map(str::to_owned),
    );
    let edxml = edxml::write(&Message::Status(Box::new(message))).expect("writes");
    let (code, body) = node.post("/api/v1/packages", &edxml)?;
    ensure!(
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
    Timestamp::from_millis(u64::try_from(millis).expect("fits")).to_string()[..10].to_owned()
}

fn unit<'a>(overview: &'a Value, organ_id: &str) -> &'a Value {
    overview["units"]
        .as_array()
        .and_then(|units| units.iter().find(|u| u["organ_id"] == organ_id))
        .unwrap_or_else(|| panic!("no row for {organ_id} in {overview:#}"))
}

/// The counted columns, as the page marks its cells.
const FIELDS: [&str; 8] = [
    "sent",
    "received",
    "arrived_on_time",
    "answered",
    "completed",
    "refused",
    "stuck",
    "last_seen",
];

/// What each unit's row must say: sent, received, 01 in time, answered (03-06), completed
/// (06), refused (02), stuck, and why it falls behind.
fn expected() -> Vec<(&'static str, [u64; 7], Vec<&'static str>)> {
    vec![
        // Sent documents 3 and 4; received 5, which it registered.
        (OFFICE, [2, 1, 1, 1, 0, 0, 0], vec![]),
        // Sent 1 and 2; received 3, registered and finished.
        (HOME_AFFAIRS, [2, 1, 1, 1, 1, 0, 0], vec![]),
        // Sent 5; received 1 (finished), 2 (refused), 4 (never registered).
        (FINANCE, [1, 3, 3, 1, 1, 1, 2], vec!["stuck"]),
        (HEALTH, [0, 0, 0, 0, 0, 0, 0], vec!["silent"]),
    ]
}

fn counts_of(row: &Value) -> [u64; 7] {
    let n = |f: &str| row[f].as_u64().unwrap_or(u64::MAX);
    [
        n("sent"),
        n("received"),
        n("arrived_on_time"),
        n("answered"),
        n("completed"),
        n("refused"),
        n("stuck"),
    ]
}

fn behind_of(row: &Value) -> Vec<&str> {
    row["behind"]
        .as_array()
        .map(|b| b.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn dashboard_url(node: &ProcessNode, query: &str) -> String {
    let token = std::fs::read_to_string(node.dir().join("api.token")).expect("api.token");
    format!(
        "http://{}/{query}#token={}",
        node.info().api_addr,
        token.trim()
    )
}

fn browser_dir(federation: &Federation, name: &str) -> PathBuf {
    federation.dir().with_file_name(format!("browser-{name}"))
}

/// Checks every unit's row on the page against the API's answer: the same units, each
/// cell's value the API's, the units that fall behind (and only those) coloured.
fn check_rows(dom: &str, overview: &Value) -> anyhow::Result<()> {
    let rows: Vec<_> = tags(dom)
        .into_iter()
        .filter(|t| t.name == "tr" && t.attr("data-row") == Some("unit"))
        .collect();
    let shown: Vec<&str> = rows.iter().filter_map(|t| t.attr("data-organ")).collect();
    assert_eq!(
        shown,
        [OFFICE, HOME_AFFAIRS, FINANCE, HEALTH],
        "every unit, once, in order"
    );
    for row in overview["units"].as_array().expect("units") {
        let organ = row["organ_id"].as_str().expect("id");
        let markup = element(dom, "tr", &[("data-row", "unit"), ("data-organ", organ)])?;
        assert!(
            markup.contains(row["name"].as_str().expect("name")),
            "{markup}"
        );
        for field in FIELDS {
            let cell = start_tag(markup, "td", &[("data-field", field)])?;
            let wanted = match &row[field] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(
                cell.attr("data-value"),
                Some(wanted.as_str()),
                "{organ}'s {field} on the page: {markup}"
            );
        }
        let tag = start_tag(dom, "tr", &[("data-row", "unit"), ("data-organ", organ)])?;
        let behind = !behind_of(row).is_empty();
        assert_eq!(tag.has_class("behind"), behind, "{organ}: {markup}");
        assert_eq!(
            tag.attr("data-behind"),
            Some(if behind { "true" } else { "false" })
        );
        for why in behind_of(row) {
            assert!(
                markup.contains(&format!("data-behind=\"{why}\"")),
                "{organ} shows why it falls behind ({why}): {markup}"
            );
        }
    }
    let total = element(dom, "tr", &[("data-row", "province-total")])?;
    let total_stuck = start_tag(total, "td", &[("data-field", "stuck")])?;
    assert_eq!(
        total_stuck.attr("data-value"),
        Some(overview["totals"]["stuck"].to_string().as_str())
    );
    Ok(())
}

#[test]
fn the_province_overview_counts_every_unit_in_the_api_the_browser_and_the_report()
-> anyhow::Result<()> {
    chromium();
    let federation = Federation::new("Toàn tỉnh Tây Ninh")?;
    let office_dir = federation.init(OFFICE, "Văn phòng UBND tỉnh")?;
    configure(&office_dir, "monitor", "true")?;
    // A document that arrived is stuck once it waits three seconds for its 03; the office
    // sweeps the province for summaries gossip did not bring every two seconds.
    configure(&office_dir, "accept_deadline", "\"3s\"")?;
    configure(&office_dir, "sync_interval", "\"2s\"")?;
    let office = ProcessNode::start(&office_dir)?;
    let home = federation.start_node(HOME_AFFAIRS, "Sở Nội vụ")?;
    let finance = federation.start_node(FINANCE, "Sở Tài chính")?;
    federation.admit(&office_dir)?;
    let health_dir = federation.init(HEALTH, "Sở Y tế")?;
    federation.admit(&health_dir)?;
    federation.wait_roster(&[&office, &home, &finance])?;
    let from = today();

    // 1: Home Affairs → Finance, registered and finished.
    let first = home.submit(&document(HOME_AFFAIRS, FINANCE, 1))?;
    home.wait_state(&first, FINANCE, "delivered", DEADLINE)?;
    post_status(
        &finance,
        FINANCE,
        HOME_AFFAIRS,
        1,
        StatusCode::Accepted,
        None,
    )?;
    post_status(
        &finance,
        FINANCE,
        HOME_AFFAIRS,
        1,
        StatusCode::Completed,
        None,
    )?;
    // 2: Home Affairs → Finance, refused.
    let second = home.submit(&document(HOME_AFFAIRS, FINANCE, 2))?;
    home.wait_state(&second, FINANCE, "delivered", DEADLINE)?;
    post_status(
        &finance,
        FINANCE,
        HOME_AFFAIRS,
        2,
        StatusCode::Rejected,
        Some(REFUSAL),
    )?;
    // 3: the office → Home Affairs, registered and finished.
    let third = office.submit(&document(OFFICE, HOME_AFFAIRS, 3))?;
    office.wait_state(&third, HOME_AFFAIRS, "delivered", DEADLINE)?;
    post_status(&home, HOME_AFFAIRS, OFFICE, 3, StatusCode::Accepted, None)?;
    post_status(&home, HOME_AFFAIRS, OFFICE, 3, StatusCode::Completed, None)?;
    // 4: the office → Finance, which never registers it.
    let fourth = office.submit(&document(OFFICE, FINANCE, 4))?;
    office.wait_state(&fourth, FINANCE, "delivered", DEADLINE)?;
    // 5: Finance → the office, which registers it.
    let fifth = finance.submit(&document(FINANCE, OFFICE, 5))?;
    finance.wait_state(&fifth, OFFICE, "delivered", DEADLINE)?;
    post_status(&office, OFFICE, FINANCE, 5, StatusCode::Accepted, None)?;

    wait_codes(&home, &first, FINANCE, &["01", "03", "06"])?;
    wait_codes(&home, &second, FINANCE, &["01", "02"])?;
    wait_codes(&office, &third, HOME_AFFAIRS, &["01", "03", "06"])?;
    wait_codes(&finance, &fifth, OFFICE, &["01", "03"])?;
    let to = today();

    // The office's overview, once every summary has reached it and document 4 has waited
    // past its deadline.
    let query = format!("/api/v1/province?from={from}&to={to}");
    let overview = wait_for(
        "the office's overview to count every unit",
        DEADLINE,
        || {
            let overview = office.get_json(&query).ok()?;
            expected()
                .iter()
                .all(|(organ, counts, behind)| {
                    let row = unit(&overview, organ);
                    counts_of(row) == *counts && behind_of(row) == *behind
                })
                .then_some(overview)
        },
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "{e}; it is {:#}",
            office.get_json(&query).unwrap_or_default()
        )
    })?;
    assert_eq!(overview["monitor"], OFFICE);
    assert_eq!(overview["monitor_name"], "Văn phòng UBND tỉnh");
    assert_eq!(overview["units"].as_array().map(Vec::len), Some(4));
    assert_eq!(unit(&overview, FINANCE)["name"], "Sở Tài chính");
    assert_eq!(unit(&overview, FINANCE)["completed_percent"], 33.3);
    assert_eq!(unit(&overview, HOME_AFFAIRS)["completed_percent"], 100.0);
    assert!(unit(&overview, HEALTH)["last_seen"].is_null());
    assert!(unit(&overview, HOME_AFFAIRS)["last_seen"].is_string());
    let totals = &overview["totals"];
    assert_eq!(
        (
            totals["sent"].as_u64(),
            totals["received"].as_u64(),
            totals["stuck"].as_u64()
        ),
        (Some(5), Some(5), Some(2))
    );
    let stuck = overview["stuck"].as_array().expect("stuck");
    let reasons: HashSet<(&str, &str, &str)> = stuck
        .iter()
        .map(|s| {
            (
                s["package_id"].as_str().unwrap_or_default(),
                s["recipient"].as_str().unwrap_or_default(),
                s["reason"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        HashSet::from([
            (second.as_str(), FINANCE, "refused"),
            (fourth.as_str(), FINANCE, "not_registered"),
        ])
    );
    let refused = stuck
        .iter()
        .find(|s| s["reason"] == "refused")
        .expect("refused");
    assert_eq!(refused["detail"], REFUSAL);
    assert_eq!(refused["sender"], HOME_AFFAIRS);
    assert_eq!(refused["document_id"], document_id(HOME_AFFAIRS, 2));

    // Only a monitoring node answers: another keeps only its own agency's receipts.
    let (code, body) = home.get(&query)?;
    assert_eq!(code, 409, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        home.get_json("/api/v1/dashboard")?["node"]["monitor"],
        false
    );
    assert_eq!(
        office.get_json("/api/v1/dashboard")?["node"]["monitor"],
        true
    );

    // The dashboard's province tab, in Vietnamese, with Finance's stuck documents open.
    let period = format!("from={from}&to={to}");
    let profile = browser_dir(&federation, "office");
    let dom = browse(
        &dashboard_url(
            &office,
            &format!("?lang=vi&view=province&{period}&unit={FINANCE}"),
        ),
        &profile,
        None,
    )?;
    assert!(dom.contains("lang=\"vi\""), "{dom}");
    // The figures shown are as of the page's own request; nothing has changed since.
    let overview = office.get_json(&query)?;
    check_rows(&dom, &overview)?;
    assert!(
        !start_tag(&dom, "nav", &[("id", "tabs")])?.has_class("hidden"),
        "a monitoring node offers the province tab"
    );
    assert!(start_tag(&dom, "div", &[("id", "node-view")])?.has_class("hidden"));
    for label in [
        "Toàn tỉnh",
        "Gửi, nhận văn bản điện tử của các đơn vị trên địa bàn tỉnh",
        "Báo đã đến (01) đúng hạn",
        "Đang treo",
        "Có văn bản treo",
        "Không hoạt động 7 ngày",
        "Chưa ghi nhận",
        "Sở Y tế",
    ] {
        assert!(dom.contains(label), "no {label:?} in the page:\n{dom}");
    }
    // The open unit's row is followed by its stuck documents (a table inside a row).
    let detail = &dom[start_tag(&dom, "tr", &[("data-detail-for", FINANCE)])?.at..];
    let detail = &detail[..detail.find("</table>").unwrap_or(detail.len())];
    assert!(
        detail.contains("Văn bản đang treo ở Sở Tài chính"),
        "{detail}"
    );
    let refused_row = element(
        detail,
        "tr",
        &[("data-row", "unit-stuck"), ("data-package", &second)],
    )?;
    assert!(
        refused_row.contains("data-reason=\"refused\"")
            && refused_row.contains("Đơn vị nhận từ chối tiếp nhận (02)")
            && refused_row.contains(REFUSAL)
            && refused_row.contains("Sở Nội vụ")
            && refused_row.contains(&document_id(HOME_AFFAIRS, 2)),
        "{refused_row}"
    );
    let waiting_row = element(
        detail,
        "tr",
        &[("data-row", "unit-stuck"), ("data-package", &fourth)],
    )?;
    assert!(
        waiting_row.contains("data-reason=\"not_registered\"")
            && waiting_row.contains("Đã đến (01), chưa vào sổ (03) quá hạn")
            && waiting_row.contains("01 Đã đến"),
        "{waiting_row}"
    );
    assert!(
        !dom.contains("data-detail-for=\"000.00.02.H53\""),
        "only the unit asked for is open"
    );

    // In English, another unit open: nothing is stuck there.
    let dom = browse(
        &dashboard_url(
            &office,
            &format!("?lang=en&view=province&{period}&unit={HOME_AFFAIRS}"),
        ),
        &profile,
        None,
    )?;
    assert!(dom.contains("lang=\"en\""), "{dom}");
    check_rows(&dom, &overview)?;
    for label in [
        "Province",
        "Electronic document exchange of every unit in the province",
        "01 in time",
        "Stuck now",
        "Documents stuck",
        "Silent for 7 days",
        "Never",
        "Nothing is stuck at this unit.",
    ] {
        assert!(
            dom.contains(label),
            "no {label:?} in the English page:\n{dom}"
        );
    }
    assert!(!dom.contains("Toàn tỉnh"), "{dom}");

    // A node that does not monitor has no province tab.
    let dom = browse(
        &dashboard_url(&home, "?view=province"),
        &browser_dir(&federation, "home"),
        None,
    )?;
    assert!(start_tag(&dom, "nav", &[("id", "tabs")])?.has_class("hidden"));
    assert!(!start_tag(&dom, "div", &[("id", "node-view")])?.has_class("hidden"));

    // `lienthong report --province`: the same figures for the quarterly report.
    let dir = office_dir.to_str().expect("utf-8");
    let report = |extra: &[&str]| {
        let mut args = vec![
            "report",
            "--province",
            "--data-dir",
            dir,
            "--from",
            &from,
            "--to",
            &to,
        ];
        args.extend_from_slice(extra);
        lienthong(&args)
    };
    let json: Value = serde_json::from_str(&report(&["--format", "json"])?)?;
    for (organ, counts, behind) in expected() {
        let row = unit(&json, organ);
        assert_eq!(counts_of(row), counts, "{organ} in {row:#}");
        assert_eq!(behind_of(row), behind, "{organ} in {row:#}");
        assert_eq!(row, unit(&overview, organ), "the API's row for {organ}");
    }
    assert_eq!(json["stuck"], overview["stuck"]);

    let csv_file = office_dir.join("tinh-quy.csv");
    report(&["--output", csv_file.to_str().expect("utf-8")])?;
    let bytes = std::fs::read(&csv_file)?;
    assert!(bytes.starts_with(b"\xef\xbb\xbf"), "UTF-8 BOM");
    let text = String::from_utf8(bytes[3..].to_vec())?;
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert_eq!(
        lines[0][..4],
        [
            "Mã định danh",
            "Tên đơn vị",
            "Văn bản gửi đi",
            "Văn bản nhận đến"
        ]
    );
    for (line, (organ, counts, _)) in lines[1..5].iter().zip(expected()) {
        assert_eq!(line[0], organ, "{text}");
        let cells = [
            line[2], line[3], line[4], line[6], line[8], line[10], line[11],
        ];
        let wanted = counts.map(|c| c.to_string());
        assert_eq!(
            cells,
            wanted.each_ref().map(String::as_str),
            "{organ}: {text}"
        );
    }
    assert_eq!(lines[3][13], "x", "Finance falls behind");
    assert_eq!(lines[1][13], "", "the office does not");
    assert_eq!(lines[5][..4], ["", "Tổng cộng", "5", "5"]);

    let html = report(&["--format", "html"])?;
    assert!(html.contains("KẾT QUẢ GỬI, NHẬN VĂN BẢN ĐIỆN TỬ GIỮA CÁC CƠ QUAN TRÊN ĐỊA BÀN TỈNH"));
    assert!(html.contains(REFUSAL));
    assert_eq!(html.matches("<tr class=\"behind\">").count(), 2, "{html}");

    // A screenshot for people to look at.
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(shots)?;
    let png = shots.join("province.png");
    let _ = std::fs::remove_file(&png);
    browse(
        &dashboard_url(
            &office,
            &format!("?lang=vi&view=province&{period}&unit={FINANCE}"),
        ),
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
    println!("province screenshot: {}", png.display());
    Ok(())
}
