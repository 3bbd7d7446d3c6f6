//! The CLI's side of the local API: finds the running daemon through `DIR/daemon.json`,
//! authenticates with `DIR/api.token`, and turns API errors into readable messages.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use lienthong_node::data_dir::{self, DataDir};
use lienthong_node::federation::{DaemonInfo, read_json};
use serde::de::DeserializeOwned;

/// A client of one node's API.
#[derive(Debug)]
pub(crate) struct ApiClient {
    base: String,
    token: String,
    agent: ureq::Agent,
}

/// The data directory flag shared by the client commands.
#[derive(Debug, clap::Args)]
pub(crate) struct NodeDir {
    /// The node's data directory.
    #[arg(long, env = "LIENTHONG_DATA_DIR", default_value = "lienthong-data")]
    pub(crate) data_dir: PathBuf,
}

impl ApiClient {
    /// Finds the daemon of `dir`.
    pub(crate) fn for_data_dir(dir: &Path) -> anyhow::Result<ApiClient> {
        let data = DataDir::new(dir);
        let daemon: DaemonInfo = read_json(&data.daemon()).with_context(|| {
            format!(
                "is the node running? (lienthong run --data-dir {})",
                dir.display()
            )
        })?;
        let token = data_dir::read_secret(&data.api_token())
            .with_context(|| format!("reading {}", data.api_token().display()))?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(600)))
            .build();
        Ok(ApiClient {
            base: format!("http://{}", daemon.api_addr),
            token: token.trim().to_owned(),
            agent: config.into(),
        })
    }

    fn check(
        response: ureq::http::Response<ureq::Body>,
    ) -> anyhow::Result<ureq::http::Response<ureq::Body>> {
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let mut response = response;
        let body = response.body_mut().read_to_string().unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or(body);
        bail!("the node answered {status}: {message}")
    }

    /// GET a JSON document.
    pub(crate) fn get_json<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let response = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .call()
            .map_err(|e| anyhow!("cannot reach the node's API at {}: {e}", self.base))?;
        let mut response = Self::check(response)?;
        let text = response.body_mut().read_to_string()?;
        Ok(serde_json::from_str(&text)?)
    }

    /// GET raw bytes.
    pub(crate) fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let response = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .call()
            .map_err(|e| anyhow!("cannot reach the node's API at {}: {e}", self.base))?;
        let mut response = Self::check(response)?;
        Ok(response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()?)
    }

    /// POST a body, get JSON back.
    pub(crate) fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &[u8],
    ) -> anyhow::Result<T> {
        let response = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/xml")
            .send(body)
            .map_err(|e| anyhow!("cannot reach the node's API at {}: {e}", self.base))?;
        let mut response = Self::check(response)?;
        let text = response.body_mut().read_to_string()?;
        Ok(serde_json::from_str(&text)?)
    }
}
