//! `lienthong stuck`: documents a recipient has not confirmed by the deadline, or refused,
//! with the reason to act on.

use clap::Args;
use serde_json::Value;

use super::client::{ApiClient, NodeDir};

/// `lienthong stuck …`
#[derive(Debug, Args)]
pub(crate) struct StuckArgs {
    #[command(flatten)]
    node: NodeDir,
    /// JSON: [{"package_id", "document_id", "subject", "recipient", "reason", "deadline",
    /// "attempts", "detail", "relay", "path", "axis_doc_id"}]; reason is
    /// recipient_unreachable, held_at_relay, rejected, or for a recipient reached through
    /// the axis (path "axis") axis_unreachable, refused_by_axis, not_taken_from_axis, or
    /// for a unit on official email (path "email") not_mailed, mail_bounced,
    /// mail_not_confirmed.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: StuckArgs) -> anyhow::Result<()> {
    let client = ApiClient::for_data_dir(&args.node.data_dir)?;
    let stuck: Value = client.get_json("/api/v1/stuck")?;
    if args.json {
        println!("{stuck}");
        return Ok(());
    }
    let list = stuck.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("no stuck documents");
        return Ok(());
    }
    for s in list {
        let reason = match s["reason"].as_str().unwrap_or("?") {
            "recipient_unreachable" => "recipient unreachable".to_owned(),
            "held_at_relay" => format!(
                "held at relay {}",
                s["relay"].as_str().unwrap_or("(unknown)")
            ),
            "rejected" => "rejected (02)".to_owned(),
            "axis_unreachable" => "the axis cannot be reached".to_owned(),
            "refused_by_axis" => "refused by the axis".to_owned(),
            "not_taken_from_axis" => format!(
                "on the axis (DocId {}), not taken by the recipient",
                s["axis_doc_id"].as_str().unwrap_or("?")
            ),
            "not_mailed" => "the agency's mail server has not taken the mail".to_owned(),
            "mail_bounced" => "the mail was returned".to_owned(),
            "mail_not_confirmed" => "mailed, not reported in the unit's mailbox".to_owned(),
            other => other.to_owned(),
        };
        println!(
            "{}  to {:<16} {}  due {}  {}{}",
            s["package_id"].as_str().unwrap_or("?"),
            s["recipient"].as_str().unwrap_or("?"),
            reason,
            s["deadline"].as_str().unwrap_or("?"),
            s["document_id"].as_str().unwrap_or("(no document id)"),
            s["detail"]
                .as_str()
                .map(|d| format!("  ({d})"))
                .unwrap_or_default(),
        );
    }
    Ok(())
}
