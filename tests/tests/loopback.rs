//! Real `lienthong` processes on loopback exchange real edXML documents and receipts, survive
//! kill -9, and refuse bad input without changing anything.

use std::time::Duration;

use anyhow::Context as _;
use lienthong_tests::{Federation, ProcessNode, samples_dir, wait_for};
use serde_json::Value;

const DELIVERY: Duration = Duration::from_secs(60);

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(samples_dir().join(name)).expect("sample")
}

/// The inbox entries of `node` for `package`.
fn received(node: &ProcessNode, package: &str) -> Vec<Value> {
    node.inbox()
        .expect("inbox")
        .into_iter()
        .filter(|e| e["package_id"] == package)
        .collect()
}

#[test]
fn two_daemons_exchange_a_real_document_with_receipt_01() -> anyhow::Result<()> {
    let federation = Federation::new("Thử nghiệm hai nút")?;
    // Admitted while running: both pick the roster up by themselves.
    let sender = federation.start_node("000.00.00.A80", "Văn phòng Trung ương Đảng")?;
    let recipient = federation.start_node("28.22.H17", "Đơn vị Đà Nẵng")?;
    federation.wait_roster(&[&sender, &recipient])?;

    let document = sample("edoc_new.edxml");
    let package = sender.submit(&document)?;
    let codes = sender.wait_state(&package, "28.22.H17", "delivered", DELIVERY)?;
    assert_eq!(
        codes,
        ["01"],
        "the sender holds the recipient's signed receipt 01"
    );

    let inbox = received(&recipient, &package);
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["from"], "000.00.00.A80");
    assert_eq!(inbox[0]["kind"], "edoc");
    let (status, fetched) = recipient.get(&format!("/api/v1/packages/{package}"))?;
    assert_eq!(status, 200);
    assert!(
        fetched == document,
        "the recipient's bytes equal the bytes sent"
    );
    Ok(())
}

#[test]
fn three_daemons_exchange_every_sample_document_and_status() -> anyhow::Result<()> {
    let federation = Federation::new("Liên thông thử nghiệm")?;
    let vpcp_dir = federation.init("000.00.00.G22", "Văn phòng Chính phủ")?;
    let nghe_an_dir = federation.init("000.00.00.H41", "UBND tỉnh Nghệ An")?;
    let cao_bang_dir = federation.init("000.00.00.H14", "UBND tỉnh Cao Bằng")?;
    // A member that is admitted but never runs: its copies must stay queued, not lost.
    let offline_dir = federation.init("000.00.00.G17", "Bộ Xây dựng")?;
    for dir in [&vpcp_dir, &nghe_an_dir, &cao_bang_dir, &offline_dir] {
        federation.admit(dir)?;
    }
    let vpcp = ProcessNode::start(&vpcp_dir)?;
    let nghe_an = ProcessNode::start(&nghe_an_dir)?;
    let cao_bang = ProcessNode::start(&cao_bang_dir)?;
    // The roster was installed before the nodes started, with their configured addresses
    // (port 0); admitting them again now records the bound ones.
    for dir in [&vpcp_dir, &nghe_an_dir, &cao_bang_dir] {
        federation.admit(dir)?;
    }
    federation.wait_roster(&[&vpcp, &nghe_an, &cao_bang])?;

    let documents = [
        "dc0bdef0-c7a3-4aaf-b717-777303442973.edxml",
        "edoc_revocation.edxml",
        "edoc_update.edxml",
        "edoc_replacement.edxml",
    ];
    let mut packages = Vec::new();
    for name in documents {
        packages.push((
            name,
            sample(name),
            vpcp.submit(&sample(name)).context(name)?,
        ));
    }
    for (name, bytes, package) in &packages {
        for (node, organ) in [(&nghe_an, "000.00.00.H41"), (&cao_bang, "000.00.00.H14")] {
            let codes = vpcp
                .wait_state(package, organ, "delivered", DELIVERY)
                .context(*name)?;
            assert_eq!(codes, ["01"], "{name} to {organ}");
            assert_eq!(
                received(node, package).len(),
                1,
                "{name} arrived once at {organ}"
            );
            let (_, fetched) = node.get(&format!("/api/v1/packages/{package}"))?;
            assert!(
                fetched == *bytes,
                "{name}: bytes at {organ} equal the bytes sent"
            );
        }
        let (state, codes) = vpcp.recipient_state(package, "000.00.00.G17")?;
        assert!(
            state == "queued" || state == "sending",
            "{name} to the offline member: {state}"
        );
        assert!(codes.is_empty());
    }

    // Status messages travel as packages too: Nghệ An answers with its statuses, and the
    // Government Office asks to take the document back (13).
    let statuses = [
        "status_inbox_ 01.edxml",
        "status_acceptance_03.edxml",
        "status_assignment_04.edxml",
        "status_processing_05.edxml",
        "status_finish_06.edxml",
        "status_rejection_02.edxml",
        "status_change-acceptance_15.edxml",
        "status_change-rejection_16.edxml",
    ];
    let mut status_packages = Vec::new();
    for name in statuses {
        status_packages.push((name, nghe_an.submit(&sample(name)).context(name)?));
    }
    let take_back = vpcp.submit(&sample("status_cancellation_13.edxml"))?;
    for (name, package) in &status_packages {
        nghe_an
            .wait_state(package, "000.00.00.G22", "delivered", DELIVERY)
            .context(*name)?;
        let inbox = received(&vpcp, package);
        assert_eq!(inbox.len(), 1, "{name}");
        assert_eq!(inbox[0]["kind"], "status");
    }
    vpcp.wait_state(&take_back, "000.00.00.H41", "delivered", DELIVERY)?;
    assert_eq!(received(&nghe_an, &take_back).len(), 1);
    Ok(())
}

/// A document of about 20 MB: a real header and a large attachment. `variant` makes
/// otherwise equal documents different packages.
fn large_document(from: &str, to: &str, variant: u32) -> Vec<u8> {
    use lienthong_protocol::edxml::{
        self, Attachment, Base64Content, Document, Message, Organization,
    };
    let mut doc = Document::new(
        Organization::new(from.parse().expect("id")),
        vec![Organization::new(to.parse().expect("id"))],
    );
    doc.document_id = Some(format!("{from},2026/11/21,{variant}/TEST"));
    doc.subject = Some("Tài liệu lớn".to_owned());
    let mut data = vec![0u8; 15 * 1024 * 1024];
    let mut x = 0x9e37_79b9_u32;
    for byte in &mut data {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *byte = x as u8;
    }
    doc.attachments.push(Attachment {
        content_id: Some("cid:large".to_owned()),
        attachment_name: Some("large.bin".to_owned()),
        description: None,
        content_type: Some("application/zip".to_owned()),
        mime_type: None,
        field_name: None,
        content: Base64Content::encode(&data),
    });
    edxml::write(&Message::Document(Box::new(doc))).expect("writes")
}

#[test]
fn sender_killed_right_after_send_delivers_exactly_once_after_restart() -> anyhow::Result<()> {
    let federation = Federation::new("kill -9")?;
    let sender_dir = federation.init("000.00.01.H53", "Văn phòng UBND tỉnh")?;
    let recipient_dir = federation.init("000.00.02.H53", "Sở Nội vụ")?;
    let mut sender = ProcessNode::start(&sender_dir)?;
    let recipient = ProcessNode::start(&recipient_dir)?;
    federation.admit(&sender_dir)?;
    federation.admit(&recipient_dir)?;
    federation.wait_roster(&[&sender, &recipient])?;

    let document = large_document("000.00.01.H53", "000.00.02.H53", 1);
    let package = sender.submit(&document)?;
    // The API said "accepted": from here on nothing may be lost.
    sender.kill9();
    let sender = ProcessNode::start(&sender_dir)?;
    let codes = sender.wait_state(&package, "000.00.02.H53", "delivered", DELIVERY)?;
    assert_eq!(codes, ["01"]);
    assert_eq!(
        received(&recipient, &package).len(),
        1,
        "delivered exactly once"
    );
    let (_, fetched) = recipient.get(&format!("/api/v1/packages/{package}"))?;
    assert!(fetched == document);
    Ok(())
}

#[test]
fn recipient_killed_during_a_transfer_gets_it_exactly_once_after_restart() -> anyhow::Result<()> {
    let federation = Federation::new("kill -9 recipient")?;
    let sender_dir = federation.init("000.00.01.H53", "Văn phòng UBND tỉnh")?;
    let recipient_dir = federation.init("000.00.02.H53", "Sở Nội vụ")?;
    let sender = ProcessNode::start(&sender_dir)?;
    let mut recipient = ProcessNode::start(&recipient_dir)?;
    federation.admit(&sender_dir)?;
    federation.admit(&recipient_dir)?;
    federation.wait_roster(&[&sender, &recipient])?;

    let documents: Vec<Vec<u8>> = (0..3)
        .map(|i| large_document("000.00.01.H53", "000.00.02.H53", i))
        .collect();
    let mut packages = Vec::new();
    for d in &documents {
        packages.push(sender.submit(d)?);
    }
    // Kill the recipient while the 20 MB transfers are under way.
    wait_for("a transfer to start", DELIVERY, || {
        let (state, _) = sender.recipient_state(&packages[0], "000.00.02.H53").ok()?;
        (state == "sending" || state == "delivered").then_some(())
    })?;
    recipient.kill9();
    let recipient = ProcessNode::start(&recipient_dir)?;
    for (package, document) in packages.iter().zip(&documents) {
        sender.wait_state(package, "000.00.02.H53", "delivered", DELIVERY)?;
        assert_eq!(
            received(&recipient, package).len(),
            1,
            "delivered exactly once"
        );
        let (_, fetched) = recipient.get(&format!("/api/v1/packages/{package}"))?;
        assert!(fetched == *document);
    }
    assert_eq!(
        recipient.inbox()?.len(),
        3,
        "nothing more than the three packages"
    );
    Ok(())
}

#[test]
fn bad_input_on_the_api_gets_clear_errors_and_changes_nothing() -> anyhow::Result<()> {
    let federation = Federation::new("đầu vào sai")?;
    let sender_dir = federation.init("000.00.00.G22", "Văn phòng Chính phủ")?;
    let recipient_dir = federation.init("000.00.00.H41", "UBND tỉnh Nghệ An")?;
    // A small package limit, to see 413.
    let config = sender_dir.join("config.toml");
    let text: String = std::fs::read_to_string(&config)?
        .lines()
        .map(|l| {
            if l.starts_with("max_package_size") {
                "max_package_size = \"100 KiB\"".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&config, text)?;
    federation.admit(&sender_dir)?;
    federation.admit(&recipient_dir)?;
    let sender = ProcessNode::start(&sender_dir)?;

    let error = |status: u16, body: &[u8]| -> (u16, Value) {
        (status, serde_json::from_slice(body).unwrap_or(Value::Null))
    };

    // Not well-formed: 400 with the place.
    let (status, body) = sender.post("/api/v1/packages", &sample("edoc.edxml"))?;
    let (status, body) = error(status, &body);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["kind"], "invalid_edxml");
    assert_eq!(body["error"]["line"], 74);
    assert_eq!(body["error"]["column"], 7);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("74:7"),
        "{body}"
    );

    // Not XML at all.
    let (status, body) = sender.post("/api/v1/packages", b"\x00\xffgarbage")?;
    assert_eq!(error(status, &body).0, 400);

    // Larger than the limit (the real 360 KB sample).
    let (status, body) = sender.post("/api/v1/packages", &sample("edoc_new.edxml"))?;
    let (status, body) = error(status, &body);
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["kind"], "too_large");

    // From another agency (a status message written by Nghệ An).
    let (status, body) = sender.post("/api/v1/packages", &sample("status_finish_06.edxml"))?;
    let (status, body) = error(status, &body);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["kind"], "not_from_this_agency");

    // To agencies outside the federation (H14 and G17 are not members here).
    let (status, body) = sender.post(
        "/api/v1/packages",
        &sample("status_cancellation_13.edxml").replace_all(b"000.00.00.H41", b"000.00.00.H14"),
    )?;
    let (status, body) = error(status, &body);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["kind"], "unknown_recipients");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("000.00.00.H14")
    );

    // No token, a wrong token.
    let (status, _) = sender.post_with_token("/api/v1/packages", b"<edXML/>", "wrong")?;
    assert_eq!(status, 401);
    // Bad and unknown ids.
    assert_eq!(sender.get("/api/v1/packages/not-an-id/status")?.0, 400);
    assert_eq!(
        sender
            .get(&format!("/api/v1/packages/{}/status", "ab".repeat(32)))?
            .0,
        404
    );
    assert_eq!(
        sender
            .post(&format!("/api/v1/inbox/{}/ack", "cd".repeat(32)), b"")?
            .0,
        404
    );

    // Nothing was stored.
    assert_eq!(sender.get_json("/api/v1/packages")?, serde_json::json!([]));
    assert_eq!(
        sender.get_json("/api/v1/inbox?all=true")?,
        serde_json::json!([])
    );
    // And the node still works.
    assert_eq!(sender.get_json("/health")?["status"], "ok");
    Ok(())
}

trait ReplaceAll {
    fn replace_all(&self, from: &[u8], to: &[u8]) -> Vec<u8>;
}

impl ReplaceAll for Vec<u8> {
    fn replace_all(&self, from: &[u8], to: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(self).replace(
            std::str::from_utf8(from).expect("utf-8"),
            std::str::from_utf8(to).expect("utf-8"),
        );
        text.into_bytes()
    }
}

#[test]
fn garbage_on_the_wire_is_refused_and_the_node_keeps_serving() -> anyhow::Result<()> {
    use std::io::Write as _;

    use lienthong_node::identity::Identity;
    use lienthong_node::network::{self, Options};

    let federation = Federation::new("rác trên đường truyền")?;
    let sender = federation.start_node("000.00.01.H53", "Văn phòng UBND tỉnh")?;
    let recipient = federation.start_node("000.00.02.H53", "Sở Nội vụ")?;
    federation.wait_roster(&[&sender, &recipient])?;
    let target: libp2p::Multiaddr = recipient.info().listen_addrs[0].parse()?;
    let target_peer: libp2p::PeerId = recipient.info().peer_id.parse()?;

    // 1. Raw bytes on the TCP port, before any handshake.
    let Some(tcp) = target.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
        _ => None,
    }) else {
        anyhow::bail!("no TCP port in {target}");
    };
    for junk in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        &[0xff; 4096][..],
        b"\x13/multistream/1.0.0\n\x00\x00",
    ] {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", tcp))?;
        let _ = stream.write_all(junk);
    }

    // 2. A node outside the roster sends a garbage frame: refused, and the node is blocked.
    //    (Attacks by members are in tests/attacks.rs.)
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let refused = runtime.block_on(async {
        let stranger = Identity::generate()?;
        let shutdown = tokio_util::sync::CancellationToken::new();
        let network::Spawned { handle, .. } = network::spawn(
            stranger.keypair(),
            Options {
                mdns: false,
                ..Options::default()
            },
            shutdown.clone(),
        )
        .await?;
        handle.add_addresses(target_peer, vec![target.clone()]).await?;
        let answer = handle.request(target_peer, bytes::Bytes::from_static(b"\x01\x01junk")).await?;
        shutdown.cancel();
        let answer = lienthong_protocol::wire::Response::decode(answer, &Default::default())?;
        anyhow::Ok(matches!(
            answer,
            lienthong_protocol::wire::Response::Rejected(r) if r.reason == lienthong_protocol::wire::RejectReason::Malformed
        ))
    })?;
    assert!(refused, "the garbage is refused with a reason");
    wait_for("the blocked peer in the metrics", DELIVERY, || {
        let (_, body) = recipient.get("/metrics").ok()?;
        String::from_utf8_lossy(&body)
            .lines()
            .any(|l| l.starts_with("lienthong_peers_blocked_total") && !l.ends_with(" 0"))
            .then_some(())
    })?;

    // Nothing was stored, the node is healthy, and honest delivery still works.
    assert_eq!(recipient.inbox()?.len(), 0);
    assert_eq!(recipient.get_json("/health")?["status"], "ok");
    let document = sample("edoc_new.edxml")
        .replace_all(b"000.00.00.A80", b"000.00.01.H53")
        .replace_all(b"28.22.H17", b"000.00.02.H53");
    let package = sender.submit(&document)?;
    sender.wait_state(&package, "000.00.02.H53", "delivered", DELIVERY)?;
    assert_eq!(recipient.inbox()?.len(), 1);
    wait_for("the refusal in the log", DELIVERY, || {
        recipient
            .log_text()
            .contains("request refused")
            .then_some(())
    })?;
    Ok(())
}

#[test]
fn the_cli_drives_a_node_with_json_for_scripts() -> anyhow::Result<()> {
    use lienthong_tests::lienthong;

    let federation = Federation::new("dòng lệnh")?;
    let sender = federation.start_node("000.00.00.A80", "Văn phòng Trung ương Đảng")?;
    let recipient = federation.start_node("28.22.H17", "Đơn vị Đà Nẵng")?;
    federation.wait_roster(&[&sender, &recipient])?;
    let s = sender.dir().to_str().expect("utf-8");
    let r = recipient.dir().to_str().expect("utf-8");
    let file = samples_dir().join("edoc_new.edxml");
    let sent: Value = serde_json::from_str(&lienthong(&[
        "send",
        "--data-dir",
        s,
        file.to_str().expect("utf-8"),
        "--json",
    ])?)?;
    let package = sent["package_id"].as_str().expect("package_id").to_owned();
    assert_eq!(package.len(), 64);

    let status = wait_for("delivery", DELIVERY, || {
        let status: Value = serde_json::from_str(
            &lienthong(&["status", "--data-dir", s, &package, "--json"]).ok()?,
        )
        .ok()?;
        (status["recipients"][0]["state"] == "delivered").then_some(status)
    })?;
    assert_eq!(status["package_id"], package.as_str());
    assert_eq!(status["recipients"][0]["organ_id"], "28.22.H17");
    assert_eq!(status["recipients"][0]["receipts"][0]["code"], "01");
    assert!(
        status["recipients"][0]["receipts"][0]["time"]
            .as_str()
            .is_some()
    );

    let inbox: Value = serde_json::from_str(&lienthong(&["inbox", "--data-dir", r, "--json"])?)?;
    let entry = &inbox.as_array().expect("array")[0];
    assert_eq!(entry["package_id"], package.as_str());
    assert_eq!(entry["from"], "000.00.00.A80");
    assert_eq!(
        entry["document_id"],
        "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    );
    assert!(entry["received_at"].as_str().is_some());

    let out = recipient.dir().join("fetched.edxml");
    lienthong(&[
        "fetch",
        "--data-dir",
        r,
        &package,
        "--out",
        out.to_str().expect("utf-8"),
    ])?;
    assert!(std::fs::read(&out)? == std::fs::read(&file)?);

    assert!(lienthong(&["ack", "--data-dir", r, &package])?.contains("acknowledged"));
    let inbox: Value = serde_json::from_str(&lienthong(&["inbox", "--data-dir", r, "--json"])?)?;
    assert_eq!(
        inbox,
        serde_json::json!([]),
        "acknowledged packages leave the inbox"
    );

    let peers: Value = serde_json::from_str(&lienthong(&["peers", "--data-dir", s, "--json"])?)?;
    let other = peers
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["organ_id"] == "28.22.H17")
        .expect("the recipient is listed");
    assert_eq!(other["connected"], true);
    assert_eq!(other["peer_id"], recipient.info().peer_id.as_str());
    Ok(())
}

#[test]
fn a_roster_signed_by_another_authority_is_ignored_by_a_running_node() -> anyhow::Result<()> {
    let federation = Federation::new("thật")?;
    let impostor = Federation::new("giả")?;
    let dir = federation.init("000.00.01.H53", "Văn phòng UBND tỉnh")?;
    federation.admit(&dir)?;
    let node = ProcessNode::start(&dir)?;
    let before = node.get_json("/health")?["roster_version"].clone();
    assert!(before.is_object(), "the node has a roster: {before}");

    // The impostor admits the node several times, so its serial is higher; its roster and
    // its root key replace the files in the data directory. The node keeps the root it
    // pinned with its first roster.
    for _ in 0..3 {
        impostor.admit(&dir)?;
    }
    wait_for("the node to notice the new file", DELIVERY, || {
        node.log_text().contains("new roster refused").then_some(())
    })?;
    assert_eq!(
        node.get_json("/health")?["roster_version"],
        before,
        "the forged roster was not taken"
    );
    Ok(())
}

/// The sender's `delivery_retries` counter: failed attempts recorded.
fn delivery_retries(node: &ProcessNode) -> anyhow::Result<u64> {
    let (_, body) = node.get("/metrics")?;
    let text = String::from_utf8(body)?;
    text.lines()
        .find(|l| l.contains("delivery_retries") && !l.starts_with('#'))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .context("no delivery_retries in /metrics")
}

#[test]
fn a_burst_to_an_offline_unit_waits_behind_one_attempt_and_goes_when_it_connects()
-> anyhow::Result<()> {
    let federation = Federation::new("đơn vị mất kết nối")?;
    let sender_dir = federation.init("000.00.00.G22", "Văn phòng Chính phủ")?;
    let offline_dir = federation.init("000.00.00.H41", "UBND tỉnh Nghệ An")?;
    // The next attempt after a failure comes 5 to 10 minutes later: within this test,
    // only the recipient connecting can send what waits.
    for key in ["retry_initial", "retry_max"] {
        lienthong_tests::configure(&sender_dir, key, "\"600s\"")?;
    }
    federation.admit(&offline_dir)?;
    let sender = ProcessNode::start(&sender_dir)?;
    federation.admit(&sender_dir)?;
    federation.wait_roster(&[&sender])?;

    let template = String::from_utf8(sample("edoc_new.edxml"))?
        .replace("000.00.00.A80", "000.00.00.G22")
        .replace("28.22.H17", "000.00.00.H41");
    let document = |n: usize| {
        template
            .replace("7816/VPCP", &format!("{n}/VPCP"))
            .into_bytes()
    };
    let status = |package: &str| -> Option<Value> {
        let status = sender
            .get_json(&format!("/api/v1/packages/{package}/status"))
            .ok()?;
        Some(status["recipients"][0].clone())
    };
    // The first package finds the unit unreachable.
    let first = sender.submit(&document(0))?;
    wait_for("the first attempt to fail", DELIVERY, || {
        let r = status(&first)?;
        (r["attempts"].as_u64()? == 1).then_some(())
    })?;
    let retries = delivery_retries(&sender)?;

    // A burst to it: no package is tried on its own, and each says why it waits.
    let burst = (1..=20)
        .map(|n| sender.submit(&document(n)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for package in &burst {
        let r = wait_for(
            "the recipient's problem on a waiting package",
            DELIVERY,
            || {
                let r = status(package)?;
                r["last_error"]
                    .as_str()?
                    .contains("000.00.00.H41")
                    .then_some(r)
            },
        )?;
        assert_eq!(r["attempts"], 0, "{package} waited: {r}");
        assert_eq!(r["state"], "queued", "{package}: {r}");
    }
    assert_eq!(
        delivery_retries(&sender)?,
        retries,
        "no attempt was made for the burst"
    );

    // The unit comes back: everything goes at once, not at the next retry.
    let recipient = ProcessNode::start(&offline_dir)?;
    for package in std::iter::once(&first).chain(&burst) {
        sender.wait_state(package, "000.00.00.H41", "delivered", DELIVERY)?;
    }
    assert_eq!(received(&recipient, &burst[19]).len(), 1);
    Ok(())
}

#[test]
fn a_recipient_without_receipt_01_after_the_deadline_is_stuck() -> anyhow::Result<()> {
    let federation = Federation::new("quá hạn")?;
    let sender_dir = federation.init("000.00.00.G22", "Văn phòng Chính phủ")?;
    let offline_dir = federation.init("000.00.00.H41", "UBND tỉnh Nghệ An")?;
    // A one-second deadline instead of hours.
    let config = sender_dir.join("config.toml");
    let text: String = std::fs::read_to_string(&config)?
        .lines()
        .map(|l| {
            if l.starts_with("receipt_deadline") {
                "receipt_deadline = \"1s\"".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&config, text)?;
    federation.admit(&offline_dir)?;
    let sender = ProcessNode::start(&sender_dir)?;
    federation.admit(&sender_dir)?;
    federation.wait_roster(&[&sender])?;

    let document = String::from_utf8(sample("edoc_new.edxml"))?
        .replace("000.00.00.A80", "000.00.00.G22")
        .replace("28.22.H17", "000.00.00.H41");
    let package = sender.submit(document.as_bytes())?;
    sender.wait_state(&package, "000.00.00.H41", "stuck", DELIVERY)?;
    // `lienthong stuck` names it, with the reason to act on.
    let stuck: Value = serde_json::from_str(&lienthong_tests::lienthong(&[
        "stuck",
        "--data-dir",
        sender_dir.to_str().expect("utf-8"),
        "--json",
    ])?)?;
    assert_eq!(stuck[0]["package_id"], package.as_str());
    assert_eq!(stuck[0]["reason"], "recipient_unreachable");
    let status = sender.get_json(&format!("/api/v1/packages/{package}/status"))?;
    let recipient = &status["recipients"][0];
    assert_eq!(recipient["receipts"], serde_json::json!([]));
    assert!(recipient["deadline"].as_str().is_some());
    // Still being retried: stuck is reported, not given up.
    wait_for("a recorded failed attempt", DELIVERY, || {
        let status = sender
            .get_json(&format!("/api/v1/packages/{package}/status"))
            .ok()?;
        let r = &status["recipients"][0];
        (r["attempts"].as_u64()? >= 1 && r["last_error"].as_str()?.contains("000.00.00.H41"))
            .then_some(())
    })?;

    // The API describes itself.
    let openapi = sender.get_json("/api/v1/openapi.json")?;
    for path in [
        "/api/v1/packages",
        "/api/v1/packages/{id}/status",
        "/api/v1/inbox",
        "/api/v1/inbox/{id}/ack",
        "/api/v1/peers",
        "/health",
    ] {
        assert!(openapi["paths"].get(path).is_some(), "{path} is documented");
    }
    Ok(())
}
