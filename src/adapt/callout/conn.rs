//! The connection to the callout server: name lookup on a helper thread, connect, and a
//! buffered stream whose every system call is limited by one deadline.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::http::MAX_HEAD;
use super::url::{Host, Target};
use super::{CalloutError, CalloutOutcome, too_large};

/// The most bytes handed to one `write` or taken from one `read` call, so that each call's
/// own timeout can be cut down to what is left of the deadline.
pub(super) const IO_PIECE: usize = 16 * 1024;
/// The most addresses tried for one host name.
const MAX_ADDRS: usize = 8;
/// The per-call timeout when `CalloutConfig::timeout` is too large to make a deadline of.
const UNBOUNDED_STEP: Duration = Duration::from_secs(3600);

#[derive(Clone, Copy, Debug)]
pub(super) struct Deadline(Option<Instant>);

impl Deadline {
    pub(super) fn after(timeout: Duration) -> Self {
        Deadline(Instant::now().checked_add(timeout))
    }

    /// What is left, or `Timeout` when nothing is.
    pub(super) fn remaining(&self) -> Result<Duration, CalloutError> {
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

pub(super) fn connect(target: &Target, deadline: &Deadline) -> Result<TcpStream, CalloutError> {
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
pub(super) struct Conn {
    stream: TcpStream,
    deadline: Deadline,
    buf: Vec<u8>,
    /// Bytes of `buf` before `start` are consumed. Always `start <= buf.len()`.
    start: usize,
}

impl Conn {
    pub(super) fn new(stream: TcpStream, deadline: Deadline) -> Self {
        Conn {
            stream,
            deadline,
            buf: Vec::new(),
            start: 0,
        }
    }

    pub(super) fn write_all(&mut self, mut data: &[u8]) -> Result<(), CalloutError> {
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

    pub(super) fn avail(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    pub(super) fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.buf.len());
    }

    /// Reads more bytes into the buffer; returns how many (0 at end of stream).
    pub(super) fn fill(&mut self) -> Result<usize, CalloutError> {
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
    pub(super) fn read_line(&mut self, max: usize) -> Result<Vec<u8>, CalloutError> {
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
    pub(super) fn read_into(
        &mut self,
        out: &mut Vec<u8>,
        mut n: usize,
    ) -> Result<(), CalloutError> {
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

    pub(super) fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, CalloutError> {
        let mut out = Vec::with_capacity(n.min(MAX_HEAD));
        self.read_into(&mut out, n)?;
        Ok(out)
    }

    /// Everything up to the end of the stream, at most `limit` bytes.
    pub(super) fn read_to_close(&mut self, limit: usize) -> Result<Vec<u8>, CalloutError> {
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

/// Sends the request, then reads the reply. A server may answer early (an error, or a 204)
/// and close without reading everything; then the reply, not the send error, counts.
pub(super) fn exchange(
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
