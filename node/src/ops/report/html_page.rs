//! A report as one self-contained HTML page: Vietnamese headings with the period, a table
//! per counterpart with a total row, notes on what each column counts. No scripts, fonts
//! or images to fetch, so it opens the same offline, attached to an email or printed
//! (landscape A4).

use std::fmt::Write as _;

use lienthong_protocol::envelope::Timestamp;

use super::{Day, Exchange, Report};

pub(super) const STYLE: &str = "\
body{font-family:'Times New Roman',Times,serif;margin:2em;color:#000}\
header{text-align:center;margin-bottom:1.5em}\
h1{font-size:1.35em;margin:.4em 0}\
h2{font-size:1.1em}\
.agency{font-weight:bold;text-transform:uppercase;margin:0}\
.period{font-style:italic;margin:0}\
table{border-collapse:collapse;width:100%;font-size:.9em}\
th,td{border:1px solid #444;padding:.25em .4em}\
th{background:#eee}\
td.n{text-align:right;white-space:nowrap}\
td.warn{font-weight:bold;color:#a00}\
tfoot td{font-weight:bold;background:#f6f6f6}\
.notes{font-size:.85em}\
@page{size:A4 landscape;margin:12mm}\
@media print{body{margin:0}th,tfoot td{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

/// The report as an HTML page.
pub fn to_html(report: &Report) -> String {
    let mut page = String::with_capacity(8192 + 1024 * report.counterparts.len());
    let period = format!(
        "Từ ngày {} đến ngày {}",
        vietnamese_date(report.from),
        vietnamese_date(report.to)
    );
    let agency = match &report.agency_name {
        Some(name) => format!("{} ({})", escape(name), escape(report.agency.as_str())),
        None => escape(report.agency.as_str()),
    };
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Báo cáo gửi, nhận văn bản điện tử: {period}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n<header>\n<p class=\"agency\">{agency}</p>\n\
         <h1>BÁO CÁO KẾT QUẢ GỬI, NHẬN VĂN BẢN ĐIỆN TỬ</h1>\n<p class=\"period\">{period}</p>\n\
         </header>\n<p>Số văn bản đã gửi: <b>{}</b>; số văn bản đã nhận: <b>{}</b>. \
         Số liệu lập lúc {} (giờ UTC).</p>\n",
        report.documents_sent,
        report.documents_received,
        vietnamese_time(report.generated_at),
    );
    page.push_str(
        "<table>\n<thead>\n<tr><th rowspan=\"2\">STT</th><th rowspan=\"2\">Mã định danh</th>\
         <th rowspan=\"2\">Tên cơ quan</th><th colspan=\"12\">Văn bản gửi đi</th>\
         <th colspan=\"5\">Văn bản nhận đến</th></tr>\n<tr><th>Số văn bản</th>\
         <th>Đến đúng hạn (01)</th><th>Tỷ lệ</th><th>Đến quá hạn (01)</th><th>Chưa đến</th>\
         <th>Bị từ chối (02)</th><th>Đã phản hồi xử lý (03&ndash;06)</th><th>Tỷ lệ</th>\
         <th>Hoàn thành (06)</th><th>Tỷ lệ</th><th>Đang bị treo</th>\
         <th>Thời gian đến (trung vị)</th><th>Số văn bản</th>\
         <th>Đơn vị đã phản hồi xử lý (03&ndash;06)</th><th>Tỷ lệ</th>\
         <th>Đơn vị đã hoàn thành (06)</th><th>Đơn vị đã từ chối (02)</th></tr>\n</thead>\n<tbody>\n",
    );
    if report.counterparts.is_empty() {
        page.push_str(
            "<tr><td colspan=\"20\">Không có văn bản nào được gửi hoặc nhận trong kỳ.</td></tr>\n",
        );
    }
    for (i, row) in report.counterparts.iter().enumerate() {
        let mut name = row.name.as_deref().map(escape).unwrap_or_default();
        if row.via_axis {
            name.push_str(" <small>(qua trục liên thông)</small>");
        }
        let _ = writeln!(
            page,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{name}</td>{}</tr>",
            i + 1,
            escape(row.organ_id.as_str()),
            cells(&row.exchange)
        );
    }
    let _ = write!(
        page,
        "</tbody>\n<tfoot>\n<tr><td colspan=\"3\">Tổng cộng</td>{}</tr>\n</tfoot>\n</table>\n",
        cells(&report.totals)
    );
    page.push_str(NOTES);
    page.push_str("</body>\n</html>\n");
    page
}

const NOTES: &str = "<section class=\"notes\">\n<h2>Ghi chú</h2>\n<ul>\n\
<li>Mỗi văn bản được tính một lần cho mỗi cơ quan nhận; văn bản gửi nhiều nơi có mặt ở nhiều dòng. \
Chỉ tính văn bản, không tính gói tin trạng thái.</li>\n\
<li><b>Đến đúng hạn / quá hạn</b>: đã có trạng thái 01 (Đã đến) trước / sau thời hạn xác nhận đặt khi gửi \
(theo độ khẩn của văn bản). <b>Chưa đến</b>: chưa có 01.</li>\n\
<li><b>Đã phản hồi xử lý</b>: cơ quan nhận đã gửi ít nhất một trạng thái 03, 04, 05 hoặc 06. \
<b>Hoàn thành</b>: đã có trạng thái 06.</li>\n\
<li><b>Đang bị treo</b>: tại thời điểm lập báo cáo, quá hạn mà chưa có 01, hoặc bị từ chối.</li>\n\
<li><b>Thời gian đến</b>: trung vị thời gian từ lúc gửi đến lúc có trạng thái 01.</li>\n\
<li><b>Văn bản nhận đến</b>: các cột phản hồi cho biết đơn vị mình đã gửi trạng thái xử lý cho cơ quan gửi hay chưa.</li>\n\
<li>Ngày tính theo giờ UTC: một ngày bắt đầu lúc 07:00 giờ Việt Nam.</li>\n\
</ul>\n</section>\n";

/// The table cells of one row's counts.
fn cells(e: &Exchange) -> String {
    let n = |v: u64| format!("<td class=\"n\">{v}</td>");
    let share = |p: Option<f64>| format!("<td class=\"n\">{}</td>", vietnamese_percent(p));
    let stuck = if e.stuck > 0 {
        format!("<td class=\"n warn\">{}</td>", e.stuck)
    } else {
        n(0)
    };
    let median = format!(
        "<td class=\"n\">{}</td>",
        e.median_seconds_to_arrival
            .map_or_else(|| "&ndash;".to_owned(), vietnamese_duration)
    );
    [
        n(e.sent),
        n(e.arrived_on_time),
        share(e.arrived_on_time_percent),
        n(e.arrived_late),
        n(e.not_arrived),
        n(e.refused),
        n(e.answered),
        share(e.answered_percent),
        n(e.completed),
        share(e.completed_percent),
        stuck,
        median,
        n(e.received),
        n(e.received_answered),
        share(e.received_answered_percent),
        n(e.received_completed),
        n(e.received_refused),
    ]
    .concat()
}

/// `31/03/2026`, the form Vietnamese documents write dates in.
pub(super) fn vietnamese_date(day: Day) -> String {
    let (year, month, day) = day.ymd();
    format!("{day:02}/{month:02}/{year}")
}

/// `14:05 ngày 02/04/2026`, in UTC.
pub(super) fn vietnamese_time(at: Timestamp) -> String {
    // RFC 3339 text: `2026-04-02T14:05:09.123Z`.
    let text = at.to_string();
    let (date, time) = text.split_at(text.len() - 14);
    format!(
        "{} ngày {}/{}/{}",
        &time[1..6],
        &date[8..10],
        &date[5..7],
        &date[..date.len() - 6]
    )
}

/// `97,5%` (a decimal comma, as Vietnamese writes numbers), or a dash.
pub(super) fn vietnamese_percent(share: Option<f64>) -> String {
    share.map_or_else(
        || "&ndash;".to_owned(),
        |p| format!("{}%", p.to_string().replace('.', ",")),
    )
}

/// `2 giờ 5 phút`, `3 phút 20 giây`, `45 giây`, `1 ngày 3 giờ`: the two largest units.
pub(super) fn vietnamese_duration(seconds: u64) -> String {
    let units = [(86_400, "ngày"), (3_600, "giờ"), (60, "phút"), (1, "giây")];
    let parts: Vec<String> = units
        .iter()
        .scan(seconds, |left, &(size, name)| {
            let count = *left / size;
            *left %= size;
            Some((count, name))
        })
        .skip_while(|(count, _)| *count == 0)
        .take(2)
        .filter(|(count, _)| *count > 0)
        .map(|(count, name)| format!("{count} {name}"))
        .collect();
    if parts.is_empty() {
        "dưới 1 giây".to_owned()
    } else {
        parts.join(" ")
    }
}

/// Text safe inside HTML elements and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
