//! Stopping a node with SIGTERM while documents flow both ways: it stops in order (the API,
//! the delivery engine, the workers, inbound requests, the network, the store) and leaves no
//! task running; after a restart every document arrives exactly once.

use std::time::Duration;

use lienthong_tests::{Federation, ProcessNode, wait_for};

const DELIVERY: Duration = Duration::from_secs(90);

/// A document of about 2 MB from `from` to `to`; `variant` makes each its own package.
fn document(from: &str, to: &str, variant: u32) -> Vec<u8> {
    use lienthong_protocol::edxml::{
        self, Attachment, Base64Content, Document, Message, Organization,
    };
    let mut doc = Document::new(
        Organization::new(from.parse().expect("id")),
        vec![Organization::new(to.parse().expect("id"))],
    );
    doc.document_id = Some(format!("{from},2026/11/21,{variant}/SIGTERM"));
    doc.subject = Some(format!("Công văn số {variant}"));
    let mut data = vec![0u8; 2 * 1024 * 1024];
    let mut x = 0x9e37_79b9_u32 ^ variant;
    for byte in &mut data {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *byte = x as u8;
    }
    doc.attachments.push(Attachment {
        content_id: Some("cid:attachment".to_owned()),
        attachment_name: Some("attachment.bin".to_owned()),
        description: None,
        content_type: Some("application/zip".to_owned()),
        mime_type: None,
        field_name: None,
        content: Base64Content::encode(&data),
    });
    edxml::write(&Message::Document(Box::new(doc))).expect("writes")
}

/// What the last "process exiting" line of `node`'s log says about `field`.
fn exit_count(node: &ProcessNode, field: &str) -> Option<u64> {
    let log = node.log_text();
    let line = log.lines().rev().find(|l| l.contains("process exiting"))?;
    let value = line.split(&format!("{field}=")).nth(1)?;
    value
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Sends SIGTERM to `node`, which must exit cleanly with no task left in its set or in
/// its runtime.
fn stop(node: &mut ProcessNode) -> anyhow::Result<()> {
    assert!(node.terminate()?, "the node exits with status 0");
    assert_eq!(
        exit_count(node, "tasks_left"),
        Some(0),
        "no task left in the node's set:\n{}",
        lienthong_tests::tail(&node.log_text())
    );
    assert_eq!(
        exit_count(node, "runtime_tasks"),
        Some(0),
        "no task left in the runtime:\n{}",
        lienthong_tests::tail(&node.log_text())
    );
    Ok(())
}

#[test]
fn sigterm_during_traffic_loses_and_repeats_nothing_and_leaves_no_task() -> anyhow::Result<()> {
    const A: &str = "000.00.01.H53";
    const B: &str = "000.00.02.H53";
    let federation = Federation::new("SIGTERM")?;
    let a_dir = federation.init(A, "Văn phòng UBND tỉnh")?;
    let b_dir = federation.init(B, "Sở Nội vụ")?;
    let mut a = ProcessNode::start(&a_dir)?;
    let mut b = ProcessNode::start(&b_dir)?;
    federation.admit(&a_dir)?;
    federation.admit(&b_dir)?;
    federation.wait_roster(&[&a, &b])?;

    let mut to_b = Vec::new();
    let mut to_a = Vec::new();
    // Both ways at once, then A is stopped while it sends and receives.
    for i in 0..12 {
        to_b.push(a.submit(&document(A, B, i))?);
        if i % 2 == 0 {
            to_a.push(b.submit(&document(B, A, 100 + i))?);
        }
    }
    stop(&mut a)?;
    // B goes on sending to A while A is down.
    for i in 0..4 {
        to_a.push(b.submit(&document(B, A, 200 + i))?);
    }
    let a = ProcessNode::start(&a_dir)?;
    // Then B is stopped while it receives from A and sends to A.
    for i in 0..8 {
        to_b.push(a.submit(&document(A, B, 300 + i))?);
    }
    for i in 0..2 {
        to_a.push(b.submit(&document(B, A, 400 + i))?);
    }
    stop(&mut b)?;
    let b = ProcessNode::start(&b_dir)?;

    for package in &to_b {
        a.wait_state(package, B, "delivered", DELIVERY)?;
    }
    for package in &to_a {
        b.wait_state(package, A, "delivered", DELIVERY)?;
    }
    for (node, sent) in [(&b, &to_b), (&a, &to_a)] {
        let inbox = wait_for("the inbox to list every package", DELIVERY, || {
            let inbox = node.inbox().ok()?;
            (inbox.len() >= sent.len()).then_some(inbox)
        })?;
        assert_eq!(inbox.len(), sent.len(), "nothing more than what was sent");
        for package in sent {
            let copies = inbox
                .iter()
                .filter(|e| e["package_id"] == **package)
                .count();
            assert_eq!(copies, 1, "{package} arrived exactly once");
        }
    }
    Ok(())
}
