//! Provincial relays with real processes in network namespaces (seed 000, Đồng Nai): a
//! province LAN with several agencies, the tax department on a network that reaches
//! nothing but the relays, and relays with a leg in each. Every test builds its own
//! namespaces and removes them; it needs root and iproute2, and fails, never skips,
//! without them.

use std::time::Duration;

use lienthong_simulations::province::dong_nai::{FINANCE, OFFICE, RELAY, SECOND_RELAY, TAX, UBND};
use lienthong_simulations::province::{Province, ProvincePlan};
use std::net::Ipv4Addr;

use lienthong_simulations::province::Site;
use lienthong_tests::{ProcessNode, samples_dir, wait_for};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(90);

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

/// Settings that keep waits short: retries capped at 2 s, mailboxes pulled every 2 s.
fn quick() -> Vec<(String, String)> {
    [("retry_max", "\"2s\""), ("pull_interval", "\"2s\"")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn plan(relays: usize) -> ProvincePlan {
    ProvincePlan {
        settings: quick(),
        ..ProvincePlan::dong_nai(relays)
    }
}

fn start(relays: usize) -> anyhow::Result<Province> {
    Province::start(&plan(relays))
}

/// How many times `node`'s inbox holds `package`.
fn copies(node: &ProcessNode, package: &str) -> usize {
    node.inbox()
        .expect("inbox")
        .iter()
        .filter(|e| e["package_id"] == package)
        .count()
}

/// The `(address, port)` pairs `site` listens on for peers.
fn endpoints(site: &Site) -> Vec<(Ipv4Addr, u16)> {
    site.node()
        .info()
        .listen_addrs
        .iter()
        .filter_map(|a| {
            let parts: Vec<&str> = a.split('/').collect();
            match parts.as_slice() {
                ["", "ip4", ip, "tcp", port, ..] => Some((ip.parse().ok()?, port.parse().ok()?)),
                _ => None,
            }
        })
        .collect()
}

/// The recipient entry of `package` at `sender`, from the status API.
fn recipient_status(sender: &ProcessNode, package: &str, recipient: &str) -> Value {
    let status = sender
        .get_json(&format!("/api/v1/packages/{package}/status"))
        .expect("status");
    status["recipients"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["organ_id"] == recipient))
        .cloned()
        .expect("recipient listed")
}

/// The peer entry `node` keeps about `organ`.
fn peer(node: &ProcessNode, organ: &str) -> Option<Value> {
    node.get_json("/api/v1/peers")
        .ok()?
        .as_array()?
        .iter()
        .find(|p| p["organ_id"] == organ)
        .cloned()
}

#[test]
fn documents_cross_between_the_lan_and_the_tax_network_through_the_relay() -> anyhow::Result<()> {
    let province = start(1)?;
    let (ubnd, tax, relay) = (
        province.site(UBND),
        province.site(TAX),
        province.site(RELAY),
    );

    // The tax network reaches nothing but the relay.
    for (address, port) in endpoints(ubnd) {
        assert!(
            !tax.host.can_connect(address, port)?,
            "the tax host must not reach {address}:{port}"
        );
    }
    let relay_on_tax = endpoints(relay)
        .into_iter()
        .find(|(ip, _)| ip.octets()[..3] == [10, 53, 2])
        .expect("the relay listens on the tax network");
    assert!(tax.host.can_connect(relay_on_tax.0, relay_on_tax.1)?);

    // From the province to the tax department, which only the relay reaches.
    let to_tax = ubnd.node().submit(&document(UBND, TAX, 1))?;
    let codes = ubnd
        .node()
        .wait_state(&to_tax, TAX, "delivered", DEADLINE)?;
    assert_eq!(codes, ["01"], "the tax department's own receipt 01");
    assert_eq!(copies(tax.node(), &to_tax), 1);
    let seen = peer(ubnd.node(), TAX).expect("the tax node is a known peer");
    assert_eq!(
        seen["relayed"], true,
        "the tax node is reached through a circuit: {seen}"
    );

    // And back, with the receipt.
    let to_lan = tax.node().submit(&document(TAX, UBND, 2))?;
    let codes = tax
        .node()
        .wait_state(&to_lan, UBND, "delivered", DEADLINE)?;
    assert_eq!(codes, ["01"]);
    assert_eq!(copies(ubnd.node(), &to_lan), 1);

    // Agencies on the LAN still talk directly.
    let direct = ubnd.node().submit(&document(UBND, OFFICE, 3))?;
    ubnd.node()
        .wait_state(&direct, OFFICE, "delivered", DEADLINE)?;
    let seen = peer(ubnd.node(), OFFICE).expect("known peer");
    assert_eq!(seen["relayed"], false, "LAN neighbours are direct: {seen}");
    Ok(())
}

#[test]
fn a_recipient_offline_gets_its_documents_from_the_mailbox_when_it_is_back() -> anyhow::Result<()> {
    let mut province = start(1)?;
    province.site_mut(FINANCE).stop()?;

    // Two senders, one on each network, while the recipient is offline.
    let from_lan = province.node(UBND).submit(&document(UBND, FINANCE, 1))?;
    let from_tax = province.node(TAX).submit(&document(TAX, FINANCE, 2))?;
    for (sender, package) in [(UBND, &from_lan), (TAX, &from_tax)] {
        let sender = province.node(sender);
        let codes = sender.wait_state(package, FINANCE, "held_at_relay", DEADLINE)?;
        assert!(codes.is_empty(), "a hold is not a receipt: {codes:?}");
        let entry = recipient_status(sender, package, FINANCE);
        assert_eq!(entry["held"]["relay"], RELAY, "{entry}");
        assert!(entry["held"]["held_at"].is_string(), "{entry}");
    }

    // The senders go offline too, so the recipient can only get the documents from the
    // relay's mailbox when it is back.
    province.site_mut(UBND).stop()?;
    province.site_mut(TAX).stop()?;
    province.site_mut(FINANCE).start()?;
    for package in [&from_lan, &from_tax] {
        wait_for("the document from the mailbox", DEADLINE, || {
            (copies(province.node(FINANCE), package) == 1).then_some(())
        })?;
    }
    // The senders come back; their recipient's receipts 01 wait for them at the relay.
    province.site_mut(UBND).start()?;
    province.site_mut(TAX).start()?;
    for (sender, package) in [(UBND, &from_lan), (TAX, &from_tax)] {
        let codes = province
            .node(sender)
            .wait_state(package, FINANCE, "delivered", DEADLINE)?;
        assert_eq!(codes, ["01"], "the recipient's own receipt 01");
    }
    assert_eq!(copies(province.node(FINANCE), &from_lan), 1);
    assert_eq!(copies(province.node(FINANCE), &from_tax), 1);
    // Nothing stays behind at the relay, and it passed on both documents and both receipts.
    let relay = province.node(RELAY);
    wait_for("the relay's mailbox to empty", DEADLINE, || {
        let health = relay.get_json("/api/v1/relay").ok()?;
        (health["held"] == 0 && health["forward"] == 0).then_some(())
    })?;
    // A sender that comes back before collecting its receipt 01 from the relay finds the
    // recipient still unreachable from its network and deposits again; the relay passes
    // that copy on too and the recipient drops it as a duplicate (one copy above). So at
    // least the two deposits were held, and every package held was passed on.
    let held = metric(relay, "lienthong_relay_held_total");
    assert!(held >= 2.0, "held {held}");
    assert_eq!(metric(relay, "lienthong_relay_passed_total"), held);
    assert!(metric(relay, "lienthong_relay_receipts_forwarded_total") >= 2.0);
    Ok(())
}

#[test]
fn a_relay_killed_and_restarted_in_the_middle_loses_nothing() -> anyhow::Result<()> {
    let mut province = start(1)?;
    province.site_mut(OFFICE).stop()?;

    // Three documents are held by the relay, then the relay crashes.
    let mut packages = Vec::new();
    for n in 0..3 {
        let sender = province.node(UBND);
        let package = sender.submit(&document(UBND, OFFICE, n))?;
        sender.wait_state(&package, OFFICE, "held_at_relay", DEADLINE)?;
        packages.push(package);
    }
    province.site_mut(RELAY).kill9();
    // Two more while the relay is down: they wait in the sender's outbox.
    for n in 3..5 {
        packages.push(province.node(UBND).submit(&document(UBND, OFFICE, n))?);
    }
    province.site_mut(RELAY).start()?;
    province.site_mut(OFFICE).start()?;
    for package in &packages {
        let codes = province
            .node(UBND)
            .wait_state(package, OFFICE, "delivered", DEADLINE)?;
        assert_eq!(codes, ["01"]);
        assert_eq!(
            copies(province.node(OFFICE), package),
            1,
            "exactly one copy of {package}"
        );
    }
    Ok(())
}

#[test]
fn a_relay_stores_nothing_it_can_read() -> anyhow::Result<()> {
    let mut province = start(1)?;
    province.site_mut(OFFICE).stop()?;
    let document = document(UBND, OFFICE, 7);
    let text = String::from_utf8(document.clone())?;
    let subject = between(&text, "<edXML:Subject>", "</edXML:Subject>").expect("a subject");
    let document_id = between(&text, "<edXML:DocumentId>", "</edXML:DocumentId>").expect("an id");
    let package = province.node(UBND).submit(&document)?;
    province
        .node(UBND)
        .wait_state(&package, OFFICE, "held_at_relay", DEADLINE)?;

    // Stopped, so that everything is on disk as it is.
    province.site_mut(RELAY).stop()?;
    province.site_mut(UBND).stop()?;
    let needles = [
        subject.as_bytes(),
        document_id.as_bytes(),
        b"edXML:edXMLBody".as_slice(),
    ];
    let relay_hits = find_in_files(&province.site(RELAY).dir.join("store"), &needles)?;
    assert!(
        relay_hits.is_empty(),
        "the relay's store holds plaintext: {relay_hits:?}"
    );
    // The same search finds them in the sender's store, which keeps the document in clear.
    let sender_hits = find_in_files(&province.site(UBND).dir.join("store"), &needles)?;
    assert!(
        !sender_hits.is_empty(),
        "the search would have found the document"
    );
    Ok(())
}

#[test]
fn with_one_relay_down_senders_use_the_other() -> anyhow::Result<()> {
    let mut province = start(2)?;
    province.site_mut(RELAY).kill9();
    province.site_mut(UBND).stop()?;

    let package = province.node(TAX).submit(&document(TAX, UBND, 1))?;
    province
        .node(TAX)
        .wait_state(&package, UBND, "held_at_relay", DEADLINE)?;
    let entry = recipient_status(province.node(TAX), &package, UBND);
    assert_eq!(
        entry["held"]["relay"], SECOND_RELAY,
        "{RELAY} is down, so {SECOND_RELAY} holds it: {entry}"
    );
    province.site_mut(UBND).start()?;
    let codes = province
        .node(TAX)
        .wait_state(&package, UBND, "delivered", DEADLINE)?;
    assert_eq!(codes, ["01"]);
    assert_eq!(copies(province.node(UBND), &package), 1);
    Ok(())
}

/// A counter from `node`'s `/metrics`.
fn metric(node: &ProcessNode, name: &str) -> f64 {
    let (_, body) = node.get("/metrics").expect("metrics");
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

fn between<'t>(text: &'t str, start: &str, end: &str) -> Option<&'t str> {
    let from = text.find(start)? + start.len();
    let to = from + text[from..].find(end)?;
    Some(&text[from..to])
}

/// The files under `dir` that contain any of `needles`, with the needle found.
fn find_in_files(dir: &std::path::Path, needles: &[&[u8]]) -> anyhow::Result<Vec<String>> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                stack.push(entry?.path());
            }
            continue;
        }
        let bytes = std::fs::read(&path)?;
        for needle in needles {
            if bytes.windows(needle.len()).any(|w| w == *needle) {
                hits.push(format!(
                    "{}: {}",
                    path.display(),
                    String::from_utf8_lossy(needle)
                ));
            }
        }
    }
    Ok(hits)
}
