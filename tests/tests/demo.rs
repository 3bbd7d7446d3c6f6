//! `lienthong demo`: the real binary runs its province for a bounded time. It prints a
//! dashboard link with its token for every node, and a provincial overview; the simulated
//! QLVBs' documents are delivered, through the relay for the tax department too, and the
//! recipients' receipts (01, then their QLVB's 03 … 06) come back to the senders, as each
//! sender's own API shows; Ctrl-C stops it cleanly and its temporary folder is gone.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use lienthong_tests::lienthong_bin;
use serde_json::Value;

/// The demo's own limit: the test stops it earlier, with Ctrl-C.
const RUN_FOR: &str = "90s";
/// How long the links may take to be printed.
const LINKS_DEADLINE: Duration = Duration::from_secs(30);
/// How long the receipts may take to come back.
const RECEIPTS_DEADLINE: Duration = Duration::from_secs(45);
/// How long the demo may take to stop after Ctrl-C.
const STOP_DEADLINE: Duration = Duration::from_secs(30);
/// How often the senders' APIs are asked.
const POLL: Duration = Duration::from_millis(500);

const TAX: &str = "000.19.01.G12";
const RELAY: &str = "000.00.20.H19";
const OFFICE: &str = "000.00.01.H19";

/// A running demo and what it printed.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    printed: Vec<String>,
}

impl Running {
    fn start() -> anyhow::Result<Running> {
        let mut child = Command::new(lienthong_bin())
            .args(["demo", "--duration", RUN_FOR])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting lienthong demo")?;
        let stdout = child.stdout.take().context("stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Running {
            child,
            lines,
            printed: Vec::new(),
        })
    }

    /// Reads printed lines until one satisfies `done`, within `deadline`.
    fn read_until(
        &mut self,
        deadline: Duration,
        done: impl Fn(&str) -> bool,
    ) -> anyhow::Result<()> {
        let end = Instant::now() + deadline;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let finished = done(&line);
                    self.printed.push(line);
                    if finished {
                        return Ok(());
                    }
                }
                Err(_) => bail!(
                    "the demo did not print what was awaited in {deadline:?}; it printed:\n{}",
                    self.printed.join("\n")
                ),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A node as its printed line gives it: API address and token.
#[derive(Debug, Clone)]
struct Link {
    base: String,
    token: String,
}

/// `http://127.0.0.1:7181/#token=…` → the API base and the token.
fn parse_link(url: &str) -> Option<Link> {
    let (base, token) = url.split_once("/#token=")?;
    Some(Link {
        base: base.to_owned(),
        token: token.to_owned(),
    })
}

fn get(agent: &ureq::Agent, link: &Link, path: &str) -> anyhow::Result<Value> {
    let mut response = agent
        .get(format!("{}{path}", link.base))
        .header("Authorization", format!("Bearer {}", link.token))
        .call()?;
    Ok(serde_json::from_slice(&response.body_mut().read_to_vec()?)?)
}

/// What came back to the senders so far: per (sender, recipient), the receipt codes the
/// recipient signed for documents the sender sent.
fn receipts_at_senders(
    agent: &ureq::Agent,
    nodes: &BTreeMap<String, Link>,
) -> anyhow::Result<BTreeMap<(String, String), Vec<String>>> {
    let mut seen: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (sender, link) in nodes.iter().filter(|(id, _)| id.as_str() != RELAY) {
        let packages = get(agent, link, "/api/v1/packages?limit=1000")?;
        for package in packages.as_array().into_iter().flatten() {
            if package["kind"] != "edoc" {
                continue;
            }
            let id = package["package_id"].as_str().context("package id")?;
            let status = get(agent, link, &format!("/api/v1/packages/{id}/status"))?;
            for copy in status["recipients"].as_array().into_iter().flatten() {
                let recipient = copy["organ_id"].as_str().unwrap_or_default().to_owned();
                let codes = seen.entry((sender.clone(), recipient.clone())).or_default();
                for receipt in copy["receipts"].as_array().into_iter().flatten() {
                    if receipt["issuer"].as_str() == Some(recipient.as_str())
                        && let Some(code) = receipt["code"].as_str()
                    {
                        codes.push(code.to_owned());
                    }
                }
            }
        }
    }
    Ok(seen)
}

#[test]
fn the_demo_delivers_documents_and_brings_receipts_back_to_their_senders() -> anyhow::Result<()> {
    let mut demo = Running::start()?;

    // The data folder, then one link per node; the overview comes before them.
    demo.read_until(LINKS_DEADLINE, |l| l.contains("its data in"))?;
    let folder = demo.printed[0]
        .split("its data in ")
        .nth(1)
        .and_then(|rest| rest.strip_suffix(" (removed on exit)"))
        .map(PathBuf::from)
        .context("the temporary folder is named")?;
    assert!(
        folder.is_dir(),
        "{} exists while the demo runs",
        folder.display()
    );
    demo.read_until(LINKS_DEADLINE, |l| l.trim_start().starts_with(TAX))?;
    let overview = demo
        .printed
        .iter()
        .position(|l| l.starts_with("Provincial overview"))
        .and_then(|i| demo.printed.get(i + 1))
        .and_then(|l| parse_link(l.trim()))
        .context("a provincial overview link")?;
    let nodes: BTreeMap<String, Link> = demo
        .printed
        .iter()
        .filter_map(|l| {
            let organ = l.split_whitespace().next()?;
            let url = l.split_whitespace().last()?;
            organ.parse::<lienthong_protocol::OrganId>().ok()?;
            Some((organ.to_owned(), parse_link(url)?))
        })
        .collect();
    assert_eq!(nodes.len(), 7, "six agencies and a relay: {nodes:?}");
    for (organ, link) in &nodes {
        assert!(
            link.token.len() == 64 && link.token.chars().all(|c| c.is_ascii_hexdigit()),
            "{organ}'s link carries its token: {link:?}"
        );
        assert!(
            link.base.starts_with("http://127.0.0.1:"),
            "{organ} on loopback"
        );
    }
    assert_eq!(
        overview.base, nodes[OFFICE].base,
        "the overview is the provincial office's"
    );
    assert_eq!(overview.token, nodes[OFFICE].token);

    // Every link's token opens its node's API.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    for (organ, link) in &nodes {
        let peers = get(&agent, link, "/api/v1/peers")?;
        assert!(
            peers.is_array() || peers.is_object(),
            "{organ} answers with its token"
        );
    }

    // Documents go out; the recipients' receipts come back to their senders.
    let end = Instant::now() + RECEIPTS_DEADLINE;
    let (satisfied, last) = loop {
        let last = receipts_at_senders(&agent, &nodes)?;
        let arrived = last
            .values()
            .filter(|c| c.iter().any(|c| c == "01"))
            .count();
        let handled = last
            .values()
            .any(|c| c.iter().any(|c| c == "03" || c == "06"));
        let tax_both_ways = last
            .iter()
            .any(|((s, r), c)| r == TAX && s != TAX && c.iter().any(|c| c == "01"))
            && last
                .iter()
                .any(|((s, _), c)| s == TAX && c.iter().any(|c| c == "01"));
        if arrived >= 3 && handled && tax_both_ways {
            break (true, last);
        }
        if Instant::now() > end {
            break (false, last);
        }
        std::thread::sleep(POLL);
    };
    assert!(
        satisfied,
        "within {RECEIPTS_DEADLINE:?}: receipts 01 from at least 3 sender-recipient pairs, a 03 or 06, and the tax department reached and reaching through the relay; the senders saw {last:?}\nthe demo printed:\n{}",
        demo.printed.join("\n")
    );

    // Ctrl-C: every node stops, the temporary folder goes.
    let status = Command::new("kill")
        .args(["-INT", &demo.child.id().to_string()])
        .status()?;
    assert!(status.success(), "SIGINT sent");
    demo.read_until(STOP_DEADLINE, |l| l.starts_with("removed "))?;
    let end = Instant::now() + STOP_DEADLINE;
    let exit = loop {
        if let Some(exit) = demo.child.try_wait()? {
            break exit;
        }
        assert!(Instant::now() < end, "the demo exits after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "the demo exits with status 0: {exit:?}");
    assert!(
        demo.printed
            .iter()
            .any(|l| l.contains("arrived (receipt 01)")),
        "it says what arrived: {:?}",
        demo.printed
    );
    assert!(!folder.exists(), "{} is removed on exit", folder.display());
    Ok(())
}
