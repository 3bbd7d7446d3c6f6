//! What the axis bridge's tests share: a test axis with two agencies (one also on
//! lienthong, one only on the axis), a node's config turned to it, documents numbered so
//! that each is new, and a submission that waits for the axis's directory.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use lienthong_simulations::axis::{AxisAgency, TestAxis};

use crate::{ProcessNode, samples_dir, wait_for};

/// How long any one step may take.
pub const DEADLINE: Duration = Duration::from_secs(60);
/// On lienthong and on the axis.
pub const TU_PHAP: &str = "000.00.01.H53";
/// Only on the axis.
pub const Y_TE: &str = "000.00.02.H53";
/// On lienthong only.
pub const CONG_THUONG: &str = "000.00.03.H53";
/// Tư pháp's axis account secret.
pub const TU_PHAP_SECRET: &str = "axis-secret-of-tu-phap";
/// Y tế's axis account secret.
pub const Y_TE_SECRET: &str = "axis-secret-of-y-te";
/// The SDK's call JSON for the documents' list.
pub const EDOCS: &str = r#"{"servicetype":"eDoc","messagetype":"edoc"}"#;
/// The SDK's call JSON for the statuses' list.
pub const STATUSES: &str = r#"{"servicetype":"eDoc","messagetype":"status"}"#;

/// A test axis on loopback with Tư pháp and Y tế.
///
/// # Panics
/// When it cannot start.
pub fn test_axis() -> TestAxis {
    let agency = |code: &str, name: &str, secret: &str| AxisAgency {
        code: code.to_owned(),
        name: name.to_owned(),
        secret: secret.to_owned(),
    };
    TestAxis::start(
        "127.0.0.1:0".parse().expect("address"),
        vec![
            agency(TU_PHAP, "Sở Tư pháp", TU_PHAP_SECRET),
            agency(Y_TE, "Sở Y tế", Y_TE_SECRET),
        ],
    )
    .expect("test axis")
}

/// Turns the bridge on in `dir`'s config (Tư pháp's account, polled every second), with
/// the agency's axis secret in a 0600 file.
///
/// # Panics
/// When the data directory cannot be written.
pub fn bridge_to(dir: &Path, axis: &TestAxis) {
    bridge_to_endpoint(dir, &axis.endpoint(), None);
}

/// As [`bridge_to`], to `endpoint`, trusting the CA certificates of `ca_pem` for an
/// `https://` endpoint (written to `axis-ca.pem` and named by `ca_file`).
///
/// # Panics
/// When the data directory cannot be written.
pub fn bridge_to_endpoint(dir: &Path, endpoint: &str, ca_pem: Option<&str>) {
    let secret = dir.join("axis-account.secret");
    std::fs::write(&secret, format!("{TU_PHAP_SECRET}\n")).expect("secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("mode");
    let ca_file = match ca_pem {
        Some(pem) => {
            std::fs::write(dir.join("axis-ca.pem"), pem).expect("CA file");
            "axis-ca.pem"
        }
        None => "",
    };
    let config = dir.join("config.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    let start = text
        .find("\n[axis]\n")
        .expect("init writes an [axis] section");
    let section = format!(
        "\n[axis]\nenabled = true\nendpoint = \"{endpoint}\"\nca_file = \"{ca_file}\"\npoll_interval = \"1s\"\ndirectory_refresh = \"1h\"\nconnect_timeout = \"2s\"\nrequest_timeout = \"5s\"\n"
    );
    std::fs::write(&config, format!("{}{section}", &text[..start])).expect("config");
}

/// A document from Tư pháp to `to` (one or more), numbered `n` so that each is new.
///
/// # Panics
/// When the sample cannot be read.
pub fn document(to: &[&str], n: u32) -> Vec<u8> {
    document_from(TU_PHAP, to, n)
}

/// A document from `from` to `to`, numbered `n`: the sample `edoc_new.edxml` with its
/// agencies, DocumentId and number replaced.
///
/// # Panics
/// When the sample cannot be read.
pub fn document_from(from: &str, to: &[&str], n: u32) -> Vec<u8> {
    let text = std::fs::read_to_string(samples_dir().join("edoc_new.edxml")).expect("sample reads");
    let mut recipients = String::new();
    for code in to {
        recipients.push_str(&format!(
            "<edXML:To>\n          <edXML:OrganId>{code}</edXML:OrganId>\n          <edXML:OrganName>{code}</edXML:OrganName>\n        </edXML:To>\n        "
        ));
    }
    let first = text.find("<edXML:To>").expect("a To");
    let end = text.find("</edXML:To>").expect("a To") + "</edXML:To>".len();
    format!(
        "{}{}{}",
        &text[..first],
        recipients.trim_end(),
        &text[end..]
    )
    .replace("000.00.00.A80", from)
    .replace("74fass22", &format!("{n}"))
    .replace("7816/VPCP", &format!("{n}/VPCP"))
    .into_bytes()
}

/// Submits until the node's axis directory lists the axis-only agency (its first refresh
/// runs at start), then returns the package id.
///
/// # Panics
/// When the directory never routes it within [`DEADLINE`].
pub fn submit_once_routable(node: &ProcessNode, edxml: &[u8]) -> String {
    wait_for(
        "the axis directory to route the recipient",
        DEADLINE,
        || match node.post("/api/v1/packages", edxml) {
            Ok((202, body)) => serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["package_id"].as_str().map(str::to_owned)),
            _ => None,
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", node.log_text()))
}
