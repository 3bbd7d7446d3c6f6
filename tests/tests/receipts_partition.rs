//! Receipts across a partition, with real processes in network namespaces: the province
//! LAN is cut between a sender and its recipient while the recipient's QLVB records the
//! document's progress; when the link is back, every receipt reaches the sender and the
//! provincial office that watches the province. Needs root and iproute2; fails, never
//! skips, without them.

use std::time::Duration;

use lienthong_protocol::edxml::{
    self, Code, Document, Message, Organization, PromulgationInfo, ResponseFor, Status, StatusCode,
};
use lienthong_simulations::province::dong_nai::{FINANCE, OFFICE, UBND};
use lienthong_simulations::province::{Net, Province, ProvincePlan, SitePlan};
use lienthong_tests::{ProcessNode, wait_for};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(90);

fn document(from: &str, to: &str) -> Vec<u8> {
    let mut doc = Document::new(
        Organization::new(from.parse().expect("id")),
        vec![Organization::new(to.parse().expect("id"))],
    );
    doc.document_id = Some(format!("{from},2026/11/21,88/UBND-TH"));
    doc.code = Some(Code {
        number: "88".into(),
        notation: "UBND-TH".into(),
    });
    doc.promulgation = Some(PromulgationInfo {
        place: Some("Biên Hòa".into()),
        date: edxml::EdxmlDate::new(2026, 11, 21),
    });
    doc.subject = Some("Về việc tổng kết công tác văn thư".into());
    edxml::write(&Message::Document(Box::new(doc))).expect("writes")
}

fn status(from: &str, to: &str, code: StatusCode) -> Vec<u8> {
    let message = Status {
        from: Organization::new(from.parse().expect("id")),
        response_for: ResponseFor {
            organ_id: to.parse().expect("id"),
            code: Some("88/UBND-TH".into()),
            promulgation_date: edxml::EdxmlDate::new(2026, 11, 21),
            // The finance department's system keeps its own id: found by code and date.
            document_id: Some("9fbfbad2-f1f8-4256-a2eb-50fb1061cddb".into()),
        },
        staff: None,
        code,
        description: None,
        timestamp: None,
    };
    edxml::write(&Message::Status(Box::new(message))).expect("writes")
}

fn codes(node: &ProcessNode, package: &str, issuer: &str) -> Vec<String> {
    let page = node.get_json("/api/v1/receipts?limit=4096").expect("log");
    let mut codes: Vec<String> = page["receipts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["package_id"] == package && r["issuer"] == issuer)
        .filter_map(|r| r["code"].as_str().map(str::to_owned))
        .collect();
    codes.sort();
    codes
}

#[test]
fn receipts_recorded_during_a_partition_converge_after_it_heals() -> anyhow::Result<()> {
    let quick = |site: SitePlan| {
        site.with("retry_max", "\"2s\"")
            .with("retry_interval", "\"2s\"")
            .with("sync_interval", "\"3s\"")
            .without_relays()
    };
    let plan = ProvincePlan {
        sites: vec![
            quick(SitePlan::agency(UBND, "UBND tỉnh Đồng Nai", &[Net::Lan])),
            quick(SitePlan::agency(FINANCE, "Sở Tài chính", &[Net::Lan])),
            quick(SitePlan::agency(OFFICE, "Văn phòng UBND tỉnh", &[Net::Lan]))
                .with("monitor", "true"),
        ],
        settings: Vec::new(),
        log: None,
    };
    let province = Province::start(&plan)?;
    let sender = province.node(UBND);
    let recipient = province.node(FINANCE);
    let office = province.node(OFFICE);

    let package = sender.submit(&document(UBND, FINANCE))?;
    sender.wait_state(&package, FINANCE, "delivered", DEADLINE)?;

    // The finance department's link goes down; its clerks go on working.
    province.site(FINANCE).host.disconnect()?;
    for code in [
        StatusCode::Accepted,
        StatusCode::Assigned,
        StatusCode::Processing,
    ] {
        let (status, body) = recipient.post("/api/v1/packages", &status(FINANCE, UBND, code))?;
        let answer: Value = serde_json::from_slice(&body)?;
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["answers"], package.as_str());
    }
    let (_, during) = sender.recipient_state(&package, FINANCE)?;
    assert_eq!(during, ["01"], "nothing crosses the cut");

    province.site(FINANCE).host.reconnect()?;
    let expected = ["01", "03", "04", "05"];
    wait_for("the sender's timeline to converge", DEADLINE, || {
        let (_, codes) = sender.recipient_state(&package, FINANCE).ok()?;
        (codes == expected).then_some(())
    })?;
    // The office was no party; it holds the summaries of both sides' receipts once
    // gossip and catching up have run.
    wait_for("the office to hold every receipt", DEADLINE, || {
        (codes(office, &package, FINANCE) == expected).then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; office has {:?}", codes(office, &package, FINANCE)))?;
    Ok(())
}
