//! `[axis]`: this node as its agency's own client of a national or provincial axis, so
//! that agencies not yet on lienthong still get documents from, and send them to, this
//! agency (`docs/axis-bridge.md`).
//!
//! Not to be confused with `[api.axis]`, where this node *serves* the axis's API to its
//! own QLVB: there the secret is the node's (`axis.secret`); here it is the agency's
//! account on the real axis, the `systemid` and `secret` of its QLVB's
//! `collaboration.properties` (`axis-account.secret`).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The default name of the agency's axis account secret, in the data directory.
pub const AXIS_ACCOUNT_SECRET_FILE: &str = "axis-account.secret";

/// `[axis]`; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AxisBridgeConfig {
    /// Whether this node talks to an axis at all.
    pub enabled: bool,
    /// The axis's `service.endpoint`, e.g. `https://axis.example/vxp`; calls go to
    /// `<endpoint>/<call>`.
    pub endpoint: String,
    /// For an `https://` axis whose certificate is issued by a CA outside the public web
    /// roots (a provincial axis with its own CA, a Vietnamese public CA the web roots do
    /// not carry): a PEM file of the CA certificates to trust instead, relative to the data
    /// directory. Empty: the public web roots (Mozilla's list).
    pub ca_file: PathBuf,
    /// The agency's `systemid` on the axis; empty means its `organ_id`.
    pub system_id: String,
    /// The file holding the agency's axis secret, as text, mode 0600; relative to the data
    /// directory.
    pub secret_file: PathBuf,
    /// How often the axis is asked for documents and statuses addressed to this agency,
    /// and for the statuses of what this node sent through it.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How often the axis's directory (`getAgenciesList`) is fetched again.
    #[serde(with = "humantime_serde")]
    pub directory_refresh: Duration,
    /// How long a connection to the axis may take to open.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// How long one call may take in all (a `sendEdoc` of a large document included).
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

impl Default for AxisBridgeConfig {
    fn default() -> Self {
        AxisBridgeConfig {
            enabled: false,
            endpoint: String::new(),
            ca_file: PathBuf::new(),
            system_id: String::new(),
            secret_file: PathBuf::from(AXIS_ACCOUNT_SECRET_FILE),
            poll_interval: Duration::from_secs(30),
            directory_refresh: Duration::from_secs(3600),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
        }
    }
}

impl AxisBridgeConfig {
    /// What is wrong with the section, if anything.
    pub(super) fn problem(&self) -> Option<String> {
        if !self.enabled {
            return None;
        }
        let endpoint = self.endpoint.trim();
        if endpoint.is_empty() {
            return Some("axis.endpoint is empty while axis.enabled = true".to_owned());
        }
        if !endpoint.starts_with("http://") && !endpoint.starts_with("https://") {
            return Some(format!(
                "axis.endpoint {endpoint:?} must be an http:// or https:// URL"
            ));
        }
        if self.secret_file.as_os_str().is_empty() {
            return Some("axis.secret_file is empty".to_owned());
        }
        let zero = [
            ("poll_interval", self.poll_interval),
            ("directory_refresh", self.directory_refresh),
            ("connect_timeout", self.connect_timeout),
            ("request_timeout", self.request_timeout),
        ];
        zero.iter()
            .find(|(_, d)| d.is_zero())
            .map(|(name, _)| format!("axis.{name} must be above zero"))
    }

    /// The `systemid` this node signs with: [`Self::system_id`], or `organ_id`.
    pub fn system_id_or<'a>(&'a self, organ_id: &'a str) -> &'a str {
        if self.system_id.trim().is_empty() {
            organ_id
        } else {
            self.system_id.trim()
        }
    }

    /// The section as `lienthong init` writes it, every key commented.
    pub(super) fn documented(&self) -> String {
        let d = |duration: &Duration| humantime::format_duration(*duration).to_string();
        format!(
            r#"
[axis]
# Also reach agencies that are not members of the federation through the national (or a
# provincial) axis, as this agency's own client of it: its systemid and secret are those
# of the agency's QLVB's collaboration.properties. See docs/axis-bridge.md.
enabled = {enabled}
# The axis's service.endpoint (https:// or http://; calls go to <endpoint>/<call>).
endpoint = {endpoint:?}
# For an https:// axis with a certificate from a CA outside the public web roots: a PEM
# file of the CA certificates to trust instead; relative to the data directory.
ca_file = {ca:?}
# The agency's systemid on the axis; empty means organ_id.
system_id = {system_id:?}
# The file with the agency's axis secret, as text, mode 0600; relative to the data directory.
secret_file = {secret:?}
# How often to ask the axis for documents and statuses for this agency.
poll_interval = "{poll}"
# How often to fetch the axis's directory of agencies again.
directory_refresh = "{refresh}"
# How long opening a connection to the axis may take.
connect_timeout = "{connect}"
# How long one call to the axis may take in all.
request_timeout = "{request}"
"#,
            enabled = self.enabled,
            endpoint = self.endpoint,
            ca = self.ca_file.display().to_string(),
            system_id = self.system_id,
            secret = self.secret_file.display().to_string(),
            poll = d(&self.poll_interval),
            refresh = d(&self.directory_refresh),
            connect = d(&self.connect_timeout),
            request = d(&self.request_timeout),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enabled_axis_needs_an_http_or_https_endpoint_and_nonzero_times() {
        assert_eq!(AxisBridgeConfig::default().problem(), None);
        let mut config = AxisBridgeConfig {
            enabled: true,
            ..AxisBridgeConfig::default()
        };
        assert!(
            config
                .problem()
                .is_some_and(|p| p.contains("endpoint is empty"))
        );
        config.endpoint = "ftp://axis.example".to_owned();
        assert!(config.problem().is_some_and(|p| p.contains("https://")));
        config.endpoint = "https://axis.example/vxp".to_owned();
        assert_eq!(config.problem(), None);
        config.endpoint = "http://127.0.0.1:8088/vxp".to_owned();
        assert_eq!(config.problem(), None);
        config.poll_interval = Duration::ZERO;
        assert!(
            config
                .problem()
                .is_some_and(|p| p.contains("poll_interval"))
        );
    }

    #[test]
    fn the_system_id_is_the_organ_id_unless_given() {
        let mut config = AxisBridgeConfig::default();
        assert_eq!(config.system_id_or("000.00.01.H53"), "000.00.01.H53");
        config.system_id = " 000.00.09.H53 ".to_owned();
        assert_eq!(config.system_id_or("000.00.01.H53"), "000.00.09.H53");
    }
}
