//! The axis bridge with real `lienthong` processes and the test axis
//! (`lienthong_simulations::axis`): a node reaches an agency that is only on the axis as
//! that agency's QLVB would, through the axis's SDK API, beside the federation; its sends
//! survive kill -9 between `sendEdoc` and recording the DocId without reaching the axis
//! twice; an axis that is down or refuses leaves the recipient retrying with the reason.

use std::time::Duration;

use lienthong_simulations::axis::{FailSwitch, Switches};
use lienthong_tests::axis_bridge::{
    CONG_THUONG, DEADLINE, EDOCS, TU_PHAP, Y_TE, Y_TE_SECRET, bridge_to, document,
    submit_once_routable, test_axis,
};
use lienthong_tests::axis_sdk::SdkService;
use lienthong_tests::{Federation, ProcessNode, wait_for};

#[test]
fn one_document_goes_to_a_member_through_the_federation_and_to_another_agency_through_the_axis()
-> anyhow::Result<()> {
    let axis = test_axis();
    let federation = Federation::new("Chuyển tiếp trục")?;
    let tu_phap_dir = federation.init(TU_PHAP, "Sở Tư pháp")?;
    bridge_to(&tu_phap_dir, &axis);
    let tu_phap = ProcessNode::start(&tu_phap_dir)?;
    federation.admit(&tu_phap_dir)?;
    let cong_thuong = federation.start_node(CONG_THUONG, "Sở Công Thương")?;
    federation.wait_roster(&[&tu_phap, &cong_thuong])?;

    // An agency in neither the roster nor the axis's directory is refused, as before.
    let (status, _) = tu_phap.post("/api/v1/packages", &document(&["000.00.09.H53"], 1))?;
    assert_eq!(status, 422);

    let edxml = document(&[CONG_THUONG, Y_TE], 2);
    let package = submit_once_routable(&tu_phap, &edxml);
    tu_phap.wait_state(&package, CONG_THUONG, "delivered", DEADLINE)?;
    tu_phap.wait_state(&package, Y_TE, "handed_to_axis", DEADLINE)?;

    // Y tế's QLVB, on the SDK, finds exactly the bytes Tư pháp's QLVB submitted.
    let mut y_te = SdkService::new(&axis.endpoint(), Y_TE, Y_TE_SECRET);
    let items = y_te
        .get_received_edoc_list(EDOCS)?
        .and_then(|l| l.data)
        .expect("a list");
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].from.as_deref(), Some(TU_PHAP));
    let doc_id = items[0].id.clone().expect("docId");
    let got = y_te
        .get_edoc(&format!(r#"{{"docId":"{doc_id}"}}"#))?
        .expect("read");
    assert!(got.data.as_deref().map(str::as_bytes) == Some(edxml.as_slice()));
    // The status API says which way each recipient went, and the axis's DocId.
    let status = tu_phap.get_json(&format!("/api/v1/packages/{package}/status"))?;
    let recipient = |code: &str| {
        status["recipients"]
            .as_array()
            .and_then(|all| all.iter().find(|r| r["organ_id"] == code))
            .cloned()
            .expect("a recipient")
    };
    assert_eq!(recipient(CONG_THUONG)["path"], "federation");
    assert_eq!(recipient(Y_TE)["path"], "axis");
    let sender_doc_id = axis.copies()[0].sender_doc_id.clone();
    assert_eq!(recipient(Y_TE)["axis_doc_id"], sender_doc_id.as_str());
    // Y tế's QLVB says done: the node learns it from the axis, as the axis's word.
    let done = y_te.update_status(&format!(r#"{{"status":"done","docId":"{doc_id}"}}"#))?;
    assert!(done.is_some_and(|e| e.is_success()));
    wait_for("the axis's report of done", DEADLINE, || {
        let status = tu_phap
            .get_json(&format!("/api/v1/packages/{package}/status"))
            .ok()?;
        let reports = status["recipients"]
            .as_array()?
            .iter()
            .find(|r| r["organ_id"] == Y_TE)?["axis_reports"]
            .as_array()?
            .clone();
        reports
            .iter()
            .any(|r| r["status"] == "done" && r["reported_by"] == "axis")
            .then_some(())
    })?;
    // The member got it through the federation, not through the axis.
    assert!(axis.copies().iter().all(|c| c.to == Y_TE));
    assert_eq!(axis.summary().sends, 1);
    Ok(())
}

#[test]
fn a_node_killed_after_send_edoc_before_recording_the_doc_id_does_not_send_twice()
-> anyhow::Result<()> {
    let axis = test_axis();
    let federation = Federation::new("Trục và kill -9")?;
    let dir = federation.init(TU_PHAP, "Sở Tư pháp")?;
    bridge_to(&dir, &axis);
    let mut node = ProcessNode::start_with_env(
        &dir,
        &[("LIENTHONG_CRASH_AT", "axis_after_send_before_record")],
    )?;
    federation.admit(&dir)?;
    federation.wait_roster(&[&node])?;

    let package = submit_once_routable(&node, &document(&[Y_TE], 3));
    // The node aborts right after the axis took the document.
    wait_for("the node to abort at its crash point", DEADLINE, || {
        node.exited()
    })?;
    assert_eq!(axis.summary().sends, 1, "the axis took it once");
    node.kill9();

    // Restarted without the crash point: it finds its send on the axis and records it.
    let node = ProcessNode::start(&dir)?;
    node.wait_state(&package, Y_TE, "handed_to_axis", DEADLINE)?;
    assert_eq!(axis.summary().sends, 1, "not sent again");
    assert!(
        node.log_text().contains("found in the axis's sent list"),
        "the DocId came from getSentEdocList"
    );
    Ok(())
}

#[test]
fn an_axis_that_is_down_or_refuses_leaves_the_recipient_retrying_with_the_reason()
-> anyhow::Result<()> {
    let axis = test_axis();
    let federation = Federation::new("Trục hỏng")?;
    let dir = federation.init(TU_PHAP, "Sở Tư pháp")?;
    bridge_to(&dir, &axis);
    // Retries close together, so that each switch is seen within the deadline.
    lienthong_tests::configure(&dir, "retry_max", "\"2s\"")?;
    let node = ProcessNode::start(&dir)?;
    federation.admit(&dir)?;
    federation.wait_roster(&[&node])?;
    // The directory is in before the axis goes down.
    let first = submit_once_routable(&node, &document(&[Y_TE], 4));
    node.wait_state(&first, Y_TE, "handed_to_axis", DEADLINE)?;

    axis.set_switches(Switches {
        down: true,
        ..Switches::default()
    });
    let package = node.submit(&document(&[Y_TE], 5))?;
    let last_error = |node: &ProcessNode| -> Option<String> {
        let status = node
            .get_json(&format!("/api/v1/packages/{package}/status"))
            .ok()?;
        status["recipients"]
            .as_array()?
            .iter()
            .find(|r| r["organ_id"] == Y_TE)?["last_error"]
            .as_str()
            .map(str::to_owned)
    };
    wait_for("axis_unreachable", DEADLINE, || {
        (last_error(&node).as_deref() == Some("axis_unreachable")).then_some(())
    })?;

    axis.set_switches(Switches {
        fail: Some(FailSwitch {
            ops: vec!["sendEdoc".to_owned()],
            code: "500".to_owned(),
            desc: "Van ban khong dung dinh dang".to_owned(),
        }),
        ..Switches::default()
    });
    wait_for("the axis's refusal", DEADLINE, || {
        (last_error(&node).as_deref() == Some("Van ban khong dung dinh dang")).then_some(())
    })?;

    // Back to normal: it goes, once.
    axis.set_switches(Switches::default());
    node.wait_state(&package, Y_TE, "handed_to_axis", Duration::from_secs(120))?;
    assert_eq!(axis.summary().sends, 2);
    Ok(())
}
