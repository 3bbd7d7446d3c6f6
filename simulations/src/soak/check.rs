//! After the drain: every acknowledged document against what each recipient holds and
//! what its sender recorded.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::traffic::{Acked, Api};

/// How many problems the report names one by one.
const EXAMPLES: usize = 20;
/// How many log lines of each node an example quotes.
const LOG_LINES: usize = 6;

/// What the checks found.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Findings {
    /// (document, recipient) pairs expected: every recipient of every acknowledged document.
    pub copies: usize,
    /// Pairs the recipient does not hold.
    pub lost: usize,
    /// Copies a recipient holds beyond the first: the same package listed twice in its
    /// inbox, or the same document (DocumentId) under two packages.
    pub duplicated: usize,
    /// Copies whose bytes, as the recipient serves them, differ from the bytes submitted.
    pub changed: usize,
    /// Pairs whose sender has not recorded the recipient's receipt 01.
    pub missing_01: usize,
    /// Packages in an inbox that no client got a 202 for. Not a broken promise (nobody was
    /// told they were accepted), but every client resubmits until it gets its answer, so
    /// there should be none.
    pub unacknowledged_delivered: usize,
    /// The first problems, one by one.
    pub examples: Vec<Problem>,
}

/// One problem, with what the nodes say of it.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// `lost`, `duplicated`, `changed` or `missing_01`.
    pub problem: &'static str,
    pub package: String,
    pub document: String,
    pub from: String,
    pub to: String,
    /// The sender's view of this recipient: state, attempts, last error, receipts.
    pub sender_view: String,
    /// What was found at the recipient (copies, bytes served).
    pub detail: String,
    /// Lines of the sender's and the recipient's logs that name the package.
    pub log: Vec<String>,
}

/// The nodes, for the checks.
pub(super) struct Nodes<'a> {
    pub(super) organs: &'a [String],
    pub(super) apis: &'a [Api],
    pub(super) dirs: &'a [&'a Path],
}

/// One recipient's inbox: copies per package, and packages per DocumentId.
struct Inbox {
    copies: HashMap<String, usize>,
    documents: BTreeMap<String, BTreeSet<String>>,
}

fn inbox(api: &Api) -> anyhow::Result<Inbox> {
    let entries = api.get_json("/api/v1/inbox?all=true")?;
    let mut inbox = Inbox {
        copies: HashMap::new(),
        documents: BTreeMap::new(),
    };
    for entry in entries.as_array().into_iter().flatten() {
        let Some(package) = entry["package_id"].as_str() else {
            continue;
        };
        *inbox.copies.entry(package.to_owned()).or_default() += 1;
        if let Some(document) = entry["document_id"].as_str() {
            inbox
                .documents
                .entry(document.to_owned())
                .or_default()
                .insert(package.to_owned());
        }
    }
    Ok(inbox)
}

/// Checks every acknowledged document at each of its recipients and at its sender.
///
/// # Errors
/// When a node's API cannot be read.
pub(super) fn check(nodes: &Nodes<'_>, acked: &[Acked]) -> anyhow::Result<Findings> {
    let inboxes = nodes
        .apis
        .iter()
        .map(inbox)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut findings = Findings::default();
    let mut problems = Vec::new();
    for a in acked {
        let status = nodes.apis[a.from]
            .get_json(&format!("/api/v1/packages/{}/status", a.package))
            .unwrap_or_else(|e| Value::String(format!("{e:#}")));
        for &r in &a.to {
            findings.copies += 1;
            let view = sender_view(&status, &nodes.organs[r]);
            let copies = inboxes[r].copies.get(&a.package).copied().unwrap_or(0);
            let mut report = |problem: &'static str, detail: String| {
                problems.push((problem, a.clone(), r, view.1.clone(), detail));
            };
            if copies == 0 {
                findings.lost += 1;
                report("lost", "not in the recipient's inbox".to_owned());
            } else {
                if copies > 1 {
                    findings.duplicated += copies - 1;
                    report("duplicated", format!("{copies} entries in the inbox"));
                }
                let (code, body) = nodes.apis[r].get(&format!("/api/v1/packages/{}", a.package))?;
                let sha256: [u8; 32] = Sha256::digest(&body).into();
                if code != 200 || sha256 != a.sha256 {
                    findings.changed += 1;
                    report(
                        "changed",
                        format!(
                            "served {code} with {} bytes, {} submitted",
                            body.len(),
                            a.bytes
                        ),
                    );
                }
            }
            if !view.0 {
                findings.missing_01 += 1;
                report("missing_01", format!("{copies} copies at the recipient"));
            }
        }
    }
    let known: HashSet<&str> = acked.iter().map(|a| a.package.as_str()).collect();
    let senders: HashMap<&str, usize> = acked
        .iter()
        .map(|a| (a.document.as_str(), a.from))
        .collect();
    for (r, inbox) in inboxes.iter().enumerate() {
        findings.unacknowledged_delivered += inbox
            .copies
            .keys()
            .filter(|p| !known.contains(p.as_str()))
            .count();
        for (document, packages) in &inbox.documents {
            if packages.len() > 1 {
                findings.duplicated += packages.len() - 1;
                let package = packages.iter().cloned().collect::<Vec<_>>().join(", ");
                problems.push((
                    "duplicated",
                    Acked {
                        package,
                        document: document.clone(),
                        from: senders
                            .iter()
                            .find(|(number, _)| document.ends_with(*number))
                            .map_or(r, |(_, &from)| from),
                        to: vec![r],
                        sha256: [0; 32],
                        bytes: 0,
                        large: false,
                    },
                    r,
                    String::new(),
                    format!("one DocumentId under {} packages", packages.len()),
                ));
            }
        }
    }
    findings.examples = problems
        .into_iter()
        .take(EXAMPLES)
        .map(|(problem, a, r, sender_view, detail)| Problem {
            problem,
            log: [a.from, r]
                .iter()
                .flat_map(|&i| log_lines(nodes.dirs[i], &nodes.organs[i], &a.package))
                .collect(),
            package: a.package,
            document: a.document,
            from: nodes.organs[a.from].clone(),
            to: nodes.organs[r].clone(),
            sender_view,
            detail,
        })
        .collect();
    Ok(findings)
}

/// Whether the sender holds `recipient`'s receipt 01, and its view in one line.
fn sender_view(status: &Value, recipient: &str) -> (bool, String) {
    let Some(r) = status["recipients"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["organ_id"] == recipient))
    else {
        return (
            false,
            format!("no such recipient in the sender's status: {status}"),
        );
    };
    let codes: Vec<&str> = r["receipts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["code"].as_str())
        .collect();
    (
        codes.contains(&"01"),
        format!(
            "state {}, attempts {}, last error {}, receipts [{}]",
            r["state"],
            r["attempts"],
            r["last_error"],
            codes.join(", ")
        ),
    )
}

/// The first lines of a node's log that name `package` (or its short form).
fn log_lines(dir: &Path, organ: &str, package: &str) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(dir.join("node.log")) else {
        return Vec::new();
    };
    let short = &package[..package.len().min(16)];
    text.lines()
        .filter(|l| l.contains(short))
        .take(LOG_LINES)
        .map(|l| format!("{organ}: {l}"))
        .collect()
}
