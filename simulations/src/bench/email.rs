//! Today's official channel for documents between agencies that are not on the axis:
//! email. The same 10 KB edXML documents as the direct figures, each sent as a MIME
//! attachment (base64) over SMTP to a local Postfix instance that relays it to a second one
//! delivering into a Maildir, both on loopback (simulations/email/setup-postfix.sh). The
//! figures: messages per second accepted by the first instance until the last one lands in
//! the Maildir, and each message's time from the start of its SMTP transaction to its file
//! appearing in `Maildir/new`.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::limits::percentiles;
use super::{Figure, documents};

/// The sending instance's SMTP listener (setup-postfix.sh).
const SMTP: &str = "127.0.0.1:2525";
/// The receiving instance's Maildir (setup-postfix.sh).
const MAILDIR: &str = "/var/mail/lienthong-bench/nhan";
/// The receiving domain, routed by the sending instance's transport map to the second one.
const TO: &str = "vanthu@nhan.lienthong.test";
/// The sender's address.
const FROM: &str = "vanthu@gui.lienthong.test";
/// Parallel SMTP connections, as a mail server's clients would open.
const CONNECTIONS: usize = 4;
/// How long the last message may take to land.
const DEADLINE: Duration = Duration::from_secs(300);
/// The header carrying a message's number, to match Maildir files to sends.
const HEADER: &str = "X-Lienthong-Bench";

/// What to run when Postfix is not set up.
const SETUP: &str = "set it up with `sudo simulations/email/setup-postfix.sh` (Debian's postfix, \
     two instances on loopback only) and remove it with `sudo simulations/email/setup-postfix.sh teardown`";

/// Sends `count` documents by email and measures them; `direct` is the node figure they
/// stand beside.
///
/// # Errors
/// When Postfix is not set up (the message says how to), or a send fails.
pub(super) fn run(count: usize, direct: Option<&Figure>) -> anyhow::Result<Vec<Figure>> {
    let maildir = Path::new(MAILDIR);
    if !maildir.join("new").is_dir() {
        bail!("no receiving Maildir at {MAILDIR}: {SETUP}");
    }
    TcpStream::connect(SMTP).with_context(|| format!("no SMTP server at {SMTP}: {SETUP}"))?;
    // Earlier runs' messages would be counted as this run's.
    for sub in ["new", "cur", "tmp"] {
        for entry in std::fs::read_dir(maildir.join(sub))?.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let run = format!("{}", std::process::id());
    let bodies: Vec<Vec<u8>> = (0..count)
        .map(|n| {
            let edxml = documents::document("000.00.00.H11", "000.00.11.H11", n, 10 * 1024)?;
            Ok(mime(&run, n, &edxml))
        })
        .collect::<anyhow::Result<_>>()?;
    let bodies = Arc::new(bodies);
    let sent_at: Arc<Mutex<HashMap<usize, Instant>>> = Arc::default();

    let start = Instant::now();
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|w| {
            let bodies = bodies.clone();
            let sent_at = sent_at.clone();
            std::thread::spawn(move || -> anyhow::Result<()> {
                let mut smtp = Smtp::connect(SMTP)?;
                for n in (w..bodies.len()).step_by(CONNECTIONS) {
                    let at = Instant::now();
                    smtp.send(&bodies[n])?;
                    sent_at
                        .lock()
                        .map_err(|_| anyhow::anyhow!("poisoned"))?
                        .insert(n, at);
                }
                smtp.quit()
            })
        })
        .collect();
    let mut landed: HashMap<usize, Instant> = HashMap::new();
    let mut seen: HashMap<PathBuf, ()> = HashMap::new();
    let mut workers = Some(workers);
    while landed.len() < count {
        if let Some(done) = workers.take_if(|ws| ws.iter().all(|w| w.is_finished())) {
            for w in done {
                w.join()
                    .map_err(|_| anyhow::anyhow!("an SMTP client panicked"))??;
            }
        }
        for entry in std::fs::read_dir(maildir.join("new"))?.flatten() {
            let path = entry.path();
            if seen.contains_key(&path) {
                continue;
            }
            let now = Instant::now();
            if let Some(n) = number(&path, &run)? {
                landed.insert(n, now);
            }
            seen.insert(path, ());
        }
        if start.elapsed() > DEADLINE {
            bail!(
                "after {DEADLINE:?}, {} of {count} messages had reached {MAILDIR} (see `postqueue -p` and the mail log)",
                landed.len()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = start.elapsed().as_secs_f64();
    if let Some(workers) = workers {
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("an SMTP client panicked"))??;
        }
    }
    let sent_at = sent_at.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let mut samples: Vec<f64> = landed
        .iter()
        .filter_map(|(n, at)| Some(at.duration_since(*sent_at.get(n)?).as_secs_f64() * 1000.0))
        .collect();
    let (p50, p99) = percentiles(&mut samples);
    Ok(vec![
        Figure::new("email_docs_per_s", count as f64 / elapsed, "docs/s", direct),
        Figure::new("email_delivery_p50_ms", p50, "ms", None),
        Figure::new("email_delivery_p99_ms", p99, "ms", None),
    ])
}

/// The number in a delivered message's bench header, when it is this run's.
fn number(path: &Path, run: &str) -> anyhow::Result<Option<usize>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        // Moved on by something else: not ours to count.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    for line in BufReader::new(file).lines() {
        let line = line?;
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix(&format!("{HEADER}: {run}-")) {
            return Ok(value.trim().parse().ok());
        }
    }
    Ok(None)
}

/// A message as a QLVB would mail a document: a short text part and the edXML attached,
/// base64 in 76-character lines; dot-stuffing is not needed (no line starts with a dot).
fn mime(run: &str, n: usize, edxml: &[u8]) -> Vec<u8> {
    let encoded = base64_simd::STANDARD.encode_to_string(edxml);
    let mut out = format!(
        "From: {FROM}\r\nTo: {TO}\r\nSubject: Van ban so {n}\r\n{HEADER}: {run}-{n}\r\n\
         Message-ID: <{run}.{n}@gui.lienthong.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"ranh-gioi\"\r\n\r\n\
         --ranh-gioi\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Kinh gui van ban kem theo.\r\n\
         --ranh-gioi\r\nContent-Type: application/xml\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"van-ban-{n}.edxml\"\r\n\r\n"
    );
    for line in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push_str("\r\n");
    }
    out.push_str("--ranh-gioi--\r\n");
    out.into_bytes()
}

/// A minimal SMTP client: one connection, one message at a time.
struct Smtp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Smtp {
    fn connect(address: &str) -> anyhow::Result<Smtp> {
        let stream =
            TcpStream::connect(address).with_context(|| format!("connecting to {address}"))?;
        stream.set_nodelay(true)?;
        let mut smtp = Smtp {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        };
        smtp.expect(220)?;
        smtp.command("EHLO gui.lienthong.test", 250)?;
        Ok(smtp)
    }

    /// Reads a (possibly multi-line) reply and checks its code.
    fn expect(&mut self, code: u16) -> anyhow::Result<()> {
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                bail!("the SMTP server closed the connection");
            }
            let got: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            if got != code {
                bail!(
                    "SMTP server answered {:?}, expected {code}",
                    line.trim_end()
                );
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(());
            }
        }
    }

    fn command(&mut self, line: &str, code: u16) -> anyhow::Result<()> {
        self.writer.write_all(format!("{line}\r\n").as_bytes())?;
        self.expect(code)
    }

    fn send(&mut self, message: &[u8]) -> anyhow::Result<()> {
        self.command(&format!("MAIL FROM:<{FROM}>"), 250)?;
        self.command(&format!("RCPT TO:<{TO}>"), 250)?;
        self.command("DATA", 354)?;
        self.writer.write_all(message)?;
        self.command(".", 250)
    }

    fn quit(mut self) -> anyhow::Result<()> {
        self.command("QUIT", 221)
    }
}
