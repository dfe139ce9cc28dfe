//! HTTP/1.1 message syntax (RFC 9112) for the callout: header sections, read bounded off
//! the stream and parsed by `httparse`; the chunked body framing (also ICAP's, RFC 3507
//! §4.4); and the HTTP POST exchange.
//!
//! The chunked decoder is ours: the one small crate for it, `chunked_transfer` 1.5.0,
//! reads a chunk-size line without a bound, does not read trailers (so not ICAP's
//! `0; ieof` end either) and asserts on its input. The size line itself is parsed by
//! `httparse::parse_chunk_size`; the framing, limits and trailer handling are here.

use super::conn::Conn;
use super::url::Target;
use super::{
    CalloutError, CalloutOutcome, MAX_REASON_BODY, block_reason, is_block_status, sanitize,
    too_large, verdict_on,
};

/// The most bytes of one header section (the ICAP head, or one encapsulated HTTP head).
pub(super) const MAX_HEAD: usize = 64 * 1024;
/// The longest single line: a status line, a header field, a chunk-size line.
const MAX_LINE: usize = 8 * 1024;
/// The most header fields in one header section.
const MAX_FIELDS: usize = 256;
/// The most interim (1xx) responses skipped before the final one.
const MAX_INTERIM: usize = 8;

/// A parsed response head: the status, its reason phrase (sanitized), and the fields in
/// order.
#[derive(Debug)]
pub(super) struct Head {
    pub(super) status: u16,
    pub(super) reason: String,
    pub(super) fields: Vec<(String, String)>,
}

impl Head {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
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

/// Reads a header section off the stream, up to and with its blank line: at most
/// `MAX_LINE` bytes a line, `MAX_FIELDS` fields and `MAX_HEAD` bytes in all. Line ends
/// are given back as CRLF.
pub(super) fn read_head_block(conn: &mut Conn) -> Result<Vec<u8>, CalloutError> {
    let mut block = Vec::new();
    let mut lines: usize = 0;
    loop {
        let line = conn.read_line(MAX_LINE)?;
        if block.len().saturating_add(line.len()).saturating_add(2) > MAX_HEAD {
            return Err(CalloutError::Protocol("header section too large".into()));
        }
        block.extend_from_slice(&line);
        block.extend_from_slice(b"\r\n");
        if line.is_empty() {
            return Ok(block);
        }
        lines = lines.saturating_add(1);
        if lines > MAX_FIELDS.saturating_add(1) {
            return Err(CalloutError::Protocol("too many header fields".into()));
        }
    }
}

fn malformed(what: &str, err: httparse::Error) -> CalloutError {
    CalloutError::Protocol(format!("malformed {what}: {err}"))
}

/// Checks that `httparse` took the whole block: a head that ends early (a stray blank
/// line, e.g. from wrong ICAP offsets) or not at all is refused.
fn whole(what: &str, status: httparse::Status<usize>, len: usize) -> Result<(), CalloutError> {
    match status {
        httparse::Status::Complete(n) if n == len => Ok(()),
        httparse::Status::Complete(_) => Err(CalloutError::Protocol(format!(
            "{what} has a stray blank line (wrong offsets?)"
        ))),
        httparse::Status::Partial => Err(CalloutError::Protocol(format!(
            "{what} does not end with a blank line"
        ))),
    }
}

fn owned_fields(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value.trim_ascii()).into_owned(),
            )
        })
        .collect()
}

/// Parses an HTTP/1.x response head (status line, fields, blank line), given whole.
pub(super) fn parse_http_head(block: &[u8]) -> Result<Head, CalloutError> {
    let mut headers = vec![httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut response = httparse::Response::new(&mut headers);
    let parsed = response
        .parse(block)
        .map_err(|err| malformed("HTTP response head", err))?;
    whole("HTTP response head", parsed, block.len())?;
    let status = response
        .code
        .filter(|code| (100..=599).contains(code))
        .ok_or_else(|| CalloutError::Protocol("HTTP status code out of range".into()))?;
    Ok(Head {
        status,
        reason: sanitize(response.reason.unwrap_or_default().as_bytes()),
        fields: owned_fields(response.headers),
    })
}

/// Parses the header fields of a section after its start line, up to and with the blank
/// line (for ICAP heads, whose status line `httparse` does not read).
pub(super) fn parse_fields(block: &[u8]) -> Result<Vec<(String, String)>, CalloutError> {
    let mut headers = vec![httparse::EMPTY_HEADER; MAX_FIELDS];
    let (parsed, fields) = match httparse::parse_headers(block, &mut headers)
        .map_err(|err| malformed("header section", err))?
    {
        httparse::Status::Complete((n, fields)) => (httparse::Status::Complete(n), fields),
        httparse::Status::Partial => (httparse::Status::Partial, &[][..]),
    };
    whole("header section", parsed, block.len())?;
    Ok(owned_fields(fields))
}

/// Reads the final response head, skipping interim 1xx answers (ICAP 100 Continue, RFC
/// 3507 §4.5; HTTP 100/102/103).
pub(super) fn read_final_head(
    conn: &mut Conn,
    parse: fn(&[u8]) -> Result<Head, CalloutError>,
) -> Result<Head, CalloutError> {
    for _ in 0..=MAX_INTERIM {
        let head = parse(&read_head_block(conn)?)?;
        if head.status == 101 {
            return Err(CalloutError::Protocol(
                "server switched protocols unasked".into(),
            ));
        }
        if head.status >= 200 {
            return Ok(head);
        }
    }
    Err(CalloutError::Protocol("too many interim responses".into()))
}

/// Decodes a chunked body (RFC 9112 §7.1; RFC 3507 §4.4), at most `limit` bytes of data.
/// Chunk extensions (`; ieof`, RFC 3507 §4.5) are skipped; trailers are read and dropped.
pub(super) fn read_chunked(conn: &mut Conn, limit: usize) -> Result<Vec<u8>, CalloutError> {
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

/// `1A2b; ieof` (a line without its end) → 0x1a2b: at most 16 hex digits of either case,
/// then optional whitespace and extensions, parsed by `httparse`.
fn parse_chunk_size(line: &[u8]) -> Result<usize, CalloutError> {
    let bad = || CalloutError::Protocol("malformed chunk size".into());
    // httparse reads an empty size as 0; a chunk-size has at least one digit.
    if !line.first().is_some_and(u8::is_ascii_hexdigit) {
        return Err(bad());
    }
    let mut with_end = Vec::with_capacity(line.len().saturating_add(2));
    with_end.extend_from_slice(line);
    with_end.extend_from_slice(b"\r\n");
    match httparse::parse_chunk_size(&with_end).map_err(|_| bad())? {
        httparse::Status::Complete((n, size)) if n == with_end.len() => {
            usize::try_from(size).map_err(|_| bad())
        }
        // A CR inside the line ends it early; what follows is not a chunk size.
        _ => Err(bad()),
    }
}

pub(super) fn http_request(target: &Target, message: &[u8]) -> Vec<u8> {
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

pub(super) fn http_reply(
    conn: &mut Conn,
    message: &[u8],
    max_response: usize,
) -> Result<CalloutOutcome, CalloutError> {
    let head = read_final_head(conn, parse_http_head)?;
    match head.status {
        204 => Ok(CalloutOutcome::Unmodified),
        200 => verdict_on(read_http_body(conn, &head, max_response)?, message),
        status if is_block_status(status) => {
            let body = read_http_body(conn, &head, MAX_REASON_BODY).ok();
            Ok(CalloutOutcome::Blocked(block_reason(
                None,
                status,
                &head.reason,
                body.as_deref(),
            )))
        }
        status => Err(CalloutError::Protocol(format!(
            "HTTP server answered {status} {}",
            head.reason
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
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

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
            b" 1",
            b"-1",
            b"0x10",
            b"g",
            b"1 2",
            b"1\r2",
            b"10000000000000000",
        ] {
            assert!(parse_chunk_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn http_heads() {
        let head = parse_http_head(b"HTTP/1.1 403 Forbidden\r\nX-A:  b \r\n\r\n").unwrap();
        assert_eq!((head.status, head.reason.as_str()), (403, "Forbidden"));
        assert_eq!(head.get("x-a"), Some("b"));
        assert_eq!(
            parse_http_head(b"HTTP/1.0 200\r\n\r\n").unwrap().status,
            200
        );
        for bad in [
            &b"HTTP/1.1 200 OK\r\nX-A: b\r\n"[..],
            b"HTTP/1.1 200 OK\r\n\r\nX-A: b\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX-A: b\r\n folded\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX A: b\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/2.0 200 OK\r\n\r\n",
            b"ICAP/1.0 200 OK\r\n\r\n",
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 099 x\r\n\r\n",
            b"HTTP/1.1 600 x\r\n\r\n",
        ] {
            assert!(
                parse_http_head(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "X: y\r\n".repeat(MAX_FIELDS + 1)
        );
        assert!(parse_http_head(many.as_bytes()).is_err());
    }
}
