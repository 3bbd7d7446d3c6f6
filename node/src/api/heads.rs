//! `GET /api/v1/evidence/heads`: the latest checkpoint of each member's evidence log this
//! node verified from the checkpoint gossip topic or catch-up, with the cosignatures seen
//! for it, and the fork each log was seen to present, if any (`docs/evidence.md`).

use axum::Json;
use axum::extract::State;
use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::evidence::ORIGIN_PREFIX;
use lienthong_protocol::tlog::Note;
use serde::Serialize;

use super::ApiState;
use super::error::ApiError;
use super::time::{rfc3339, rfc3339_opt};
use crate::store::{HeadFork, HeldHead};

/// The answer: one entry per log, by origin.
#[derive(Debug, Serialize)]
pub(super) struct HeadsView {
    heads: Vec<HeadView>,
}

#[derive(Debug, Serialize)]
struct HeadView {
    /// The agency whose log it is.
    agency: String,
    /// `lienthong/<organ_id>`.
    origin: String,
    /// The head held; null when a fork was seen before any head.
    size: Option<u64>,
    /// Its root hash, hex.
    root: Option<String>,
    /// Its signed note with the cosignature lines seen.
    note: String,
    /// The key names of the verified cosignatures on it (`lienthong-witness/<organ_id>`).
    cosigned_by: Vec<String>,
    /// How it came: `gossip` or `catch_up`.
    seen: String,
    /// When it was taken.
    #[serde(serialize_with = "rfc3339_opt")]
    at: Option<Timestamp>,
    /// The first checkpoint of this log seen not to extend the head held.
    fork: Option<ForkView>,
}

#[derive(Debug, Serialize)]
struct ForkView {
    held_size: u64,
    held_note: String,
    presented_size: u64,
    presented_note: String,
    kind: String,
    seen: String,
    #[serde(serialize_with = "rfc3339")]
    at: Timestamp,
}

impl HeadView {
    fn of(origin: String, held: HeldHead) -> HeadView {
        let note = String::from_utf8_lossy(&held.note).into_owned();
        let cosigned_by = Note::parse(note.as_bytes())
            .map(|parsed| {
                parsed
                    .signatures()
                    .iter()
                    .map(|line| line.name().to_owned())
                    .filter(|name| *name != origin)
                    .collect()
            })
            .unwrap_or_default();
        HeadView {
            agency: origin
                .strip_prefix(ORIGIN_PREFIX)
                .unwrap_or(&origin)
                .to_owned(),
            size: held.head.map(|h| h.size),
            root: held.head.map(|h| hex::encode(h.root)),
            note,
            cosigned_by,
            seen: held.seen,
            at: held.at,
            fork: held.fork.map(ForkView::of),
            origin,
        }
    }
}

impl ForkView {
    fn of(fork: HeadFork) -> ForkView {
        ForkView {
            held_size: fork.held.size,
            held_note: String::from_utf8_lossy(&fork.held_note).into_owned(),
            presented_size: fork.presented.size,
            presented_note: String::from_utf8_lossy(&fork.presented_note).into_owned(),
            kind: fork.kind,
            seen: fork.seen,
            at: fork.at,
        }
    }
}

pub(super) async fn heads(State(state): State<ApiState>) -> Result<Json<HeadsView>, ApiError> {
    let held = state.ctx.store.call(|store| store.held_heads()).await?;
    Ok(Json(HeadsView {
        heads: held
            .into_iter()
            .map(|(origin, held)| HeadView::of(origin, held))
            .collect(),
    }))
}
