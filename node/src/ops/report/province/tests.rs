//! The province overview from hand-made receipt summaries.

use std::time::Duration;

use lienthong_protocol::envelope::{PackageId, ReceiptFields, Timestamp};
use lienthong_protocol::{OrganId, StatusCode};

use super::*;

/// The provincial office, which monitors.
const OFFICE: &str = "000.00.01.H53";
const HOME_AFFAIRS: &str = "000.00.02.H53";
const FINANCE: &str = "000.00.03.H53";
/// A unit of the province that never signed anything.
const HEALTH: &str = "000.00.04.H53";
/// Outside the province.
const VPCP: &str = "000.00.00.G22";
const MINUTE: u64 = 60_000;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

fn organ(text: &str) -> OrganId {
    OrganId::parse(text).expect("valid id")
}

fn period() -> Period {
    Period::parse("2025-01-01", "2025-03-31").expect("valid period")
}

/// Milliseconds after the start of the period.
fn at(millis: u64) -> Timestamp {
    Timestamp::from_millis(period().from.start().as_millis() + millis)
}

fn id(n: u8) -> PackageId {
    PackageId::from_bytes([n; 32])
}

/// A statement about package `n` from `sender` to `recipient`, at `millis`.
fn said(n: u8, sender: &str, recipient: &str, code: StatusCode, millis: u64) -> ReceiptFields {
    ReceiptFields {
        package_id: id(n),
        sender: organ(sender),
        recipient: organ(recipient),
        document_id: Some(format!("{sender},2025/01/02,{n}/VP")),
        code,
        issued_at: at(millis),
        description: None,
    }
}

fn with_reason(mut fields: ReceiptFields, why: &str) -> ReceiptFields {
    fields.description = Some(why.to_owned());
    fields
}

fn units() -> Vec<(OrganId, String)> {
    [
        (OFFICE, "Văn phòng UBND tỉnh"),
        (HOME_AFFAIRS, "Sở Nội vụ"),
        (FINANCE, "Sở Tài chính"),
        (HEALTH, "Sở Y tế"),
    ]
    .into_iter()
    .map(|(id, name)| (organ(id), name.to_owned()))
    .collect()
}

/// Four hours to arrive, a day to register.
fn overview(summaries: &[ReceiptFields], now: u64) -> Province {
    compute(Inputs {
        monitor: &organ(OFFICE),
        period: period(),
        now: at(now),
        units: &units(),
        summaries,
        arrival_deadline: Duration::from_secs(4 * 3600),
        accept_deadline: Duration::from_secs(24 * 3600),
    })
}

fn row<'a>(province: &'a Province, organ_id: &str) -> &'a UnitRow {
    province
        .units
        .iter()
        .find(|r| r.organ_id.as_str() == organ_id)
        .unwrap_or_else(|| panic!("no row for {organ_id}"))
}

/// A quarter of the province's exchanges, seen from the office, ten days in:
/// 1. office → Home Affairs: 01, 03, 06.
/// 2. office → Home Affairs and Finance: Home Affairs 01 at once and 03; Finance 01 five
///    hours later (late) and nothing since (not registered).
/// 3. Home Affairs → Finance: refused (02) with its reason.
/// 4. Finance → office: 01, 03; then Finance asks for it back (13), unanswered.
/// 5. office → the Government Office, outside the province: 01.
/// 6. Home Affairs → office, before the period: 01, and a 06 inside it.
fn quarter() -> Vec<ReceiptFields> {
    use StatusCode::*;
    vec![
        said(1, OFFICE, HOME_AFFAIRS, Arrived, HOUR),
        said(1, OFFICE, HOME_AFFAIRS, Accepted, HOUR + MINUTE),
        said(1, OFFICE, HOME_AFFAIRS, Completed, 3 * DAY),
        said(2, OFFICE, HOME_AFFAIRS, Arrived, DAY),
        said(2, OFFICE, HOME_AFFAIRS, Accepted, DAY + HOUR),
        said(2, OFFICE, FINANCE, Arrived, DAY + 5 * HOUR),
        with_reason(
            said(3, HOME_AFFAIRS, FINANCE, Rejected, 2 * DAY),
            "Sai thể thức văn bản",
        ),
        said(4, FINANCE, OFFICE, Arrived, 2 * DAY),
        said(4, FINANCE, OFFICE, Accepted, 2 * DAY + HOUR),
        with_reason(
            said(4, FINANCE, OFFICE, TakeBackRequested, 4 * DAY),
            "Gửi nhầm đơn vị",
        ),
        said(5, OFFICE, VPCP, Arrived, 5 * DAY),
        ReceiptFields {
            issued_at: Timestamp::from_millis(at(0).as_millis() - 2 * DAY),
            ..said(6, HOME_AFFAIRS, OFFICE, Arrived, 0)
        },
        said(6, HOME_AFFAIRS, OFFICE, Completed, 6 * DAY),
    ]
}

#[test]
fn every_unit_has_a_row_with_what_it_sent_and_received() {
    let province = overview(&quarter(), 10 * DAY);
    let names: Vec<&str> = province.units.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Văn phòng UBND tỉnh",
            "Sở Nội vụ",
            "Sở Tài chính",
            "Sở Y tế"
        ],
        "every unit, in the roster's order, the Government Office (outside) not one"
    );
    assert_eq!(
        province.monitor_name.as_deref(),
        Some("Văn phòng UBND tỉnh")
    );

    let office = row(&province, OFFICE);
    // Sent: 1, 2 (twice: two recipients), 5 (outside the province counts for the sender).
    assert_eq!(office.counts.sent, 4);
    // Received: 4 only; 6 belongs to the period before, its first statement being then.
    assert_eq!(office.counts.received, 1);
    assert_eq!(office.counts.arrived_on_time, 1);
    assert_eq!(office.counts.answered, 1);
    assert_eq!(office.counts.stuck, 1, "Finance's take-back request waits");

    let home = row(&province, HOME_AFFAIRS);
    assert_eq!((home.counts.sent, home.counts.received), (1, 2));
    assert_eq!(home.counts.arrived_on_time, 2);
    assert_eq!(home.counts.arrived_on_time_percent, Some(100.0));
    assert_eq!(home.counts.answered, 2);
    assert_eq!(home.counts.completed, 1);
    assert_eq!(home.counts.completed_percent, Some(50.0));
    assert_eq!((home.counts.refused, home.counts.stuck), (0, 0));
    assert!(home.behind.is_empty(), "{:?}", home.behind);
    assert_eq!(home.last_seen, Some(at(3 * DAY)), "its 06 of document 1");

    let finance = row(&province, FINANCE);
    assert_eq!((finance.counts.sent, finance.counts.received), (1, 2));
    // Document 2 came five hours after Home Affairs had it: late. Document 3's refusal is
    // its first statement, made at once: in time.
    assert_eq!(finance.counts.arrived_on_time, 1);
    assert_eq!(finance.counts.arrived_on_time_percent, Some(50.0));
    assert_eq!((finance.counts.answered, finance.counts.completed), (0, 0));
    assert_eq!(finance.counts.answered_percent, Some(0.0));
    assert_eq!((finance.counts.refused, finance.counts.stuck), (1, 2));
    assert_eq!(finance.behind, [Behind::Stuck, Behind::LateArrivals]);
    assert_eq!(finance.last_seen, Some(at(4 * DAY)), "its own 13 counts");

    let health = row(&province, HEALTH);
    assert_eq!(health.counts, finish(Counts::default()));
    assert_eq!(health.last_seen, None);
    assert_eq!(health.behind, [Behind::Silent], "never heard of");

    // The totals add the rows: what went outside the province is sent, not received.
    assert_eq!(province.totals.sent, 6);
    assert_eq!(province.totals.received, 5);
    assert_eq!(province.totals.arrived_on_time, 4);
    assert_eq!(province.totals.arrived_on_time_percent, Some(80.0));
    assert_eq!(province.totals.stuck, 3);
}

#[test]
fn stuck_documents_say_why_and_since_when_the_longest_waiting_first() {
    let province = overview(&quarter(), 10 * DAY);
    let stuck: Vec<(u8, &str, StuckReason)> = province
        .stuck
        .iter()
        .map(|s| (s.package_id.as_bytes()[0], s.recipient.as_str(), s.reason))
        .collect();
    assert_eq!(
        stuck,
        [
            (2, FINANCE, StuckReason::NotRegistered),
            (3, FINANCE, StuckReason::Refused),
            (4, OFFICE, StuckReason::TakeBackUnanswered),
        ]
    );
    let not_registered = &province.stuck[0];
    assert_eq!(not_registered.sender.as_str(), OFFICE);
    assert_eq!(not_registered.since, at(DAY + 5 * HOUR));
    assert_eq!(not_registered.overdue_since, Some(at(2 * DAY + 5 * HOUR)));
    assert_eq!(not_registered.latest_code, "01");
    assert_eq!(
        not_registered.document_id.as_deref(),
        Some("000.00.01.H53,2025/01/02,2/VP")
    );
    let refused = &province.stuck[1];
    assert_eq!(refused.detail.as_deref(), Some("Sai thể thức văn bản"));
    assert_eq!(refused.overdue_since, None, "a refusal is stuck at once");
    let take_back = &province.stuck[2];
    assert_eq!(take_back.detail.as_deref(), Some("Gửi nhầm đơn vị"));
    assert_eq!(take_back.since, at(4 * DAY));
    assert_eq!(take_back.latest_code, "13");
}

#[test]
fn nothing_is_stuck_before_its_deadline_and_an_answer_ends_the_wait() {
    use StatusCode::*;
    // A day after Finance's 01 of document 2, to the millisecond: not yet overdue.
    let province = overview(&quarter(), DAY + 5 * HOUR + DAY);
    assert!(
        !province
            .stuck
            .iter()
            .any(|s| s.reason == StuckReason::NotRegistered),
        "{:?}",
        province.stuck
    );
    // Registered late is registered; a take-back answered (15) is answered, and the
    // document given back is not waiting to be registered.
    let mut summaries = quarter();
    summaries.push(said(2, OFFICE, FINANCE, Accepted, 8 * DAY));
    summaries.push(said(4, FINANCE, OFFICE, ChangeAccepted, 5 * DAY));
    summaries.push(said(7, OFFICE, HOME_AFFAIRS, Arrived, 2 * DAY));
    summaries.push(said(
        7,
        OFFICE,
        HOME_AFFAIRS,
        ChangeAccepted,
        2 * DAY + HOUR,
    ));
    let province = overview(&summaries, 10 * DAY);
    let reasons: Vec<StuckReason> = province.stuck.iter().map(|s| s.reason).collect();
    assert_eq!(reasons, [StuckReason::Refused]);
    assert_eq!(row(&province, OFFICE).behind, Vec::<Behind>::new());
}

#[test]
fn a_unit_silent_for_a_week_falls_behind() {
    let province = overview(&quarter(), 3 * DAY + 7 * DAY);
    assert!(
        !row(&province, HOME_AFFAIRS)
            .behind
            .contains(&Behind::Silent)
    );
    let province = overview(&quarter(), 3 * DAY + 7 * DAY + 1);
    assert_eq!(row(&province, HOME_AFFAIRS).behind, [Behind::Silent]);
}

#[test]
fn the_period_is_that_of_a_packages_first_statement() {
    use StatusCode::*;
    let summaries = vec![
        // Home Affairs confirmed on the last evening of the quarter, Finance the next
        // morning: both in the quarter, as the package is.
        said(8, OFFICE, HOME_AFFAIRS, Arrived, 90 * DAY - HOUR),
        said(8, OFFICE, FINANCE, Arrived, 90 * DAY + HOUR),
        // Its first statement the next morning: the next quarter's.
        said(9, OFFICE, HOME_AFFAIRS, Arrived, 90 * DAY + 2 * HOUR),
    ];
    let province = overview(&summaries, 91 * DAY);
    assert_eq!(row(&province, OFFICE).counts.sent, 2);
    assert_eq!(row(&province, FINANCE).counts.received, 1);
    assert_eq!(
        row(&province, FINANCE).counts.arrived_on_time,
        1,
        "two hours after"
    );
}

#[test]
fn as_csv_html_and_json() {
    let province = overview(&quarter(), 10 * DAY);
    let csv = to_csv(&province).expect("csv");
    assert!(csv.starts_with(b"\xef\xbb\xbf"), "UTF-8 BOM for Excel");
    let text = String::from_utf8(csv[3..].to_vec()).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "a header, four units, the total:\n{text}");
    assert!(lines[0].starts_with("Mã định danh,Tên đơn vị,Văn bản gửi đi,Văn bản nhận đến"));
    assert_eq!(
        lines[3],
        "000.00.03.H53,Sở Tài chính,1,2,1,50,0,0,0,0,1,2,2025-01-05T00:00:00.000Z,x,\
         có văn bản đang bị treo; tỷ lệ báo đã đến đúng hạn dưới 90%"
    );
    assert_eq!(
        lines[4],
        "000.00.04.H53,Sở Y tế,0,0,0,,0,,0,,0,0,,x,không ghi nhận hoạt động trong 7 ngày"
    );
    assert!(lines[5].starts_with(",Tổng cộng,6,5,4,80,"), "{}", lines[5]);

    let html = to_html(&province);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("GIỮA CÁC CƠ QUAN TRÊN ĐỊA BÀN TỈNH"));
    assert!(html.contains("Từ ngày 01/01/2025 đến ngày 31/03/2025"));
    assert_eq!(html.matches("<tr class=\"behind\">").count(), 3, "{html}");
    assert!(html.contains("Sai thể thức văn bản"));
    assert!(html.contains("Đã đến (01) nhưng chưa vào sổ (03) quá hạn"));
    assert!(
        html.contains("<td>chưa có</td>"),
        "Sở Y tế was never heard of"
    );
    assert!(!html.contains("src="), "self-contained");

    let json = serde_json::to_value(&province).expect("json");
    assert_eq!(json["units"][2]["organ_id"], FINANCE);
    assert_eq!(json["units"][2]["stuck"], 2);
    assert_eq!(
        json["units"][2]["behind"],
        serde_json::json!(["stuck", "late_arrivals"])
    );
    assert_eq!(json["units"][3]["last_seen"], serde_json::Value::Null);
    assert_eq!(json["units"][1]["last_seen"], "2025-01-04T00:00:00.000Z");
    assert_eq!(json["stuck"][0]["reason"], "not_registered");
    assert_eq!(json["generated_at"], "2025-01-11T00:00:00.000Z");
    let back: Province = serde_json::from_value(json).expect("reads back");
    assert_eq!(back, province);
}

#[test]
fn status_messages_are_not_counted_as_documents() {
    use StatusCode::*;
    // The packages of the statuses that went back for the quarter's documents, each
    // confirmed with a 01 by the document's sender, naming the document it answers; and
    // the 13's package, from the sender, confirmed by the recipient.
    let mut summaries = quarter();
    let status = |n: u8, of: u8, from: &str, to: &str, millis: u64| ReceiptFields {
        document_id: said(of, to, from, Arrived, 0).document_id,
        ..said(n, from, to, Arrived, millis)
    };
    summaries.push(status(101, 1, HOME_AFFAIRS, OFFICE, HOUR + MINUTE));
    summaries.push(status(102, 1, HOME_AFFAIRS, OFFICE, 3 * DAY));
    summaries.push(status(103, 2, HOME_AFFAIRS, OFFICE, DAY + HOUR));
    summaries.push(status(104, 3, FINANCE, HOME_AFFAIRS, 2 * DAY));
    summaries.push(status(105, 4, OFFICE, FINANCE, 2 * DAY + HOUR));
    summaries.push(ReceiptFields {
        document_id: said(4, FINANCE, OFFICE, Arrived, 0).document_id,
        ..said(106, FINANCE, OFFICE, Arrived, 4 * DAY)
    });
    let province = overview(&summaries, 10 * DAY);
    assert_eq!(
        province,
        overview(&quarter(), 10 * DAY),
        "the same overview"
    );
    // A document sent back the other way under the same DocumentId, with no statement
    // about the first, is a document.
    summaries.push(status(107, 5, VPCP, OFFICE, 6 * DAY));
    let province = overview(&summaries, 10 * DAY);
    assert_eq!(row(&province, OFFICE).counts.received, 2);
}
