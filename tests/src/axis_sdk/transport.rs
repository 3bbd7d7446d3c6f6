//! HTTP/1.1 over a raw `TcpStream`, so the bytes on the wire are exactly the SDK's (§2.5).

use std::io::{self, Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use super::SdkError;

/// How long HttpClient waits for `100 Continue` before sending the body anyway (§2.5).
pub(crate) const CONTINUE_WAIT: Duration = Duration::from_secs(3);

/// Where a URL points: what to connect to and what `Host` says.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `Host` as HttpClient writes it: host, and port when the URL has one.
    pub(crate) host_header: String,
    /// `Host` as HttpURLConnection writes it: the port only when not 80.
    pub(crate) host_header_url_connection: String,
    pub(crate) path: String,
}

/// Splits `http://host[:port]/path`; the URL is endpoint + `/op`, plain concatenation (§1).
pub(crate) fn parse_url(url: &str) -> Result<Target, SdkError> {
    let bad = || SdkError::Endpoint(format!("not an http:// URL: {url}"));
    let rest = url
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("http://"))
        .map(|_| &url[7..])
        .ok_or_else(bad)?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(bad)?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    let port_number = match port {
        Some(p) => p.parse::<u16>().map_err(|_| bad())?,
        None => 80,
    };
    let bare_host = if authority.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    Ok(Target {
        host: host.to_owned(),
        port: port_number,
        host_header: authority.to_owned(),
        host_header_url_connection: if port_number == 80 {
            bare_host
        } else {
            format!("{bare_host}:{port_number}")
        },
        path: path.to_owned(),
    })
}

/// Which Java stack writes the request: it decides how header text becomes bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writer {
    /// Apache HttpClient: each UTF-16 unit as its low 8 bits (§2.2).
    HttpClient,
    /// HttpURLConnection: ISO-8859-1, `?` for what it cannot encode.
    UrlConnection,
}

/// One request, ready to write.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: &'static str,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) writer: Writer,
}

impl Request {
    fn head_bytes(&self) -> Vec<u8> {
        let mut text = format!("{} {} HTTP/1.1\r\n", self.method, self.path);
        for (name, value) in &self.headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        text.encode_utf16()
            .map(|u| match self.writer {
                Writer::HttpClient => u as u8,
                Writer::UrlConnection => u8::try_from(u).unwrap_or(b'?'),
            })
            .collect()
    }

    fn expects_continue(&self) -> bool {
        self.headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("Expect") && v.eq_ignore_ascii_case("100-continue")
        })
    }
}

/// What became of `Expect: 100-continue` (§2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectOutcome {
    /// The request had no `Expect` header.
    NoExpect,
    /// The server sent the interim `100 Continue`; the body followed it.
    Continued,
    /// Nothing came within the 3 s wait; the body was sent anyway, as HttpClient does.
    TimedOut,
    /// A final answer came first; as HttpClient does, the body was never sent.
    AnsweredFirst,
}

/// One HTTP exchange as it went over the wire.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    pub(crate) request: Vec<u8>,
    pub(crate) head_len: usize,
    pub(crate) expect: ExpectOutcome,
    pub(crate) interim: Vec<u16>,
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

/// A connection the SDK left open, with whatever arrived after the answer.
#[derive(Debug)]
pub(crate) struct Conn {
    stream: TcpStream,
    leftover: Vec<u8>,
}

/// What the server did with a connection the SDK left open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerState {
    /// Still open and silent within the wait.
    Open,
    /// The server closed it (EOF).
    Closed,
    /// The server reset it.
    Reset,
    /// The server sent more bytes after its answer.
    Sent(Vec<u8>),
}

impl Conn {
    /// Reads with `wait` as a deadline and says what the peer did.
    pub(crate) fn state(&mut self, wait: Duration) -> io::Result<PeerState> {
        if !self.leftover.is_empty() {
            return Ok(PeerState::Sent(std::mem::take(&mut self.leftover)));
        }
        self.stream
            .set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
        let mut buf = [0u8; 4096];
        match self.stream.read(&mut buf) {
            Ok(0) => Ok(PeerState::Closed),
            Ok(n) => Ok(PeerState::Sent(buf[..n].to_vec())),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(PeerState::Open)
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(PeerState::Reset),
            Err(e) => Err(e),
        }
    }
}

/// Opens a new connection (one per call, §2.5), writes the request, reads the answer.
pub(crate) fn exchange(
    target: &Target,
    request: &Request,
    timeout: Duration,
) -> Result<(Raw, Conn), SdkError> {
    let stream = connect(target, timeout)?;
    stream.set_write_timeout(Some(timeout))?;
    let head = request.head_bytes();
    let mut sent = head.clone();
    let mut reader = Reader {
        stream: &stream,
        buf: Vec::new(),
        timeout,
    };
    let mut interim = Vec::new();
    let mut expect = ExpectOutcome::NoExpect;
    let mut early = None;
    (&stream).write_all(&head)?;
    if request.expects_continue() {
        (&stream).flush()?;
        stream.set_read_timeout(Some(CONTINUE_WAIT))?;
        let answered = match reader.fill() {
            Ok(_) => true,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                false
            }
            Err(e) => return Err(e.into()),
        };
        stream.set_read_timeout(Some(timeout))?;
        expect = ExpectOutcome::TimedOut;
        if answered {
            let (status, reason, headers) = reader.head()?;
            if status == 100 {
                interim.push(status);
                expect = ExpectOutcome::Continued;
            } else if status < 200 {
                return Err(SdkError::Http(format!(
                    "unexpected interim answer {status} while waiting for 100 Continue"
                )));
            } else {
                expect = ExpectOutcome::AnsweredFirst;
                early = Some((status, reason, headers));
            }
        }
        if expect != ExpectOutcome::AnsweredFirst {
            (&stream).write_all(&request.body)?;
            sent.extend_from_slice(&request.body);
        }
    } else {
        (&stream).write_all(&request.body)?;
        sent.extend_from_slice(&request.body);
    }
    stream.set_read_timeout(Some(timeout))?;
    let (status, reason, headers) = match early {
        Some(answer) => answer,
        None => loop {
            let (status, reason, headers) = reader.head()?;
            if status >= 200 {
                break (status, reason, headers);
            }
            interim.push(status);
        },
    };
    let body = reader.body(request.method, status, &headers)?;
    let leftover = std::mem::take(&mut reader.buf);
    Ok((
        Raw {
            request: sent,
            head_len: head.len(),
            expect,
            interim,
            status,
            reason,
            headers,
            body,
        },
        Conn { stream, leftover },
    ))
}

fn connect(target: &Target, timeout: Duration) -> Result<TcpStream, SdkError> {
    let mut last = None;
    for addr in (target.host.as_str(), target.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))
        .into())
}

/// Cap on a response head, so a broken server cannot make the reader grow forever.
const MAX_HEAD: usize = 1 << 20;

struct Reader<'a> {
    stream: &'a TcpStream,
    buf: Vec<u8>,
    timeout: Duration,
}

type Head = (u16, String, Vec<(String, String)>);

impl Reader<'_> {
    /// One read into the buffer; `Ok(0)` at EOF.
    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = (&*self.stream).read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    fn fill_or_eof(&mut self, what: &str) -> Result<(), SdkError> {
        match self.fill() {
            Ok(0) => Err(SdkError::Http(format!("connection closed in the {what}"))),
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(SdkError::Http(format!(
                    "no {what} within {:?}",
                    self.timeout
                )))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A line without its CR LF (or bare LF).
    fn line(&mut self) -> Result<Vec<u8>, SdkError> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=i).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(SdkError::Http("answer line too long".to_owned()));
            }
            self.fill_or_eof("answer head")?;
        }
    }

    fn head(&mut self) -> Result<Head, SdkError> {
        let status_line = String::from_utf8_lossy(&self.line()?).into_owned();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let status = parts.next().and_then(|s| s.parse::<u16>().ok());
        let (true, Some(status)) = (version.starts_with("HTTP/"), status) else {
            return Err(SdkError::Http(format!("bad status line {status_line:?}")));
        };
        let reason = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let line = self.line()?;
            if line.is_empty() {
                return Ok((status, reason, headers));
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
    }

    fn take(&mut self, n: usize) -> Result<Vec<u8>, SdkError> {
        while self.buf.len() < n {
            self.fill_or_eof("answer body")?;
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// The body, framed by chunked, Content-Length or the close of the connection.
    fn body(
        &mut self,
        method: &str,
        status: u16,
        headers: &[(String, String)],
    ) -> Result<Vec<u8>, SdkError> {
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        if method == "HEAD" || status == 204 || status == 304 {
            return Ok(Vec::new());
        }
        if header("Transfer-Encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
            let mut body = Vec::new();
            loop {
                let line = String::from_utf8_lossy(&self.line()?).into_owned();
                let size = line.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size, 16)
                    .map_err(|_| SdkError::Http(format!("bad chunk size {line:?}")))?;
                if size == 0 {
                    while !self.line()?.is_empty() {}
                    return Ok(body);
                }
                body.extend(self.take(size)?);
                self.line()?;
            }
        }
        if let Some(length) = header("Content-Length") {
            let length = length
                .parse::<usize>()
                .map_err(|_| SdkError::Http(format!("bad Content-Length {length:?}")))?;
            return self.take(length);
        }
        loop {
            match self.fill() {
                Ok(0) => return Ok(std::mem::take(&mut self.buf)),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(SdkError::Http(format!(
                        "answer without length not closed within {:?}",
                        self.timeout
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
