//! ICAP (RFC 3507) framing, ours: there is no maintained ICAP crate. A RESPMOD request
//! carrying the message, and the reply: the ICAP head, the `Encapsulated` offsets, the
//! encapsulated HTTP response head (parsed by `httparse`) and a chunked body.

use std::fmt::Write as _;

use super::conn::{Conn, IO_PIECE};
use super::http::{Head, MAX_HEAD, parse_fields, parse_http_head, read_chunked, read_final_head};
use super::url::Target;
use super::{
    CalloutError, CalloutOutcome, MAX_REASON_BODY, block_reason, is_block_status, sanitize,
    verdict_on,
};

/// Parses an ICAP reply head: the status line here, the fields by `httparse`.
///
/// `httparse` reads only `HTTP/1.x` status lines (its version check refuses `ICAP/1.0`
/// with `Error::Version`), so the ICAP status line keeps its own small parser; the header
/// fields after it have HTTP's syntax (RFC 3507 §4.3) and go to `httparse::parse_headers`.
fn parse_icap_head(block: &[u8]) -> Result<Head, CalloutError> {
    let end = block
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or_else(|| CalloutError::Protocol("ICAP head without a status line".into()))?;
    let (line, rest) = block.split_at_checked(end).unwrap_or_default();
    let (status, reason) = parse_icap_status(line)?;
    let fields = parse_fields(rest.get(2..).unwrap_or_default())?;
    Ok(Head {
        status,
        reason,
        fields,
    })
}

/// `ICAP/1.0 200 OK` → (200, "OK") (RFC 3507 §4.3.3).
fn parse_icap_status(line: &[u8]) -> Result<(u16, String), CalloutError> {
    let bad = || CalloutError::Protocol(format!("malformed status line {:?}", sanitize(line)));
    let line = std::str::from_utf8(line).map_err(|_| bad())?;
    let rest = line.strip_prefix("ICAP/1.0 ").ok_or_else(bad)?;
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

/// RESPMOD with the message as the body of an encapsulated `200 OK` HTTP response, after a
/// minimal encapsulated HTTP request header (RFC 3507 §4.9.1). No preview: the whole body
/// goes out at once, chunked (§4.4), and `Allow: 204` lets the server answer "unchanged"
/// (§4.6).
pub(super) fn icap_request(target: &Target, message: &[u8]) -> Vec<u8> {
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
                let head = parse_http_head(&block)?;
                http = Some((head.status, head.reason));
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

pub(super) fn icap_reply(
    conn: &mut Conn,
    message: &[u8],
    max_response: usize,
) -> Result<CalloutOutcome, CalloutError> {
    let head = read_final_head(conn, parse_icap_head)?;
    let (status, reason) = (head.status, head.reason.as_str());
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

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )]

    use super::*;

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
            parse_icap_status(b"ICAP/1.0 204 No Content").unwrap(),
            (204, "No Content".into())
        );
        assert_eq!(parse_icap_status(b"ICAP/1.0 200").unwrap().0, 200);
        for bad in [
            &b"ICAP/1.0 20"[..],
            b"HTTP/1.1 200 OK",
            b"ICAP/2.0 200 OK",
            b"ICAP/1.0 2000 x",
            b"ICAP/1.0 099 x",
            b"ICAP/1.0 \xff00 x",
        ] {
            assert!(parse_icap_status(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn icap_heads() {
        let head = parse_icap_head(
            b"ICAP/1.0 200 OK\r\nISTag: \"x\"\r\nEncapsulated: res-hdr=0, res-body=5\r\n\r\n",
        )
        .unwrap();
        assert_eq!((head.status, head.reason.as_str()), (200, "OK"));
        assert_eq!(head.get("encapsulated"), Some("res-hdr=0, res-body=5"));
        assert!(parse_icap_head(b"ICAP/1.0 204 No Content\r\n\r\n").is_ok());
        for bad in [
            &b"ICAP/1.0 200 OK\r\nX-A: b\r\n"[..],
            b"ICAP/1.0 200 OK\r\nX-A: b\r\n folded\r\n\r\n",
            b"ICAP/1.0 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\r\n",
        ] {
            assert!(
                parse_icap_head(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn icap_request_offsets_match_the_sections() {
        let t = super::super::url::parse_url("icap://127.0.0.1:1345/echo").unwrap();
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
