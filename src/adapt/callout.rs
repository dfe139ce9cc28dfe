//! The `callout` service: hand the cleartext message to an external adaptation server
//! over ICAP (RFC 3507, RESPMOD) or HTTP POST, and take back its verdict.
//!
//! This module owns the wire protocol only. It never decides policy: the caller maps a
//! failure to the service's `on_failure` (reject, quarantine or pass), and records any
//! modification the server made.
//!
//! Everything the server sends is untrusted: every line, header section, chunk and body is
//! bounded, and the whole exchange (name lookup, connect, send, receive) runs against one
//! deadline, `CalloutConfig::timeout`. Only plain TCP is spoken (no TLS). Logs carry the
//! scheme, host and port, never the URL path (it may hold a token) nor message bytes.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Where and how to call out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalloutConfig {
    /// `icap://host[:port]/service` (RFC 3507 §4.2; default port 1344) or
    /// `http://host[:port]/path`.
    pub url: String,
    /// Whole-exchange timeout (connect + send + receive).
    pub timeout: Duration,
    /// The most bytes accepted back from the server.
    pub max_response: usize,
}

/// What the server said about the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CalloutOutcome {
    /// No change (ICAP 204, or HTTP 204 / 200 with an identical body).
    Unmodified,
    /// The server returned a modified message (the complete new message bytes).
    Modified(Vec<u8>),
    /// The server refuses the message (an ICAP reply encapsulating an HTTP 403/451 page,
    /// or HTTP 403/451), with its reason.
    Blocked(String),
}

/// Why a callout failed (timeouts, refused connections, protocol errors). The caller
/// applies `on_failure`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CalloutError {
    #[error("invalid callout URL {0:?}")]
    BadUrl(String),
    #[error("callout server unreachable: {0}")]
    Connect(String),
    #[error("callout timed out")]
    Timeout,
    #[error("callout protocol error: {0}")]
    Protocol(String),
}

/// The ICAP port when the URL names none (RFC 3507 §4.2).
const ICAP_DEFAULT_PORT: u16 = 1344;
/// The HTTP port when the URL names none.
const HTTP_DEFAULT_PORT: u16 = 80;
/// The most bytes of one header section (the ICAP head, or one encapsulated HTTP head).
const MAX_HEAD: usize = 64 * 1024;
/// The longest single line: a status line, a header field, a chunk-size line.
const MAX_LINE: usize = 8 * 1024;
/// The most header fields in one header section.
const MAX_FIELDS: usize = 256;
/// The most interim (1xx) responses skipped before the final one.
const MAX_INTERIM: usize = 8;
/// The most bytes handed to one `write` or taken from one `read` call, so that each call's
/// own timeout can be cut down to what is left of the deadline.
const IO_PIECE: usize = 16 * 1024;
/// The most bytes of a "blocked" page read to find a reason in it.
const MAX_REASON_BODY: usize = 16 * 1024;
/// The most characters of a reason kept in `Blocked` or in an error.
const MAX_REASON: usize = 200;
/// The most addresses tried for one host name.
const MAX_ADDRS: usize = 8;
/// The per-call timeout when `CalloutConfig::timeout` is too large to make a deadline of.
const UNBOUNDED_STEP: Duration = Duration::from_secs(3600);

/// Sends `message` (a complete RFC 5322 message, CRLF) to the server and returns its verdict.
pub fn call(cfg: &CalloutConfig, message: &[u8]) -> Result<CalloutOutcome, CalloutError> {
    let target = parse_url(&cfg.url)?;
    let deadline = Deadline::after(cfg.timeout);
    let result = connect(&target, &deadline).and_then(|stream| {
        let mut conn = Conn::new(stream, deadline);
        match target.scheme {
            Scheme::Icap => {
                let request = icap_request(&target, message);
                exchange(&mut conn, &request, |c| {
                    icap_reply(c, message, cfg.max_response)
                })
            }
            Scheme::Http => {
                let request = http_request(&target, message);
                exchange(&mut conn, &request, |c| {
                    http_reply(c, message, cfg.max_response)
                })
            }
        }
    });
    match &result {
        Ok(outcome) => tracing::debug!(
            scheme = target.scheme.as_str(),
            host = %target.host,
            port = target.port,
            outcome = outcome_name(outcome),
            "callout answered"
        ),
        Err(err) => tracing::debug!(
            scheme = target.scheme.as_str(),
            host = %target.host,
            port = target.port,
            error = %err,
            "callout failed"
        ),
    }
    result
}

fn outcome_name(outcome: &CalloutOutcome) -> &'static str {
    match outcome {
        CalloutOutcome::Unmodified => "unmodified",
        CalloutOutcome::Modified(_) => "modified",
        CalloutOutcome::Blocked(_) => "blocked",
    }
}

// ---------------------------------------------------------------------------------------
// URL

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Icap,
    Http,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Scheme::Icap => "icap",
            Scheme::Http => "http",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Icap => ICAP_DEFAULT_PORT,
            Scheme::Http => HTTP_DEFAULT_PORT,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Host {
    Ip(IpAddr),
    Name(String),
}

impl std::fmt::Display for Host {
    /// The host as it stands in a URL or a `Host` field: IPv6 literals in brackets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

/// A checked callout URL.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Target {
    scheme: Scheme,
    host: Host,
    port: u16,
    /// Starts with `/`; printable ASCII without spaces; may carry a query.
    path: String,
}

impl Target {
    /// `host:port`, always with the port (RFC 3507 §4.2 request line).
    fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The `Host` field: the port only when it is not the scheme's default.
    fn host_field(&self) -> String {
        if self.port == self.scheme.default_port() {
            self.host.to_string()
        } else {
            self.authority()
        }
    }
}

/// Parses `icap://host[:port]/service` or `http://host[:port]/path`.
fn parse_url(url: &str) -> Result<Target, CalloutError> {
    let bad = || CalloutError::BadUrl(shown_url(url));
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let scheme = if scheme.eq_ignore_ascii_case("icap") {
        Scheme::Icap
    } else if scheme.eq_ignore_ascii_case("http") {
        Scheme::Http
    } else {
        return Err(bad());
    };
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at_checked(split).ok_or_else(bad)?;
    // Credentials in the URL are not supported, and must not end up in an error or a log.
    if authority.contains('@') {
        return Err(bad());
    }
    let (host, port) = if let Some(after) = authority.strip_prefix('[') {
        let (literal, after) = after.split_once(']').ok_or_else(bad)?;
        let ip: Ipv6Addr = literal.parse().map_err(|_| bad())?;
        (Host::Ip(IpAddr::V6(ip)), after)
    } else {
        let split = authority.find(':').unwrap_or(authority.len());
        let (name, after) = authority.split_at_checked(split).ok_or_else(bad)?;
        (parse_host_name(name).ok_or_else(bad)?, after)
    };
    let port = match port.strip_prefix(':') {
        None if port.is_empty() => scheme.default_port(),
        None => return Err(bad()),
        Some(digits) => parse_port(digits).ok_or_else(bad)?,
    };
    let path = if path.is_empty() {
        "/".to_owned()
    } else if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    // No fragments, no spaces or controls: the path goes verbatim into the request line.
    if !path.bytes().all(|b| b.is_ascii_graphic() && b != b'#') {
        return Err(bad());
    }
    Ok(Target {
        scheme,
        host,
        port,
        path,
    })
}

fn parse_host_name(name: &str) -> Option<Host> {
    if let Ok(ip) = name.parse::<Ipv4Addr>() {
        return Some(Host::Ip(IpAddr::V4(ip)));
    }
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    ok.then(|| Host::Name(name.to_owned()))
}

fn parse_port(digits: &str) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u16>().ok().filter(|&p| p != 0)
}

/// The URL as it may appear in an error: no user info, no query (either may hold a
/// secret), no control characters, bounded.
fn shown_url(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let url = match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => {
            format!(
                "{scheme}://***@{}",
                url.get(at.saturating_add(1)..).unwrap_or_default()
            )
        }
        _ => url.to_owned(),
    };
    sanitize(url.as_bytes())
}

// ---------------------------------------------------------------------------------------
// Connection with one deadline

#[derive(Clone, Copy, Debug)]
struct Deadline(Option<Instant>);

impl Deadline {
    fn after(timeout: Duration) -> Self {
        Deadline(Instant::now().checked_add(timeout))
    }

    /// What is left, or `Timeout` when nothing is.
    fn remaining(&self) -> Result<Duration, CalloutError> {
        match self.0 {
            None => Ok(UNBOUNDED_STEP),
            Some(end) => {
                let left = end.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    Err(CalloutError::Timeout)
                } else {
                    Ok(left)
                }
            }
        }
    }
}

fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// An I/O failure once connected: a timeout is a timeout, anything else (reset, broken
/// pipe) means the server broke the exchange off.
fn io_failure(err: &io::Error, doing: &str) -> CalloutError {
    if is_timeout(err) {
        CalloutError::Timeout
    } else {
        CalloutError::Protocol(format!("connection failed while {doing}: {err}"))
    }
}

fn connect(target: &Target, deadline: &Deadline) -> Result<TcpStream, CalloutError> {
    let addrs = resolve(target, deadline)?;
    let mut last: Option<io::Error> = None;
    for addr in addrs {
        let left = deadline.remaining()?;
        match TcpStream::connect_timeout(&addr, left) {
            Ok(stream) => {
                // Only a latency hint; the exchange works without it.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(err) if is_timeout(&err) => return Err(CalloutError::Timeout),
            Err(err) => last = Some(err),
        }
    }
    Err(CalloutError::Connect(match last {
        Some(err) => format!("{}: {err}", target.authority()),
        None => format!("{}: no address", target.authority()),
    }))
}

/// Turns the host into addresses. A name is looked up on a helper thread so that a slow
/// resolver cannot outlast the deadline (the lookup itself cannot be cancelled; the thread
/// ends when the resolver gives up).
fn resolve(target: &Target, deadline: &Deadline) -> Result<Vec<SocketAddr>, CalloutError> {
    let name = match &target.host {
        Host::Ip(ip) => return Ok(vec![SocketAddr::new(*ip, target.port)]),
        Host::Name(name) => name.clone(),
    };
    let port = target.port;
    let (tx, rx) = mpsc::channel();
    let shown = name.clone();
    std::thread::Builder::new()
        .name("callout-resolve".into())
        .spawn(move || {
            let found = (name.as_str(), port)
                .to_socket_addrs()
                .map(|addrs| addrs.take(MAX_ADDRS).collect::<Vec<_>>());
            // The caller may have given up already; then nobody needs the answer.
            let _ = tx.send(found);
        })
        .map_err(|err| CalloutError::Connect(format!("cannot start a name lookup: {err}")))?;
    match rx.recv_timeout(deadline.remaining()?) {
        Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Ok(Ok(_)) => Err(CalloutError::Connect(format!("{shown}: no address"))),
        Ok(Err(err)) => Err(CalloutError::Connect(format!(
            "cannot resolve {shown}: {err}"
        ))),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(CalloutError::Timeout),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(CalloutError::Connect(format!(
            "name lookup for {shown} failed"
        ))),
    }
}

/// A connected stream with a read buffer; every system call is limited by the deadline.
struct Conn {
    stream: TcpStream,
    deadline: Deadline,
    buf: Vec<u8>,
    /// Bytes of `buf` before `start` are consumed. Always `start <= buf.len()`.
    start: usize,
}

impl Conn {
    fn new(stream: TcpStream, deadline: Deadline) -> Self {
        Conn {
            stream,
            deadline,
            buf: Vec::new(),
            start: 0,
        }
    }

    fn write_all(&mut self, mut data: &[u8]) -> Result<(), CalloutError> {
        while !data.is_empty() {
            let left = self.deadline.remaining()?;
            self.stream
                .set_write_timeout(Some(left))
                .map_err(|err| io_failure(&err, "sending"))?;
            let piece = data.get(..IO_PIECE).unwrap_or(data);
            match self.stream.write(piece) {
                Ok(0) => {
                    return Err(CalloutError::Protocol(
                        "connection closed while sending".into(),
                    ));
                }
                Ok(n) => data = data.get(n..).unwrap_or_default(),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(io_failure(&err, "sending")),
            }
        }
        Ok(())
    }

    fn avail(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.buf.len());
    }

    /// Reads more bytes into the buffer; returns how many (0 at end of stream).
    fn fill(&mut self) -> Result<usize, CalloutError> {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start >= IO_PIECE {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let mut scratch = [0u8; IO_PIECE];
        loop {
            let left = self.deadline.remaining()?;
            self.stream
                .set_read_timeout(Some(left))
                .map_err(|err| io_failure(&err, "receiving"))?;
            match self.stream.read(&mut scratch) {
                Ok(n) => {
                    self.buf
                        .extend_from_slice(scratch.get(..n).unwrap_or_default());
                    return Ok(n);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(io_failure(&err, "receiving")),
            }
        }
    }

    /// One line without its LF (and without a CR before it); at most `max` bytes.
    fn read_line(&mut self, max: usize) -> Result<Vec<u8>, CalloutError> {
        let mut scanned = 0;
        loop {
            let avail = self.avail();
            let fresh = avail.get(scanned..).unwrap_or_default();
            if let Some(at) = fresh.iter().position(|&b| b == b'\n') {
                let end = scanned.saturating_add(at);
                if end > max.saturating_add(1) {
                    return Err(CalloutError::Protocol("line too long".into()));
                }
                let mut line = avail.get(..end).unwrap_or_default().to_vec();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.consume(end.saturating_add(1));
                return Ok(line);
            }
            scanned = avail.len();
            if scanned > max.saturating_add(1) {
                return Err(CalloutError::Protocol("line too long".into()));
            }
            if self.fill()? == 0 {
                return Err(CalloutError::Protocol(if self.avail().is_empty() {
                    "connection closed before a complete response".into()
                } else {
                    "connection closed in the middle of a line".into()
                }));
            }
        }
    }

    /// Appends exactly `n` bytes to `out`.
    fn read_into(&mut self, out: &mut Vec<u8>, mut n: usize) -> Result<(), CalloutError> {
        while n > 0 {
            if self.avail().is_empty() && self.fill()? == 0 {
                return Err(CalloutError::Protocol(
                    "connection closed before the announced length".into(),
                ));
            }
            let take = n.min(self.avail().len());
            out.extend_from_slice(self.avail().get(..take).unwrap_or_default());
            self.consume(take);
            n = n.saturating_sub(take);
        }
        Ok(())
    }

    fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, CalloutError> {
        let mut out = Vec::with_capacity(n.min(MAX_HEAD));
        self.read_into(&mut out, n)?;
        Ok(out)
    }

    /// Everything up to the end of the stream, at most `limit` bytes.
    fn read_to_close(&mut self, limit: usize) -> Result<Vec<u8>, CalloutError> {
        loop {
            if self.avail().len() > limit {
                return Err(too_large());
            }
            if self.fill()? == 0 {
                let body = self.avail().to_vec();
                self.consume(body.len());
                return Ok(body);
            }
        }
    }
}

fn too_large() -> CalloutError {
    CalloutError::Protocol("response larger than max_response".into())
}

/// Sends the request, then reads the reply. A server may answer early (an error, or a 204)
/// and close without reading everything; then the reply, not the send error, counts.
fn exchange(
    conn: &mut Conn,
    request: &[u8],
    reply: impl FnOnce(&mut Conn) -> Result<CalloutOutcome, CalloutError>,
) -> Result<CalloutOutcome, CalloutError> {
    match conn.write_all(request) {
        Ok(()) => reply(conn),
        Err(CalloutError::Timeout) => Err(CalloutError::Timeout),
        Err(send_err) => reply(conn).map_err(|_| send_err),
    }
}

// ---------------------------------------------------------------------------------------
// Header sections, shared by ICAP and HTTP

/// A parsed header section: the start line and the fields, in order.
#[derive(Debug)]
struct Head {
    start: String,
    fields: Vec<(String, String)>,
}

impl Head {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a header section from the stream: lines up to the blank one.
fn read_head(conn: &mut Conn) -> Result<Head, CalloutError> {
    let mut lines = Vec::new();
    let mut total: usize = 0;
    loop {
        let line = conn.read_line(MAX_LINE)?;
        total = total.saturating_add(line.len()).saturating_add(2);
        if total > MAX_HEAD {
            return Err(CalloutError::Protocol("header section too large".into()));
        }
        if line.is_empty() {
            break;
        }
        if lines.len() > MAX_FIELDS {
            return Err(CalloutError::Protocol("too many header fields".into()));
        }
        lines.push(line);
    }
    parse_head(lines.iter().map(Vec::as_slice))
}

/// Parses a header section given as one block (an encapsulated HTTP head, RFC 3507
/// §4.4.2): it must end with its blank line, and hold no other blank line.
fn parse_head_block(block: &[u8]) -> Result<Head, CalloutError> {
    let body = block
        .strip_suffix(b"\r\n\r\n")
        .or_else(|| block.strip_suffix(b"\n\n"))
        .ok_or_else(|| {
            CalloutError::Protocol("encapsulated header does not end with a blank line".into())
        })?;
    let lines: Vec<&[u8]> = body
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .collect();
    if lines.len() > MAX_FIELDS.saturating_add(1) {
        return Err(CalloutError::Protocol("too many header fields".into()));
    }
    if lines.iter().any(|line| line.is_empty()) {
        return Err(CalloutError::Protocol(
            "encapsulated header has a stray blank line (wrong offsets?)".into(),
        ));
    }
    parse_head(lines.into_iter())
}

fn parse_head<'a>(mut lines: impl Iterator<Item = &'a [u8]>) -> Result<Head, CalloutError> {
    let start = lines
        .next()
        .ok_or_else(|| CalloutError::Protocol("empty header section".into()))?;
    let start = std::str::from_utf8(start)
        .map_err(|_| CalloutError::Protocol("start line is not text".into()))?
        .to_owned();
    let mut fields = Vec::new();
    for line in lines {
        if line.first().is_some_and(|b| matches!(b, b' ' | b'\t')) {
            return Err(CalloutError::Protocol("folded header field".into()));
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| CalloutError::Protocol("header field without a colon".into()))?;
        let (name, value) = line.split_at_checked(colon).unwrap_or_default();
        let value = value.get(1..).unwrap_or_default();
        if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
            return Err(CalloutError::Protocol("malformed header field name".into()));
        }
        fields.push((
            String::from_utf8_lossy(name).into_owned(),
            String::from_utf8_lossy(value.trim_ascii()).into_owned(),
        ));
    }
    Ok(Head { start, fields })
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    Icap,
    Http,
}

/// `ICAP/1.0 200 OK` or `HTTP/1.1 200 OK` → (200, "OK").
fn parse_status(line: &str, proto: Proto) -> Result<(u16, String), CalloutError> {
    let bad = || {
        CalloutError::Protocol(format!(
            "malformed status line {:?}",
            sanitize(line.as_bytes())
        ))
    };
    let (version, rest) = line.split_once(' ').ok_or_else(bad)?;
    let version_ok = match proto {
        Proto::Icap => version == "ICAP/1.0",
        Proto::Http => version == "HTTP/1.1" || version == "HTTP/1.0",
    };
    if !version_ok {
        return Err(bad());
    }
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let code: u16 = code.parse().map_err(|_| bad())?;
    if !(100..=599).contains(&code) {
        return Err(bad());
    }
    Ok((code, sanitize(reason.as_bytes())))
}

/// Reads the final response head, skipping interim 1xx answers (ICAP 100 Continue, RFC
/// 3507 §4.5; HTTP 100/102/103).
fn read_final_head(conn: &mut Conn, proto: Proto) -> Result<(u16, String, Head), CalloutError> {
    for _ in 0..=MAX_INTERIM {
        let head = read_head(conn)?;
        let (status, reason) = parse_status(&head.start, proto)?;
        if status == 101 {
            return Err(CalloutError::Protocol(
                "server switched protocols unasked".into(),
            ));
        }
        if status >= 200 {
            return Ok((status, reason, head));
        }
    }
    Err(CalloutError::Protocol("too many interim responses".into()))
}

/// Decodes a chunked body (RFC 9112 §7.1; RFC 3507 §4.4), at most `limit` bytes of data.
/// Chunk extensions (`; ieof`, RFC 3507 §4.5) are skipped; trailers are read and dropped.
fn read_chunked(conn: &mut Conn, limit: usize) -> Result<Vec<u8>, CalloutError> {
    let mut body = Vec::new();
    loop {
        let line = conn.read_line(MAX_LINE)?;
        let size = parse_chunk_size(&line)?;
        if size == 0 {
            break;
        }
        if body.len().checked_add(size).is_none_or(|n| n > limit) {
            return Err(too_large());
        }
        conn.read_into(&mut body, size)?;
        if !conn.read_line(0)?.is_empty() {
            return Err(CalloutError::Protocol(
                "chunk data not followed by CRLF".into(),
            ));
        }
    }
    let mut trailer: usize = 0;
    loop {
        let line = conn.read_line(MAX_LINE)?;
        if line.is_empty() {
            return Ok(body);
        }
        trailer = trailer.saturating_add(line.len());
        if trailer > MAX_HEAD {
            return Err(CalloutError::Protocol("chunked trailer too large".into()));
        }
    }
}

/// `1A2b; ieof` → 0x1a2b. Hex digits of either case, at most 16 of them.
fn parse_chunk_size(line: &[u8]) -> Result<usize, CalloutError> {
    let bad = || CalloutError::Protocol("malformed chunk size".into());
    let digits = line.split(|&b| b == b';').next().unwrap_or_default();
    let digits = digits.trim_ascii();
    if digits.is_empty() || digits.len() > 16 {
        return Err(bad());
    }
    let mut size: usize = 0;
    for &b in digits {
        let digit = match b {
            b'0'..=b'9' => b.wrapping_sub(b'0'),
            b'a'..=b'f' => b.wrapping_sub(b'a').wrapping_add(10),
            b'A'..=b'F' => b.wrapping_sub(b'A').wrapping_add(10),
            _ => return Err(bad()),
        };
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(usize::from(digit)))
            .ok_or_else(bad)?;
    }
    Ok(size)
}

/// A reason fit for a verdict or an error: valid text, no control characters, bounded.
fn sanitize(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REASON)
        .collect::<String>()
        .trim()
        .to_owned()
}

fn is_block_status(status: u16) -> bool {
    // 403 Forbidden; 451 Unavailable For Legal Reasons (RFC 7725).
    matches!(status, 403 | 451)
}

/// The reason for a block: an ICAP virus header if any, else the first line of a plain
/// text page, else the HTTP reason phrase.
fn block_reason(icap: Option<&Head>, status: u16, reason: &str, body: Option<&[u8]>) -> String {
    let from_icap = icap.and_then(|head| {
        ["X-Virus-ID", "X-Infection-Found"]
            .iter()
            .find_map(|name| head.get(name))
            .map(|v| sanitize(v.as_bytes()))
            .filter(|v| !v.is_empty())
    });
    let from_body = || {
        body.and_then(|body| {
            body.split(|&b| b == b'\n')
                .map(sanitize)
                .find(|line| !line.is_empty())
                .filter(|line| !line.starts_with('<'))
        })
    };
    from_icap
        .or_else(from_body)
        .or_else(|| (!reason.is_empty()).then(|| reason.to_owned()))
        .unwrap_or_else(|| format!("blocked (HTTP {status})"))
}

/// Compares the returned message with the one sent.
fn verdict_on(body: Vec<u8>, message: &[u8]) -> Result<CalloutOutcome, CalloutError> {
    if body == message {
        Ok(CalloutOutcome::Unmodified)
    } else if body.is_empty() {
        // An empty message is never a sensible modification; treat it as a broken reply.
        Err(CalloutError::Protocol(
            "server returned an empty message".into(),
        ))
    } else {
        Ok(CalloutOutcome::Modified(body))
    }
}

// ---------------------------------------------------------------------------------------
// ICAP (RFC 3507)

/// RESPMOD with the message as the body of an encapsulated `200 OK` HTTP response, after a
/// minimal encapsulated HTTP request header (RFC 3507 §4.9.1). No preview: the whole body
/// goes out at once, chunked (§4.4), and `Allow: 204` lets the server answer "unchanged"
/// (§4.6).
fn icap_request(target: &Target, message: &[u8]) -> Vec<u8> {
    let host = target.host_field();
    let req_hdr = format!("GET /message HTTP/1.1\r\nHost: {host}\r\n\r\n");
    let res_hdr = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: message/rfc822\r\nContent-Length: {}\r\n\r\n",
        message.len()
    );
    let res_hdr_at = req_hdr.len();
    let res_body_at = req_hdr.len().saturating_add(res_hdr.len());
    let mut head = format!(
        "RESPMOD icap://{}{} ICAP/1.0\r\n\
         Host: {host}\r\n\
         Allow: 204\r\n\
         User-Agent: reseal\r\n\
         Encapsulated: req-hdr=0, res-hdr={res_hdr_at}, res-body={res_body_at}\r\n\
         \r\n",
        target.authority(),
        target.path,
    );
    head.push_str(&req_hdr);
    head.push_str(&res_hdr);
    let mut out = Vec::with_capacity(
        head.len()
            .saturating_add(message.len())
            .saturating_add(message.len() / IO_PIECE * 12)
            .saturating_add(32),
    );
    out.extend_from_slice(head.as_bytes());
    for chunk in message.chunks(IO_PIECE) {
        let mut size = String::new();
        let _ = write!(size, "{:x}\r\n", chunk.len());
        out.extend_from_slice(size.as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entity {
    ReqHdr,
    ResHdr,
    ReqBody,
    ResBody,
    NullBody,
    OptBody,
}

impl Entity {
    fn is_body(self) -> bool {
        matches!(
            self,
            Entity::ReqBody | Entity::ResBody | Entity::NullBody | Entity::OptBody
        )
    }
}

/// Parses `Encapsulated: res-hdr=0, res-body=749` (RFC 3507 §4.4.1): offsets start at 0
/// and increase, exactly one body entity (possibly `null-body`) comes last.
fn parse_encapsulated(value: &str) -> Result<Vec<(Entity, usize)>, CalloutError> {
    let bad = |why: &str| CalloutError::Protocol(format!("bad Encapsulated header: {why}"));
    let mut list: Vec<(Entity, usize)> = Vec::new();
    for part in value.split(',') {
        if list.len() >= 4 {
            return Err(bad("too many entities"));
        }
        let (name, offset) = part.trim().split_once('=').ok_or_else(|| bad("no '='"))?;
        let entity = match name.trim().to_ascii_lowercase().as_str() {
            "req-hdr" => Entity::ReqHdr,
            "res-hdr" => Entity::ResHdr,
            "req-body" => Entity::ReqBody,
            "res-body" => Entity::ResBody,
            "null-body" => Entity::NullBody,
            "opt-body" => Entity::OptBody,
            _ => return Err(bad("unknown entity")),
        };
        let offset = offset.trim();
        if offset.is_empty() || offset.len() > 10 || !offset.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("offset is not a number"));
        }
        let offset: usize = offset.parse().map_err(|_| bad("offset is not a number"))?;
        match list.last() {
            None if offset != 0 => return Err(bad("first offset is not 0")),
            Some(&(prev, _)) if prev.is_body() => return Err(bad("entity after the body")),
            Some(&(_, prev)) if offset <= prev => return Err(bad("offsets do not increase")),
            _ => {}
        }
        list.push((entity, offset));
    }
    match list.last() {
        Some(&(entity, _)) if entity.is_body() => Ok(list),
        _ => Err(bad("no body entity")),
    }
}

/// The encapsulated HTTP response head of an ICAP reply, as far as we need it.
struct EncapsulatedHead {
    /// Status and reason of the encapsulated HTTP response; `None` when the reply carries
    /// a body without a response header (then it stands for a 200).
    http: Option<(u16, String)>,
    /// Whether a chunked `res-body` follows (otherwise `null-body`).
    has_body: bool,
}

/// Reads the encapsulated header sections of an ICAP reply, up to where the body starts.
fn read_encapsulated_head(conn: &mut Conn, icap: &Head) -> Result<EncapsulatedHead, CalloutError> {
    let value = icap
        .get("Encapsulated")
        .ok_or_else(|| CalloutError::Protocol("ICAP reply without Encapsulated header".into()))?;
    let list = parse_encapsulated(value)?;
    let mut http = None;
    let mut header_bytes: usize = 0;
    for pair in list.windows(2) {
        let &[(entity, at), (_, next)] = pair else {
            continue;
        };
        let len = next
            .checked_sub(at)
            .ok_or_else(|| CalloutError::Protocol("bad Encapsulated offsets".into()))?;
        header_bytes = header_bytes.saturating_add(len);
        if header_bytes > MAX_HEAD {
            return Err(CalloutError::Protocol(
                "encapsulated header too large".into(),
            ));
        }
        let block = conn.read_exact(len)?;
        match entity {
            // A server may echo the request header; it says nothing about the verdict.
            Entity::ReqHdr => {}
            Entity::ResHdr => {
                let head = parse_head_block(&block)?;
                let (status, reason) = parse_status(&head.start, Proto::Http)?;
                http = Some((status, reason));
            }
            _ => {
                return Err(CalloutError::Protocol(
                    "bad Encapsulated header: body before header".into(),
                ));
            }
        }
    }
    let has_body = match list.last() {
        Some((Entity::ResBody, _)) => true,
        Some((Entity::NullBody, _)) => false,
        _ => {
            return Err(CalloutError::Protocol(
                "RESPMOD reply with a body that is not res-body".into(),
            ));
        }
    };
    Ok(EncapsulatedHead { http, has_body })
}

fn icap_reply(
    conn: &mut Conn,
    message: &[u8],
    max_response: usize,
) -> Result<CalloutOutcome, CalloutError> {
    let (status, reason, head) = read_final_head(conn, Proto::Icap)?;
    match status {
        // RFC 3507 §4.6: no modification needed.
        204 => Ok(CalloutOutcome::Unmodified),
        200 => {
            let encap = read_encapsulated_head(conn, &head)?;
            match &encap.http {
                None | Some((200, _)) => {
                    if !encap.has_body {
                        return Err(CalloutError::Protocol(
                            "ICAP 200 without a message body".into(),
                        ));
                    }
                    verdict_on(read_chunked(conn, max_response)?, message)
                }
                Some((http_status, http_reason)) if is_block_status(*http_status) => Ok(
                    blocked_from_icap(conn, &head, &encap, *http_status, http_reason),
                ),
                Some((http_status, http_reason)) => Err(CalloutError::Protocol(format!(
                    "ICAP 200 encapsulating HTTP {http_status} {http_reason}"
                ))),
            }
        }
        _ => {
            // ICAP error codes are about the ICAP transaction (RFC 3507 §4.3.3), not a
            // verdict on the message: the caller applies `on_failure`. Only an
            // encapsulated HTTP block page is a verdict.
            if head.get("Encapsulated").is_some()
                && let Ok(encap) = read_encapsulated_head(conn, &head)
                && let Some((http_status, http_reason)) = &encap.http
                && is_block_status(*http_status)
            {
                return Ok(blocked_from_icap(
                    conn,
                    &head,
                    &encap,
                    *http_status,
                    http_reason,
                ));
            }
            Err(CalloutError::Protocol(format!(
                "ICAP server answered {status} {reason}"
            )))
        }
    }
}

/// A block page in an ICAP reply: read a bounded part of its body for a reason; a broken
/// page still blocks.
fn blocked_from_icap(
    conn: &mut Conn,
    head: &Head,
    encap: &EncapsulatedHead,
    http_status: u16,
    http_reason: &str,
) -> CalloutOutcome {
    let body = if encap.has_body {
        read_chunked(conn, MAX_REASON_BODY).ok()
    } else {
        None
    };
    CalloutOutcome::Blocked(block_reason(
        Some(head),
        http_status,
        http_reason,
        body.as_deref(),
    ))
}

// ---------------------------------------------------------------------------------------
// HTTP POST

fn http_request(target: &Target, message: &[u8]) -> Vec<u8> {
    let head = format!(
        "POST {} HTTP/1.1\r\n\
         Host: {}\r\n\
         Content-Type: message/rfc822\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\
         User-Agent: reseal\r\n\
         \r\n",
        target.path,
        target.host_field(),
        message.len(),
    );
    let mut out = Vec::with_capacity(head.len().saturating_add(message.len()));
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(message);
    out
}

fn http_reply(
    conn: &mut Conn,
    message: &[u8],
    max_response: usize,
) -> Result<CalloutOutcome, CalloutError> {
    let (status, reason, head) = read_final_head(conn, Proto::Http)?;
    match status {
        204 => Ok(CalloutOutcome::Unmodified),
        200 => verdict_on(read_http_body(conn, &head, max_response)?, message),
        _ if is_block_status(status) => {
            let body = read_http_body(conn, &head, MAX_REASON_BODY).ok();
            Ok(CalloutOutcome::Blocked(block_reason(
                None,
                status,
                &reason,
                body.as_deref(),
            )))
        }
        _ => Err(CalloutError::Protocol(format!(
            "HTTP server answered {status} {reason}"
        ))),
    }
}

/// The body of an HTTP response (RFC 9112 §6.3): chunked, or `Content-Length`, or up to
/// the end of the connection; at most `limit` bytes.
fn read_http_body(conn: &mut Conn, head: &Head, limit: usize) -> Result<Vec<u8>, CalloutError> {
    let codings: Vec<&str> = head
        .all("Transfer-Encoding")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    let lengths: Vec<&str> = head
        .all("Content-Length")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if !codings.is_empty() {
        // Both framings at once is a request-smuggling shape; refuse rather than guess.
        if !lengths.is_empty() {
            return Err(CalloutError::Protocol(
                "both Transfer-Encoding and Content-Length".into(),
            ));
        }
        if codings.len() != 1 || !codings.iter().all(|c| c.eq_ignore_ascii_case("chunked")) {
            return Err(CalloutError::Protocol(
                "unsupported Transfer-Encoding".into(),
            ));
        }
        return read_chunked(conn, limit);
    }
    if let Some(&first) = lengths.first() {
        if lengths.iter().any(|&l| l != first)
            || first.is_empty()
            || first.len() > 19
            || !first.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(CalloutError::Protocol("malformed Content-Length".into()));
        }
        let len: usize = first
            .parse()
            .map_err(|_| CalloutError::Protocol("malformed Content-Length".into()))?;
        if len > limit {
            return Err(too_large());
        }
        return conn.read_exact(len);
    }
    conn.read_to_close(limit)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )]

    use super::*;

    fn target(url: &str) -> Target {
        parse_url(url).unwrap()
    }

    #[test]
    fn icap_url_defaults_to_port_1344() {
        let t = target("icap://scanner.example/avscan");
        assert_eq!(t.scheme, Scheme::Icap);
        assert_eq!(t.host, Host::Name("scanner.example".into()));
        assert_eq!(t.port, 1344);
        assert_eq!(t.path, "/avscan");
        assert_eq!(t.authority(), "scanner.example:1344");
        assert_eq!(t.host_field(), "scanner.example");
    }

    #[test]
    fn http_url_defaults_to_port_80_and_keeps_query() {
        let t = target("HTTP://10.0.0.7/scan?mode=strict");
        assert_eq!(t.scheme, Scheme::Http);
        assert_eq!(t.host, Host::Ip("10.0.0.7".parse().unwrap()));
        assert_eq!(t.port, 80);
        assert_eq!(t.path, "/scan?mode=strict");
        let t = target("http://h:8080");
        assert_eq!((t.port, t.path.as_str()), (8080, "/"));
        assert_eq!(t.host_field(), "h:8080");
        assert_eq!(target("http://h?x=1").path, "/?x=1");
    }

    #[test]
    fn ipv6_literal_urls() {
        let t = target("icap://[::1]:1345/echo");
        assert_eq!(t.host, Host::Ip("::1".parse().unwrap()));
        assert_eq!(t.authority(), "[::1]:1345");
        let t = target("http://[2001:db8::2]/p");
        assert_eq!(t.port, 80);
        assert_eq!(t.host_field(), "[2001:db8::2]");
    }

    #[test]
    fn bad_urls_are_rejected() {
        for url in [
            "",
            "https://h/p",
            "ftp://h/p",
            "icaps://h/p",
            "icap:/h/p",
            "icap://",
            "icap:///svc",
            "icap://h:/svc",
            "icap://h:0/svc",
            "icap://h:65536/svc",
            "icap://h:12a/svc",
            "icap://h x/svc",
            "icap://::1/svc",
            "icap://[::1/svc",
            "icap://[::1]x/svc",
            "icap://[nothost]/svc",
            "http://user:secret@h/p",
            "http://h/p q",
            "http://h/p#frag",
            "http://h/p\r\nX: y",
        ] {
            assert!(
                matches!(parse_url(url), Err(CalloutError::BadUrl(_))),
                "{url:?} accepted"
            );
        }
    }

    #[test]
    fn bad_url_error_hides_credentials_and_query() {
        let err = parse_url("ftp://user:hunter2@h/p?token=s3cret").unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(parse_chunk_size(b"0").unwrap(), 0);
        assert_eq!(parse_chunk_size(b"1a").unwrap(), 26);
        assert_eq!(parse_chunk_size(b"1A").unwrap(), 26);
        assert_eq!(parse_chunk_size(b"FfFf").unwrap(), 0xffff);
        assert_eq!(parse_chunk_size(b"0; ieof").unwrap(), 0);
        assert_eq!(parse_chunk_size(b"10;name=\"v\"").unwrap(), 16);
        assert_eq!(parse_chunk_size(b"10 ").unwrap(), 16);
        for bad in [
            &b""[..],
            b";ieof",
            b"-1",
            b"0x10",
            b"g",
            b"1 2",
            b"10000000000000000",
        ] {
            assert!(parse_chunk_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn encapsulated_header_forms() {
        assert_eq!(
            parse_encapsulated("res-hdr=0, res-body=749").unwrap(),
            vec![(Entity::ResHdr, 0), (Entity::ResBody, 749)]
        );
        assert_eq!(
            parse_encapsulated("null-body=0").unwrap(),
            vec![(Entity::NullBody, 0)]
        );
        assert_eq!(
            parse_encapsulated("req-hdr=0, res-hdr=12, null-body=40").unwrap(),
            vec![
                (Entity::ReqHdr, 0),
                (Entity::ResHdr, 12),
                (Entity::NullBody, 40)
            ]
        );
        for bad in [
            "",
            "res-hdr=0",
            "res-hdr=5, res-body=10",
            "res-hdr=0, res-body=0",
            "res-hdr=0, res-body=-1",
            "res-body=0, res-hdr=10",
            "res-hdr=0, res-body=99999999999",
            "res-hdr=0, foo-body=10",
            "res-hdr=0 res-body=10",
        ] {
            assert!(parse_encapsulated(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            parse_status("ICAP/1.0 204 No Content", Proto::Icap).unwrap(),
            (204, "No Content".into())
        );
        assert_eq!(parse_status("HTTP/1.1 200", Proto::Http).unwrap().0, 200);
        for bad in [
            "ICAP/1.0 20",
            "HTTP/1.1 200 OK",
            "ICAP/2.0 200 OK",
            "ICAP/1.0 2000 x",
        ] {
            assert!(parse_status(bad, Proto::Icap).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn encapsulated_head_block_needs_its_blank_line() {
        let head = parse_head_block(b"HTTP/1.1 403 Forbidden\r\nX-A: b\r\n\r\n").unwrap();
        assert_eq!(head.start, "HTTP/1.1 403 Forbidden");
        assert_eq!(head.get("x-a"), Some("b"));
        assert!(parse_head_block(b"HTTP/1.1 200 OK\r\nX-A: b\r\n").is_err());
        assert!(parse_head_block(b"HTTP/1.1 200 OK\r\n\r\nX-A: b\r\n\r\n").is_err());
    }

    #[test]
    fn reasons_are_sanitized_and_bounded() {
        assert_eq!(sanitize(b"bad\r\nX-Injected: 1"), "bad  X-Injected: 1");
        assert_eq!(sanitize(&[b'a'; 1000]).len(), MAX_REASON);
        assert_eq!(
            block_reason(None, 403, "Forbidden", Some(b"<html>blocked</html>")),
            "Forbidden"
        );
        assert_eq!(
            block_reason(None, 451, "", Some(b"\r\nblocked by policy\r\n")),
            "blocked by policy"
        );
        assert_eq!(block_reason(None, 451, "", None), "blocked (HTTP 451)");
    }

    #[test]
    fn icap_request_offsets_match_the_sections() {
        let t = target("icap://127.0.0.1:1345/echo");
        let req = icap_request(&t, b"Subject: x\r\n\r\nhi\r\n");
        let text = String::from_utf8(req).unwrap();
        let (head, rest) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("RESPMOD icap://127.0.0.1:1345/echo ICAP/1.0\r\n"));
        assert!(head.contains("\r\nAllow: 204"));
        let enc = head
            .lines()
            .find_map(|l| l.strip_prefix("Encapsulated: "))
            .unwrap();
        let list = parse_encapsulated(enc).unwrap();
        assert_eq!(list[0], (Entity::ReqHdr, 0));
        let (_, res_hdr) = list[1];
        let (_, res_body) = list[2];
        assert!(rest[res_hdr..].starts_with("HTTP/1.1 200 OK\r\n"));
        assert_eq!(
            &rest[res_body..],
            "12\r\nSubject: x\r\n\r\nhi\r\n\r\n0\r\n\r\n"
        );
    }
}
