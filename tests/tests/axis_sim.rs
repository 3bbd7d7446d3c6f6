//! The test axis of `lienthong-sim axis` (simulations/src/axis) driven by
//! `lienthong_tests::axis_sdk`, the byte-for-byte re-enactment of the axis's Java SDK: two
//! QLVBs on the axis exchange a document and its statuses, each under its own systemid and
//! secret, and the switches make the axis slow, failing or down.

use std::path::{Path, PathBuf};

use lienthong_simulations::axis::{AxisAgency, FailSwitch, Switches, TestAxis};
use lienthong_tests::axis_sdk::SdkService;
use lienthong_tests::samples_dir;

const SO_TU_PHAP: &str = "000.00.01.H53";
const SO_Y_TE: &str = "000.00.02.H53";
const EDOCS: &str = r#"{"servicetype":"eDoc","messagetype":"edoc"}"#;
const STATUSES: &str = r#"{"servicetype":"eDoc","messagetype":"status"}"#;

fn agencies() -> Vec<AxisAgency> {
    vec![
        AxisAgency {
            code: SO_TU_PHAP.to_owned(),
            name: "Sở Tư pháp".to_owned(),
            secret: "secret-of-tu-phap".to_owned(),
        },
        AxisAgency {
            code: SO_Y_TE.to_owned(),
            name: "Sở Y tế".to_owned(),
            secret: "secret-of-y-te".to_owned(),
        },
    ]
}

fn axis() -> TestAxis {
    TestAxis::start("127.0.0.1:0".parse().expect("address"), agencies()).expect("test axis")
}

fn qlvb(axis: &TestAxis, code: &str, secret: &str) -> SdkService {
    SdkService::new(&axis.endpoint(), code, secret)
}

/// A sample, its organs replaced, written where the SDK reads files.
fn file(dir: &Path, sample: &str, replacements: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(samples_dir().join(sample)).expect("sample reads");
    for (from, to) in replacements {
        text = text.replace(from, to);
    }
    let path = dir.join(sample);
    std::fs::write(&path, text).expect("writes");
    path
}

#[test]
fn two_qlvbs_exchange_a_document_and_its_status_through_the_test_axis() {
    let axis = axis();
    let dir = tempfile_dir("exchange");
    let mut tu_phap = qlvb(&axis, SO_TU_PHAP, "secret-of-tu-phap");
    let mut y_te = qlvb(&axis, SO_Y_TE, "secret-of-y-te");

    // The directory lists both agencies.
    let listed = tu_phap
        .get_agencies_list("{}")
        .expect("answered")
        .expect("read");
    let codes: Vec<String> = listed
        .data
        .expect("a list")
        .into_iter()
        .filter_map(|a| a.code)
        .collect();
    assert_eq!(codes, vec![SO_TU_PHAP.to_owned(), SO_Y_TE.to_owned()]);

    // Tư pháp sends; the axis answers a DocId.
    let document = file(
        &dir,
        "edoc_new.edxml",
        &[("000.00.00.A80", SO_TU_PHAP), ("28.22.H17", SO_Y_TE)],
    );
    let call = format!(
        r#"{{"from":"{SO_TU_PHAP}","servicetype":"eDoc","messagetype":"edoc","to":"{SO_Y_TE}"}}"#
    );
    let sent = tu_phap
        .send_edoc(&call, &document)
        .expect("answered")
        .expect("read");
    assert!(sent.envelope.is_success(), "{sent:?}");
    let sender_doc_id = sent.doc_id.expect("a DocId");
    assert!(!sender_doc_id.is_empty());

    // Y tế lists it, fetches the exact bytes, and says done: it is no longer listed.
    let list = y_te
        .get_received_edoc_list(EDOCS)
        .expect("answered")
        .expect("read");
    let items = list.data.expect("a list");
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].from.as_deref(), Some(SO_TU_PHAP));
    let doc_id = items[0].id.clone().expect("docId");
    let got = y_te
        .get_edoc(&format!(r#"{{"docId":"{doc_id}"}}"#))
        .expect("answered")
        .expect("read");
    assert_eq!(
        got.data.as_deref().map(str::as_bytes),
        Some(std::fs::read(&document).expect("reads").as_slice())
    );
    // Nothing is gone before done: listed again.
    let again = y_te
        .get_received_edoc_list(EDOCS)
        .expect("answered")
        .expect("read");
    assert_eq!(again.data.expect("a list").len(), 1);
    let done = y_te
        .update_status(&format!(r#"{{"status":"done","docId":"{doc_id}"}}"#))
        .expect("answered")
        .expect("read");
    assert!(done.is_success(), "{done:?}");
    let after = y_te
        .get_received_edoc_list(EDOCS)
        .expect("answered")
        .expect("read");
    assert!(after.data.expect("a list").is_empty());

    // The sender sees its recipient has taken it.
    let status = tu_phap
        .get_sent_edoc_list(&format!(
            r#"{{"servicetype":"eDoc","messagetype":"edoc","docId":"{sender_doc_id}"}}"#
        ))
        .expect("answered")
        .expect("read");
    let items = status.data.expect("a list");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].receive_status.as_deref(), Some("done"));
    assert_eq!(items[0].to_code.as_deref(), Some(SO_Y_TE));

    // Y tế's status 03 goes back the same way, as messagetype status.
    let status_file = file(
        &dir,
        "status_acceptance_03.edxml",
        &[("000.00.00.H41", SO_Y_TE), ("000.00.00.G22", SO_TU_PHAP)],
    );
    let call = format!(
        r#"{{"from":"{SO_Y_TE}","servicetype":"eDoc","messagetype":"status","to":"{SO_TU_PHAP}"}}"#
    );
    let sent = y_te
        .send_edoc(&call, &status_file)
        .expect("answered")
        .expect("read");
    assert!(sent.envelope.is_success(), "{sent:?}");
    let statuses = tu_phap
        .get_received_edoc_list(STATUSES)
        .expect("answered")
        .expect("read")
        .data
        .expect("a list");
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].message_type.as_deref(), Some("status"));
    // Documents and statuses are separate lists.
    let documents = tu_phap
        .get_received_edoc_list(EDOCS)
        .expect("answered")
        .expect("read");
    assert!(documents.data.expect("a list").is_empty());
    assert_eq!(axis.summary().sends, 2);
}

#[test]
fn the_test_axis_refuses_a_wrong_secret_and_a_from_that_is_not_the_caller() {
    let axis = axis();
    let dir = tempfile_dir("refusals");
    let mut impostor = qlvb(&axis, SO_TU_PHAP, "not-the-secret");
    let list = impostor
        .get_received_edoc_list(EDOCS)
        .expect("answered")
        .expect("read");
    assert!(list.envelope.is_fail(), "{list:?}");
    assert_eq!(list.envelope.error_code.as_deref(), Some("401"));

    let mut tu_phap = qlvb(&axis, SO_TU_PHAP, "secret-of-tu-phap");
    let document = file(&dir, "edoc_new.edxml", &[("28.22.H17", SO_Y_TE)]);
    let call = format!(
        r#"{{"from":"{SO_Y_TE}","servicetype":"eDoc","messagetype":"edoc","to":"{SO_Y_TE}"}}"#
    );
    let sent = tu_phap
        .send_edoc(&call, &document)
        .expect("answered")
        .expect("read");
    assert!(sent.envelope.is_fail(), "{sent:?}");
    assert_eq!(sent.doc_id.as_deref(), Some(""));
    assert_eq!(axis.summary().sends, 0);
}

#[test]
fn the_switches_make_the_test_axis_fail_refuse_and_go_down_and_come_back() {
    let axis = axis();
    let dir = tempfile_dir("switches");
    let mut tu_phap = qlvb(&axis, SO_TU_PHAP, "secret-of-tu-phap");
    let document = file(&dir, "edoc_new.edxml", &[("28.22.H17", SO_Y_TE)]);
    let call = format!(
        r#"{{"from":"{SO_TU_PHAP}","servicetype":"eDoc","messagetype":"edoc","to":"{SO_Y_TE}"}}"#
    );

    // Refusing documents: sendEdoc fails with the axis's text, the lists still work.
    axis.set_switches(Switches {
        fail: Some(FailSwitch {
            ops: vec!["sendEdoc".to_owned()],
            code: "500".to_owned(),
            desc: "Loi he thong".to_owned(),
        }),
        ..Switches::default()
    });
    let refused = tu_phap
        .send_edoc(&call, &document)
        .expect("answered")
        .expect("read");
    assert!(refused.envelope.is_fail());
    assert_eq!(refused.envelope.error_desc.as_deref(), Some("Loi he thong"));
    let list = tu_phap
        .get_received_edoc_list(EDOCS)
        .expect("answered")
        .expect("read");
    assert!(list.envelope.is_success());

    // Down: a gateway's HTML page, which the SDK reads as nothing (§4.3).
    axis.set_switches(Switches {
        down: true,
        ..Switches::default()
    });
    let down = tu_phap.send_edoc(&call, &document).expect("answered");
    assert_eq!(tu_phap.last_exchange().expect("a call").status, 502);
    assert!(down.as_ref().is_none_or(|r| r.doc_id.is_none()), "{down:?}");

    // Back: the send goes through, once.
    axis.set_switches(Switches::default());
    let sent = tu_phap
        .send_edoc(&call, &document)
        .expect("answered")
        .expect("read");
    assert!(sent.envelope.is_success(), "{sent:?}");
    assert_eq!(axis.summary().sends, 1);
}

/// A fresh directory under the target directory, for the SDK's files.
fn tempfile_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("lienthong-axis-sim-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creates");
    dir
}

/// The node's own axis client (`lienthong_node::outbound::axis`) against the test axis, which
/// checks its signature as the real axis would: a document out, the recipient's QLVB (the
/// SDK) takes it, its status comes back, and the client follows both.
#[test]
fn the_node_axis_client_sends_lists_gets_and_acknowledges_like_the_sdk() {
    use lienthong_node::outbound::axis::{AxisClient, AxisError, MessageType};
    use std::sync::Arc;
    use std::time::Duration;

    let axis = axis();
    let dir = tempfile_dir("client");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let client = AxisClient::new(
        &format!("{}/", axis.endpoint()),
        SO_TU_PHAP,
        " secret-of-tu-phap\n",
        Duration::from_secs(5),
        Duration::from_secs(10),
        1 << 26,
    );
    let mut y_te = qlvb(&axis, SO_Y_TE, "secret-of-y-te");
    let document = std::fs::read(file(
        &dir,
        "edoc_new.edxml",
        &[("000.00.00.A80", SO_TU_PHAP), ("28.22.H17", SO_Y_TE)],
    ))
    .expect("reads");

    runtime.block_on(async {
        let directory = client.agencies().await.expect("directory");
        assert_eq!(directory.len(), 2);
        let doc_id = client
            .send_edoc(Arc::new(document.clone()), MessageType::Edoc, SO_Y_TE)
            .await
            .expect("sent");
        let sent = client
            .sent(MessageType::Edoc, Some(&doc_id))
            .await
            .expect("sent list");
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].to_code, SO_Y_TE);
        assert_eq!(sent[0].receive_status, "pending");
    });

    // The recipient's QLVB, on the SDK, gets the exact bytes and answers a status.
    let items = y_te
        .get_received_edoc_list(EDOCS)
        .expect("answered")
        .expect("read")
        .data
        .expect("a list");
    let doc_id = items[0].id.clone().expect("docId");
    let got = y_te
        .get_edoc(&format!(r#"{{"docId":"{doc_id}"}}"#))
        .expect("answered")
        .expect("read");
    assert_eq!(
        got.data.as_deref().map(str::as_bytes),
        Some(document.as_slice())
    );
    y_te.update_status(&format!(r#"{{"status":"done","docId":"{doc_id}"}}"#))
        .expect("answered");
    let status = file(
        &dir,
        "status_acceptance_03.edxml",
        &[("000.00.00.H41", SO_Y_TE), ("000.00.00.G22", SO_TU_PHAP)],
    );
    let call = format!(
        r#"{{"from":"{SO_Y_TE}","servicetype":"eDoc","messagetype":"status","to":"{SO_TU_PHAP}"}}"#
    );
    assert!(
        y_te.send_edoc(&call, &status)
            .expect("answered")
            .expect("read")
            .envelope
            .is_success()
    );

    runtime.block_on(async {
        let statuses = client.received(MessageType::Status).await.expect("list");
        assert_eq!(statuses.len(), 1);
        assert_eq!(statuses[0].from, SO_Y_TE);
        let bytes = client.get_edoc(&statuses[0].doc_id).await.expect("getEdoc");
        assert_eq!(bytes, std::fs::read(&status).expect("reads"));
        client
            .update_status(&statuses[0].doc_id, "done")
            .await
            .expect("done");
        assert!(
            client
                .received(MessageType::Status)
                .await
                .expect("list")
                .is_empty()
        );
        // Every copy of the send is done on the recipient's side.
        let sent = client
            .sent(MessageType::Edoc, None)
            .await
            .expect("sent list");
        assert_eq!(sent[0].receive_status, "done");

        // Misbehaviour reads as what the outbox shows.
        axis.set_switches(Switches {
            down: true,
            ..Switches::default()
        });
        let down = client.received(MessageType::Edoc).await.expect_err("down");
        assert_eq!(down.reason(), "axis_unreachable");
        axis.set_switches(Switches {
            fail: Some(FailSwitch {
                ops: vec!["sendEdoc".to_owned()],
                code: "500".to_owned(),
                desc: "Van ban khong hop le".to_owned(),
            }),
            ..Switches::default()
        });
        let refused = client
            .send_edoc(Arc::new(document.clone()), MessageType::Edoc, SO_Y_TE)
            .await
            .expect_err("refused");
        assert!(matches!(refused, AxisError::Refused { .. }), "{refused:?}");
        assert_eq!(refused.reason(), "Van ban khong hop le");
        axis.set_switches(Switches {
            slow_ms: 3000,
            ..Switches::default()
        });
    });
    // A slow axis beyond the request timeout is unreachable too.
    let impatient = AxisClient::new(
        &axis.endpoint(),
        SO_TU_PHAP,
        "secret-of-tu-phap",
        Duration::from_secs(1),
        Duration::from_millis(300),
        1 << 20,
    );
    let slow = runtime
        .block_on(impatient.received(MessageType::Edoc))
        .expect_err("too slow");
    assert_eq!(slow.reason(), "axis_unreachable");
    // Nothing the refused or timed-out calls did reached the queues.
    assert_eq!(axis.summary().sends, 2);
}

/// `send_once` against the test axis, which does not de-duplicate: a package is sent once
/// however often it is handed over; a send whose answer was lost (the node stopped between
/// `sendEdoc` and recording its DocId) is found in `getSentEdocList` and not sent again;
/// a start that never reached the axis is sent; a refusal carries the axis's text.
#[test]
fn a_package_reaches_the_axis_once_even_when_the_answer_of_its_send_was_lost() {
    use lienthong_node::outbound::axis::{
        AxisClient, AxisDocument, AxisError, AxisSendError, send_once,
    };
    use lienthong_node::store::Store;
    use lienthong_protocol::envelope::PackageId;
    use std::sync::Arc;
    use std::time::Duration;

    let axis = axis();
    let dir = tempfile_dir("send-once");
    let store = Store::open(&dir.join("store")).expect("store");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let client = AxisClient::new(
        &axis.endpoint(),
        SO_TU_PHAP,
        "secret-of-tu-phap",
        Duration::from_secs(5),
        Duration::from_secs(10),
        1 << 26,
    );
    let edxml = Arc::new(
        std::fs::read(file(
            &dir,
            "edoc_new.edxml",
            &[("000.00.00.A80", SO_TU_PHAP), ("28.22.H17", SO_Y_TE)],
        ))
        .expect("reads"),
    );
    let recipient: lienthong_protocol::OrganId = SO_Y_TE.parse().expect("id");
    let document = |n: u8| {
        AxisDocument::new(
            PackageId::from_bytes([n; 32]),
            recipient.clone(),
            edxml.clone(),
        )
    };
    assert!(
        !document(1).notation.is_empty(),
        "the sample has a notation"
    );

    runtime.block_on(async {
        // Handed over twice: one send.
        let first = send_once(&client, &store, &document(1)).await.expect("sent");
        let again = send_once(&client, &store, &document(1)).await.expect("sent");
        assert_eq!(first, again);
        assert_eq!(axis.summary().sends, 1);

        // The node recorded the start, the axis took the send, the answer never made it
        // into the store: found in the sent list, not sent again.
        let lost = document(2);
        store
            .axis_send_starting(&lost.package_id, &recipient, lienthong_node::clock::now())
            .expect("started");
        let taken = client
            .send_edoc(edxml.clone(), lost.message_type, SO_Y_TE)
            .await
            .expect("the axis took it");
        assert_eq!(axis.summary().sends, 2);
        let found = send_once(&client, &store, &lost).await.expect("found");
        assert_eq!(found, taken);
        assert_eq!(axis.summary().sends, 2, "not sent again");

        // Started, but the axis never took it: the sends of packages 1 and 2 have the same
        // notation and recipient, yet belong to other packages, so this one is sent.
        let unsent = document(3);
        store
            .axis_send_starting(&unsent.package_id, &recipient, lienthong_node::clock::now())
            .expect("started");
        let sent = send_once(&client, &store, &unsent).await.expect("sent");
        assert!(sent != first && sent != taken);
        assert_eq!(axis.summary().sends, 3);

        // A refusal carries the axis's text; nothing is recorded as handed.
        axis.set_switches(Switches {
            fail: Some(FailSwitch {
                ops: vec!["sendEdoc".to_owned()],
                code: "500".to_owned(),
                desc: "Van ban khong hop le".to_owned(),
            }),
            ..Switches::default()
        });
        let refused = send_once(&client, &store, &document(4)).await.expect_err("refused");
        assert!(
            matches!(&refused, AxisSendError::Axis(AxisError::Refused { desc, .. }) if desc == "Van ban khong hop le"),
            "{refused:?}"
        );
        let record = store
            .axis_send(&document(4).package_id, &recipient)
            .expect("reads")
            .expect("the start is recorded");
        assert_eq!(record.doc_id, None);
        // The axis comes back: sent, once.
        axis.set_switches(Switches::default());
        send_once(&client, &store, &document(4)).await.expect("sent");
        assert_eq!(axis.summary().sends, 4);
    });
    let to_y_te = axis.copies().iter().filter(|c| c.to == SO_Y_TE).count();
    assert_eq!(to_y_te, 4, "one copy per package");
}
