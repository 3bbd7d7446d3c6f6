//! The axis bridge with real `lienthong` processes and the test axis
//! (`lienthong_simulations::axis`): a node reaches an agency that is only on the axis as
//! that agency's QLVB would, through the axis's SDK API, beside the federation; its sends
//! survive kill -9 between `sendEdoc` and recording the DocId without reaching the axis
//! twice; an axis that is down, refuses or is too slow leaves the recipient retrying with
//! the reason; past its deadline an axis recipient is in the stuck list with the axis's
//! reason, its path and DocId, and the report marks it as reached through the axis.

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
    // The dashboard names the agency on the axis as the axis's directory does.
    let dashboard = tu_phap.get_json("/api/v1/dashboard")?;
    assert_eq!(dashboard["names"][Y_TE], "Sở Y tế");
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
fn an_axis_that_is_down_refuses_or_is_too_slow_leaves_the_recipient_retrying_with_the_reason()
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

    // Slower than the node's request timeout (5 s): as good as away.
    axis.set_switches(Switches {
        slow_ms: 7_000,
        ..Switches::default()
    });
    wait_for(
        "axis_unreachable while the axis is too slow",
        DEADLINE,
        || (last_error(&node).as_deref() == Some("axis_unreachable")).then_some(()),
    )?;

    // Back to normal: it goes, once.
    axis.set_switches(Switches::default());
    node.wait_state(&package, Y_TE, "handed_to_axis", Duration::from_secs(120))?;
    assert_eq!(axis.summary().sends, 2);
    Ok(())
}

#[test]
fn an_axis_recipient_past_its_deadline_is_stuck_with_the_axis_reason_its_path_and_doc_id()
-> anyhow::Result<()> {
    let axis = test_axis();
    let federation = Federation::new("Trục quá hạn")?;
    let dir = federation.init(TU_PHAP, "Sở Tư pháp")?;
    bridge_to(&dir, &axis);
    for key in [
        "receipt_deadline",
        "urgent_receipt_deadline",
        "flash_receipt_deadline",
    ] {
        lienthong_tests::configure(&dir, key, "\"1s\"")?;
    }
    lienthong_tests::configure(&dir, "retry_max", "\"2s\"")?;
    let node = ProcessNode::start(&dir)?;
    federation.admit(&dir)?;
    federation.wait_roster(&[&node])?;
    let stuck_of = |package: &str| -> Option<serde_json::Value> {
        node.get_json("/api/v1/stuck")
            .ok()?
            .as_array()?
            .iter()
            .find(|s| s["package_id"] == package && s["recipient"] == Y_TE)
            .cloned()
    };

    // The axis took it; Y tế's QLVB has not: stuck past the deadline, said so.
    let taken = submit_once_routable(&node, &document(&[Y_TE], 31));
    node.wait_state(&taken, Y_TE, "handed_to_axis", DEADLINE)?;
    let stuck = wait_for("not_taken_from_axis", DEADLINE, || {
        stuck_of(&taken).filter(|s| s["reason"] == "not_taken_from_axis")
    })?;
    assert_eq!(stuck["path"], "axis");
    let sender_doc_id = axis.copies()[0].sender_doc_id.clone();
    assert_eq!(stuck["axis_doc_id"], sender_doc_id.as_str());
    // Once Y tế's QLVB takes it, it is stuck no more.
    let mut y_te = SdkService::new(&axis.endpoint(), Y_TE, Y_TE_SECRET);
    let items = y_te
        .get_received_edoc_list(EDOCS)?
        .and_then(|l| l.data)
        .expect("a list");
    let doc_id = items[0].id.clone().expect("docId");
    let done = y_te.update_status(&format!(r#"{{"status":"done","docId":"{doc_id}"}}"#))?;
    assert!(done.is_some_and(|e| e.is_success()));
    wait_for("no longer stuck", DEADLINE, || {
        stuck_of(&taken).is_none().then_some(())
    })?;

    // The axis away: the next document is stuck as axis_unreachable, on the axis path.
    axis.set_switches(Switches {
        down: true,
        ..Switches::default()
    });
    let waiting = node.submit(&document(&[Y_TE], 32))?;
    let stuck = wait_for("axis_unreachable", DEADLINE, || {
        stuck_of(&waiting).filter(|s| s["reason"] == "axis_unreachable")
    })?;
    assert_eq!(stuck["path"], "axis");

    // The report marks the counterpart as reached through the axis.
    let today = lienthong_protocol::envelope::Timestamp::from_millis(u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?)
    .to_string();
    let day = &today[..10];
    let report = node.get_json(&format!("/api/v1/report?from={day}&to={day}"))?;
    let row = report["counterparts"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["organ_id"] == Y_TE))
        .cloned()
        .expect("a row for Y tế");
    assert_eq!(row["via_axis"], true);
    assert_eq!(row["sent"], 2);
    Ok(())
}

#[test]
fn an_https_axis_is_reached_over_tls_when_its_ca_is_trusted_and_not_otherwise() -> anyhow::Result<()>
{
    let axis = test_axis();
    let front = lienthong_tests::tls_front::TlsFront::start(axis.addr())?;
    let federation = Federation::new("Trục https")?;

    // Trusting the test CA: the document goes to the axis over TLS.
    let trusting_dir = federation.init(TU_PHAP, "Sở Tư pháp")?;
    lienthong_tests::axis_bridge::bridge_to_endpoint(
        &trusting_dir,
        &front.url(),
        Some(front.ca_pem()),
    );
    let trusting = ProcessNode::start(&trusting_dir)?;
    federation.admit(&trusting_dir)?;
    federation.wait_roster(&[&trusting])?;
    let package = submit_once_routable(&trusting, &document(&[Y_TE], 41));
    trusting.wait_state(&package, Y_TE, "handed_to_axis", DEADLINE)?;
    assert_eq!(axis.summary().sends, 1);
    drop(trusting);

    // The public web roots only: the test CA is not among them, so the node refuses the
    // handshake and never reaches the axis (its directory stays empty: Y tế cannot be
    // routed to).
    let sends_before = axis.summary().calls.clone();
    let doubting_dir = federation.init(CONG_THUONG, "Sở Công Thương")?;
    lienthong_tests::axis_bridge::bridge_to_endpoint(&doubting_dir, &front.url(), None);
    let doubting = ProcessNode::start(&doubting_dir)?;
    federation.admit(&doubting_dir)?;
    federation.wait_roster(&[&doubting])?;
    wait_for(
        "the node to refuse the axis's certificate",
        DEADLINE,
        || (front.refused_handshakes() > 0).then_some(()),
    )?;
    let (status, body) = doubting.post(
        "/api/v1/packages",
        &lienthong_tests::axis_bridge::document_from(CONG_THUONG, &[Y_TE], 42),
    )?;
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&body));
    // The operator is told why, once.
    let log = wait_for("the warning about the axis's certificate", DEADLINE, || {
        let log = doubting.log_text();
        log.contains("directory cannot be fetched").then_some(log)
    })?;
    let warning = log
        .lines()
        .find(|l| l.contains("directory cannot be fetched"))
        .unwrap_or_default();
    assert!(
        warning.contains("WARN") && warning.contains("UnknownIssuer"),
        "{warning}"
    );
    assert_eq!(
        axis.summary().calls,
        sends_before,
        "no call got through to the axis"
    );
    Ok(())
}
