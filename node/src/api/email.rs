//! `GET /api/v1/email/review`: mail the node set aside for a person (from an address no
//! unit has, or unreadable), with why and where it was moved.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::ApiState;
use super::error::ApiError;
use super::time::rfc3339;
use crate::store::MailReview;
use lienthong_protocol::envelope::Timestamp;

/// One mail set aside.
#[derive(Debug, Serialize)]
pub(crate) struct ReviewView {
    from: String,
    subject: String,
    reason: String,
    #[serde(serialize_with = "rfc3339")]
    set_aside_at: Timestamp,
    folder: String,
}

impl From<MailReview> for ReviewView {
    fn from(r: MailReview) -> Self {
        ReviewView {
            from: r.from_address,
            subject: r.subject,
            reason: r.reason,
            set_aside_at: r.set_aside_at,
            folder: r.folder,
        }
    }
}

/// Oldest first.
pub(super) async fn review(
    State(state): State<ApiState>,
) -> Result<Json<Vec<ReviewView>>, ApiError> {
    let all = state.ctx.store.call(|s| s.mail_review()).await?;
    Ok(Json(all.into_iter().map(ReviewView::from).collect()))
}
