//! Federations of real `lienthong` processes on loopback, each with its own data directory,
//! logs kept and shown when a test fails. Used by the end-to-end tests and the benchmarks.
//!
//! Every wait is on an observable condition with a deadline ([`wait_for`]); nothing sleeps
//! blindly. Processes are stopped when their [`ProcessNode`] is dropped.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use lienthong_node::roster::federation::DaemonInfo;
use serde_json::Value;

/// The `lienthong` binary: `LIENTHONG_BIN`, or the one built beside the running program
/// (`target/<profile>/lienthong` for `lienthong-sim` and for tests in `target/<profile>/deps`).
pub fn lienthong_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("LIENTHONG_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("executable path");
    let here = exe.parent().expect("executable dir");
    let candidates = [
        here.join("lienthong"),
        here.parent()
            .map(|p| p.join("lienthong"))
            .unwrap_or_default(),
    ];
    match candidates.iter().find(|c| c.is_file()) {
        Some(bin) => bin.clone(),
        None => panic!(
            "the lienthong binary is missing beside {}: build it first with `cargo build -p lienthong-node --bins` (or set LIENTHONG_BIN)",
            exe.display()
        ),
    }
}

/// The real edXML samples: `LIENTHONG_SHARED/edxml-samples`, or `../shared` beside the
/// workspace. Missing samples fail the test.
pub fn samples_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = match std::env::var_os("LIENTHONG_SHARED") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("../shared"),
    };
    let dir = shared.join("edxml-samples");
    assert!(
        dir.is_dir(),
        "the shared edXML samples are missing at {}",
        dir.display()
    );
    dir
}

/// The bytes of the real sample `name` (see [`samples_dir`]).
///
/// # Panics
/// When the sample cannot be read: the tests need it.
pub fn sample(name: &str) -> Vec<u8> {
    std::fs::read(samples_dir().join(name)).expect("sample")
}

/// The official sample document `edoc_new.edxml` (DocumentId
/// `000.00.00.G22,2015/09/30,7816/VPCP-TTĐT`, which the official status samples answer),
/// sent from `from` to `to`.
pub fn sample_document(from: &str, to: &str) -> Vec<u8> {
    String::from_utf8(sample("edoc_new.edxml"))
        .expect("UTF-8")
        .replace("000.00.00.A80", from)
        .replace("28.22.H17", to)
        .into_bytes()
}

/// Waits until `check` returns `Some`, polling every 20 ms, for at most `deadline`.
///
/// # Errors
/// When the deadline passes; the message says what was awaited.
pub fn wait_for<T>(
    what: &str,
    deadline: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> anyhow::Result<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if start.elapsed() > deadline {
            bail!("timed out after {deadline:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `lienthong` with arguments and returns its standard output.
///
/// # Errors
/// When it exits unsuccessfully; the error holds its output.
pub fn lienthong(args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(lienthong_bin()).args(args).output()?;
    if !output.status.success() {
        bail!(
            "lienthong {} failed ({}):\n{}{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// A federation in a temporary directory: its authority and its nodes' data directories.
#[derive(Debug)]
pub struct Federation {
    root: tempfile::TempDir,
}

impl Federation {
    /// A new federation with its authority.
    ///
    /// # Errors
    /// When `lienthong federation new` fails.
    pub fn new(name: &str) -> anyhow::Result<Federation> {
        Federation::new_in(&std::env::temp_dir(), name)
    }

    /// A new federation in a new directory inside `parent` (created if missing).
    ///
    /// # Errors
    /// When the directory cannot be made or `lienthong federation new` fails.
    pub fn new_in(parent: &Path, name: &str) -> anyhow::Result<Federation> {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        let root = tempfile::Builder::new()
            .prefix("lienthong-test-")
            .tempdir_in(parent)?;
        let fed = root.path().join("federation");
        lienthong(&["federation", "new", "--dir", path(&fed), "--name", name])?;
        Ok(Federation { root })
    }

    /// The directory holding the authority and every node's data directory.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Keeps the whole directory (authority, data directories, logs) instead of deleting
    /// it when dropped, to look at afterwards; returns where it is.
    pub fn keep(self) -> PathBuf {
        self.root.keep()
    }

    /// The federation directory.
    pub fn dir(&self) -> PathBuf {
        self.root.path().join("federation")
    }

    /// Initialises a node (loopback, ports chosen by the system, no mDNS).
    ///
    /// # Errors
    /// When `lienthong init` fails.
    pub fn init(&self, organ_id: &str, name: &str) -> anyhow::Result<PathBuf> {
        self.init_on(
            organ_id,
            name,
            &["/ip4/127.0.0.1/tcp/0"],
            "127.0.0.1:0",
            "agency",
        )
    }

    /// Initialises a node with its listen addresses, API address and role (`agency` or
    /// `relay`), mDNS off.
    ///
    /// # Errors
    /// When `lienthong init` fails.
    pub fn init_on(
        &self,
        organ_id: &str,
        name: &str,
        listen: &[&str],
        api: &str,
        role: &str,
    ) -> anyhow::Result<PathBuf> {
        let dir = self.root.path().join(organ_id);
        let mut args = vec![
            "init",
            "--data-dir",
            path(&dir),
            "--organ-id",
            organ_id,
            "--name",
            name,
            "--api",
            api,
            "--role",
            role,
            "--no-mdns",
        ];
        for address in listen {
            args.extend(["--listen", address]);
        }
        lienthong(&args)?;
        Ok(dir)
    }

    /// Admits a node (running or not) and installs the roster everywhere.
    ///
    /// # Errors
    /// When `lienthong federation admit` fails.
    pub fn admit(&self, node_dir: &Path) -> anyhow::Result<()> {
        self.admit_with_relays(node_dir, &[])
    }

    /// Admits a node that names `relays` (agency ids) to hold packages for it.
    ///
    /// # Errors
    /// When `lienthong federation admit` fails.
    pub fn admit_with_relays(&self, node_dir: &Path, relays: &[&str]) -> anyhow::Result<()> {
        let dir = self.dir();
        let mut args = vec![
            "federation",
            "admit",
            "--dir",
            path(&dir),
            "--data-dir",
            path(node_dir),
        ];
        for relay in relays {
            args.extend(["--relay", relay]);
        }
        lienthong(&args)?;
        Ok(())
    }

    /// Initialises, starts and admits a node (admitted once running, so the roster records
    /// its bound addresses).
    ///
    /// # Errors
    /// When any step fails.
    pub fn start_node(&self, organ_id: &str, name: &str) -> anyhow::Result<ProcessNode> {
        let dir = self.init(organ_id, name)?;
        let node = ProcessNode::start(&dir)?;
        self.admit(&dir)?;
        Ok(node)
    }

    /// Waits until every node has loaded this authority's current roster (every section at
    /// least as new).
    ///
    /// # Errors
    /// When one has not within 60 s.
    pub fn wait_roster(&self, nodes: &[&ProcessNode]) -> anyhow::Result<()> {
        wait_roster_of(&self.dir(), nodes)
    }

    /// The roster's serial now.
    ///
    /// # Errors
    /// When `lienthong federation show` fails.
    pub fn serial(&self) -> anyhow::Result<u64> {
        let shown: Value = serde_json::from_str(&lienthong(&[
            "federation",
            "show",
            "--dir",
            path(&self.dir()),
            "--json",
        ])?)?;
        shown["roster"]["serial"]
            .as_u64()
            .ok_or_else(|| anyhow!("no serial"))
    }
}

/// The serial of every section of the roster an authority directory holds.
///
/// # Errors
/// When `lienthong federation show` fails.
pub fn roster_version(authority_dir: &Path) -> anyhow::Result<serde_json::Map<String, Value>> {
    let shown: Value = serde_json::from_str(&lienthong(&[
        "federation",
        "show",
        "--dir",
        path(authority_dir),
        "--json",
    ])?)?;
    shown["version"]
        .as_object()
        .cloned()
        .ok_or_else(|| anyhow!("no version"))
}

/// Waits until every node holds every section of `authority_dir`'s roster at least as new.
///
/// # Errors
/// When one does not within 60 s.
pub fn wait_roster_of(authority_dir: &Path, nodes: &[&ProcessNode]) -> anyhow::Result<()> {
    let wanted = roster_version(authority_dir)?;
    for node in nodes {
        wait_for(
            &format!("{} to load roster {wanted:?}", node.info().organ_id),
            Duration::from_secs(60),
            || {
                let health = node.get_json("/health").ok()?;
                let have = health["roster_version"].as_object()?;
                wanted
                    .iter()
                    .all(|(key, serial)| have.get(key).and_then(Value::as_u64) >= serial.as_u64())
                    .then_some(())
            },
        )?;
    }
    Ok(())
}

/// Sets one key of a node's `config.toml` (as `lienthong init` wrote it: one `key = value`
/// line per key), e.g. `configure(dir, "retry_max", "\"2s\"")`. For keys whose name is
/// unique in the file.
///
/// # Errors
/// When the file cannot be read or written, or has no such key.
pub fn configure(dir: &Path, key: &str, value: &str) -> anyhow::Result<()> {
    rewrite_key(dir, None, key, value)
}

/// Sets `key` inside `[section]` of a node's `config.toml`, for keys whose name other
/// sections share (`enabled`, `address`), e.g. `configure_section(dir, "email", "enabled",
/// "true")`.
///
/// # Errors
/// When the file cannot be read or written, or the section has no such key.
pub fn configure_section(dir: &Path, section: &str, key: &str, value: &str) -> anyhow::Result<()> {
    rewrite_key(dir, Some(section), key, value)
}

/// Rewrites the first `key = …` line of `config.toml`, inside `[section]` when one is
/// named.
fn rewrite_key(dir: &Path, section: Option<&str>, key: &str, value: &str) -> anyhow::Result<()> {
    let file = dir.join("config.toml");
    let text = std::fs::read_to_string(&file)?;
    let header = section.map(|s| format!("[{s}]"));
    let prefix = format!("{key} = ");
    let (mut inside, mut found) = (header.is_none(), false);
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if let Some(header) = &header
                && line.starts_with('[')
            {
                inside = line.trim() == header;
            }
            if inside && !found && line.starts_with(&prefix) {
                found = true;
                format!("{prefix}{value}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    if !found {
        match section {
            Some(section) => bail!("{} has no key {key} in [{section}]", file.display()),
            None => bail!("{} has no key {key}", file.display()),
        }
    }
    std::fs::write(&file, lines.join("\n") + "\n")?;
    Ok(())
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp paths")
}

/// The log filter of nodes started without one: `RUST_LOG`, or the node's debug lines.
fn default_filter() -> String {
    std::env::var("RUST_LOG")
        .unwrap_or_else(|_| "info,lienthong_node=debug,lienthong=debug".to_owned())
}

/// How `lienthong run` is started: in a network namespace, under an open-file limit.
#[derive(Debug, Default, Clone, Copy)]
struct Launch<'a> {
    netns: Option<&'a str>,
    open_files: Option<u64>,
    /// Extra environment variables (a crash point of the kill -9 tests).
    env: &'a [(&'a str, &'a str)],
}

/// The allocator settings of the shipped systemd unit (`deploy/lienthong.service`), so that
/// nodes here use memory as deployed ones do; the caller's own `GLIBC_TUNABLES` wins.
fn glibc_tunables() -> String {
    std::env::var("GLIBC_TUNABLES")
        .unwrap_or_else(|_| "glibc.malloc.mmap_threshold=524288".to_owned())
}

/// A `lienthong run` process.
#[derive(Debug)]
pub struct ProcessNode {
    child: Option<Child>,
    dir: PathBuf,
    log: PathBuf,
    info: DaemonInfo,
    token: String,
}

impl ProcessNode {
    /// Starts the daemon of `dir` and waits until it has written its `daemon.json`.
    ///
    /// # Errors
    /// When it exits or does not become ready in 30 s; the error holds its log.
    pub fn start(dir: &Path) -> anyhow::Result<ProcessNode> {
        ProcessNode::start_in(dir, None)
    }

    /// Starts the daemon with a log filter (`RUST_LOG` syntax).
    ///
    /// # Errors
    /// When it exits or does not become ready in 30 s; the error holds its log.
    pub fn start_with_log(dir: &Path, filter: &str) -> anyhow::Result<ProcessNode> {
        ProcessNode::spawn(dir, filter, Launch::default())
    }

    /// [`ProcessNode::start_with_log`] with extra environment variables.
    ///
    /// # Errors
    /// When it exits or does not become ready in 30 s; the error holds its log.
    pub fn start_with_log_and_env(
        dir: &Path,
        filter: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<ProcessNode> {
        let launch = Launch {
            env,
            ..Launch::default()
        };
        ProcessNode::spawn(dir, filter, launch)
    }

    /// Starts the daemon under an open-file limit of `open_files`, soft and hard alike so
    /// that it cannot raise it (`prlimit --nofile=N:N`, util-linux).
    ///
    /// # Errors
    /// When it exits or does not become ready in 30 s; the error holds its log.
    pub fn start_with_open_files(dir: &Path, open_files: u64) -> anyhow::Result<ProcessNode> {
        let launch = Launch {
            open_files: Some(open_files),
            ..Launch::default()
        };
        ProcessNode::spawn(dir, &default_filter(), launch)
    }

    /// Starts the daemon inside a network namespace (`ip netns exec`), or on this
    /// machine's own network when `netns` is `None`.
    ///
    /// # Errors
    /// When it exits or does not become ready in 30 s; the error holds its log.
    pub fn start_in(dir: &Path, netns: Option<&str>) -> anyhow::Result<ProcessNode> {
        let launch = Launch {
            netns,
            ..Launch::default()
        };
        ProcessNode::spawn(dir, &default_filter(), launch)
    }

    /// Starts a node with extra environment variables, e.g. a crash point
    /// (`LIENTHONG_CRASH_AT`).
    ///
    /// # Errors
    /// When it exits or does not become ready in 30 s; the error holds its log.
    pub fn start_with_env(dir: &Path, env: &[(&str, &str)]) -> anyhow::Result<ProcessNode> {
        let launch = Launch {
            env,
            ..Launch::default()
        };
        ProcessNode::spawn(dir, &default_filter(), launch)
    }

    /// [`ProcessNode::start_in`] with a log filter (`RUST_LOG` syntax).
    ///
    /// # Errors
    /// When it exits or does not become ready in 30 s; the error holds its log.
    pub fn start_in_with_log(
        dir: &Path,
        netns: Option<&str>,
        filter: &str,
    ) -> anyhow::Result<ProcessNode> {
        let launch = Launch {
            netns,
            ..Launch::default()
        };
        ProcessNode::spawn(dir, filter, launch)
    }

    fn spawn(dir: &Path, filter: &str, launch: Launch<'_>) -> anyhow::Result<ProcessNode> {
        let daemon = dir.join("daemon.json");
        let _ = std::fs::remove_file(&daemon);
        let log = dir.join("node.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        // `ip netns exec` and `prlimit` set up and exec the daemon, so the child's pid is the
        // daemon's.
        let mut words: Vec<std::ffi::OsString> = Vec::new();
        if let Some(netns) = launch.netns {
            words.extend(["ip", "netns", "exec", netns].map(Into::into));
        }
        if let Some(n) = launch.open_files {
            words.extend(
                [
                    "prlimit".to_owned(),
                    format!("--nofile={n}:{n}"),
                    "--".to_owned(),
                ]
                .map(Into::into),
            );
        }
        words.push(lienthong_bin().into());
        let mut command = Command::new(&words[0]);
        command.args(&words[1..]);
        let child = command
            .args(["run", "--data-dir", path(dir)])
            .env("RUST_LOG", filter)
            .env("GLIBC_TUNABLES", glibc_tunables())
            .envs(launch.env.iter().copied())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .stdin(Stdio::null())
            .spawn()
            .context("starting lienthong run")?;
        let pid = child.id();
        let mut node = ProcessNode {
            child: Some(child),
            dir: dir.to_path_buf(),
            log,
            info: DaemonInfo {
                organ_id: "000.00.00.H99".parse()?,
                peer_id: String::new(),
                listen_addrs: Vec::new(),
                api_addr: String::new(),
                pid,
            },
            token: std::fs::read_to_string(dir.join("api.token"))?
                .trim()
                .to_owned(),
        };
        let info = wait_for("daemon.json", Duration::from_secs(30), || {
            if let Some(child) = node.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Some(Err(anyhow!("lienthong run exited early ({status})")));
            }
            let text = std::fs::read(&daemon).ok()?;
            let info: DaemonInfo = serde_json::from_slice(&text).ok()?;
            (info.pid == pid).then_some(Ok(info))
        })
        .and_then(|r| r)
        .map_err(|e| anyhow!("{e}\n--- node log ---\n{}", node.log_text()))?;
        node.info = info;
        Ok(node)
    }

    /// What the daemon published.
    pub fn info(&self) -> &DaemonInfo {
        &self.info
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The node's log so far.
    pub fn log_text(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.info.api_addr)
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into()
    }

    /// Has the node sign a checkpoint of its evidence log now (or answer the latest, when
    /// the log has not grown); returns its size.
    ///
    /// # Errors
    /// When the API cannot be reached or does not answer a checkpoint.
    pub fn take_checkpoint(&self) -> anyhow::Result<u64> {
        let (status, body) = self.post("/api/v1/evidence/checkpoint", b"")?;
        if status != 200 {
            bail!("checkpoint: {status} {}", String::from_utf8_lossy(&body));
        }
        let answer: Value = serde_json::from_slice(&body)?;
        answer["size"]
            .as_u64()
            .ok_or_else(|| anyhow!("no size: {answer}"))
    }

    /// POSTs to the API with the node's token; returns status and body.
    ///
    /// # Errors
    /// When the API cannot be reached.
    pub fn post(&self, path: &str, body: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
        self.post_with_token(path, body, &self.token.clone())
    }

    /// POSTs with a given token.
    ///
    /// # Errors
    /// When the API cannot be reached.
    pub fn post_with_token(
        &self,
        path: &str,
        body: &[u8],
        token: &str,
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut response = Self::agent()
            .post(self.url(path))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/xml")
            .send(body)?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()?;
        Ok((status, body))
    }

    /// GETs from the API with the node's token; returns status and body.
    ///
    /// # Errors
    /// When the API cannot be reached.
    pub fn get(&self, path: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut response = Self::agent()
            .get(self.url(path))
            .header("Authorization", format!("Bearer {}", self.token))
            .call()?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()?;
        Ok((status, body))
    }

    /// GETs JSON, failing on a non-2xx status.
    ///
    /// # Errors
    /// On transport errors, a non-2xx status or bad JSON.
    pub fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let (status, body) = self.get(path)?;
        if !(200..300).contains(&status) {
            bail!("GET {path}: {status} {}", String::from_utf8_lossy(&body));
        }
        Ok(serde_json::from_slice(&body)?)
    }

    /// Submits edXML and returns the package id.
    ///
    /// # Errors
    /// When the node does not answer 202.
    pub fn submit(&self, edxml: &[u8]) -> anyhow::Result<String> {
        let (status, body) = self.post("/api/v1/packages", edxml)?;
        if status != 202 {
            bail!("submit: {status} {}", String::from_utf8_lossy(&body));
        }
        let answer: Value = serde_json::from_slice(&body)?;
        Ok(answer["package_id"]
            .as_str()
            .ok_or_else(|| anyhow!("no package_id"))?
            .to_owned())
    }

    /// The state of one recipient of a sent package (`queued`, `delivered`, …).
    ///
    /// # Errors
    /// When the status cannot be read or names no such recipient.
    pub fn recipient_state(
        &self,
        package: &str,
        recipient: &str,
    ) -> anyhow::Result<(String, Vec<String>)> {
        let status = self.get_json(&format!("/api/v1/packages/{package}/status"))?;
        let r = status["recipients"]
            .as_array()
            .and_then(|all| all.iter().find(|r| r["organ_id"] == recipient))
            .ok_or_else(|| anyhow!("{recipient} is not a recipient of {package}"))?;
        let codes = r["receipts"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|x| x["code"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok((r["state"].as_str().unwrap_or_default().to_owned(), codes))
    }

    /// Waits until `recipient` has `state`.
    ///
    /// # Errors
    /// On timeout, with the node's log.
    pub fn wait_state(
        &self,
        package: &str,
        recipient: &str,
        state: &str,
        deadline: Duration,
    ) -> anyhow::Result<Vec<String>> {
        wait_for(
            &format!("{package} to be {state} at {recipient}"),
            deadline,
            || match self.recipient_state(package, recipient) {
                Ok((s, codes)) if s == state => Some(codes),
                _ => None,
            },
        )
        .map_err(|e| anyhow!("{e}\n--- sender log ---\n{}", tail(&self.log_text())))
    }

    /// The inbox (unacknowledged) as JSON entries.
    ///
    /// # Errors
    /// When it cannot be read.
    pub fn inbox(&self) -> anyhow::Result<Vec<Value>> {
        Ok(self
            .get_json("/api/v1/inbox?all=true")?
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// How the process ended, when it has ended by itself (not through [`ProcessNode::kill9`]
    /// or [`ProcessNode::terminate`]); `None` while it runs.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Sends SIGKILL and waits for the process to be gone: a crash.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits up to 30 s for a clean exit; returns whether it exited 0.
    ///
    /// # Errors
    /// When it does not stop in time (it is then killed).
    pub fn terminate(&mut self) -> anyhow::Result<bool> {
        let Some(mut child) = self.child.take() else {
            return Ok(true);
        };
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id())?);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)?;
        let status = wait_for("the node to stop", Duration::from_secs(30), || {
            child.try_wait().ok().flatten()
        });
        match status {
            Ok(status) => Ok(status.success()),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }
}

impl Drop for ProcessNode {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- log of {} ---\n{}",
                self.dir.display(),
                tail(&self.log_text())
            );
        }
        let _ = self.terminate();
    }
}

/// The last 200 lines of a log.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(200)..].join("\n")
}
