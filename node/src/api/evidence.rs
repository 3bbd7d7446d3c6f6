//! `/api/v1/evidence/…`: the node's evidence log for auditors and witnesses.
//!
//! - `POST /api/v1/evidence/checkpoint` signs a checkpoint of the log now (or answers the
//!   latest, when the log has not grown) and `GET` answers the latest; both as
//!   `{size, root, note, cosignatures}` with the C2SP signed note as text and the
//!   witnesses' verified cosignature lines (`[{witness, line}]`) kept so far, and the
//!   RFC 3161 `timestamp` over it (`{gen_time, tsa, serial, token}` or null). Signing one
//!   also has it presented to the witnesses and the timestamp authority.
//! - `GET /api/v1/evidence/checkpoint?size=N`: the checkpoint signed at size `N`, in the
//!   same shape; 404 when none was.
//! - `GET /api/v1/evidence/proof?index=N&size=M`: the inclusion proof of leaf `N` in the
//!   tree of `M` leaves, with the leaf itself; `?from=M&to=N`: the consistency proof
//!   between the trees of `M` and `N` leaves. Hashes are lowercase hex.
//! - `GET /api/v1/evidence/leaves?from=N&limit=L`: leaves in log order, with what each says.
//! - `GET /api/v1/evidence/heads`: the latest verified checkpoint of each member's log, from
//!   gossip and catch-up, and any fork seen (`heads.rs`).
//!
//! - `GET /api/v1/packages/{id}/evidence`: the package's evidence bundle, an ASiC-E
//!   container (`lienthong evidence verify` checks it offline; `docs/evidence.md`).
//!
//! Proofs are computed from the leaf hashes up to the size asked, read from the store.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use lienthong_protocol::evidence::bundle::MIMETYPE;
use lienthong_protocol::tlog::timestamp::{self, TsaCertificate};
use lienthong_protocol::tlog::{self, Hash};
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::error::ApiError;
use crate::context::NodeContext;
use crate::evidence::bundle::ExportError;
use crate::evidence::{self, EvidenceError, EvidenceHandle, SignedCheckpoint};
use crate::store::{EvidenceLeaf, StoredLeaf};

/// Most leaves one `leaves` page holds.
const MAX_LEAVES_PAGE: usize = 1000;

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route(
            "/api/v1/evidence/checkpoint",
            get(latest_checkpoint).post(take_checkpoint),
        )
        .route("/api/v1/evidence/proof", get(proof))
        .route("/api/v1/evidence/leaves", get(leaves))
        .route("/api/v1/evidence/heads", get(super::heads::heads))
}

/// A checkpoint as the API shows it.
#[derive(Debug, Serialize)]
struct CheckpointView {
    size: u64,
    /// Root hash, hex.
    root: String,
    /// The signed note (checkpoint body, blank line, signature lines).
    note: String,
    /// The witnesses' verified cosignatures of it, so far.
    cosignatures: Vec<CosignatureView>,
    /// The RFC 3161 timestamp token over this note, once the TSA gave one.
    timestamp: Option<TimestampView>,
}

/// A timestamp token over a checkpoint note, as checked against the configured TSA
/// certificate now.
#[derive(Debug, Serialize)]
struct TimestampView {
    /// The TSA's time, RFC 3339 (UTC); null when the token no longer verifies.
    gen_time: Option<String>,
    /// The TSA certificate's subject (RFC 4514); null when the token no longer verifies.
    tsa: Option<String>,
    /// The token's serial number, hex.
    serial: Option<String>,
    /// The token (a CMS `ContentInfo`), DER in hex: `xxd -r -p` then `openssl ts -verify`.
    token: String,
    /// Why the token does not verify against the TSA certificate configured now (a
    /// certificate changed since it was kept, or none configured); absent when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

impl TimestampView {
    fn of(token: &[u8], note: &[u8], tsa: Option<&TsaCertificate>) -> Self {
        let checked = tsa
            .ok_or_else(|| "no timestamp authority is configured now".to_owned())
            .and_then(|tsa| timestamp::verify_token(token, note, tsa).map_err(|e| e.to_string()));
        let (info, problem) = match checked {
            Ok(info) => (Some(info), None),
            Err(problem) => (None, Some(problem)),
        };
        TimestampView {
            gen_time: info
                .as_ref()
                .map(|i| humantime::format_rfc3339_seconds(i.gen_time).to_string()),
            tsa: info.as_ref().map(|i| i.tsa.clone()),
            serial: info.map(|i| i.serial),
            token: hex::encode(token),
            problem,
        }
    }
}

/// One witness's cosignature: a signature line to add to the note
/// (c2sp.org/tlog-cosignature), by the key the roster lists for `witness`.
#[derive(Debug, Serialize)]
struct CosignatureView {
    witness: String,
    line: String,
}

impl CheckpointView {
    /// `checkpoint` with the cosignatures the store keeps for it.
    async fn of(
        ctx: &NodeContext,
        evidence: &EvidenceHandle,
        checkpoint: SignedCheckpoint,
    ) -> Result<Self, ApiError> {
        let size = checkpoint.size;
        let (cosignatures, token) = ctx
            .store
            .call(move |store| Ok((store.cosignatures(size)?, store.timestamp_at(size)?)))
            .await
            .map_err(|e| ApiError::store(&e, "reading the cosignatures"))?;
        let timestamp =
            token.map(|token| TimestampView::of(&token, &checkpoint.note, evidence.tsa()));
        Ok(CheckpointView {
            size,
            root: hex::encode(checkpoint.root),
            note: String::from_utf8_lossy(&checkpoint.note).into_owned(),
            cosignatures: cosignatures
                .into_iter()
                .map(|(witness, line)| CosignatureView {
                    witness: witness.to_string(),
                    line,
                })
                .collect(),
            timestamp,
        })
    }
}

fn evidence_error(error: EvidenceError) -> ApiError {
    match error {
        EvidenceError::Store(e) => ApiError::store(&e, "reading the evidence log"),
        other => ApiError::internal(other.to_string()),
    }
}

async fn take_checkpoint(State(state): State<ApiState>) -> Result<Json<CheckpointView>, ApiError> {
    let checkpoint = evidence::checkpoint(&state.ctx)
        .await
        .map_err(evidence_error)?;
    state.evidence.checkpoint_signed();
    Ok(Json(
        CheckpointView::of(&state.ctx, &state.evidence, checkpoint).await?,
    ))
}

/// `?size=N`: the checkpoint signed at that size rather than the latest.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointQuery {
    size: Option<u64>,
}

async fn latest_checkpoint(
    State(state): State<ApiState>,
    Query(query): Query<CheckpointQuery>,
) -> Result<Json<CheckpointView>, ApiError> {
    if let Some(size) = query.size {
        return match evidence::at(&state.ctx, size)
            .await
            .map_err(evidence_error)?
        {
            Some(checkpoint) => Ok(Json(
                CheckpointView::of(&state.ctx, &state.evidence, checkpoint).await?,
            )),
            None => Err(ApiError::not_found(format!(
                "this node signed no checkpoint at size {size}"
            ))),
        };
    }
    match evidence::latest(&state.ctx).await.map_err(evidence_error)? {
        Some(checkpoint) => Ok(Json(
            CheckpointView::of(&state.ctx, &state.evidence, checkpoint).await?,
        )),
        None => Err(ApiError::not_found(
            "this node has signed no checkpoint yet; POST /api/v1/evidence/checkpoint signs one",
        )),
    }
}

/// `?index=N&size=M` or `?from=M&to=N`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofQuery {
    index: Option<u64>,
    size: Option<u64>,
    from: Option<u64>,
    to: Option<u64>,
}

/// An inclusion or a consistency proof.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ProofView {
    Inclusion {
        index: u64,
        size: u64,
        /// The leaf's bytes, hex, and what they say.
        leaf: LeafView,
        /// The root of the tree of `size` leaves, hex.
        root: String,
        proof: Vec<String>,
    },
    Consistency {
        from: u64,
        to: u64,
        from_root: String,
        to_root: String,
        proof: Vec<String>,
    },
}

/// One leaf.
#[derive(Debug, Serialize)]
struct LeafView {
    index: u64,
    /// `SHA-256(0x00 ‖ data)`, hex.
    hash: String,
    /// The leaf's bytes, hex (format in docs/evidence.md).
    data: String,
    /// When this node took the fact, and the fact.
    #[serde(flatten)]
    decoded: EvidenceLeaf,
}

impl TryFrom<StoredLeaf> for LeafView {
    type Error = ApiError;

    fn try_from(stored: StoredLeaf) -> Result<Self, ApiError> {
        let decoded = stored
            .leaf()
            .map_err(|e| ApiError::store(&e, "reading the evidence log"))?;
        Ok(LeafView {
            index: stored.index,
            hash: hex::encode(stored.hash),
            data: hex::encode(&stored.data),
            decoded,
        })
    }
}

fn hex_all(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

async fn proof(
    State(state): State<ApiState>,
    Query(query): Query<ProofQuery>,
) -> Result<Json<ProofView>, ApiError> {
    let size = state.ctx.store.call(|store| store.evidence_size()).await?;
    let beyond = |asked: u64| {
        ApiError::bad_request(format!(
            "the log holds {size} leaves; no proof reaches size {asked}"
        ))
    };
    match query {
        ProofQuery {
            index: Some(index),
            size: Some(tree_size),
            from: None,
            to: None,
        } => {
            if tree_size > size {
                return Err(beyond(tree_size));
            }
            if index >= tree_size {
                return Err(ApiError::bad_request(format!(
                    "leaf {index} is not in a tree of {tree_size} leaves"
                )));
            }
            inclusion(state.ctx.clone(), index, tree_size)
                .await
                .map(Json)
        }
        ProofQuery {
            index: None,
            size: None,
            from: Some(from),
            to: Some(to),
        } => {
            if to > size {
                return Err(beyond(to));
            }
            if from > to {
                return Err(ApiError::bad_request(format!(
                    "from ({from}) must not be past to ({to})"
                )));
            }
            consistency(state.ctx.clone(), from, to).await.map(Json)
        }
        _ => Err(ApiError::bad_request(
            "ask for ?index=N&size=M (inclusion) or ?from=M&to=N (consistency)",
        )),
    }
}

async fn inclusion(ctx: Arc<NodeContext>, index: u64, size: u64) -> Result<ProofView, ApiError> {
    let (hashes, leaf) = ctx
        .store
        .call(move |store| Ok((store.evidence_hashes(0..size)?, store.evidence_leaf(index)?)))
        .await?;
    let leaf = leaf.ok_or_else(|| ApiError::not_found(format!("no leaf {index}")))?;
    let proof = tlog::inclusion_proof(&hashes, index)
        .map_err(|e| ApiError::internal(format!("cannot prove leaf {index}: {e}")))?;
    Ok(ProofView::Inclusion {
        index,
        size,
        leaf: leaf.try_into()?,
        root: hex::encode(tlog::root(&hashes)),
        proof: hex_all(&proof),
    })
}

async fn consistency(ctx: Arc<NodeContext>, from: u64, to: u64) -> Result<ProofView, ApiError> {
    let hashes = ctx
        .store
        .call(move |store| store.evidence_hashes(0..to))
        .await?;
    let proof = tlog::consistency_proof(&hashes, from)
        .map_err(|e| ApiError::internal(format!("cannot prove {from} to {to}: {e}")))?;
    let from_len = usize::try_from(from)
        .unwrap_or(usize::MAX)
        .min(hashes.len());
    Ok(ProofView::Consistency {
        from,
        to,
        from_root: hex::encode(tlog::root(&hashes[..from_len])),
        to_root: hex::encode(tlog::root(&hashes)),
        proof: hex_all(&proof),
    })
}

/// `?from=N&limit=L`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeavesQuery {
    #[serde(default)]
    from: u64,
    limit: Option<usize>,
}

/// One page of leaves.
#[derive(Debug, Serialize)]
struct LeavesPage {
    /// The log's size now.
    size: u64,
    leaves: Vec<LeafView>,
}

async fn leaves(
    State(state): State<ApiState>,
    Query(query): Query<LeavesQuery>,
) -> Result<Json<LeavesPage>, ApiError> {
    let limit = query.limit.unwrap_or(MAX_LEAVES_PAGE).min(MAX_LEAVES_PAGE);
    let from = query.from;
    let (size, stored) = state
        .ctx
        .store
        .call(move |store| Ok((store.evidence_size()?, store.evidence_leaves(from, limit)?)))
        .await?;
    let leaves = stored
        .into_iter()
        .map(LeafView::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Json(LeavesPage { size, leaves }))
}

/// `GET /api/v1/packages/{id}/evidence`: the `.asice` evidence bundle of a package this
/// node sent or received.
pub(super) async fn bundle(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = super::packages::parse_id(&id)?;
    let bytes = evidence::bundle::export(&state.ctx, &state.evidence, id)
        .await
        .map_err(|error| match error {
            ExportError::NotFound(_) | ExportError::NotLogged(_) => {
                ApiError::not_found(error.to_string())
            }
            ExportError::Store(e) => ApiError::store(&e, "reading the package's evidence"),
            ExportError::Evidence(e) => evidence_error(e),
            other => ApiError::internal(other.to_string()),
        })?;
    Ok((
        [
            (header::CONTENT_TYPE, MIMETYPE.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{id}.asice\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
