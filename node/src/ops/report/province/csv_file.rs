//! The province overview as CSV, for the quarterly report's spreadsheet: one header row,
//! one row per unit, a total row. UTF-8 with a byte order mark, as the per-agency report.

use super::{Behind, Counts, Province};

const BOM: &[u8] = "\u{feff}".as_bytes();

/// The columns, in order, in Vietnamese for the provinces' staff.
const HEADER: [&str; 15] = [
    "Mã định danh",
    "Tên đơn vị",
    "Văn bản gửi đi",
    "Văn bản nhận đến",
    "Nhận: báo đã đến (01) đúng hạn",
    "Nhận: tỷ lệ 01 đúng hạn (%)",
    "Nhận: đã phản hồi xử lý (03-06)",
    "Nhận: tỷ lệ phản hồi xử lý (%)",
    "Nhận: hoàn thành (06)",
    "Nhận: tỷ lệ hoàn thành (%)",
    "Nhận: từ chối (02)",
    "Đang bị treo",
    "Ghi nhận lần cuối (UTC)",
    "Cần chú ý",
    "Lý do cần chú ý",
];

/// The overview as CSV bytes: numbers with a decimal point, empty cells where a share has
/// nothing to measure or a unit was never heard of.
///
/// # Errors
/// Only if writing to memory failed, which it does not.
pub fn to_csv(province: &Province) -> std::io::Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(BOM.to_vec());
    out.write_record(HEADER)?;
    for row in &province.units {
        let last_seen = row.last_seen.map(|t| t.to_string()).unwrap_or_default();
        let flag = if row.behind.is_empty() { "" } else { "x" };
        let why: Vec<&str> = row.behind.iter().map(|b| behind_text(*b)).collect();
        out.write_record(cells(
            row.organ_id.as_str(),
            &row.name,
            &row.counts,
            [last_seen, flag.to_owned(), why.join("; ")],
        ))?;
    }
    out.write_record(cells(
        "",
        "Tổng cộng",
        &province.totals,
        [String::new(), String::new(), String::new()],
    ))?;
    out.into_inner().map_err(|e| e.into_error())
}

/// Why a unit falls behind, in the words of the report.
pub(super) fn behind_text(behind: Behind) -> &'static str {
    match behind {
        Behind::Stuck => "có văn bản đang bị treo",
        Behind::LateArrivals => "tỷ lệ báo đã đến đúng hạn dưới 90%",
        Behind::Silent => "không ghi nhận hoạt động trong 7 ngày",
    }
}

fn cells(organ_id: &str, name: &str, c: &Counts, tail: [String; 3]) -> Vec<String> {
    let share = |p: Option<f64>| p.map(|p| p.to_string()).unwrap_or_default();
    let mut row = vec![
        organ_id.to_owned(),
        name.to_owned(),
        c.sent.to_string(),
        c.received.to_string(),
        c.arrived_on_time.to_string(),
        share(c.arrived_on_time_percent),
        c.answered.to_string(),
        share(c.answered_percent),
        c.completed.to_string(),
        share(c.completed_percent),
        c.refused.to_string(),
        c.stuck.to_string(),
    ];
    row.extend(tail);
    row
}
