//! Attacks on receipt gossip and catching up, against real `lienthong` processes: forged
//! summaries and garbage on a province's receipt topic are refused and never recorded;
//! catching up is for members only and gives a member no more than gossip would.

use std::time::Duration;

use bytes::Bytes;
use lienthong_protocol::StatusCode;
use lienthong_protocol::envelope::{EnvelopeLimits, ReceiptFields, SignedReceipt};
use lienthong_protocol::gossip::encode_receipt_batch;
use lienthong_protocol::wire::{RejectReason, Request, Response};
use lienthong_tests::attacker::Attacker;
use lienthong_tests::{Federation, ProcessNode, configure, samples_dir, wait_for};

const OFFICE: &str = "000.00.01.H53";
const SENDER: &str = "000.00.02.H53";
const ROGUE: &str = "000.00.66.H53";
const TOPIC: &str = "lienthong/receipts/1/H53";
const DEADLINE: Duration = Duration::from_secs(60);

/// A real sample document from `from` to `to`; `n` makes it a distinct document.
fn document(from: &str, to: &str, n: u32) -> Vec<u8> {
    let text = std::fs::read_to_string(samples_dir().join("edoc_new.edxml")).expect("sample");
    text.replace("000.00.00.A80", from)
        .replace("28.22.H17", to)
        .replace(
            "7816/VPCP-TTĐT</edXML:DocumentId>",
            &format!("7816/VPCP-TTĐT-{n}</edXML:DocumentId>"),
        )
        .into_bytes()
}

fn metric(node: &ProcessNode, name: &str) -> u64 {
    let (_, body) = node.get("/metrics").expect("metrics");
    String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn logged(node: &ProcessNode) -> usize {
    node.get_json("/api/v1/receipts?limit=4096").expect("log")["receipts"]
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn forged_or_garbage_receipt_gossip_is_refused_and_catching_up_is_for_members() -> anyhow::Result<()>
{
    let federation = Federation::new("Tấn công hồi báo")?;
    let rogue_dir = federation.init(ROGUE, "Đơn vị bị chiếm quyền")?;
    federation.admit(&rogue_dir)?;
    let office_dir = federation.init(OFFICE, "Văn phòng UBND tỉnh")?;
    configure(&office_dir, "monitor", "true")?;
    let office = ProcessNode::start(&office_dir)?;
    federation.admit(&office_dir)?;
    let sender = federation.start_node(SENDER, "Sở Nội vụ")?;
    federation.wait_roster(&[&office, &sender])?;
    let package = sender.submit(&document(SENDER, OFFICE, 1))?;
    sender.wait_state(&package, OFFICE, "delivered", DEADLINE)?;
    let before = logged(&office);

    let rogue = Attacker::member(&rogue_dir)?;
    // Catching up gives a member no more than its province's gossip topic carried: the
    // office's own receipts about exchanges in the province, nothing else.
    match rogue.send(
        &office,
        Request::ReceiptsSince {
            cursor: 0,
            limit: 256,
        }
        .encode(),
    )? {
        Response::Receipts { receipts, .. } => {
            for receipt in &receipts {
                assert_eq!(receipt.issuer().as_str(), OFFICE);
                assert!(receipt.sender().as_str().ends_with("H53"));
                assert!(receipt.recipient().as_str().ends_with("H53"));
            }
        }
        other => panic!("unexpected answer {other:?}"),
    }
    // And nothing to a stranger.
    let stranger = Attacker::stranger()?;
    match stranger.send(
        &office,
        Request::ReceiptsSince {
            cursor: 0,
            limit: 256,
        }
        .encode(),
    )? {
        Response::Rejected(r) => assert_eq!(r.reason, RejectReason::UnknownAgency),
        other => panic!("a stranger got {other:?}"),
    }

    // A summary the rogue signed as if it were the sender's 06, and plain garbage.
    let forged = SignedReceipt::sign(
        rogue.key(),
        ReceiptFields {
            package_id: package.parse()?,
            sender: OFFICE.parse()?,
            recipient: SENDER.parse()?,
            document_id: None,
            code: StatusCode::Completed,
            issued_at: lienthong_node::clock::now(),
            description: None,
        },
        &EnvelopeLimits::default(),
    )?;
    let forged = encode_receipt_batch(&[forged])?;
    let refused = wait_for("the office to refuse the forged gossip", DEADLINE, || {
        let _ = rogue.publish_on(TOPIC, forged.clone());
        let _ = rogue.publish_on(TOPIC, Bytes::from_static(b"\x01garbage"));
        (metric(&office, "lienthong_gossip_refused") >= 2).then_some(())
    });
    refused?;
    assert_eq!(logged(&office), before, "nothing forged was recorded");
    // The office keeps serving: the next honest exchange is recorded.
    let second = sender.submit(&document(SENDER, OFFICE, 2))?;
    sender.wait_state(&second, OFFICE, "delivered", DEADLINE)?;
    Ok(())
}
