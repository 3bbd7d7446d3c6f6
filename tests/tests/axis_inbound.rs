//! The axis bridge inbound, with real `lienthong` processes and the test axis: a QLVB on
//! the axis's SDK (Sở Y tế) and an agency on lienthong (Sở Tư pháp) exchange a document and
//! its statuses 01, 03 and 06 both ways; a node killed between `getEdoc` and storing, or
//! between storing and `updateStatus done`, takes each document exactly once.

use lienthong_protocol::StatusCode;
use lienthong_protocol::edxml::{self, Message, Organization, Status};
use lienthong_simulations::axis::TestAxis;
use lienthong_tests::axis_bridge::{
    DEADLINE, EDOCS, STATUSES, TU_PHAP, Y_TE, Y_TE_SECRET, bridge_to, document, document_from,
    submit_once_routable, test_axis,
};
use lienthong_tests::axis_sdk::SdkService;
use lienthong_tests::{Federation, ProcessNode, wait_for};
use serde_json::Value;

/// Y tế's QLVB, on the SDK, with a folder for the files it sends.
struct YTe {
    sdk: SdkService,
    files: std::path::PathBuf,
    sent: u32,
}

impl YTe {
    fn new(axis: &TestAxis, files: &std::path::Path) -> YTe {
        YTe {
            sdk: SdkService::new(&axis.endpoint(), Y_TE, Y_TE_SECRET),
            files: files.to_owned(),
            sent: 0,
        }
    }

    /// `sendEdoc` of `bytes` to Tư pháp as `message_type`; the sender's DocId.
    fn send(&mut self, bytes: &[u8], message_type: &str) -> String {
        self.sent += 1;
        let file = self.files.join(format!("y-te-{}.edxml", self.sent));
        std::fs::write(&file, bytes).expect("file");
        let call = format!(
            r#"{{"from":"{Y_TE}","servicetype":"eDoc","messagetype":"{message_type}","to":"{TU_PHAP}"}}"#
        );
        let sent = self
            .sdk
            .send_edoc(&call, &file)
            .expect("answered")
            .expect("read");
        assert!(sent.envelope.is_success(), "{sent:?}");
        sent.doc_id.expect("a DocId")
    }

    /// Every waiting item of `list` (`EDOCS` or `STATUSES`): read with getEdoc, then
    /// `done`, as a QLVB on the SDK does. The messages, parsed.
    fn take(&mut self, list: &str) -> Vec<Message> {
        let items = self
            .sdk
            .get_received_edoc_list(list)
            .expect("answered")
            .and_then(|l| l.data)
            .unwrap_or_default();
        let mut messages = Vec::new();
        for item in items {
            let doc_id = item.id.expect("docId");
            let got = self
                .sdk
                .get_edoc(&format!(r#"{{"docId":"{doc_id}"}}"#))
                .expect("answered")
                .expect("read");
            let text = got.data.expect("the file");
            messages.push(edxml::read(text.into_bytes()).expect("edXML").message);
            let done = self
                .sdk
                .update_status(&format!(r#"{{"status":"done","docId":"{doc_id}"}}"#))
                .expect("answered");
            assert!(done.is_some_and(|e| e.is_success()));
        }
        messages
    }

    /// Takes statuses until one with `code` is there; every status taken meanwhile.
    fn wait_status(&mut self, code: StatusCode, taken: &mut Vec<Status>) {
        wait_for(&format!("status {code} at Y tế"), DEADLINE, || {
            for message in self.take(STATUSES) {
                if let Message::Status(status) = message {
                    taken.push(*status);
                }
            }
            taken.iter().any(|s| s.code == code).then_some(())
        })
        .expect("the status arrives");
    }
}

/// A status from `from` about the document `document_id` that `sender` sent it.
fn status(from: &str, sender: &str, document_id: &str, code: StatusCode) -> Vec<u8> {
    let message = Status::about_document(
        Organization::new(from.parse().expect("id")),
        sender.parse().expect("id"),
        document_id,
        code,
        None,
    );
    edxml::write(&Message::Status(Box::new(message))).expect("writes")
}

fn document_id(bytes: &[u8]) -> String {
    edxml::read(bytes.to_vec())
        .expect("edXML")
        .message
        .document_id()
        .expect("a DocumentId")
        .to_owned()
}

/// Tư pháp's inbox, every entry.
fn inbox(node: &ProcessNode) -> Vec<Value> {
    node.get_json("/api/v1/inbox?all=true")
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

/// Tư pháp's node, on the federation and bridged to `axis`.
fn tu_phap_node(
    federation: &Federation,
    axis: &TestAxis,
    env: &[(&str, &str)],
) -> anyhow::Result<(std::path::PathBuf, ProcessNode)> {
    let dir = federation.init(TU_PHAP, "Sở Tư pháp")?;
    bridge_to(&dir, axis);
    let node = ProcessNode::start_with_env(&dir, env)?;
    federation.admit(&dir)?;
    federation.wait_roster(&[&node])?;
    Ok((dir, node))
}

#[test]
fn an_sdk_qlvb_and_a_lienthong_agency_exchange_a_document_and_statuses_01_03_06_both_ways()
-> anyhow::Result<()> {
    let axis = test_axis();
    let federation = Federation::new("Trục hai chiều")?;
    let (_dir, tu_phap) = tu_phap_node(&federation, &axis, &[])?;
    let mut y_te = YTe::new(&axis, federation.root());

    // Y tế → Tư pháp: the document lands in Tư pháp's inbox, marked as from the axis.
    let letter = document_from(Y_TE, &[TU_PHAP], 11);
    let letter_doc_id = y_te.send(&letter, "edoc");
    let entry = wait_for("the document in Tư pháp's inbox", DEADLINE, || {
        inbox(&tu_phap).into_iter().find(|e| e["kind"] == "edoc")
    })?;
    assert_eq!(entry["from"], Y_TE);
    assert_eq!(entry["via"], "axis");
    let receiver_doc_id = axis
        .copies()
        .into_iter()
        .find(|c| c.sender_doc_id == letter_doc_id)
        .expect("the copy")
        .receiver_doc_id;
    assert_eq!(entry["axis_doc_id"], receiver_doc_id.as_str());
    // QLVB reads the exact bytes Y tế's QLVB sent.
    let package = entry["package_id"].as_str().expect("id").to_owned();
    let (code, content) = tu_phap.get(&format!("/api/v1/packages/{package}"))?;
    assert_eq!(code, 200);
    assert_eq!(content, letter);
    // The node said done to the axis, and sent Y tế the status 01.
    wait_for("done on the axis", DEADLINE, || {
        axis.copies()
            .iter()
            .any(|c| c.sender_doc_id == letter_doc_id && c.status == "done")
            .then_some(())
    })?;
    let mut statuses = Vec::new();
    y_te.wait_status(StatusCode::Arrived, &mut statuses);
    // Tư pháp's QLVB registers (03) and finishes (06) it: both reach Y tế through the axis.
    let letter_id = document_id(&letter);
    for code in [StatusCode::Accepted, StatusCode::Completed] {
        let (answer, body) =
            tu_phap.post("/api/v1/packages", &status(TU_PHAP, Y_TE, &letter_id, code))?;
        assert_eq!(answer, 202, "{}", String::from_utf8_lossy(&body));
        y_te.wait_status(code, &mut statuses);
    }
    for status in &statuses {
        assert_eq!(status.from.organ_id.as_str(), TU_PHAP);
        assert_eq!(
            status.response_for.document_id.as_deref(),
            Some(letter_id.as_str())
        );
    }
    let codes: Vec<StatusCode> = statuses.iter().map(|s| s.code).collect();
    assert_eq!(
        codes,
        [
            StatusCode::Arrived,
            StatusCode::Accepted,
            StatusCode::Completed
        ],
        "each status once, in order"
    );

    // Tư pháp → Y tế: the document reaches Y tế's QLVB; its 01, 03 and 06 come back and
    // join the recipient's timeline as the axis's word.
    let reply = document(&[Y_TE], 12);
    let sent = submit_once_routable(&tu_phap, &reply);
    tu_phap.wait_state(&sent, Y_TE, "handed_to_axis", DEADLINE)?;
    let taken = wait_for("the document at Y tế", DEADLINE, || {
        let taken = y_te.take(EDOCS);
        (!taken.is_empty()).then_some(taken)
    })?;
    assert_eq!(taken.len(), 1);
    let reply_id = document_id(&reply);
    for code in [
        StatusCode::Arrived,
        StatusCode::Accepted,
        StatusCode::Completed,
    ] {
        y_te.send(&status(Y_TE, TU_PHAP, &reply_id, code), "status");
    }
    let reported = wait_for("the statuses in the timeline", DEADLINE, || {
        let status = tu_phap
            .get_json(&format!("/api/v1/packages/{sent}/status"))
            .ok()?;
        let reports: Vec<String> = status["recipients"]
            .as_array()?
            .iter()
            .find(|r| r["organ_id"] == Y_TE)?["axis_reports"]
            .as_array()?
            .iter()
            .filter(|r| r["reported_by"] == "axis")
            .filter_map(|r| r["status"].as_str().map(str::to_owned))
            .collect();
        ["01", "03", "06"]
            .iter()
            .all(|code| reports.iter().any(|r| r == code))
            .then_some(reports)
    })?;
    assert!(reported.contains(&"done".to_owned()), "{reported:?}");
    // Tư pháp's QLVB also finds the three statuses in its inbox, as from a member.
    let status_entries = inbox(&tu_phap)
        .into_iter()
        .filter(|e| e["kind"] == "status" && e["via"] == "axis")
        .count();
    assert_eq!(status_entries, 3);
    // Nothing waits on the axis for either side.
    assert_eq!(axis.summary().pending, 0, "{:?}", axis.copies());
    Ok(())
}

/// Y tế sends one document to a Tư pháp whose node aborts at `crash_at`; after a restart
/// the document is in the inbox once, `done` on the axis, and Y tế has one status 01.
fn taken_once_across_a_crash(crash_at: &str, n: u32) -> anyhow::Result<()> {
    let axis = test_axis();
    let federation = Federation::new("Trục nhận và kill -9")?;
    let (dir, mut node) = tu_phap_node(&federation, &axis, &[("LIENTHONG_CRASH_AT", crash_at)])?;
    let mut y_te = YTe::new(&axis, federation.root());
    let letter = document_from(Y_TE, &[TU_PHAP], n);
    let letter_doc_id = y_te.send(&letter, "edoc");
    wait_for("the node to abort at its crash point", DEADLINE, || {
        node.exited()
    })?;
    node.kill9();
    let copy_status = |axis: &TestAxis| {
        axis.copies()
            .into_iter()
            .find(|c| c.sender_doc_id == letter_doc_id)
            .map(|c| c.status)
    };
    assert_eq!(copy_status(&axis).as_deref(), Some("pending"));

    let node = ProcessNode::start(&dir)?;
    wait_for("done on the axis after the restart", DEADLINE, || {
        (copy_status(&axis).as_deref() == Some("done")).then_some(())
    })?;
    let documents: Vec<Value> = inbox(&node)
        .into_iter()
        .filter(|e| e["kind"] == "edoc")
        .collect();
    assert_eq!(documents.len(), 1, "{documents:?}");
    assert_eq!(documents[0]["via"], "axis");
    let mut statuses = Vec::new();
    y_te.wait_status(StatusCode::Arrived, &mut statuses);
    // Another round of polling leaves it at one: no second 01, no second copy.
    let rounds = axis
        .summary()
        .calls
        .get("getReceivedEdocList")
        .copied()
        .unwrap_or(0);
    wait_for("two more polling rounds", DEADLINE, || {
        (axis
            .summary()
            .calls
            .get("getReceivedEdocList")
            .copied()
            .unwrap_or(0)
            >= rounds + 4)
            .then_some(())
    })?;
    statuses.extend(y_te.take(STATUSES).into_iter().filter_map(|m| match m {
        Message::Status(s) => Some(*s),
        Message::Document(_) => None,
    }));
    assert_eq!(statuses.len(), 1, "one status 01: {statuses:?}");
    assert_eq!(
        inbox(&node).iter().filter(|e| e["kind"] == "edoc").count(),
        1
    );
    Ok(())
}

#[test]
fn a_node_killed_after_get_edoc_before_storing_takes_the_document_once() -> anyhow::Result<()> {
    taken_once_across_a_crash("axis_after_get_before_store", 21)
}

#[test]
fn a_node_killed_after_storing_before_done_takes_the_document_once() -> anyhow::Result<()> {
    taken_once_across_a_crash("axis_after_store_before_done", 22)
}
