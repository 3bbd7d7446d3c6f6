//! A report as CSV, for spreadsheets: one header row, one row per counterpart, a total row.

use super::{Exchange, Report};

/// The UTF-8 byte order mark. Excel reads a CSV file in the system's legacy code page
/// (Windows-1258 on Vietnamese Windows, 1252 on most others) unless the file starts with
/// it, and then shows "Sá»Ÿ" for "Sở": every accented name in the table is garbled.
/// LibreOffice and CSV libraries skip the mark.
const BOM: &[u8] = "\u{feff}".as_bytes();

/// The columns, in order. Vietnamese, because the file is read by the provinces' staff;
/// the status codes in brackets are the ones QLVB software shows.
const HEADER: [&str; 20] = [
    "Mã định danh",
    "Tên cơ quan",
    "Văn bản gửi đi",
    "Gửi: đã đến đúng hạn (01)",
    "Gửi: tỷ lệ đến đúng hạn (%)",
    "Gửi: đã đến quá hạn (01)",
    "Gửi: chưa đến (chưa có 01)",
    "Gửi: bị từ chối (02)",
    "Gửi: đã phản hồi xử lý (03-06)",
    "Gửi: tỷ lệ phản hồi xử lý (%)",
    "Gửi: hoàn thành (06)",
    "Gửi: tỷ lệ hoàn thành (%)",
    "Gửi: đang bị treo",
    "Gửi: thời gian đến, trung vị (giây)",
    "Văn bản nhận đến",
    "Nhận: đơn vị đã phản hồi xử lý (03-06)",
    "Nhận: tỷ lệ phản hồi xử lý (%)",
    "Nhận: đơn vị đã hoàn thành (06)",
    "Nhận: đơn vị đã từ chối (02)",
    "Qua trục liên thông",
];

/// The name in the total row's name column.
const TOTAL: &str = "Tổng cộng";

/// The report as CSV bytes: UTF-8 with a byte order mark, comma-separated, numbers with
/// a decimal point, empty cells where a share or a median has nothing to measure.
///
/// # Errors
/// Only if writing to memory failed, which it does not.
pub fn to_csv(report: &Report) -> std::io::Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(BOM.to_vec());
    out.write_record(HEADER)?;
    for row in &report.counterparts {
        let name = row.name.as_deref().unwrap_or("");
        out.write_record(cells(
            row.organ_id.as_str(),
            name,
            &row.exchange,
            row.via_axis,
        ))?;
    }
    out.write_record(cells("", TOTAL, &report.totals, false))?;
    out.into_inner().map_err(|e| e.into_error())
}

fn cells(organ_id: &str, name: &str, e: &Exchange, via_axis: bool) -> [String; 20] {
    let share = |p: Option<f64>| p.map(|p| p.to_string()).unwrap_or_default();
    [
        organ_id.to_owned(),
        name.to_owned(),
        e.sent.to_string(),
        e.arrived_on_time.to_string(),
        share(e.arrived_on_time_percent),
        e.arrived_late.to_string(),
        e.not_arrived.to_string(),
        e.refused.to_string(),
        e.answered.to_string(),
        share(e.answered_percent),
        e.completed.to_string(),
        share(e.completed_percent),
        e.stuck.to_string(),
        e.median_seconds_to_arrival
            .map(|s| s.to_string())
            .unwrap_or_default(),
        e.received.to_string(),
        e.received_answered.to_string(),
        share(e.received_answered_percent),
        e.received_completed.to_string(),
        e.received_refused.to_string(),
        if via_axis { "có" } else { "" }.to_owned(),
    ]
}
