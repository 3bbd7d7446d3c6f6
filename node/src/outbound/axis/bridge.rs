//! The bridge as the node runs it: its client made from `[axis]`, the directory kept
//! fresh, and which recipients go through the axis.
//!
//! A recipient goes through the **federation** when the roster lists it as an active
//! member, **by email** when the roster lists it as a unit on official email and `[email]`
//! is on, through the **axis** when it is not a member but the axis's directory (last
//! `getAgenciesList`, kept in the store) lists it and `[axis]` is on, and is refused at
//! submit otherwise.

use std::time::Duration;

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::Timestamp;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::AxisClient;
use crate::clock;
use crate::context::NodeContext;
use crate::data_dir;
use crate::store::{AxisAgency, Store, StoreError};

/// How a recipient is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A member: through the federation.
    Federation,
    /// Not a member, in the axis's directory: through the axis.
    Axis,
    /// Listed in the roster as a unit on official email: by mail.
    Email,
    /// Neither.
    Unknown,
}

impl Route {
    /// The name the API and reports use: `federation`, `axis`.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Federation => "federation",
            Route::Axis => "axis",
            Route::Email => "email",
            Route::Unknown => "unknown",
        }
    }
}

/// How `recipient` is reached now. Blocking (the store).
///
/// # Errors
/// [`StoreError`] reading the directory.
pub fn route(ctx: &NodeContext, recipient: &OrganId, at: Timestamp) -> Result<Route, StoreError> {
    if let Some(roster) = ctx.roster() {
        if matches!(roster.active(recipient, at), Ok(Some(_))) {
            return Ok(Route::Federation);
        }
        if ctx.config.email.enabled && roster.bundle().roster().email_unit(recipient).is_some() {
            return Ok(Route::Email);
        }
    }
    if ctx.config.axis.enabled && ctx.store.axis_agency(recipient.as_str())?.is_some() {
        return Ok(Route::Axis);
    }
    Ok(Route::Unknown)
}

/// The client `[axis]` describes, or `None` when the bridge is off or its secret does not
/// read (said once, as a warning: the operator must act).
pub fn client(ctx: &NodeContext) -> Option<AxisClient> {
    let config = &ctx.config.axis;
    if !config.enabled {
        return None;
    }
    let secret = match data_dir::read_secret(&config.secret_file) {
        Ok(text) if !text.trim().is_empty() => zeroize::Zeroizing::new(text),
        Ok(_) => {
            warn!(file = %config.secret_file.display(), "the axis bridge is off: the agency's axis secret file is empty");
            return None;
        }
        Err(e) => {
            warn!(file = %config.secret_file.display(), error = %e, "the axis bridge is off: the agency's axis secret cannot be read");
            return None;
        }
    };
    let system_id = config.system_id_or(ctx.organ_id.as_str());
    // A getEdoc of the largest package, base64, with room for the envelope.
    let max_answer = ctx.config.limits.max_package_size.as_u64() / 3 * 4 + 64 * 1024;
    let ca_pem = match data_dir::read_optional(&config.ca_file) {
        Ok(pem) => pem,
        Err(e) => {
            warn!(file = %config.ca_file.display(), error = %e, "the axis bridge is off: the axis's CA file cannot be read");
            return None;
        }
    };
    let client = match AxisClient::with_ca(
        &config.endpoint,
        system_id,
        &secret,
        (config.connect_timeout, config.request_timeout),
        max_answer,
        ca_pem.as_deref(),
    ) {
        Ok(client) => client,
        Err(e) => {
            warn!(file = %config.ca_file.display(), error = %e, "the axis bridge is off: the axis's CA file cannot be used");
            return None;
        }
    };
    info!(endpoint = %config.endpoint, %system_id, "axis bridge on");
    Some(client)
}

/// Fetches the axis's directory into the store now, then every `directory_refresh`
/// (sooner, after a failure: every `poll_interval`), until `shutdown`.
pub async fn keep_directory(
    client: AxisClient,
    store: Store,
    refresh: Duration,
    retry: Duration,
    shutdown: CancellationToken,
) {
    // Said once per run of failures: an axis that cannot be reached (or whose certificate
    // is not trusted) leaves its agencies unroutable until the operator acts or it returns.
    let mut failing = false;
    loop {
        let wait = match refresh_directory(&client, &store).await {
            Ok(count) => {
                if failing {
                    info!(agencies = count, "the axis's directory is fetched again");
                }
                failing = false;
                debug!(agencies = count, "axis directory refreshed");
                refresh
            }
            Err(problem) => {
                // Routing keeps the last directory; only new agencies wait.
                if !failing {
                    warn!(%problem, "the axis's directory cannot be fetched; agencies only on the axis wait for it");
                }
                failing = true;
                debug!(%problem, "axis directory not refreshed");
                retry.min(refresh)
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// One refresh: `getAgenciesList`, then the store's directory replaced whole. An empty
/// answer is kept out: an axis that lists nobody is broken, not empty.
///
/// # Errors
/// Why not, as text.
pub async fn refresh_directory(client: &AxisClient, store: &Store) -> Result<usize, String> {
    let entries = client.agencies().await.map_err(|e| e.to_string())?;
    if entries.is_empty() {
        return Err("the axis listed no agency".to_owned());
    }
    let agencies: Vec<AxisAgency> = entries
        .into_iter()
        .map(|e| AxisAgency {
            code: e.code,
            name: e.name,
        })
        .collect();
    let count = agencies.len();
    store
        .call(move |s| s.replace_axis_directory(&agencies, clock::now()))
        .await
        .map_err(|e| e.to_string())?;
    Ok(count)
}

/// Follows what the axis reports of every send it took whose recipient has not said
/// `done`, every `interval`, until `shutdown`: each change of `receiveStatus` joins the
/// recipient's timeline as the axis's word (`AxisSend::reports`).
pub async fn follow_sends(
    client: AxisClient,
    store: Store,
    interval: Duration,
    shutdown: CancellationToken,
) {
    loop {
        if let Err(problem) = follow_once(&client, &store).await {
            debug!(%problem, "axis statuses not followed this round");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// One round of [`follow_sends`].
///
/// # Errors
/// Why the round stopped, as text.
pub async fn follow_once(client: &AxisClient, store: &Store) -> Result<usize, String> {
    let sends = store
        .call(|s| s.axis_sends())
        .await
        .map_err(|e| e.to_string())?;
    let open = sends
        .into_iter()
        .filter(|s| s.doc_id.is_some() && !s.reports.iter().any(|r| r.status == "done"));
    let mut learned = 0;
    for send in open {
        let Some(doc_id) = send.doc_id.clone() else {
            continue;
        };
        let items = client
            .sent(super::MessageType::Edoc, Some(&doc_id))
            .await
            .map_err(|e| e.to_string())?;
        let Some(item) = items
            .into_iter()
            .find(|i| i.sender_doc_id == doc_id && i.to_code == send.recipient.as_str())
        else {
            continue;
        };
        if item.receive_status.is_empty() {
            continue;
        }
        let report = crate::store::AxisReport {
            status: item.receive_status,
            axis_time: item.received_time,
            learned_at: clock::now(),
        };
        let (package_id, recipient) = (send.package_id, send.recipient.clone());
        let new = store
            .call(move |s| s.axis_report(&package_id, &recipient, &report))
            .await
            .map_err(|e| e.to_string())?;
        if new {
            learned += 1;
            info!(package = %send.package_id, recipient = %send.recipient, %doc_id, "the axis reported a new status of a copy it took");
        }
    }
    Ok(learned)
}
