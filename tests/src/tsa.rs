//! A real RFC 3161 timestamp authority for the tests: OpenSSL's `openssl ts -reply`
//! behind a small HTTP front on loopback, with its own test CA.
//!
//! [`TestTsa::start`] makes, in a temporary directory, a test CA and a TSA certificate
//! signed by it (extended key usage critical timeStamping), an `openssl ts` config, and
//! serves `POST /` (`application/timestamp-query` in, `application/timestamp-reply` out)
//! on `127.0.0.1:0`, running `openssl ts -reply` once per request. [`TestTsa::stop`] closes
//! the port (the TSA is down) and [`TestTsa::restart`] serves again on the same one.
//!
//! `openssl` missing fails the test that asked for a TSA, loudly: it is never skipped.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context as _, bail};

/// The largest query the front reads.
const MAX_QUERY: usize = 64 * 1024;

/// A timestamp authority on loopback, until dropped.
#[derive(Debug)]
pub struct TestTsa {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    served: Arc<AtomicUsize>,
    server: Option<Server>,
}

#[derive(Debug)]
struct Server {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// Runs `openssl` with `args` in `dir`; fails with its stderr.
fn openssl(dir: &Path, args: &[&str]) -> anyhow::Result<Vec<u8>> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .context(
            "cannot run `openssl`: the timestamp tests need OpenSSL's command line tool \
             (Debian package openssl)",
        )?;
    if !output.status.success() {
        bail!(
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output.stdout)
}

const EXTENSIONS: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[tsa_ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

fn ts_config(dir: &Path) -> String {
    format!(
        "\
[tsa]
default_tsa = tsa_config
[tsa_config]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
other_policies = 1.3.6.1.4.1.99999.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
",
        dir = dir.display()
    )
}

impl TestTsa {
    /// Makes a new test CA and TSA certificate, and serves on a free loopback port.
    ///
    /// # Errors
    /// When `openssl` is missing or fails, or the port cannot be bound.
    pub fn start() -> anyhow::Result<TestTsa> {
        Self::start_with_clock_precision(0)
    }

    /// [`start`](Self::start), with `genTime` written to `digits` decimal places (0 to 6,
    /// OpenSSL's `clock_precision_digits`), as many real authorities write it.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn start_with_clock_precision(digits: u8) -> anyhow::Result<TestTsa> {
        let dir = tempfile::tempdir()?;
        let path = dir.path();
        openssl(path, &["version"])?;
        std::fs::write(path.join("ext.cnf"), EXTENSIONS)?;
        openssl(
            path,
            &[
                "req",
                "-x509",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "30",
                "-config",
                "ext.cnf",
                "-extensions",
                "ca_ext",
                "-subj",
                "/CN=lienthong test TSA CA",
            ],
        )?;
        openssl(
            path,
            &[
                "req",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "tsa.key",
                "-out",
                "tsa.csr",
                "-subj",
                "/O=lienthong tests/CN=lienthong test TSA",
            ],
        )?;
        openssl(
            path,
            &[
                "x509",
                "-req",
                "-in",
                "tsa.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "tsa.pem",
                "-days",
                "30",
                "-extfile",
                "ext.cnf",
                "-extensions",
                "tsa_ext",
            ],
        )?;
        // What an operator configures: the TSA's certificate, then the chain its tokens
        // carry (`certs` in ts.cnf).
        let mut chain = std::fs::read(path.join("tsa.pem"))?;
        chain.extend(std::fs::read(path.join("ca.pem"))?);
        std::fs::write(path.join("tsa-chain.pem"), chain)?;
        let config = format!("{}clock_precision_digits = {digits}\n", ts_config(path));
        std::fs::write(path.join("ts.cnf"), config)?;
        std::fs::write(path.join("serial"), "01\n")?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let served = Arc::new(AtomicUsize::new(0));
        let server = Some(serve(listener, path.to_owned(), served.clone()));
        Ok(TestTsa {
            dir,
            addr,
            served,
            server,
        })
    }

    /// The URL a node posts queries to.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The PEM file of the TSA's certificate followed by the chain its tokens carry, as a
    /// node's `tsa_cert_file` and `lienthong evidence verify --tsa-cert` take it.
    pub fn cert_file(&self) -> PathBuf {
        self.dir.path().join("tsa-chain.pem")
    }

    /// The PEM of the TSA's certificate.
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn cert_pem(&self) -> anyhow::Result<Vec<u8>> {
        Ok(std::fs::read(self.cert_file())?)
    }

    /// Tokens given so far.
    pub fn served(&self) -> usize {
        self.served.load(Ordering::Acquire)
    }

    /// Stops serving: the port is closed and connections are refused.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop.store(true, Ordering::Release);
            // Wakes the accept.
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
            let _ = server.thread.join();
        }
    }

    /// Serves again on the same port.
    ///
    /// # Errors
    /// When the port cannot be bound again.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        if self.server.is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(self.addr)
            .with_context(|| format!("binding the test TSA again on {}", self.addr))?;
        self.server = Some(serve(
            listener,
            self.dir.path().to_owned(),
            self.served.clone(),
        ));
        Ok(())
    }
}

impl Drop for TestTsa {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serves one request at a time (`openssl ts` keeps its serial in a file) until `stop`.
fn serve(listener: TcpListener, dir: PathBuf, served: Arc<AtomicUsize>) -> Server {
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let thread = std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            if stopping.load(Ordering::Acquire) {
                return;
            }
            let Ok(stream) = stream else { continue };
            if let Err(e) = answer(stream, &dir, n) {
                eprintln!("test TSA: {e:#}");
            } else {
                served.fetch_add(1, Ordering::AcqRel);
            }
        }
    });
    Server { stop, thread }
}

/// Reads one HTTP/1.1 POST, replies with `openssl ts -reply` over its body.
fn answer(mut stream: TcpStream, dir: &Path, n: usize) -> anyhow::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    if !request_line.starts_with("POST ") {
        stream.write_all(
            b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        bail!("not a POST: {request_line:?}");
    }
    let mut length = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = Some(value.trim().parse::<usize>()?);
        }
    }
    let length = length.context("no Content-Length")?;
    if length > MAX_QUERY {
        bail!("query of {length} bytes");
    }
    let mut query = vec![0; length];
    reader.read_exact(&mut query)?;
    let query_file = format!("q{n}.tsq");
    let reply_file = format!("r{n}.tsr");
    std::fs::write(dir.join(&query_file), &query)?;
    let reply = openssl(
        dir,
        &[
            "ts",
            "-reply",
            "-queryfile",
            &query_file,
            "-config",
            "ts.cnf",
            "-out",
            &reply_file,
        ],
    )
    .and_then(|_| Ok(std::fs::read(dir.join(&reply_file))?));
    match reply {
        Ok(reply) => {
            stream.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    reply.len()
                )
                .as_bytes(),
            )?;
            stream.write_all(&reply)?;
            Ok(())
        }
        Err(e) => {
            stream.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )?;
            Err(e)
        }
    }
}
