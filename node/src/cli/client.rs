//! The CLI's side of the local API: finds the running daemon through `DIR/daemon.json`,
//! authenticates with `DIR/api.token`, and turns API errors into readable messages.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use lienthong_node::data_dir::{self, DataDir};
use lienthong_node::roster::federation::{DaemonInfo, read_json};
use serde::de::DeserializeOwned;

use super::progress::Progress;

/// How long `running` waits for a daemon's `/health`: a live daemon answers at once.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

/// A client of one node's API.
#[derive(Debug)]
pub(crate) struct ApiClient {
    base: String,
    token: String,
    agent: ureq::Agent,
}

/// A daemon found running, and what its `/health` said.
#[derive(Debug)]
pub(crate) struct Running {
    /// A client of its API.
    pub(crate) client: ApiClient,
    /// Its `daemon.json`.
    pub(crate) daemon: DaemonInfo,
    /// Its `/health` answer.
    pub(crate) health: serde_json::Value,
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

    /// The daemon of `dir` if one runs: `daemon.json` names it and its API answers
    /// `/health` as that node within a few seconds. `None` when the node is stopped, also
    /// when it was killed and left a stale `daemon.json` behind.
    ///
    /// # Errors
    /// When `daemon.json` names a daemon but the API token cannot be read.
    pub(crate) fn running(dir: &Path) -> anyhow::Result<Option<Running>> {
        let data = DataDir::new(dir);
        let Ok(daemon) = read_json::<DaemonInfo>(&data.daemon()) else {
            return Ok(None);
        };
        let client = ApiClient::for_data_dir(dir)?;
        let answer = client
            .agent
            .get(format!("{}/health", client.base))
            .config()
            .timeout_global(Some(HEALTH_TIMEOUT))
            .build()
            .call();
        let health = match answer {
            // 503 is a running node whose store takes no writes; its health says why.
            Ok(mut response)
                if response.status().is_success()
                    || response.status() == ureq::http::StatusCode::SERVICE_UNAVAILABLE =>
            {
                response
                    .body_mut()
                    .read_to_string()
                    .ok()
                    .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                    .filter(|h| h["peer_id"] == daemon.peer_id.as_str())
            }
            _ => None,
        };
        Ok(health.map(|health| Running {
            client,
            daemon,
            health,
        }))
    }

    /// Writes something the daemon of `dir` can write while it holds the store (a backup,
    /// an archive): through `POST route` with `body` when it runs, else by `stopped`, which
    /// opens the store itself. `None` when the daemon's answer was printed as it came
    /// (`json`), so the caller has nothing left to print.
    ///
    /// # Errors
    /// The daemon refusing or failing, its answer not reading as `T`, or `stopped` failing.
    pub(crate) fn write_through_daemon<T: DeserializeOwned>(
        dir: &Path,
        route: &str,
        body: &serde_json::Value,
        json: bool,
        stopped: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<T>> {
        match ApiClient::running(dir)? {
            Some(running) => {
                let answer: serde_json::Value = running.client.post_request(route, body)?;
                if json {
                    println!("{answer}");
                    return Ok(None);
                }
                Ok(Some(
                    serde_json::from_value(answer).context("reading the node's answer")?,
                ))
            }
            None => stopped().map(Some).with_context(|| {
                format!(
                    "the node of {} is not running, so its store was opened directly",
                    dir.display()
                )
            }),
        }
    }

    /// The API's base URL.
    pub(crate) fn base(&self) -> &str {
        &self.base
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

    /// GET raw bytes, showing progress on the terminal for a large download (see
    /// `progress.rs`; never with `quiet`).
    pub(crate) fn get_bytes(&self, path: &str, quiet: bool) -> anyhow::Result<Vec<u8>> {
        let response = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .call()
            .map_err(|e| anyhow!("cannot reach the node's API at {}: {e}", self.base))?;
        let mut response = Self::check(response)?;
        let total = response.body().content_length();
        let progress = Progress::for_transfer("receiving", total, quiet);
        let mut bytes = Vec::with_capacity(
            total
                .and_then(|t| usize::try_from(t).ok())
                .unwrap_or(0)
                .min(1 << 30),
        );
        progress
            .wrap(response.body_mut().with_config().limit(u64::MAX).reader())
            .read_to_end(&mut bytes)?;
        progress.finish();
        Ok(bytes)
    }

    /// POST a file's bytes as they are read, get JSON back; shows progress on the terminal
    /// for a large upload (never with `quiet`).
    pub(crate) fn upload_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: impl Read,
        len: u64,
        quiet: bool,
    ) -> anyhow::Result<T> {
        let progress = Progress::for_transfer("sending", Some(len), quiet);
        let mut reader = progress.wrap(body);
        let response = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/xml")
            .header("Content-Length", len.to_string())
            .send(ureq::SendBody::from_reader(&mut reader))
            .map_err(|e| anyhow!("cannot reach the node's API at {}: {e}", self.base))?;
        progress.finish();
        let mut response = Self::check(response)?;
        let text = response.body_mut().read_to_string()?;
        Ok(serde_json::from_str(&text)?)
    }

    /// POST a JSON request, get JSON back. No time limit: a backup of a large store takes
    /// as long as it takes.
    pub(crate) fn post_request<T: DeserializeOwned>(
        &self,
        path: &str,
        request: &serde_json::Value,
    ) -> anyhow::Result<T> {
        let response = self
            .agent
            .post(format!("{}{path}", self.base))
            .config()
            .timeout_global(None)
            .build()
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .send(request.to_string())
            .map_err(|e| anyhow!("cannot reach the node's API at {}: {e}", self.base))?;
        let mut response = Self::check(response)?;
        let text = response.body_mut().read_to_string()?;
        Ok(serde_json::from_str(&text)?)
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
