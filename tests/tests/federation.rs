//! Federation administration with real processes: a province admitting under a delegation,
//! rosters spreading by gossip, key rotation with packages in flight.

use std::time::Duration;

use lienthong_tests::{Federation, ProcessNode, lienthong, samples_dir, wait_for, wait_roster_of};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);

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

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8")
}

#[test]
fn a_delegated_province_admits_its_agencies_and_they_exchange_with_the_root_s() -> anyhow::Result<()>
{
    let federation = Federation::new("Liên thông quốc gia")?;
    // The root admits the Government Office's node.
    let vpcp_dir = federation.init("000.00.00.G22", "Văn phòng Chính phủ")?;
    let vpcp = ProcessNode::start(&vpcp_dir)?;
    federation.admit(&vpcp_dir)?;
    // Then delegates Tây Ninh; the province's copy of the roster lists the root's members,
    // which is how its nodes find the rest of the federation.
    let province = federation.dir().with_file_name("tay-ninh");
    lienthong(&[
        "federation",
        "delegate",
        "--dir",
        path(&federation.dir()),
        "--out",
        path(&province),
        "--name",
        "UBND tỉnh Tây Ninh",
        "--scope",
        "H53",
        "--relays",
        "--valid-for",
        "365d",
    ])?;
    // The province admits one of its departments.
    let department_dir = federation.init("000.00.11.H53", "Sở Tài chính Tây Ninh")?;
    let department = ProcessNode::start(&department_dir)?;
    lienthong(&[
        "federation",
        "admit",
        "--dir",
        path(&province),
        "--data-dir",
        path(&department_dir),
    ])?;

    // The province cannot admit outside its code.
    let outsider = federation.init("000.00.11.H41", "Sở Tài chính Nghệ An")?;
    let err = lienthong(&[
        "federation",
        "admit",
        "--dir",
        path(&province),
        "--data-dir",
        path(&outsider),
    ])
    .expect_err("outside the scope");
    assert!(
        err.to_string()
            .contains("may only admit agencies under H53"),
        "{err}"
    );

    // Each node was installed by a different authority; gossip and fetch-on-connect merge
    // the sections so that both know both.
    wait_roster_of(&federation.dir(), &[&vpcp, &department])?;
    wait_roster_of(&province, &[&vpcp, &department])?;
    let shown: Value = serde_json::from_str(&lienthong(&[
        "federation",
        "show",
        "--dir",
        path(&province),
        "--json",
    ])?)?;
    assert_eq!(shown["this_scope"], "H53");

    let package = vpcp.submit(&document("000.00.00.G22", "000.00.11.H53", 1))?;
    vpcp.wait_state(&package, "000.00.11.H53", "delivered", DEADLINE)?;
    let back = department.submit(&document("000.00.11.H53", "000.00.00.G22", 2))?;
    department.wait_state(&back, "000.00.00.G22", "delivered", DEADLINE)?;
    Ok(())
}

#[test]
fn a_roster_change_reaches_nodes_the_authority_never_touched() -> anyhow::Result<()> {
    let federation = Federation::new("Lan truyền")?;
    let a = federation.start_node("000.00.01.H53", "Văn phòng UBND tỉnh")?;
    let b = federation.start_node("000.00.02.H53", "Sở Nội vụ")?;
    federation.wait_roster(&[&a, &b])?;
    // From now on the authority installs rosters only where it is told: forget B.
    let nodes_path = federation.dir().join("nodes.json");
    let mut nodes: serde_json::Map<String, Value> =
        serde_json::from_slice(&std::fs::read(&nodes_path)?)?;
    nodes.remove("000.00.02.H53");
    std::fs::write(&nodes_path, serde_json::to_vec(&nodes)?)?;

    let c_dir = federation.init("000.00.03.H53", "Sở Tư pháp")?;
    federation.admit(&c_dir)?;
    // B learns about C from A, by gossip.
    federation.wait_roster(&[&a, &b])?;
    let c = ProcessNode::start(&c_dir)?;
    let package = b.submit(&document("000.00.02.H53", "000.00.03.H53", 1))?;
    b.wait_state(&package, "000.00.03.H53", "delivered", DEADLINE)?;
    drop(c);
    Ok(())
}

#[test]
fn a_rotated_key_takes_over_and_queued_packages_follow_it() -> anyhow::Result<()> {
    let federation = Federation::new("Xoay khóa")?;
    let sender_dir = federation.init("000.00.01.H53", "Văn phòng UBND tỉnh")?;
    let recipient_dir = federation.init("000.00.02.H53", "Sở Nội vụ")?;
    federation.admit(&recipient_dir)?;
    let mut sender = ProcessNode::start(&sender_dir)?;
    federation.admit(&sender_dir)?;
    federation.wait_roster(&[&sender])?;
    let old_peer = sender.info().peer_id.clone();

    // The recipient is offline: the package waits in the sender's outbox.
    let queued = sender.submit(&document("000.00.01.H53", "000.00.02.H53", 1))?;
    let prepared: Value = serde_json::from_str(&lienthong(&[
        "key",
        "rotate",
        "--data-dir",
        path(&sender_dir),
        "--json",
    ])?)?;
    let new_peer = prepared["next_peer_id"].as_str().expect("peer").to_owned();
    assert_ne!(new_peer, old_peer);
    lienthong(&[
        "federation",
        "rotate",
        "--dir",
        path(&federation.dir()),
        "--data-dir",
        path(&sender_dir),
        "--grace",
        "1h",
    ])?;
    // The node switches at its next start.
    sender.terminate()?;
    let sender = ProcessNode::start(&sender_dir)?;
    assert_eq!(
        sender.info().peer_id,
        new_peer,
        "the node runs with its new key"
    );
    assert!(sender_dir.join("agency.key.old").exists());

    let recipient = ProcessNode::start(&recipient_dir)?;
    // Both now listen on new ports: the authority records them, as an operator would.
    federation.admit(&recipient_dir)?;
    federation.admit(&sender_dir)?;
    federation.wait_roster(&[&sender, &recipient])?;
    sender.wait_state(&queued, "000.00.02.H53", "delivered", DEADLINE)?;
    // The same package id: the queued package was signed again, not made anew.
    let inbox = recipient.inbox()?;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["package_id"], queued.as_str());
    let shown: Value = serde_json::from_str(&lienthong(&[
        "federation",
        "show",
        "--dir",
        path(&federation.dir()),
        "--json",
    ])?)?;
    let record = shown["roster"]["agencies"]
        .as_array()
        .and_then(|all| all.iter().find(|a| a["organ_id"] == "000.00.01.H53"))
        .expect("record")
        .clone();
    assert_eq!(record["peer_id"], new_peer.as_str());
    assert_eq!(
        record["previous_keys"][0]["peer_id"],
        old_peer.as_str(),
        "the old key is in its grace period"
    );
    // New documents travel under the new key too.
    let fresh = sender.submit(&document("000.00.01.H53", "000.00.02.H53", 2))?;
    sender.wait_state(&fresh, "000.00.02.H53", "delivered", DEADLINE)?;
    wait_for("two packages at the recipient", DEADLINE, || {
        (recipient.inbox().ok()?.len() == 2).then_some(())
    })?;
    Ok(())
}

#[test]
fn admitting_a_member_again_reinstalls_the_roster_without_a_new_serial() -> anyhow::Result<()> {
    let federation = Federation::new("Cài lại")?;
    let dir = federation.init("000.00.01.H53", "Văn phòng UBND tỉnh")?;
    federation.admit(&dir)?;
    let before: Value = serde_json::from_str(&lienthong(&[
        "federation",
        "show",
        "--dir",
        path(&federation.dir()),
        "--json",
    ])?)?;
    std::fs::remove_file(dir.join("roster.bin"))?;
    std::fs::remove_file(dir.join("root.pub"))?;
    federation.admit(&dir)?;
    assert!(
        dir.join("roster.bin").exists() && dir.join("root.pub").exists(),
        "re-installed"
    );
    let after: Value = serde_json::from_str(&lienthong(&[
        "federation",
        "show",
        "--dir",
        path(&federation.dir()),
        "--json",
    ])?)?;
    assert_eq!(
        after["version"], before["version"],
        "nothing changed, nothing re-signed"
    );
    Ok(())
}
