//! Reports from hand-made records.

use std::collections::HashMap;

use lienthong_protocol::envelope::{PackageId, Timestamp};
use lienthong_protocol::{MessageKind, OrganId, StatusCode};

use super::html_page::vietnamese_duration;
use super::*;
use crate::store::{DeliveryState, InboxEntry, OutboxEntry, OutgoingPackage};

const VPCP: &str = "000.00.00.G22";
const NGHE_AN: &str = "000.00.00.H41";
const TAY_NINH: &str = "000.00.00.H53";
const SECOND: u64 = 1000;
const HOUR: u64 = 3600 * SECOND;

fn organ(text: &str) -> OrganId {
    OrganId::parse(text).expect("valid id")
}

/// Milliseconds after the start of the test period.
fn at(millis: u64) -> Timestamp {
    Timestamp::from_millis(period().from.start().as_millis() + millis)
}

fn period() -> Period {
    Period::parse("2026-01-01", "2026-03-31").expect("valid period")
}

fn id(n: u8) -> PackageId {
    PackageId::from_bytes([n; 32])
}

fn fact(recipient: &str, issuer: &str, code: StatusCode, millis: u64) -> ReceiptFact {
    ReceiptFact {
        recipient: organ(recipient),
        issuer: organ(issuer),
        code,
        issued_at: at(millis),
    }
}

/// An outbox entry queued at `at(0)` with a one-hour deadline.
fn entry(
    package: u8,
    recipient: &str,
    state: DeliveryState,
    delivered: Option<u64>,
) -> OutboxEntry {
    OutboxEntry {
        package_id: id(package),
        recipient: organ(recipient),
        state,
        attempts: 1,
        next_attempt_at: at(0),
        last_error: None,
        queued_at: at(0),
        deadline: at(HOUR),
        delivered_at: delivered.map(at),
    }
}

fn sent(
    package: u8,
    kind: MessageKind,
    outbox: Vec<OutboxEntry>,
    receipts: Vec<ReceiptFact>,
) -> SentPackage {
    SentPackage {
        package: OutgoingPackage {
            package_id: id(package),
            kind,
            document_id: Some(format!("{package}/VPCP")),
            recipients: outbox.iter().map(|e| e.recipient.clone()).collect(),
            submitted_at: at(0),
            subject: None,
        },
        outbox,
        receipts,
    }
}

fn received(
    package: u8,
    from: &str,
    kind: MessageKind,
    receipts: Vec<ReceiptFact>,
) -> ReceivedPackage {
    ReceivedPackage {
        entry: InboxEntry {
            package_id: id(package),
            from: organ(from),
            kind,
            document_id: None,
            received_at: at(0),
            acked_at: None,
        },
        receipts,
    }
}

fn names() -> HashMap<OrganId, String> {
    [
        (VPCP, "Văn phòng Chính phủ"),
        (NGHE_AN, "UBND tỉnh Nghệ An"),
        (TAY_NINH, "UBND tỉnh <Tây Ninh>"),
    ]
    .into_iter()
    .map(|(id, name)| (organ(id), name.to_owned()))
    .collect()
}

/// Vietnamese Government Office's quarter: see each record's comment.
fn quarter() -> Report {
    use DeliveryState::{Delivered, Queued, Sending};
    use StatusCode::{Accepted, Arrived, Completed, TakeBackRequested};
    let sent = vec![
        // To both: Nghệ An confirmed in 10 s and finished it; Tây Ninh never answered and
        // the deadline has passed.
        sent(
            1,
            MessageKind::Edoc,
            vec![
                entry(1, NGHE_AN, Delivered, Some(10 * SECOND)),
                entry(1, TAY_NINH, Queued, None),
            ],
            vec![
                fact(NGHE_AN, NGHE_AN, Arrived, 9 * SECOND),
                fact(NGHE_AN, NGHE_AN, Accepted, 60 * SECOND),
                fact(NGHE_AN, NGHE_AN, Completed, HOUR),
                // This agency's own take-back request is no answer from Nghệ An.
                fact(NGHE_AN, VPCP, TakeBackRequested, 2 * HOUR),
            ],
        ),
        // Confirmed after the deadline, then refused.
        sent(
            2,
            MessageKind::Edoc,
            vec![entry(2, NGHE_AN, DeliveryState::Rejected, Some(2 * HOUR))],
            vec![
                fact(NGHE_AN, NGHE_AN, Arrived, 2 * HOUR),
                fact(NGHE_AN, NGHE_AN, StatusCode::Rejected, 3 * HOUR),
            ],
        ),
        // Not due yet: the deadline is after `now` below.
        sent(
            3,
            MessageKind::Edoc,
            vec![OutboxEntry {
                deadline: at(100 * HOUR),
                ..entry(3, NGHE_AN, Sending, None)
            }],
            vec![],
        ),
        // A status message is not a document.
        sent(
            4,
            MessageKind::Status,
            vec![entry(4, NGHE_AN, Delivered, Some(SECOND))],
            vec![fact(NGHE_AN, NGHE_AN, Arrived, SECOND)],
        ),
    ];
    let received = vec![
        received(
            10,
            NGHE_AN,
            MessageKind::Edoc,
            vec![
                fact(VPCP, VPCP, Arrived, 0),
                fact(VPCP, VPCP, Accepted, HOUR),
            ],
        ),
        received(
            11,
            NGHE_AN,
            MessageKind::Edoc,
            vec![
                fact(VPCP, VPCP, Arrived, 0),
                fact(VPCP, VPCP, Completed, HOUR),
                // Another recipient's status, seen by gossip, is not this agency's.
                fact(TAY_NINH, TAY_NINH, StatusCode::Rejected, HOUR),
            ],
        ),
        received(
            12,
            TAY_NINH,
            MessageKind::Edoc,
            vec![
                fact(VPCP, VPCP, Arrived, 0),
                fact(VPCP, VPCP, StatusCode::Rejected, HOUR),
            ],
        ),
        received(13, NGHE_AN, MessageKind::Status, vec![]),
    ];
    compute(Inputs {
        agency: &organ(VPCP),
        period: period(),
        now: at(50 * HOUR),
        sent: &sent,
        received: &received,
        names: &names(),
    })
}

fn row<'a>(report: &'a Report, organ_id: &str) -> &'a Exchange {
    &report
        .counterparts
        .iter()
        .find(|r| r.organ_id.as_str() == organ_id)
        .expect("a row for the counterpart")
        .exchange
}

#[test]
fn counts_each_counterpart_s_documents_confirmations_and_stuck() {
    let report = quarter();
    let organs: Vec<&str> = report
        .counterparts
        .iter()
        .map(|r| r.organ_id.as_str())
        .collect();
    assert_eq!(organs, [NGHE_AN, TAY_NINH], "by agency id");
    assert_eq!(
        report.counterparts[0].name.as_deref(),
        Some("UBND tỉnh Nghệ An")
    );
    assert_eq!(report.agency_name.as_deref(), Some("Văn phòng Chính phủ"));
    assert_eq!((report.documents_sent, report.documents_received), (3, 3));

    let nghe_an = row(&report, NGHE_AN);
    let expected = Exchange {
        sent: 3,
        arrived_on_time: 1,
        arrived_on_time_percent: Some(33.3),
        arrived_late: 1,
        not_arrived: 1,
        refused: 1,
        answered: 1,
        answered_percent: Some(33.3),
        completed: 1,
        completed_percent: Some(33.3),
        stuck: 1,
        // Median of 10 s and 2 h.
        median_seconds_to_arrival: Some(3605),
        received: 2,
        received_answered: 2,
        received_answered_percent: Some(100.0),
        received_completed: 1,
        received_refused: 0,
    };
    assert_eq!(nghe_an, &expected);

    let tay_ninh = row(&report, TAY_NINH);
    assert_eq!(
        (tay_ninh.sent, tay_ninh.not_arrived, tay_ninh.stuck),
        (1, 1, 1)
    );
    assert_eq!(tay_ninh.arrived_on_time_percent, Some(0.0));
    assert_eq!(tay_ninh.median_seconds_to_arrival, None);
    assert_eq!(
        (
            tay_ninh.received,
            tay_ninh.received_answered,
            tay_ninh.received_refused
        ),
        (1, 0, 1)
    );
    assert_eq!(tay_ninh.received_answered_percent, Some(0.0));

    let totals = &report.totals;
    assert_eq!(
        (totals.sent, totals.arrived_on_time, totals.stuck),
        (4, 1, 2)
    );
    assert_eq!(totals.arrived_on_time_percent, Some(25.0));
    assert_eq!((totals.received, totals.received_answered), (3, 2));
    assert_eq!(totals.median_seconds_to_arrival, Some(3605));
}

#[test]
fn arrival_falls_back_to_the_receipt_when_the_outbox_has_no_time() {
    // Refused before receipt 01 came back (a 02 overtook it): the entry has no arrival
    // time, but the 01 on record still counts, on time.
    let sent = vec![sent(
        1,
        MessageKind::Edoc,
        vec![entry(1, NGHE_AN, DeliveryState::Rejected, None)],
        vec![
            fact(NGHE_AN, NGHE_AN, StatusCode::Rejected, 5 * SECOND),
            fact(NGHE_AN, NGHE_AN, StatusCode::Arrived, 20 * SECOND),
        ],
    )];
    let report = compute(Inputs {
        agency: &organ(VPCP),
        period: period(),
        now: at(HOUR / 2),
        sent: &sent,
        received: &[],
        names: &HashMap::new(),
    });
    let nghe_an = row(&report, NGHE_AN);
    assert_eq!(
        (nghe_an.arrived_on_time, nghe_an.refused, nghe_an.stuck),
        (1, 1, 1)
    );
    assert_eq!(nghe_an.median_seconds_to_arrival, Some(20));
    assert_eq!(report.counterparts[0].name, None);
}

#[test]
fn an_empty_period_has_no_rows_and_no_shares() {
    let report = compute(Inputs {
        agency: &organ(VPCP),
        period: period(),
        now: at(0),
        sent: &[],
        received: &[],
        names: &names(),
    });
    assert!(report.counterparts.is_empty());
    assert_eq!(report.totals, Exchange::default());
    assert!(to_html(&report).contains("Không có văn bản nào"));
}

#[test]
fn periods_are_whole_utc_days_with_the_end_included() {
    let one_day = Period::parse("2026-02-28", "2026-02-28").expect("one day");
    let range = one_day.range();
    assert_eq!(range.start.to_string(), "2026-02-28T00:00:00.000Z");
    assert_eq!(range.end.to_string(), "2026-03-01T00:00:00.000Z");
    assert_eq!(one_day.from.to_string(), "2026-02-28");
    assert_eq!(one_day.from.ymd(), (2026, 2, 28));
    let leap = Period::parse("2024-02-29", "2024-03-01").expect("leap day");
    assert_eq!(leap.range().end.to_string(), "2024-03-02T00:00:00.000Z");
}

#[test]
fn refuses_dates_that_are_malformed_impossible_or_reversed() {
    let err = |from: &str, to: &str| Period::parse(from, to).expect_err("refused");
    assert!(matches!(
        err("2026-1-05", "2026-02-01"),
        PeriodError::Shape { which: "from", .. }
    ));
    assert!(matches!(
        err("2026-01-05", "05/02/2026"),
        PeriodError::Shape { which: "to", .. }
    ));
    assert!(matches!(
        err("2026-13-01", "2026-12-01"),
        PeriodError::OutOfRange {
            which: "from",
            part: "month",
            ..
        }
    ));
    assert!(matches!(
        err("2026-01-01", "2026-02-30"),
        PeriodError::OutOfRange {
            which: "to",
            part: "day",
            ..
        }
    ));
    assert!(matches!(
        err("1969-12-31", "2026-01-01"),
        PeriodError::TooEarly { .. }
    ));
    let reversed = err("2026-04-01", "2026-03-31");
    assert_eq!(
        reversed.to_string(),
        "the period starts on 2026-04-01, after its end on 2026-03-31"
    );
    assert_eq!(
        err("2026-13-01", "2026-12-01").to_string(),
        "the from date 2026-13-01 does not exist: its month is out of range"
    );
}

#[test]
fn json_round_trips_with_dates_as_text() {
    let report = quarter();
    let json = serde_json::to_value(&report).expect("serialises");
    assert_eq!(json["from"], "2026-01-01");
    assert_eq!(json["to"], "2026-03-31");
    assert_eq!(json["generated_at"], "2026-01-03T02:00:00.000Z");
    assert_eq!(json["counterparts"][0]["organ_id"], NGHE_AN);
    assert_eq!(json["counterparts"][0]["sent"], 3);
    assert_eq!(json["totals"]["stuck"], 2);
    let back: Report = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, report);
}

#[test]
fn csv_has_a_bom_a_header_a_row_per_counterpart_and_a_total() {
    let bytes = to_csv(&quarter()).expect("renders");
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "UTF-8 BOM first");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header = reader.headers().expect("header").clone();
    assert_eq!(header.len(), 20);
    assert_eq!(&header[19], "Qua trục liên thông");
    assert_eq!(&header[2], "Văn bản gửi đi");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[0][0], NGHE_AN);
    assert_eq!(&rows[0][1], "UBND tỉnh Nghệ An");
    assert_eq!(&rows[0][2], "3");
    assert_eq!(&rows[0][4], "33.3");
    assert_eq!(&rows[0][13], "3605");
    assert_eq!(&rows[1][13], "", "no arrival, no median");
    assert_eq!(
        (&rows[2][0], &rows[2][1], &rows[2][2]),
        ("", "Tổng cộng", "4")
    );
}

#[test]
fn html_is_a_self_contained_page_with_the_period_and_escaped_names() {
    let page = to_html(&quarter());
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<html lang=\"vi\">"));
    assert!(page.contains("Từ ngày 01/01/2026 đến ngày 31/03/2026"));
    assert!(page.contains("Văn phòng Chính phủ (000.00.00.G22)"));
    assert!(page.contains("UBND tỉnh &lt;Tây Ninh&gt;"));
    assert!(!page.contains("<Tây Ninh>"));
    assert!(page.contains("33,3%"));
    assert!(
        page.contains("<td class=\"n\">1 giờ</td>"),
        "the median, 3605 s"
    );
    assert!(page.contains("Tổng cộng"));
    assert!(page.contains("lập lúc 02:00 ngày 03/01/2026 (giờ UTC)"));
    assert!(
        !page.contains("<script") && !page.contains("http"),
        "nothing to fetch"
    );
}

#[test]
fn durations_read_in_their_two_largest_units() {
    assert_eq!(vietnamese_duration(0), "dưới 1 giây");
    assert_eq!(vietnamese_duration(45), "45 giây");
    assert_eq!(vietnamese_duration(200), "3 phút 20 giây");
    assert_eq!(vietnamese_duration(7500), "2 giờ 5 phút");
    assert_eq!(vietnamese_duration(3605), "1 giờ");
    assert_eq!(vietnamese_duration(97_200), "1 ngày 3 giờ");
}
