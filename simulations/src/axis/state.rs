//! The test axis's queues: every send, one copy per recipient, each copy listed to its
//! recipient until it says `done`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest as _, Sha256};

/// One `sendEdoc`.
#[derive(Debug, Clone)]
struct Send {
    sender_doc_id: String,
    from: String,
    message_type: String,
    title: String,
    notation: String,
    sent_time: String,
    bytes: Arc<Vec<u8>>,
    copies: Vec<Copy>,
}

/// One recipient's copy of a send.
#[derive(Debug, Clone)]
struct Copy {
    receiver_doc_id: String,
    to: String,
    /// `pending` until the recipient's `updateStatus`: then `done` or `fail`.
    status: String,
    received_time: String,
}

/// One copy, as tests look at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentCopy {
    /// The sender's DocId.
    pub sender_doc_id: String,
    /// The recipient's DocId.
    pub receiver_doc_id: String,
    /// Sender.
    pub from: String,
    /// Recipient.
    pub to: String,
    /// `edoc` or `status`.
    pub message_type: String,
    /// `pending`, `done` or `fail`.
    pub status: String,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
}

/// Counts, for tests and `GET /admin/state`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StateSummary {
    /// `sendEdoc` calls accepted.
    pub sends: usize,
    /// Copies not yet `done`.
    pub pending: usize,
    /// Copies `done`.
    pub done: usize,
    /// Every call answered, by name.
    pub calls: std::collections::BTreeMap<String, usize>,
}

/// An item of `getReceivedEdocList`.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) doc_id: String,
    pub(crate) status: String,
    pub(crate) message_type: String,
    pub(crate) created_time: String,
    pub(crate) updated_time: String,
    pub(crate) from: String,
    pub(crate) to: String,
}

/// An item of `getSentEdocList`.
#[derive(Debug, Clone)]
pub(crate) struct SentItem {
    pub(crate) message_type: String,
    pub(crate) sender_doc_id: String,
    pub(crate) receiver_doc_id: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) title: String,
    pub(crate) notation: String,
    pub(crate) sent_time: String,
    pub(crate) received_time: String,
    pub(crate) receive_status: String,
}

/// What a new send carries.
#[derive(Debug)]
pub(crate) struct NewSend {
    pub(crate) from: String,
    pub(crate) to: Vec<String>,
    pub(crate) message_type: String,
    pub(crate) title: String,
    pub(crate) notation: String,
    pub(crate) bytes: Vec<u8>,
}

/// Everything the test axis holds.
#[derive(Debug, Default)]
pub struct AxisState {
    sends: Vec<Send>,
    next_id: u64,
    calls: std::collections::BTreeMap<String, usize>,
}

impl AxisState {
    /// A fresh DocId: 24 hex digits, as the axis's look.
    fn doc_id(&mut self) -> String {
        self.next_id += 1;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let digest = Sha256::digest(format!("{}:{nanos}", self.next_id));
        hex::encode(&digest[..12])
    }

    pub(crate) fn count_call(&mut self, op: &str) {
        *self.calls.entry(op.to_owned()).or_default() += 1;
    }

    /// Queues a send for each recipient; the sender's DocId.
    pub(crate) fn send(&mut self, new: NewSend) -> String {
        let sender_doc_id = self.doc_id();
        let now = now_text();
        let copies = new
            .to
            .iter()
            .map(|to| Copy {
                receiver_doc_id: self.doc_id(),
                to: to.clone(),
                status: "pending".to_owned(),
                received_time: String::new(),
            })
            .collect();
        self.sends.push(Send {
            sender_doc_id: sender_doc_id.clone(),
            from: new.from,
            message_type: new.message_type,
            title: new.title,
            notation: new.notation,
            sent_time: now,
            bytes: Arc::new(new.bytes),
            copies,
        });
        sender_doc_id
    }

    /// What `agency` has to receive of `message_type` (every type when empty).
    pub(crate) fn received(&self, agency: &str, message_type: &str) -> Vec<Received> {
        self.sends
            .iter()
            .filter(|s| {
                message_type.is_empty() || s.message_type.eq_ignore_ascii_case(message_type)
            })
            .flat_map(|s| {
                s.copies
                    .iter()
                    .filter(|c| c.to == agency && c.status != "done")
                    .map(|c| Received {
                        doc_id: c.receiver_doc_id.clone(),
                        status: c.status.clone(),
                        message_type: s.message_type.clone(),
                        created_time: s.sent_time.clone(),
                        updated_time: if c.received_time.is_empty() {
                            s.sent_time.clone()
                        } else {
                            c.received_time.clone()
                        },
                        from: s.from.clone(),
                        to: c.to.clone(),
                    })
            })
            .collect()
    }

    /// The bytes of `agency`'s copy `doc_id`.
    pub(crate) fn get(&self, agency: &str, doc_id: &str) -> Option<Arc<Vec<u8>>> {
        self.sends.iter().find_map(|s| {
            s.copies
                .iter()
                .any(|c| c.to == agency && c.receiver_doc_id == doc_id)
                .then(|| s.bytes.clone())
        })
    }

    /// `agency`'s `updateStatus` of its copy `doc_id`; false when it has no such copy.
    pub(crate) fn update(&mut self, agency: &str, doc_id: &str, status: &str) -> bool {
        let now = now_text();
        for send in &mut self.sends {
            for copy in &mut send.copies {
                if copy.to == agency && copy.receiver_doc_id == doc_id {
                    // `done` is final: a retried `fail` does not bring a copy back.
                    if copy.status != "done" {
                        copy.status = status.to_owned();
                        copy.received_time = now;
                    }
                    return true;
                }
            }
        }
        false
    }

    /// `agency`'s sends: the one with `doc_id` if given, else every one of `message_type`
    /// (every type when empty).
    pub(crate) fn sent(
        &self,
        agency: &str,
        doc_id: Option<&str>,
        message_type: &str,
    ) -> Vec<SentItem> {
        self.sends
            .iter()
            .filter(|s| s.from == agency)
            .filter(|s| match doc_id {
                Some(id) => s.sender_doc_id == id,
                None => {
                    message_type.is_empty() || s.message_type.eq_ignore_ascii_case(message_type)
                }
            })
            .flat_map(|s| {
                s.copies.iter().map(|c| SentItem {
                    message_type: s.message_type.clone(),
                    sender_doc_id: s.sender_doc_id.clone(),
                    receiver_doc_id: c.receiver_doc_id.clone(),
                    from: s.from.clone(),
                    to: c.to.clone(),
                    title: s.title.clone(),
                    notation: s.notation.clone(),
                    sent_time: s.sent_time.clone(),
                    received_time: c.received_time.clone(),
                    receive_status: c.status.clone(),
                })
            })
            .collect()
    }

    /// The counts.
    pub fn summary(&self) -> StateSummary {
        let copies = self.sends.iter().flat_map(|s| &s.copies);
        let (done, pending) = copies.fold((0, 0), |(d, p), c| {
            if c.status == "done" {
                (d + 1, p)
            } else {
                (d, p + 1)
            }
        });
        StateSummary {
            sends: self.sends.len(),
            pending,
            done,
            calls: self.calls.clone(),
        }
    }

    /// Every copy.
    pub fn copies(&self) -> Vec<SentCopy> {
        self.sends
            .iter()
            .flat_map(|s| {
                let sha256 = hex::encode(Sha256::digest(s.bytes.as_slice()));
                s.copies.iter().map(move |c| SentCopy {
                    sender_doc_id: s.sender_doc_id.clone(),
                    receiver_doc_id: c.receiver_doc_id.clone(),
                    from: s.from.clone(),
                    to: c.to.clone(),
                    message_type: s.message_type.clone(),
                    status: c.status.clone(),
                    sha256: sha256.clone(),
                })
            })
            .collect()
    }
}

/// Now in Vietnam time, `yyyy/MM/dd HH:mm:ss`, as the axis's answers write times.
fn now_text() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    // `ddMMyyyyTHHmmss+SSSS` → `yyyy/MM/dd HH:mm:ss`.
    let t = lienthong_protocol::axis_wire::timestamp_text(
        millis,
        lienthong_protocol::axis_wire::VIETNAM_UTC_OFFSET_SECS,
    );
    format!(
        "{}/{}/{} {}:{}:{}",
        &t[4..8],
        &t[2..4],
        &t[0..2],
        &t[9..11],
        &t[11..13],
        &t[13..15]
    )
}
