//! The province overview as one self-contained HTML page to print or attach to the
//! quarterly report: the units' table (units that fall behind shaded), then the documents
//! stuck now with their reasons, then notes on what each column counts. Nothing fetched.

use std::fmt::Write as _;

use super::super::html_page::{
    STYLE, escape, vietnamese_date, vietnamese_duration, vietnamese_percent, vietnamese_time,
};
use super::csv_file::behind_text;
use super::{Counts, Province, StuckReason};

/// Rows of units that fall behind, on top of the report's style.
const MORE_STYLE: &str = "tr.behind td{background:#fdecea}td.why{font-size:.85em;color:#a00}";

/// The overview as an HTML page.
pub fn to_html(province: &Province) -> String {
    let mut page = String::with_capacity(8192 + 1024 * province.units.len());
    let period = format!(
        "Từ ngày {} đến ngày {}",
        vietnamese_date(province.from),
        vietnamese_date(province.to)
    );
    let monitor = match &province.monitor_name {
        Some(name) => format!("{} ({})", escape(name), escape(province.monitor.as_str())),
        None => escape(province.monitor.as_str()),
    };
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Kết quả gửi, nhận văn bản điện tử trên địa bàn tỉnh: {period}</title>\n\
         <style>{STYLE}{MORE_STYLE}</style>\n</head>\n<body>\n<header>\n\
         <p class=\"agency\">{monitor}</p>\n\
         <h1>KẾT QUẢ GỬI, NHẬN VĂN BẢN ĐIỆN TỬ GIỮA CÁC CƠ QUAN TRÊN ĐỊA BÀN TỈNH</h1>\n\
         <p class=\"period\">{period}</p>\n</header>\n\
         <p>Số đơn vị: <b>{}</b>; số văn bản nhận trong kỳ: <b>{}</b>; đang bị treo: <b>{}</b>. \
         Số liệu lập lúc {} (giờ UTC), từ hồi báo trạng thái có chữ ký số của các đơn vị.</p>\n",
        province.units.len(),
        province.totals.received,
        province.totals.stuck,
        vietnamese_time(province.generated_at),
    );
    page.push_str(
        "<table>\n<thead>\n<tr><th rowspan=\"2\">STT</th><th rowspan=\"2\">Mã định danh</th>\
         <th rowspan=\"2\">Tên đơn vị</th><th rowspan=\"2\">Văn bản gửi đi</th>\
         <th colspan=\"9\">Văn bản nhận đến</th><th rowspan=\"2\">Ghi nhận lần cuối</th>\
         <th rowspan=\"2\">Cần chú ý</th></tr>\n<tr><th>Số văn bản</th>\
         <th>Báo đã đến (01) đúng hạn</th><th>Tỷ lệ</th><th>Đã phản hồi xử lý (03&ndash;06)</th>\
         <th>Tỷ lệ</th><th>Hoàn thành (06)</th><th>Tỷ lệ</th><th>Từ chối (02)</th>\
         <th>Đang bị treo</th></tr>\n</thead>\n<tbody>\n",
    );
    for (i, row) in province.units.iter().enumerate() {
        let class = if row.behind.is_empty() {
            ""
        } else {
            " class=\"behind\""
        };
        let why: Vec<&str> = row.behind.iter().map(|b| behind_text(*b)).collect();
        let _ = writeln!(
            page,
            "<tr{class}><td class=\"n\">{}</td><td>{}</td><td>{}</td>{}<td>{}</td>\
             <td class=\"why\">{}</td></tr>",
            i + 1,
            escape(row.organ_id.as_str()),
            escape(&row.name),
            cells(&row.counts),
            row.last_seen
                .map_or_else(|| "chưa có".to_owned(), vietnamese_time),
            escape(&why.join("; ")),
        );
    }
    let _ = write!(
        page,
        "</tbody>\n<tfoot>\n<tr><td colspan=\"3\">Tổng cộng</td>{}<td></td><td></td></tr>\n\
         </tfoot>\n</table>\n",
        cells(&province.totals)
    );
    stuck_list(&mut page, province);
    let _ = write!(
        page,
        "<section class=\"notes\">\n<h2>Ghi chú</h2>\n<ul>\n\
<li>Số liệu lấy từ hồi báo trạng thái (01&ndash;06, 13, 15, 16) có chữ ký số của các đơn vị, \
không đọc nội dung văn bản. Mỗi văn bản được tính một lần cho mỗi đơn vị nhận.</li>\n\
<li>Văn bản thuộc kỳ theo hồi báo đầu tiên về văn bản đó. Văn bản chưa đơn vị nhận nào báo \
đã đến thì chưa có trong báo cáo này; đơn vị gửi xem bằng <code>lienthong stuck</code>.</li>\n\
<li><b>Báo đã đến đúng hạn</b>: hồi báo 01 của đơn vị nhận không muộn hơn {} sau hồi báo đầu \
tiên về văn bản (của bất kỳ đơn vị nhận nào).</li>\n\
<li><b>Đang bị treo</b>: đơn vị nhận đã từ chối (02); hoặc văn bản đã đến (01) mà sau {} chưa \
được vào sổ (03) hay xử lý (04&ndash;06); hoặc yêu cầu lấy lại (13) sau {} chưa được trả lời \
(15, 16).</li>\n\
<li><b>Cần chú ý</b>: có văn bản đang bị treo, tỷ lệ báo đã đến đúng hạn dưới 90%, hoặc không \
ghi nhận hồi báo nào của đơn vị trong 7 ngày.</li>\n\
<li><b>Ghi nhận lần cuối</b>: thời điểm (theo đồng hồ của đơn vị) của hồi báo gần nhất do đơn \
vị ký.</li>\n\
<li>Ngày tính theo giờ UTC: một ngày bắt đầu lúc 07:00 giờ Việt Nam.</li>\n</ul>\n</section>\n\
</body>\n</html>\n",
        vietnamese_duration(province.arrival_deadline_seconds),
        vietnamese_duration(province.accept_deadline_seconds),
        vietnamese_duration(province.accept_deadline_seconds),
    );
    page
}

fn stuck_list(page: &mut String, province: &Province) {
    page.push_str("<h2>Văn bản đang bị treo</h2>\n");
    if province.stuck.is_empty() {
        page.push_str("<p>Không có văn bản nào đang bị treo.</p>\n");
        return;
    }
    let name = |id: &lienthong_protocol::OrganId| {
        province
            .units
            .iter()
            .find(|u| &u.organ_id == id)
            .map_or_else(|| escape(id.as_str()), |u| escape(&u.name))
    };
    page.push_str(
        "<table>\n<thead>\n<tr><th>STT</th><th>Đơn vị nhận</th><th>Đơn vị gửi</th>\
         <th>Mã văn bản (DocumentId)</th><th>Lý do</th><th>Từ lúc</th><th>Chi tiết</th></tr>\n\
         </thead>\n<tbody>\n",
    );
    for (i, stuck) in province.stuck.iter().enumerate() {
        let document = stuck
            .document_id
            .as_deref()
            .map_or_else(|| stuck.package_id.to_string(), str::to_owned);
        let _ = writeln!(
            page,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            i + 1,
            name(&stuck.recipient),
            name(&stuck.sender),
            escape(&document),
            reason_text(stuck.reason),
            vietnamese_time(stuck.since),
            escape(stuck.detail.as_deref().unwrap_or("")),
        );
    }
    page.push_str("</tbody>\n</table>\n");
}

/// Why a document is stuck, in the words of the report.
fn reason_text(reason: StuckReason) -> &'static str {
    match reason {
        StuckReason::Refused => "Đơn vị nhận từ chối tiếp nhận (02)",
        StuckReason::NotRegistered => "Đã đến (01) nhưng chưa vào sổ (03) quá hạn",
        StuckReason::TakeBackUnanswered => "Yêu cầu lấy lại (13) chưa được trả lời quá hạn",
    }
}

fn cells(c: &Counts) -> String {
    let n = |v: u64| format!("<td class=\"n\">{v}</td>");
    let share = |p: Option<f64>| format!("<td class=\"n\">{}</td>", vietnamese_percent(p));
    let stuck = if c.stuck > 0 {
        format!("<td class=\"n warn\">{}</td>", c.stuck)
    } else {
        n(0)
    };
    [
        n(c.sent),
        n(c.received),
        n(c.arrived_on_time),
        share(c.arrived_on_time_percent),
        n(c.answered),
        share(c.answered_percent),
        n(c.completed),
        share(c.completed_percent),
        n(c.refused),
        stuck,
    ]
    .concat()
}
