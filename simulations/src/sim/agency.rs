//! How a simulated QLVB reaches its own node: through the node's store and submit path
//! when the node runs in this process, or through the HTTP API a real QLVB uses when it
//! runs as its own `lienthong` process.

use std::time::Duration;

use bytes::Bytes;
use lienthong_node::node::NodeHandle;
use lienthong_node::store::DeliveryState;
use lienthong_protocol::MessageKind;
use lienthong_protocol::edxml::StatusCode;
use lienthong_protocol::envelope::{PackageId, Timestamp};
use serde_json::Value;

/// A package waiting in (or fetched from) an inbox.
#[derive(Debug, Clone)]
pub struct InboxItem {
    /// The package.
    pub package_id: PackageId,
    /// Document or status.
    pub kind: MessageKind,
    /// The `DocumentId` it carries or answers.
    pub document_id: Option<String>,
}

/// One recipient's copy of a package, as its sender's node sees it.
#[derive(Debug, Clone)]
pub struct CopyView {
    /// The recipient agency.
    pub recipient: String,
    /// Submit → receipt 01 recorded, ms.
    pub latency_01_ms: Option<u64>,
    /// Receipt codes signed by the recipient, 01 included once it arrived; for a
    /// recipient on the axis, the statuses it sent back through the axis.
    pub codes: Vec<StatusCode>,
    /// Statuses the sender took more than once (the same code from the same recipient
    /// again).
    pub status_duplicates: u32,
    /// Where the sender's delivery stands, in words (state, attempts, last error): what a
    /// report says of a copy that never arrived.
    pub delivery: String,
}

/// What a QLVB does with its node.
pub trait Agency: Send + Sync {
    /// Submits edXML; the package id once it is durably accepted.
    ///
    /// # Errors
    /// Why the node refused it.
    fn submit(&self, body: Vec<u8>) -> Result<PackageId, String>;
    /// The inbox: pending packages, or all with `all`.
    ///
    /// # Errors
    /// When it cannot be read.
    fn inbox(&self, all: bool) -> Result<Vec<InboxItem>, String>;
    /// Acknowledges a package.
    ///
    /// # Errors
    /// When the node refuses.
    fn ack(&self, id: &PackageId) -> Result<(), String>;
    /// Each recipient's copy of a package this node sent.
    ///
    /// # Errors
    /// When the status cannot be read.
    fn copies(&self, package: &PackageId) -> Result<Vec<CopyView>, String>;
}

impl Agency for NodeHandle {
    fn submit(&self, body: Vec<u8>) -> Result<PackageId, String> {
        NodeHandle::submit(self, Bytes::from(body))
            .map(|s| s.package_id)
            .map_err(|e| e.to_string())
    }

    fn inbox(&self, all: bool) -> Result<Vec<InboxItem>, String> {
        self.context()
            .store
            .inbox(all)
            .map(|entries| {
                entries
                    .into_iter()
                    .map(|e| InboxItem {
                        package_id: e.package_id,
                        kind: e.kind,
                        document_id: e.document_id,
                    })
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    fn ack(&self, id: &PackageId) -> Result<(), String> {
        self.context()
            .store
            .ack(id, lienthong_node::clock::now())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn copies(&self, package: &PackageId) -> Result<Vec<CopyView>, String> {
        let store = &self.context().store;
        let outbox = store.outbox(package).map_err(|e| e.to_string())?;
        let receipts = store.receipts(package).map_err(|e| e.to_string())?;
        let submitted = store
            .outgoing(package)
            .map_err(|e| e.to_string())?
            .map(|p| p.submitted_at);
        Ok(outbox
            .iter()
            .map(|entry| {
                let mut codes: Vec<StatusCode> = receipts
                    .iter()
                    .filter(|r| r.issuer() == &entry.recipient)
                    .map(|r| r.code())
                    .collect();
                let mut delivered_at = entry.delivered_at;
                // A recipient on the axis: the statuses it sent back through the axis, as
                // the axis reported them (its `pending`/`done` beside them are not codes).
                if let Ok(Some(send)) = store.axis_send(package, &entry.recipient) {
                    for report in &send.reports {
                        if let Some(code) = code_of(&report.status) {
                            codes.push(code);
                            if code == StatusCode::Arrived && delivered_at.is_none() {
                                delivered_at = Some(report.learned_at);
                            }
                        }
                    }
                }
                let status_duplicates = duplicates(&mut codes);
                if matches!(
                    entry.state,
                    DeliveryState::Delivered | DeliveryState::Rejected
                ) && !codes.contains(&StatusCode::Arrived)
                {
                    codes.push(StatusCode::Arrived);
                }
                CopyView {
                    recipient: entry.recipient.to_string(),
                    latency_01_ms: latency(submitted, delivered_at),
                    codes,
                    status_duplicates,
                    delivery: delivery_words(
                        entry.state.as_str(),
                        entry.attempts,
                        entry.last_error.as_deref(),
                    ),
                }
            })
            .collect())
    }
}

/// A status code written as the axis reports carry it (`"01"`), if it is one.
fn code_of(text: &str) -> Option<StatusCode> {
    text.parse::<u8>()
        .ok()
        .and_then(|n| StatusCode::from_number(n).ok())
}

/// Removes repeated codes from `codes`; how many there were.
fn duplicates(codes: &mut Vec<StatusCode>) -> u32 {
    let before = codes.len();
    let mut seen = std::collections::BTreeSet::new();
    codes.retain(|c| seen.insert(*c));
    u32::try_from(before - codes.len()).unwrap_or(u32::MAX)
}

/// "queued, 4 attempts, last: dial failed" for a report.
fn delivery_words(state: &str, attempts: u32, last_error: Option<&str>) -> String {
    match last_error {
        Some(error) => format!("{state}, {attempts} attempts, last: {error}"),
        None => format!("{state}, {attempts} attempts"),
    }
}

fn latency(submitted: Option<Timestamp>, delivered: Option<Timestamp>) -> Option<u64> {
    let (s, d) = (submitted?, delivered?);
    Some(d.as_millis().saturating_sub(s.as_millis()))
}

/// A node reached over its HTTP API, as QLVB reaches it.
#[derive(Debug, Clone)]
pub struct HttpAgency {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl HttpAgency {
    /// The API at `address` (`127.0.0.1:7180`) with bearer `token`.
    pub fn new(address: &str, token: &str) -> HttpAgency {
        HttpAgency {
            base: format!("http://{address}"),
            token: token.trim().to_owned(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(60)))
                .build()
                .into(),
        }
    }

    fn get(&self, path: &str) -> Result<Value, String> {
        let response = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .call();
        let (status, body) = read(response)?;
        if status != 200 {
            return Err(format!("GET {path}: {status} {body}"));
        }
        Ok(body)
    }

    fn post(&self, path: &str, body: Vec<u8>) -> Result<(u16, Value), String> {
        let response = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/xml")
            .send(&body[..]);
        read(response)
    }
}

/// The status and JSON body of an answer (`null` when the body is not JSON).
fn read(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<(u16, Value), String> {
    let mut response = response.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

fn package_id(value: &Value) -> Result<PackageId, String> {
    value
        .as_str()
        .ok_or("no package id")?
        .parse()
        .map_err(|e| format!("{e}"))
}

fn timestamp(value: &Value) -> Option<Timestamp> {
    value.as_str()?.parse().ok()
}

impl Agency for HttpAgency {
    fn submit(&self, body: Vec<u8>) -> Result<PackageId, String> {
        let (status, answer) = self.post("/api/v1/packages", body)?;
        if status != 202 {
            return Err(format!("{status} {answer}"));
        }
        package_id(&answer["package_id"])
    }

    fn inbox(&self, all: bool) -> Result<Vec<InboxItem>, String> {
        let list = self.get(&format!("/api/v1/inbox?all={all}"))?;
        list.as_array()
            .ok_or("the inbox is not a list")?
            .iter()
            .map(|e| {
                Ok(InboxItem {
                    package_id: package_id(&e["package_id"])?,
                    kind: if e["kind"] == "status" {
                        MessageKind::Status
                    } else {
                        MessageKind::Edoc
                    },
                    document_id: e["document_id"].as_str().map(str::to_owned),
                })
            })
            .collect()
    }

    fn ack(&self, id: &PackageId) -> Result<(), String> {
        let (status, answer) = self.post(&format!("/api/v1/inbox/{id}/ack"), Vec::new())?;
        if status == 200 {
            Ok(())
        } else {
            Err(format!("{status} {answer}"))
        }
    }

    fn copies(&self, package: &PackageId) -> Result<Vec<CopyView>, String> {
        let status = self.get(&format!("/api/v1/packages/{package}/status"))?;
        let submitted = timestamp(&status["submitted_at"]);
        Ok(status["recipients"]
            .as_array()
            .ok_or("no recipients")?
            .iter()
            .map(|r| {
                let recipient = r["organ_id"].as_str().unwrap_or_default().to_owned();
                let mut codes: Vec<StatusCode> = r["receipts"]
                    .as_array()
                    .map(|all| {
                        all.iter()
                            .filter(|x| x["issuer"].as_str() == Some(recipient.as_str()))
                            .filter_map(|x| code_of(x["code"].as_str()?))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut delivered_at = timestamp(&r["delivered_at"]);
                for report in r["axis_reports"].as_array().into_iter().flatten() {
                    if let Some(code) = report["status"].as_str().and_then(code_of) {
                        codes.push(code);
                        if code == StatusCode::Arrived && delivered_at.is_none() {
                            delivered_at = timestamp(&report["reported_at"]);
                        }
                    }
                }
                let status_duplicates = duplicates(&mut codes);
                if matches!(r["state"].as_str(), Some("delivered" | "rejected"))
                    && !codes.contains(&StatusCode::Arrived)
                {
                    codes.push(StatusCode::Arrived);
                }
                CopyView {
                    latency_01_ms: latency(submitted, delivered_at),
                    recipient,
                    codes,
                    status_duplicates,
                    delivery: delivery_words(
                        r["state"].as_str().unwrap_or("unknown"),
                        r["attempts"]
                            .as_u64()
                            .and_then(|n| u32::try_from(n).ok())
                            .unwrap_or_default(),
                        r["last_error"].as_str(),
                    ),
                }
            })
            .collect())
    }
}
